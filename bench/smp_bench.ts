// SMP figures. `deno task bench:smp` (= `deno run -A bench/smp_bench.ts all --write`) measures
// and writes bench/results/smp.md; `deno run -A bench/smp_bench.ts TABLE...` prints tables only:
//   md5    N parallel md5sums over 16 MiB on N vCPUs (N = 1, 2, 4), warm, in one guest each:
//          the time of N against one md5sum on the same guest, and host CPU seconds
//   curve  the scaling curve: a hackbench-like pipe and fork workload (guest/tests/smp/
//          hackbench.c: fixed total work) on 1, 2, 4, 8, 16, 32 and 64 vCPUs
//   share  host CPU shares of two busy guests, one with 1 vCPU and one with 2 (expect about 1:2)
//   idle   host CPU used by an idle 64-vCPU guest over 30 s
// Each guest is a `deno run cli/boot.ts` subprocess, so /proc/<pid>/stat gives its own CPU time.
// Options: --write (into bench/results/smp.md), --max N (largest vCPU count of the curve), --runs N
// (hackbench runs per vCPU count, default 3).
// Under `deno bench` only the mailbox round trip is measured (the boots take minutes).
import { MailboxClient, MailboxServer } from "../runtime/vcpu/mailbox.ts";
import { createMemory } from "../runtime/vcpu/core.ts";
import { readProc } from "../tests/lib/procfs.ts";

const root = new URL("../", import.meta.url);
const enc = new TextEncoder();
const TEST_INITRD = new URL("guest/images/initramfs-tests.cpio.gz", root).pathname;
const CLK_TCK = 100;

interface Guest {
  pid: number;
  out: () => string;
  waitFor(t: string, timeoutMs?: number): Promise<number>; // host ms when it appeared
  send(s: string): Promise<void>;
  done: Promise<unknown>;
}

function guest(smp: number, extra: string[] = []): Guest {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("cli/boot.ts", root).pathname, "--smp", String(smp), "-m", "256", ...extra],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let text = "";
  let ended = false;
  const waiters: { t: string; r: (ms: number) => void; j: (e: Error) => void }[] = [];
  const done = (async () => {
    for await (const chunk of child.stdout) {
      text += new TextDecoder("latin1").decode(chunk);
      for (const w of waiters.splice(0)) text.includes(w.t) ? w.r(performance.now()) : waiters.push(w);
    }
    ended = true;
    for (const w of waiters.splice(0)) w.j(new Error(`guest ended before '${w.t}': ${text.slice(-1500)}`));
    return await child.status;
  })();
  const w = child.stdin.getWriter();
  return {
    pid: child.pid,
    out: () => text,
    waitFor: (t, timeoutMs = 1_800_000) =>
      text.includes(t)
        ? Promise.resolve(performance.now())
        : ended
        ? Promise.reject(new Error(`guest ended before '${t}'`))
        : new Promise((r, j) => {
          const timer = setTimeout(() => {
            child.kill();
            j(new Error(`timed out waiting for '${t}': ${text.slice(-1500)}`));
          }, timeoutMs);
          waiters.push({ t, r: (ms) => (clearTimeout(timer), r(ms)), j });
        }),
    send: (s) => w.write(enc.encode(s)),
    done,
  };
}

// user + system CPU seconds of a process (all its threads)
function cpuSeconds(pid: number): number {
  const f = readProc(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

// a command in the guest's shell, timed by the host between two marker lines
let mark = 0;
async function timed(g: Guest, cmd: string): Promise<{ s: number; cpu: number }> {
  const k = ++mark;
  // $((1+1)) keeps the markers out of the echoed command line
  const line = `echo B${k}G$((1+1)); ${cmd}; echo E${k}N$((1+1))\n`;
  await g.send(line);
  // a line typed while busybox's shell waits for its terminal's answer to ESC[6n (the cursor
  // position, right after a prompt) can be taken for that answer and lost: type it again if its
  // first marker has not come in 20 s (the guest ran none of it then)
  for (let tries = 0; tries < 3; tries++) {
    const seen = await Promise.race([g.waitFor(`B${k}G2`).then(() => true), sleep(20_000).then(() => false)]);
    if (seen) break;
    await g.send("\n" + line);
  }
  const a = await g.waitFor(`B${k}G2`), c0 = cpuSeconds(g.pid);
  const b = await g.waitFor(`E${k}N2`), c1 = cpuSeconds(g.pid);
  return { s: (b - a) / 1000, cpu: c1 - c0 };
}
const median = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const out: string[] = [];
const emit = (s = "") => (console.log(s), out.push(s));

async function md5Table(rounds = 3) {
  emit("| vCPUs | 1 md5sum (s) | N parallel md5sums (s) | N ÷ 1 | host CPU s (N) | host CPU s ÷ (N × 1's) |");
  emit("|---|--:|--:|--:|--:|--:|");
  for (const n of [1, 2, 4]) {
    const g = guest(n);
    await g.waitFor("ring3: shell ready");
    await timed(g, "dd if=/dev/zero of=/tmp/z bs=1048576 count=16 2>/dev/null; md5sum /tmp/z >/dev/null");
    const par = `for i in $(seq ${n}); do md5sum /tmp/z >/dev/null & done; wait`;
    await timed(g, par); // warm every vCPU
    const one: number[] = [], many: number[] = [], c1: number[] = [], cn: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const a = await timed(g, "md5sum /tmp/z >/dev/null");
      const b = await timed(g, par);
      one.push(a.s), c1.push(a.cpu), many.push(b.s), cn.push(b.cpu);
    }
    await g.send("poweroff -f\n");
    await g.done;
    const t1 = median(one), tn = median(many);
    emit(
      `| ${n} | ${t1.toFixed(2)} | ${tn.toFixed(2)} | ${(tn / t1).toFixed(2)} | ${median(cn).toFixed(2)} | ${
        (median(cn) / (n * median(c1))).toFixed(2)
      } |`,
    );
  }
}

// hackbench G F L R: fixed work whatever the vCPU count
const HB = { groups: 8, fds: 5, loops: 20, rounds: 2 };
async function curveTable(max: number, nruns: number) {
  const counts = [1, 2, 4, 8, 16, 32, 64].filter((n) => n <= max);
  const args = `${HB.groups} ${HB.fds} ${HB.loops} ${HB.rounds}`;
  emit(
    `| vCPUs | boot to shell (s) | hackbench ${args} (host s) | speedup | guest s | host CPU s | host CPU s ÷ 1 vCPU's |`,
  );
  emit("|---|--:|--:|--:|--:|--:|--:|");
  let t1 = 0, cpu1 = 0;
  for (const n of counts) {
    const t0 = performance.now();
    const g = guest(n, ["--initrd", TEST_INITRD]);
    const up = await g.waitFor("ring3: shell ready");
    await timed(g, `/opt/tests/smp/hackbench 2 2 5 1 >/dev/null`); // warm up: page cache, blocks
    const runs: { s: number; cpu: number; guest: number }[] = [];
    for (let i = 0; i < nruns; i++) {
      const before = g.out().length;
      const r = await timed(g, `/opt/tests/smp/hackbench ${args}`);
      const line = /HACKBENCH .* sec ([\d.]+) (ok|FAIL)/.exec(g.out().slice(before));
      if (!line || line[2] !== "ok") {
        throw new Error(`hackbench failed on ${n} vCPUs: ${g.out().slice(before, before + 500)}`);
      }
      runs.push({ ...r, guest: Number(line[1]) });
    }
    await g.send("poweroff -f\n");
    await g.done;
    const s = median(runs.map((r) => r.s)), cpu = median(runs.map((r) => r.cpu)), gs = median(runs.map((r) => r.guest));
    if (n === 1) t1 = s, cpu1 = cpu;
    emit(
      `| ${n} | ${((up - t0) / 1000).toFixed(1)} | ${s.toFixed(2)} | ${(t1 / s).toFixed(2)} | ${gs.toFixed(2)} | ${
        cpu.toFixed(2)
      } | ${(cpu / cpu1).toFixed(2)} |`,
    );
  }
}

async function shareTable() {
  const gs = [guest(1), guest(2)];
  for (const g of gs) await g.waitFor("ring3: shell ready");
  await gs[0].send("while :; do :; done &\n");
  await gs[1].send("while :; do :; done & while :; do :; done &\n");
  await sleep(3000);
  const c0 = gs.map((g) => cpuSeconds(g.pid));
  await sleep(10000);
  const c = gs.map((g, i) => cpuSeconds(g.pid) - c0[i]);
  for (const g of gs) await g.send("poweroff -f\n");
  await Promise.all(gs.map((g) => g.done));
  emit("| guest | host CPU s in 10 s | share |");
  emit("|---|---|---|");
  emit(`| 1 vCPU busy | ${c[0].toFixed(2)} | 1 |`);
  emit(`| 2 vCPUs busy | ${c[1].toFixed(2)} | ${(c[1] / c[0]).toFixed(2)} |`);
}

async function idleTable(n = 64, secs = 30) {
  const g = guest(n);
  await g.waitFor("ring3: shell ready");
  await sleep(10000); // the boot's stragglers (deferred work, RCU) settle
  const c0 = cpuSeconds(g.pid), t0 = performance.now();
  await sleep(secs * 1000);
  const c = cpuSeconds(g.pid) - c0, wall = (performance.now() - t0) / 1000;
  await g.send("echo NPROC=$(nproc); poweroff -f\n");
  await g.done;
  const nproc = /NPROC=(\d+)/.exec(g.out())?.[1] ?? "?";
  emit(
    `idle ${n}-vCPU guest (nproc ${nproc}): ${(c / wall * 100).toFixed(2)}% of one host core ` +
      `(${c.toFixed(2)} CPU s in ${wall.toFixed(0)} s, measured 10 s after the shell was ready)`,
  );
}

async function header(): Promise<string> {
  const git = async (...a: string[]) =>
    new TextDecoder().decode((await new Deno.Command("git", { args: a, cwd: root.pathname }).output()).stdout).trim();
  const cpu = /^model name\s*:\s*(.*)$/m.exec(readProc("/proc/cpuinfo"))?.[1] ?? "?";
  const load = readProc("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  return `Measured ${new Date().toISOString().replace(/\.\d+Z$/, "Z")} with \`deno task bench:smp\` on ${cpu}, ` +
    `${navigator.hardwareConcurrency} cores (shared with other jobs: load average ${load} at the start), Deno ` +
    `${Deno.version.deno}, ring3 ${await git(
      "rev-parse",
      "--short",
      "HEAD",
    )}. Each guest is a \`deno run cli/boot.ts ` +
    `--smp N -m 256\` process (default kernel, tickless Linux 6.1, \`console=ttyS0 tsc=reliable\`).`;
}

if (import.meta.main) {
  if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
    console.log(`usage: deno task bench:smp [TABLE...] [--max N] [--runs N]
  TABLE: md5 curve share idle (default: all); --max N: largest vCPU count of the curve (64);
  --runs N: hackbench runs per vCPU count (3). The task writes bench/results/smp.md (--write).`);
    Deno.exit(0);
  }
  const write = Deno.args.includes("--write");
  const maxArg = Deno.args.indexOf("--max");
  const max = maxArg >= 0 ? Number(Deno.args[maxArg + 1]) : 64;
  const runsArg = Deno.args.indexOf("--runs");
  const nruns = runsArg >= 0 ? Number(Deno.args[runsArg + 1]) : 3;
  const which = Deno.args.filter((a, i) => !a.startsWith("--") && !["--max", "--runs"].includes(Deno.args[i - 1]));
  const all = which.length === 0 || which.includes("all");
  const head = await header();
  emit("# SMP figures\n");
  emit(head + "\n");
  if (all || which.includes("curve")) {
    emit("## Scaling curve: hackbench-like pipes and forks on 1..64 vCPUs\n");
    await curveTable(max, nruns);
    emit(
      `\n- \`/opt/tests/smp/hackbench ${HB.groups} ${HB.fds} ${HB.loops} ${HB.rounds}\` (guest/tests/smp/hackbench.c, ` +
        "in the test initramfs): each of 2 rounds forks 8 groups of 5 receivers and 5 senders (80 processes); every " +
        `sender writes ${HB.loops} messages of 100 bytes into the pipe of each receiver of its group, and the parent ` +
        "waits for all. The same total work on every vCPU count: host seconds between marker lines (median of " +
        `${nruns}, after a warm-up run), speedup = t(1) ÷ t(N); guest s = the program's own CLOCK_MONOTONIC time.`,
    );
    emit(
      "- The host has 2 cores: past 2 vCPUs the curve shows what more vCPUs than host cores cost the guest kernel " +
        "(scheduling, IPIs, wake-ups across CPUs) and the emulator, not more speed.",
    );
  }
  if (all || which.includes("md5")) {
    emit("\n## N parallel md5sums on N vCPUs\n");
    await md5Table();
    emit(
      "\n- One guest per row; after a warm-up (one md5sum and one round of N, so every vCPU has compiled the hot " +
        "code), 3 rounds of one md5sum of a 16 MiB tmpfs file then N at once (medians). Perfect scaling on N ≤ 2 " +
        "host cores: N ÷ 1 = 1.00; on 4 vCPUs the 2 host cores make it 2.",
    );
  }
  if (all || which.includes("share")) {
    emit("\n## Host CPU shares\n");
    await shareTable();
    emit(
      "\n- Two guests side by side, every vCPU in a busy shell loop, host CPU seconds per process over 10 s. The " +
        "2-vCPU guest also has its device thread.",
    );
  }
  if (all || which.includes("idle")) {
    emit("\n## Idle\n");
    await idleTable();
  }
  if (write) {
    await Deno.writeTextFile(new URL("bench/results/smp.md", root), out.join("\n") + "\n");
    console.error("wrote bench/results/smp.md");
  }
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
