// The smoke suite both runtimes pass: the default guest boots to its shell with two vCPUs and
// runs a command, and two guests on one switch ping each other. A runtime is the commands that
// start ring3 and the switch: Deno on the sources (`deno run cli/boot.ts`), or Node on the bundle
// (`node build/dist/boot.mjs`, made by `deno task bundle`). smoke_test.ts runs it on each.
import assert from "node:assert/strict";
import { GuestProc } from "../net/nic_pair.ts";

export interface Runtime {
  name: string;
  boot: string[]; // argv up to ring3's own flags
  switch: string[];
}

const ROOT = new URL("../../", import.meta.url);
export const denoRuntime: Runtime = {
  name: "deno",
  boot: [Deno.execPath(), "run", "-A", new URL("cli/boot.ts", ROOT).pathname],
  switch: [Deno.execPath(), "run", "-A", new URL("net/main.ts", ROOT).pathname],
};
export function nodeRuntime(node: string, dist: string): Runtime {
  return { name: "node", boot: [node, `${dist}/boot.mjs`], switch: [node, `${dist}/switch.mjs`] };
}

// A guest of `rt` on the console of a child process (the net tests' GuestProc, started with
// this runtime's command line).
function guest(rt: Runtime, name: string, flags: string[]): GuestProc {
  return new GuestProc(name, [], "", [], [...rt.boot, ...flags]);
}

export interface SmokeFigures {
  shellMs: number; // process start to the shell marker, default guest, --smp 2
}

// Boot the default guest with --smp 2, run a command, power off: exit status 0.
export async function smokeBoot(rt: Runtime, timeoutMs = 300_000): Promise<SmokeFigures> {
  const t0 = performance.now();
  const g = guest(rt, `${rt.name} smp2`, ["--smp", "2", "--mem", "128"]);
  try {
    await g.expect(/ring3: shell ready/, timeoutMs);
    const shellMs = performance.now() - t0;
    const r = await g.run("uname -sm; echo SMOKE-$((6*7)) cpus=$(grep -c ^processor /proc/cpuinfo)", 60_000);
    assert.equal(r.rc, 0, r.text);
    assert.match(r.text, /Linux i686/);
    assert.match(r.text, /SMOKE-42 cpus=2/);
    await g.type("poweroff -f");
    const st = await Promise.race([
      g.exited,
      new Promise<null>((res) => setTimeout(() => res(null), 60_000)),
    ]);
    assert.ok(st, `${rt.name}: ring3 did not end after poweroff:\n${g.out.slice(-2000)}`);
    assert.equal(st.code, 0, `${rt.name}: exit status ${st.code}:\n${g.out.slice(-2000)}`);
    return { shellMs };
  } finally {
    await g.kill();
  }
}

// A switch daemon of `rt` on a unix socket, two guests with a virtio NIC each, a ping both ways.
export async function smokeNicPair(rt: Runtime, timeoutMs = 400_000): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ring3-smoke-" });
  const sock = `${dir}/sw.sock`;
  const sw = new Deno.Command(rt.switch[0], {
    args: [...rt.switch.slice(1), "--listen", `unix:${sock}`, "--quiet"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const swOut = sw.output();
  const guests: GuestProc[] = [];
  try {
    const end = performance.now() + 30_000;
    for (;;) {
      try {
        if (Deno.statSync(sock)) break;
      } catch { /* not yet */ }
      if (performance.now() > end) throw new Error(`${rt.name}: the switch made no socket in 30 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const append = ["--append", "console=ttyS0 ring3.dhcp=0", "--mem", "128"];
    for (const [name, mac] of [["A", "01"], ["B", "02"]]) {
      guests.push(
        guest(rt, `${rt.name} ${name}`, [...append, "--net", `virtio,switch=unix:${sock},mac=52:54:00:00:00:${mac}`]),
      );
    }
    const [a, b] = guests;
    await Promise.all(guests.map((g) => g.expect(/ring3: shell ready/, timeoutMs)));
    for (const [g, ip] of [[a, "10.0.0.1"], [b, "10.0.0.2"]] as const) {
      const r = await g.run(`ip addr add ${ip}/24 dev eth0 && ip link set eth0 up`, 30_000);
      assert.equal(r.rc, 0, `${g.name}: interface setup failed:\n${r.text}`);
    }
    const ping = await b.run("ping -c 3 -W 10 10.0.0.1", 90_000);
    assert.equal(ping.rc, 0, ping.text);
    assert.match(ping.text, /3 packets transmitted, [1-3] packets received/);
    const back = await a.run("ping -c 2 -W 10 10.0.0.2", 90_000);
    assert.equal(back.rc, 0, back.text);
  } finally {
    await Promise.all(guests.map((g) => g.kill()));
    try {
      sw.kill("SIGTERM");
    } catch { /* gone */ }
    await swOut;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
