// The switch's TAP port (`deno task switch --tap NAME`, net/tap.ts): a switch daemon runs in a
// throwaway network namespace with a TAP interface there (10.0.0.254/24); two guests on the
// switch (10.0.0.1, 10.0.0.2). The namespace pings both guests, fetches a file from each (busybox
// httpd in the guest) and each guest fetches a file from the namespace (busybox wget), md5s
// compared. Also: without root the switch refuses --tap with a one-line reason. Needs root,
// /dev/net/tun, iproute2 and ping; skipped with the reason otherwise.
import assert from "node:assert/strict";
import { DaemonProc } from "./proc.ts";
import { bringUp, GuestProc, haveGuest } from "./nic_pair.ts";

const HELPER = new URL("./tap_ns.ts", import.meta.url).pathname;
const MAIN = new URL("../../net/main.ts", import.meta.url).pathname;
const dec = new TextDecoder();

function run(...args: string[]): { ok: boolean; out: string; err: string } {
  try {
    const o = new Deno.Command(args[0], { args: args.slice(1), stdout: "piped", stderr: "piped" }).outputSync();
    return { ok: o.success, out: dec.decode(o.stdout), err: dec.decode(o.stderr).trim() };
  } catch (e) {
    return { ok: false, out: "", err: String(e) };
  }
}

const ns = `r3tap${Deno.pid % 100000}`;
let skip = "";
if (Deno.uid() !== 0) skip = "not root";
else if (!run("ip", "-V").ok) skip = "iproute2 (ip) not installed";
else if (!run("ping", "-V").ok) skip = "ping not installed (apt-get install iputils-ping)";
else if (!haveGuest()) skip = "guest/images missing";
// (test -c, not Deno.statSync: Deno grants /dev only to -A, and deno task test has no -A)
else if (!run("test", "-c", "/dev/net/tun").ok) skip = "no /dev/net/tun";
if (skip) console.log(`tap_test: skipped: ${skip}`);

Deno.test({
  name: "switch --tap without root: a one-line error, exit status 2",
  ignore: Deno.uid() !== 0 || !run("setpriv", "--help").ok,
  fn: () => {
    const r = run(
      "setpriv",
      "--reuid",
      "65534",
      "--regid",
      "65534",
      "--clear-groups",
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      "--tap",
      "r3none",
    );
    assert.equal(r.ok, false);
    assert.match(r.err, /^switch: cannot open \/dev\/net\/tun: .*\(needs root\)$/);
  },
});

Deno.test({
  name: "TAP port: a network namespace pings two guests and exchanges a file with each",
  ignore: skip !== "",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ring3-tap-" });
    const sock = `${dir}/sw.sock`;
    const inNs = ["ip", "netns", "exec", ns];
    assert.ok(run("ip", "netns", "add", ns).ok);
    let daemon: DaemonProc | null = null;
    let server: Deno.ChildProcess | null = null;
    let pair: { a: GuestProc; b: GuestProc; close(): Promise<void> } | null = null;
    try {
      run("ip", "-n", ns, "link", "set", "lo", "up");
      daemon = new DaemonProc(["--listen", `unix:${sock}`, "--tap", "r3tap0"], inNs);
      await daemon.waitLine(/tap:r3tap0.*attached/, 30_000);
      const up = run("ip", "-n", ns, "link", "show", "r3tap0");
      assert.match(up.out, /<[^>]*\bUP\b[^>]*>/, "the switch set the TAP interface up");
      assert.ok(run("ip", "-n", ns, "addr", "add", "10.0.0.254/24", "dev", "r3tap0").ok);

      server = new Deno.Command(inNs[0], {
        args: [...inNs.slice(1), Deno.execPath(), "run", "-A", HELPER, "serve", "8000"],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = server.stdout.getReader();
      const first = dec.decode((await reader.read()).value);
      reader.releaseLock();
      const nsMd5 = /MD5 ([0-9a-f]{32})/.exec(first)?.[1];
      assert.ok(nsMd5, first);

      const a = new GuestProc("A", [`virtio,switch=unix:${sock},mac=52:54:00:00:0a:01`]);
      const b = new GuestProc("B", [`ne2k,switch=unix:${sock},mac=52:54:00:00:0a:02`]);
      pair = await bringUp(a, b, 400_000, async () => {});
      for (const [g, ip] of [[a, "10.0.0.1"], [b, "10.0.0.2"]] as const) {
        const ping = run(...inNs, "ping", "-c", "3", "-i", "0.3", "-W", "5", ip);
        assert.ok(ping.ok, `ping ${ip} from the namespace:\n${ping.out}${ping.err}`);
        assert.match(ping.out, /3 received/);
        // namespace -> guest
        const get = await g.run(`wget -q -O /tmp/n http://10.0.0.254:8000/f.bin && md5sum /tmp/n`, 120_000);
        assert.equal(get.rc, 0, get.text);
        assert.equal(/([0-9a-f]{32})\s+\/tmp\/n/.exec(get.text)?.[1], nsMd5, `${g.name}: the namespace's file`);
        // guest -> namespace
        const mk = await g.run(
          `mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/g.bin bs=1024 count=96 2>/dev/null && ` +
            `md5sum /tmp/www/g.bin && httpd -p 8080 -h /tmp/www`,
          60_000,
        );
        const gMd5 = /([0-9a-f]{32})\s+\/tmp\/www\/g\.bin/.exec(mk.text)?.[1];
        assert.ok(gMd5, mk.text);
        const f = run(...inNs, Deno.execPath(), "run", "-A", HELPER, "fetch", `http://${ip}:8080/g.bin`);
        assert.ok(f.ok, f.err);
        assert.equal(/MD5 ([0-9a-f]{32}) (\d+)/.exec(f.out)?.slice(1).join(" "), `${gMd5} ${96 * 1024}`);
      }
    } finally {
      await pair?.close();
      try {
        server?.kill("SIGKILL");
        await server?.status;
      } catch { /* gone */ }
      await daemon?.stop();
      run("ip", "netns", "del", ns);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
