// Two guests on one switch, driven through their serial consoles: shared by the network
// end-to-end test and bench/nic_bench.ts. Each guest is a `deno task boot --net ...` process
// (cli/boot.ts with the committed guest), so the whole user path is exercised.
import { SwitchDaemon } from "../../net/daemon.ts";

const root = new URL("../../", import.meta.url);
const CLI = new URL("cli/boot.ts", root).pathname;

export function haveGuest(): boolean {
  try {
    return Deno.statSync(new URL("guest/images/bzImage", root)).isFile &&
      Deno.statSync(new URL("guest/images/initramfs.cpio.gz", root)).isFile;
  } catch {
    return false;
  }
}

export class GuestProc {
  out = "";
  readonly child: Deno.ChildProcess;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly exited: Promise<Deno.CommandStatus>;

  // `prefix`: a command that runs the guest (e.g. `ip netns exec NS`)
  // `argv`: another emulator's command line with its serial console on stdio (bench/nic_bench.ts
  // runs QEMU this way); netSpecs, append and prefix are then unused
  constructor(
    readonly name: string,
    netSpecs: string[],
    append = "console=ttyS0 ring3.dhcp=0",
    prefix: string[] = [],
    argvOverride?: string[],
    extraArgs: string[] = [], // more boot flags (e.g. --vcpu-thread)
  ) {
    const args = ["run", "-A", CLI, "--mem", "128", "--append", append, ...extraArgs];
    for (const n of netSpecs) args.push("--net", n);
    const argv = argvOverride ?? [...prefix, Deno.execPath(), ...args];
    const child = new Deno.Command(argv[0], { args: argv.slice(1), stdin: "piped", stdout: "piped", stderr: "piped" })
      .spawn();
    this.child = child;
    this.writer = this.child.stdin.getWriter();
    const dec = new TextDecoder();
    (async () => {
      for await (const c of child.stdout) this.out += dec.decode(c, { stream: true });
    })();
    (async () => {
      for await (const c of child.stderr) this.out += dec.decode(c, { stream: true });
    })();
    this.exited = this.child.status;
  }

  async type(line: string): Promise<void> {
    await this.writer.write(new TextEncoder().encode(line + "\n"));
  }

  // the first match of `re` after position `from` of the console log
  async expect(re: RegExp, timeoutMs: number, from = 0): Promise<RegExpExecArray> {
    const end = performance.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.out.slice(from));
      if (m) return m;
      if (performance.now() > end) {
        throw new Error(`${this.name}: timed out waiting for ${re}; console tail:\n${this.out.slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  // run a shell command and wait for the line `<tag> <exit status>` it ends with
  async run(cmd: string, timeoutMs: number): Promise<{ rc: number; text: string }> {
    const tag = `@${Math.random().toString(36).slice(2, 8)}`;
    const from = this.out.length;
    await this.type(`${cmd}; echo ${tag} $?`);
    const m = await this.expect(new RegExp(`\\n${tag} (\\d+)`), timeoutMs, from);
    return { rc: Number(m[1]), text: this.out.slice(from, from + m.index) };
  }

  async kill(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch { /* gone */ }
    await this.exited;
    try {
      await this.writer.close();
    } catch { /* gone */ }
  }
}

export interface Pair {
  a: GuestProc;
  b: GuestProc;
  daemon: SwitchDaemon;
  dir: string;
  close(): Promise<void>;
}

// A switch, two guests with one NIC each (10.0.0.1 and 10.0.0.2), interfaces up.
export async function startPair(model: "virtio" | "ne2k", bootMs = 400_000, extraArgs: string[] = []): Promise<Pair> {
  const dir = await Deno.makeTempDir({ prefix: "ring3-nic-" });
  const sock = `${dir}/sw.sock`;
  const daemon = await SwitchDaemon.start({ listen: [{ transport: "unix", path: sock }], log: () => {} });
  const a = new GuestProc(
    "A",
    [`${model},switch=unix:${sock},mac=52:54:00:00:00:01`],
    undefined,
    [],
    undefined,
    extraArgs,
  );
  const b = new GuestProc(
    "B",
    [`${model},switch=unix:${sock},mac=52:54:00:00:00:02`],
    undefined,
    [],
    undefined,
    extraArgs,
  );
  const p = await bringUp(a, b, bootMs, async () => {
    await daemon.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  });
  return { ...p, daemon, dir };
}

// Two switches joined by a TCP trunk over loopback, a guest on each (10.0.0.1 and 10.0.0.2).
export async function startTrunkedPair(model: "virtio" | "ne2k", bootMs = 400_000): Promise<Pair> {
  const dir = await Deno.makeTempDir({ prefix: "ring3-nic-" });
  const key = new TextEncoder().encode("nic pair trunk key, 32 bytes ok!");
  const sa = `${dir}/a.sock`, sb = `${dir}/b.sock`;
  const da = await SwitchDaemon.start({
    listen: [{ transport: "unix", path: sa }],
    trunkListen: [{ transport: "tcp", hostname: "127.0.0.1", port: 0 }],
    key,
    log: () => {},
  });
  const db = await SwitchDaemon.start({
    listen: [{ transport: "unix", path: sb }],
    trunk: [{ transport: "tcp", hostname: "127.0.0.1", port: da.trunkAddrs[0].port }],
    key,
    log: () => {},
  });
  const a = new GuestProc("A", [`${model},switch=unix:${sa},mac=52:54:00:00:00:01`]);
  const b = new GuestProc("B", [`${model},switch=unix:${sb},mac=52:54:00:00:00:02`]);
  const p = await bringUp(a, b, bootMs, async () => {
    await db.close();
    await da.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  });
  return { ...p, daemon: da, dir };
}

// Two guests already starting, each on its own switch (joined by a trunk, set up by the caller).
export async function bringUp(
  a: GuestProc,
  b: GuestProc,
  bootMs: number,
  cleanup: () => Promise<void>,
): Promise<{ a: GuestProc; b: GuestProc; close(): Promise<void> }> {
  const close = async () => {
    await Promise.all([a.kill(), b.kill()]);
    await cleanup();
  };
  try {
    await Promise.all([a.expect(/ring3: shell ready/, bootMs), b.expect(/ring3: shell ready/, bootMs)]);
    for (const [g, ip] of [[a, "10.0.0.1"], [b, "10.0.0.2"]] as const) {
      const r = await g.run(`ip addr add ${ip}/24 dev eth0 && ip link set eth0 up`, 30_000);
      if (r.rc !== 0) throw new Error(`${g.name}: interface setup failed:\n${r.text}`);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { a, b, close };
}

// Move `kib` KiB of random data from A to B over TCP with busybox nc; returns both md5 sums and
// the transfer's wall time. The sender retries until B's listener is up, however long that takes
// (a guest slowed down by a loaded host can take seconds to start nc; a sender that gave up
// after a fixed number of tries left B listening for ever). A refused connect sends nothing, so
// only one connection ever carries data.
export async function transfer(p: { a: GuestProc; b: GuestProc }, kib: number, timeoutMs: number, to = "10.0.0.2") {
  const gen = await p.a.run(`dd if=/dev/urandom of=/tmp/f bs=1024 count=${kib} 2>/dev/null && md5sum /tmp/f`, 120_000);
  const sumA = /([0-9a-f]{32})\s+\/tmp\/f/.exec(gen.text)?.[1];
  const recv = p.b.run("nc -l -p 5000 > /tmp/r && md5sum /tmp/r", timeoutMs);
  recv.catch(() => {}); // awaited below; a failing sender must not leave it unhandled
  const t0 = performance.now();
  const send = await p.a.run(`until nc ${to} 5000 < /tmp/f 2>/dev/null; do usleep 200000; done`, timeoutMs);
  const got = await recv;
  const ms = performance.now() - t0;
  const sumB = /([0-9a-f]{32})\s+\/tmp\/r/.exec(got.text)?.[1];
  return { sumA, sumB, ms, sendRc: send.rc, recvRc: got.rc, log: gen.text + send.text + got.text };
}
