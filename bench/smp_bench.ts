// SMP figures. `deno run -A bench/smp_bench.ts` prints three tables (several minutes):
//   1. speedup of N parallel md5sums over 16 MiB for N = 1, 2, 4, 8 vCPUs (one md5sum per vCPU)
//   2. host CPU shares of two busy guests, one with 1 vCPU and one with 2 (expect about 1:2)
//   3. host CPU used by an idle 8-vCPU guest
// Each guest is a `deno task boot` subprocess, so /proc/<pid>/stat gives its own CPU time.
// Under `deno bench` only the mailbox round trip is measured (the boots take minutes).
import { MailboxClient, MailboxServer } from "../runtime/vcpu/mailbox.ts";
import { createMemory } from "../runtime/vcpu/core.ts";

const root = new URL("../", import.meta.url);
const enc = new TextEncoder();

interface Guest {
  pid: number;
  out: () => string;
  waitFor(t: string): Promise<number>; // host ms when it appeared
  send(s: string): Promise<void>;
  done: Promise<unknown>;
}

function guest(smp: number): Guest {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("cli/boot.ts", root).pathname, "--smp", String(smp), "-m", "128"],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let text = "";
  const waiters: { t: string; r: (ms: number) => void }[] = [];
  const done = (async () => {
    for await (const chunk of child.stdout) {
      text += new TextDecoder("latin1").decode(chunk);
      for (const w of waiters.splice(0)) text.includes(w.t) ? w.r(performance.now()) : waiters.push(w);
    }
    return await child.status;
  })();
  const w = child.stdin.getWriter();
  return {
    pid: child.pid,
    out: () => text,
    waitFor: (t) => text.includes(t) ? Promise.resolve(performance.now()) : new Promise((r) => waiters.push({ t, r })),
    send: (s) => w.write(enc.encode(s)),
    done,
  };
}

// user + system CPU seconds of a process
function cpuSeconds(pid: number): number {
  const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function md5Table() {
  console.log("| vCPUs | parallel md5sums (16 MiB each) | wall s | speedup |");
  console.log("|---|---|---|---|");
  let t1 = 0;
  for (const n of [1, 2, 4, 8]) {
    const g = guest(n);
    await g.waitFor("ring3: shell ready");
    await g.send("dd if=/dev/zero of=/tmp/z bs=1048576 count=16 2>/dev/null; echo GO$((1+1))\n");
    await g.waitFor("GO2");
    const a = performance.now();
    await g.send(`for i in $(seq ${n}); do md5sum /tmp/z & done; wait; echo END$((1+1))\n`);
    const b = await g.waitFor("END2");
    await g.send("poweroff -f\n");
    await g.done;
    const s = (b - a) / 1000;
    if (n === 1) t1 = s;
    console.log(`| ${n} | ${n} | ${s.toFixed(1)} | ${(n * t1 / s).toFixed(2)} |`);
  }
}

async function shareTable() {
  const gs = [guest(1), guest(2)];
  for (const g of gs) await g.waitFor("ring3: shell ready");
  await gs[0].send("while :; do :; done &\n");
  await gs[1].send("while :; do :; done & while :; do :; done &\n");
  await new Promise((r) => setTimeout(r, 3000));
  const c0 = gs.map((g) => cpuSeconds(g.pid));
  await new Promise((r) => setTimeout(r, 10000));
  const c = gs.map((g, i) => cpuSeconds(g.pid) - c0[i]);
  for (const g of gs) await g.send("poweroff -f\n");
  await Promise.all(gs.map((g) => g.done));
  console.log("\n| guest | host CPU s in 10 s | share |");
  console.log("|---|---|---|");
  console.log(`| 1 vCPU busy | ${c[0].toFixed(2)} | 1 |`);
  console.log(`| 2 vCPUs busy | ${c[1].toFixed(2)} | ${(c[1] / c[0]).toFixed(2)} |`);
}

async function idleTable() {
  const g = guest(8);
  await g.waitFor("ring3: shell ready");
  await new Promise((r) => setTimeout(r, 5000));
  const c0 = cpuSeconds(g.pid);
  await new Promise((r) => setTimeout(r, 10000));
  const c = cpuSeconds(g.pid) - c0;
  await g.send("poweroff -f\n");
  await g.done;
  console.log(`\nidle 8-vCPU guest: ${(c * 10).toFixed(1)}% of one host core (${c.toFixed(2)} CPU s in 10 s)`);
}

if (import.meta.main) {
  const which = Deno.args[0] ?? "all";
  if (which === "all" || which === "md5") await md5Table();
  if (which === "all" || which === "share") await shareTable();
  if (which === "all" || which === "idle") await idleTable();
} else {
  // device request round trip between two threads of this process, as a vCPU sees it
  const mem = createMemory(1 << 20);
  const server = new MailboxServer(mem, 1, { request: (_c, _op, a) => a + 1 });
  const src = `
    import { MailboxClient } from ${JSON.stringify(new URL("runtime/vcpu/mailbox.ts", root).href)};
    self.onmessage = (e) => { const c = new MailboxClient(e.data, 0); for (let i = 0; i < 1e9; i++) c.call(1, i); };`;
  const w = new Worker(URL.createObjectURL(new Blob([src], { type: "text/javascript" })), { type: "module" });
  w.postMessage(mem);
  void MailboxClient;
  Deno.bench("smp: 2000 mailbox round trips (device thread blocked in Atomics.wait)", () => {
    for (let n = 0; n < 2000;) {
      const seen = server.doorbell;
      const k = server.serve();
      n += k;
      if (!k) server.waitSync(seen, 100);
    }
  });
  globalThis.addEventListener("unload", () => w.terminate());
}
