// `deno task bench:race`: boots the same Linux guest on ring3, v86 and QEMU TCG and races them on
// the same workloads (guest time to the boot marker, md5sum of 16 MiB, a busybox awk loop on
// doubles, N parallel md5sums on N vCPUs, guest instructions per second where the emulator counts
// them, and everyday branchy work: a busybox sh loop, gzip, sort -n, sed, fork+exec, with their
// geometric mean), and the host CPU seconds each emulator process spent on each. Writes
// bench/results/latest.{json,md,svg} and the README's Performance table.
// Every emulator is a child process whose stdout is the guest's serial console; figures come from
// what the guest prints (/proc/uptime deltas), boot time from the host's clock. A peer that is not
// installed is skipped with a note, and an emulator that cannot boot gets its error instead of a
// figure. Run `deno task bench:peers` first to install the peers.
import { parseArgs } from "node:util";
import { initKnowsRing3Run, raceInitrd } from "./cpio.ts";
import {
  type Boot,
  BOOT_MARKER,
  type Expect,
  expectFor,
  FULL_SIZES,
  type Line,
  parseConsole,
  QUICK_SIZES,
  sizeArgs,
} from "./parse.ts";
import {
  exists,
  HOW_TO_INSTALL,
  QEMU,
  qemuVersion,
  ROOT,
  run,
  SEABIOS,
  seabiosInstalled,
  STOCK_KERNEL,
  V86_LIB,
  v86Version,
} from "./peers.ts";
import {
  type Cell,
  type Emu,
  EMU_LABEL,
  type EmuInfo,
  EMUS,
  geomeanRow,
  num,
  ratios,
  type Results,
  type Row,
  spreads,
  stat,
} from "./report.ts";
import { RESULTS_DIR, writeResults } from "./output.ts";
import { readProc, writeProc } from "../../tests/lib/procfs.ts";

const USAGE = `usage: deno task bench:race [options]
  --quick           for development: 1 run, smaller workloads (md5sum of 4 MiB, 50,000 awk
                    iterations, a quarter of the sh loop and of sort's and sed's lines, 100 forks),
                    shorter timeouts, results to build/peers/quick (bench/results, README untouched)
  --work LIST       workloads: md5,awk,par,sh,gzip,sort,sed,fork,sse2,stock (default: all; boot is always
                    timed; the instructions/s row needs awk, the geometric mean two of sh..fork;
                    stock: boot Debian's stock linux-image-686 kernel, from deno task bench:peers,
                    to the same initramfs)
  --runs N          boots per emulator and vCPU count; figures are medians (default 3)
  --smp LIST        vCPU counts for the parallel md5sums (default 1,2,4; v86 runs only 1)
  --only LIST       emulators to run: ring3,v86,qemu (default: all)
  --kernel FILE     bzImage (default: guest/images/bzImage, else /tmp/refguest/images/bzImage)
  --initrd FILE     initramfs (default: beside the kernel)
  --mem MIB         guest RAM (default 256)
  --boot-timeout S  seconds to the boot marker before a boot is given up (default 300; quick 120)
  --timeout S       seconds one boot and its workloads may take in all (default 900; quick 300)
  --stall S         seconds a booted guest may stay silent on its console (default 240; quick 90)
  --out DIR         where latest.{json,md,svg} go (default bench/results; quick build/peers/quick)
  --no-icount       skip QEMU's instruction-counting run
  --no-readme       leave README.md's Performance section alone`;

const { values: o } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    runs: { type: "string" },
    smp: { type: "string", default: "1,2,4" },
    only: { type: "string", default: EMUS.join(",") },
    work: { type: "string", default: "" },
    kernel: { type: "string" },
    initrd: { type: "string" },
    mem: { type: "string", default: "256" },
    timeout: { type: "string" },
    "boot-timeout": { type: "string" },
    stall: { type: "string" },
    out: { type: "string" },
    "no-icount": { type: "boolean", default: false },
    "no-readme": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (o.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const QUICK = o.quick;
const RUNS = Math.max(1, Math.floor(Number(o.runs ?? (QUICK ? 1 : 3))) || 1);
const SMP = [...new Set(o.smp.split(",").map(Number).filter((n) => Number.isInteger(n) && n >= 1))];
if (!SMP.includes(1)) SMP.unshift(1); // the single-vCPU boots carry md5, awk and the boot time
const ONLY = new Set(o.only.split(",").map((s) => s.trim()));
// the workloads in run.sh's order; the last five are the everyday ones with a geometric mean
const OLD_WORK = ["md5", "awk", "par"];
const DAILY = ["sh", "gzip", "sort", "sed", "fork"];
// compiled SSE2 code (bench/peers/guest/sse2.c, built here with gcc -m32 -msse2 -mfpmath=sse)
const SIMD = ["sse2"];
const ALL_WORK = [...OLD_WORK, ...DAILY, ...SIMD];
const asked = o.work ? o.work.split(",").map((s) => s.trim()).filter(Boolean) : [...ALL_WORK, "stock"];
const unknown = asked.filter((w) => !ALL_WORK.includes(w) && w !== "stock");
if (unknown.length) {
  console.error(`race: unknown workload ${unknown.join(", ")} (--work takes ${ALL_WORK.join(",")},stock)`);
  Deno.exit(2);
}
const WORK = ALL_WORK.filter((w) => asked.includes(w));
// the stock-kernel boot row: its own boots of Debian's linux-image-686, no workloads
const STOCK = asked.includes("stock") && exists(STOCK_KERNEL) ? STOCK_KERNEL : undefined;
const STOCK_NOTE = !asked.includes("stock")
  ? undefined
  : STOCK
  ? undefined
  : `stock kernel not installed: ${HOW_TO_INSTALL.stock}`;
const MEM = Number(o.mem);
const TIMEOUT = Number(o.timeout ?? (QUICK ? 300 : 900));
const BOOT_TIMEOUT = Math.min(TIMEOUT, Number(o["boot-timeout"] ?? (QUICK ? 120 : 300)));
// the longest silence in a healthy run is one workload (ring3's awk: ~30 s on a quiet machine)
const STALL = Number(o.stall ?? (QUICK ? 90 : 240));
const OUT = o.out ?? (QUICK ? `${ROOT}build/peers/quick` : RESULTS_DIR);
const README = !o["no-readme"] && !QUICK;
// the workloads' sizes: the full race's, or smaller for --quick
const SIZES = QUICK ? QUICK_SIZES : FULL_SIZES;
const MIB = SIZES.mib;
const AWK_N = SIZES.awkN;
// the SSE2 program's string checksum, from the host's native build of it (when gcc is there)
let SSE2_STR: string | undefined;
const expectN = (cpus: number): Expect => ({ ...expectFor(SIZES, cpus), ...(SSE2_STR ? { sse2Str: SSE2_STR } : {}) });
const LOGS = `${ROOT}build/peers/logs`;
const log = (s: string) => console.error(`race: ${s}`);

// ---- the guest ------------------------------------------------------------------------------
function findGuest(): { kernel: string; initrd: string } {
  if (o.kernel) return { kernel: o.kernel, initrd: o.initrd ?? o.kernel.replace(/[^/]*$/, "initramfs.cpio.gz") };
  for (const dir of [`${ROOT}guest/images`, "/tmp/refguest/images"]) {
    if (exists(`${dir}/bzImage`) && exists(`${dir}/initramfs.cpio.gz`)) {
      return { kernel: `${dir}/bzImage`, initrd: o.initrd ?? `${dir}/initramfs.cpio.gz` };
    }
  }
  console.error("race: no guest kernel: build guest/images with guest/build.sh, or pass --kernel/--initrd");
  Deno.exit(1);
}
const guest = findGuest();
const kernelBytes = await Deno.readFile(guest.kernel);
const initrdBytes = await Deno.readFile(guest.initrd);
// guest/init runs /race/run for ring3.run=/race/run; another init is replaced by the script
const ownInit = !(await initKnowsRing3Run(initrdBytes));
await Deno.mkdir(LOGS, { recursive: true });
const INITRD = `${ROOT}build/peers/race-initramfs.cpio.gz`;
// the SSE2 workload's program: static i386 for the guest, and natively for its expected output
async function buildSse2(): Promise<Uint8Array | undefined> {
  const src = `${ROOT}bench/peers/guest/sse2.c`, bin = `${ROOT}build/peers/sse2`, host = `${ROOT}build/peers/sse2-host`;
  const cc = async (args: string[]) => {
    try {
      return (await new Deno.Command("gcc", { args, stderr: "piped" }).output()).success;
    } catch {
      return false;
    }
  };
  if (!(await cc(["-m32", "-O2", "-msse2", "-mfpmath=sse", "-static", "-o", bin, src]))) {
    log("sse2: gcc -m32 -static failed: the sse2 workload will report no result");
    return undefined;
  }
  if (await cc(["-O2", "-o", host, src])) {
    const out = await new Deno.Command(host, { args: [String(SIZES.sse2N)], stdout: "piped" }).output();
    const m = /^sse2-sum \S+ (\d+) 0$/m.exec(new TextDecoder().decode(out.stdout));
    if (m) SSE2_STR = m[1];
  }
  return await Deno.readFile(bin);
}
const sse2Bin = WORK.includes("sse2") ? await buildSse2() : undefined;
await Deno.writeFile(
  INITRD,
  await raceInitrd(
    initrdBytes,
    await Deno.readFile(`${ROOT}bench/peers/guest/run.sh`),
    ownInit,
    sse2Bin ? [{ name: "race/sse2", mode: 0o100755, data: sse2Bin }] : [],
  ),
);
const BASE_APPEND = "console=ttyS0 quiet" + (ownInit ? "" : " ring3.run=/race/run") + sizeArgs(SIZES);
const appendFor = (work: string[]) => `${BASE_APPEND} race.work=${work.join(",")}`;

function kernelVersion(k: Uint8Array): string {
  const dv = new DataView(k.buffer, k.byteOffset, k.byteLength);
  if (k.length < 0x210 || dv.getUint32(0x202, true) !== 0x53726448) return "not a bzImage";
  let p = dv.getUint16(0x20e, true) + 0x200, s = "";
  while (p < k.length && k[p] !== 0 && s.length < 200) s += String.fromCharCode(k[p++]);
  return s;
}
async function sha256(b: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b as BufferSource));
  return [...d].map((x) => x.toString(16).padStart(2, "0")).join("");
}

// ---- running one boot -----------------------------------------------------------------------
// Host CPU seconds (user+sys of all its threads) a process has used so far, from /proc/PID/stat.
const CLK_TCK = Number((await run("getconf", ["CLK_TCK"])).out) || 100;
function procCpu(pid: number): number | undefined {
  try {
    const st = readProc(`/proc/${pid}/stat`);
    // fields after the ")" that ends the command name start at field 3: utime is 14, stime 15
    const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}
// Peak resident memory (MiB) of a process since its start or the last resetPeak (VmHWM).
function procPeakRss(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readProc(`/proc/${pid}/status`));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}
// Start a new peak: the kernel sets VmHWM to the current RSS when "5" is written to clear_refs.
function resetPeak(pid: number): void {
  try {
    writeProc(`/proc/${pid}/clear_refs`, "5");
  } catch { /* not permitted: the next peak counts from the process's start */ }
}
interface Proc {
  lines: Line[];
  code: number | null;
  timedOut: boolean;
  stalled: boolean; // booted, then silent for STALL seconds
  stderr: string;
}

async function runConsole(cmd: string, args: string[], logName: string): Promise<Proc> {
  const t0 = performance.now();
  const child = new Deno.Command(cmd, { args, cwd: ROOT, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
  const lines: Line[] = [];
  // written as the console arrives, so a hung guest can be watched: tail -f build/peers/logs/...
  const logFile = await Deno.open(`${LOGS}/${logName}.log`, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  const logText = (s: string) => logFile.writeSync(enc.encode(s));
  logText(`$ ${cmd} ${args.join(" ")}\n`);
  let timedOut = false;
  let stderr = "";
  const stop = () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 3000);
  };
  const deadline = setTimeout(() => {
    timedOut = true;
    stop();
  }, TIMEOUT * 1000);
  // a guest that hangs before userspace (quiet: no console at all) is given up sooner
  let booted = false;
  let stalled = false;
  let lastOutput = performance.now();
  const stallCheck = setInterval(() => {
    if (!booted || performance.now() - lastOutput < STALL * 1000) return;
    timedOut = stalled = true;
    clearInterval(stallCheck);
    stop();
  }, 1000);
  const bootDeadline = setTimeout(() => {
    if (booted) return;
    timedOut = true;
    stop();
  }, BOOT_TIMEOUT * 1000);
  let grace: ReturnType<typeof setTimeout> | undefined;
  // ring3's --icount-at lines arrive on stderr; they name their mark, so they join the console
  const readErr = (async () => {
    const d = new TextDecoder();
    let part = "";
    for await (const c of child.stderr) {
      const text = d.decode(c, { stream: true });
      stderr = (stderr + text).slice(-8192);
      const ls = (part + text).split("\n");
      part = ls.pop()!;
      for (const l of ls) {
        if (l.startsWith("ring3: icount ")) {
          lines.push({ t: (performance.now() - t0) / 1000, text: l });
          logText(`${lines[lines.length - 1].t.toFixed(2).padStart(8)} ${l}\n`);
        }
      }
    }
  })();
  const d = new TextDecoder();
  let partial = "";
  for await (const chunk of child.stdout) {
    lastOutput = performance.now();
    const t = (lastOutput - t0) / 1000;
    partial += d.decode(chunk, { stream: true });
    const parts = partial.split("\n");
    partial = parts.pop()!;
    for (const text of parts) {
      // the emulator's CPU time where the workloads start and end, and at the boot marker
      const mark = /^(START|END) /.test(text) || text.includes(BOOT_MARKER);
      const cpu = mark ? procCpu(child.pid) : undefined;
      // the peak memory of the span that ends here; a START line starts a new one
      const rss = mark && !text.startsWith("START ") ? procPeakRss(child.pid) : undefined;
      if (text.startsWith("START ")) resetPeak(child.pid);
      lines.push({
        t,
        text: text.replace(/\r/g, ""),
        ...(cpu !== undefined ? { cpu } : {}),
        ...(rss !== undefined ? { rss } : {}),
      });
      logText(`${t.toFixed(2).padStart(8)} ${lines[lines.length - 1].text}\n`);
      if (text.includes(BOOT_MARKER)) booted = true;
      // the guest is finished: give it time to power off, then stop it
      if (grace === undefined && /ring3: exit \d+|Kernel panic/.test(text)) grace = setTimeout(stop, 20_000);
    }
  }
  if (partial) {
    lines.push({ t: (performance.now() - t0) / 1000, text: partial });
    logText(`${lines[lines.length - 1].t.toFixed(2).padStart(8)} ${partial}\n`);
  }
  const st = await child.status;
  await readErr;
  clearTimeout(deadline);
  clearTimeout(bootDeadline);
  clearInterval(stallCheck);
  clearTimeout(grace);
  logText(`---- stderr ----\n${stderr}\n---- exit ${st.code}${timedOut ? " (timed out)" : ""}\n`);
  logFile.close();
  return { lines, code: st.code, timedOut, stalled, stderr };
}

function command(emu: Emu, n: number, append: string, icount = false, kernel = guest.kernel): [string, string[]] {
  const common = ["--kernel", kernel, "--initrd", INITRD, "--append", append];
  switch (emu) {
    case "qemu":
      return [QEMU, [
        "-accel",
        "tcg",
        ...(icount ? ["-icount", "shift=0,sleep=off"] : []),
        "-m",
        String(MEM),
        "-smp",
        String(n),
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        "stdio",
        "-no-reboot",
        "-kernel",
        kernel,
        "-initrd",
        INITRD,
        "-append",
        append,
      ]];
    case "v86":
      return [Deno.execPath(), [
        "run",
        "-A",
        `${ROOT}bench/peers/v86_runner.ts`,
        "--lib",
        V86_LIB,
        ...common,
        "--mem",
        String(MEM),
      ]];
    case "ring3":
      return [Deno.execPath(), [
        "run",
        "-A",
        ...RING3_V8_FLAGS,
        `${ROOT}cli/boot.ts`,
        ...common,
        "--smp",
        String(n),
        "-m",
        String(MEM),
        "--no-reboot",
        "--icount-at",
        "START ",
        "--icount-at",
        "END ",
      ]];
  }
}

// ring3 runs as `deno task boot` runs it: with the --v8-flags of deno.json's boot task
const RING3_V8_FLAGS = bootTaskV8Flags();
function bootTaskV8Flags(): string[] {
  const json = Deno.readTextFileSync(`${ROOT}deno.json`).replace(/^\s*\/\/.*$/gm, "");
  const boot = JSON.parse(json).tasks?.boot;
  const cmd: string = typeof boot === "string" ? boot : boot?.command ?? "";
  return cmd.split(/\s+/).filter((a) => a.startsWith("--v8-flags="));
}

const lastLine = (s: string) => s.trim().split("\n").filter((l) => l.trim()).pop()?.trim() ?? "";

// One boot, read into figures; boot-level failures become Boot.error.
async function boot(emu: Emu, n: number, work: string[], tag: string, icount = false, kernel?: string): Promise<Boot> {
  const [cmd, args] = command(emu, n, appendFor(work), icount, kernel);
  const p = await runConsole(cmd, args, `${emu}-smp${n}-${tag}`);
  const b = parseConsole(p.lines, work, expectN(n));
  if (b.bootWall === undefined && !b.error) {
    const last = p.lines.filter((l) => l.text.trim()).pop()?.text.trim();
    b.error = p.timedOut
      ? `no '${BOOT_MARKER}' within ${BOOT_TIMEOUT} s${last ? ` (last console line: ${last.slice(0, 100)})` : ""}`
      : `exited with status ${p.code} before the boot marker: ${lastLine(p.stderr) || last || "no output"}`;
  } else {
    // booted, then ran out of time or died: what finished keeps its figure
    const last = p.lines.filter((l) => l.text.trim()).pop()?.text.trim().slice(0, 100);
    const why = p.stalled
      ? `the console was silent for ${STALL} s (last line: ${last ?? "none"})`
      : p.timedOut
      ? `not finished within the ${TIMEOUT} s timeout`
      : `the emulator exited (status ${p.code}) first: ${lastLine(p.stderr) || last || "no output"}`;
    for (const w of work) if (b.work[w]?.error?.startsWith("no WORK")) b.work[w] = { error: why };
  }
  // a guest that never booted says why in every workload's cell (not just "did not boot"); after
  // the boot, parseConsole has given a panic to the workloads it cut short, and finished ones keep
  // their figures
  if (b.bootWall === undefined && b.error) { for (const w of work) b.work[w] = { error: b.error }; }
  b.timedOut = p.timedOut;
  return b;
}

// ---- which emulators can run ----------------------------------------------------------------
async function gitVersion(): Promise<string> {
  const h = await run("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"]);
  const d = await run("git", ["-C", ROOT, "status", "--porcelain", "--untracked-files=no"]);
  return h.ok ? `${h.out}${d.out ? "+dirty" : ""}` : "unknown";
}

const info: Record<Emu, EmuInfo> = {
  ring3: { version: await gitVersion(), available: true },
  v86: { version: v86Version(), available: true },
  qemu: { version: await qemuVersion(), available: true },
};
for (const k of EMUS) if (!ONLY.has(k)) info[k] = { ...info[k], available: false, note: "not run (--only)" };
if (info.v86.available && (!info.v86.version || !seabiosInstalled())) {
  info.v86.available = false;
  info.v86.note = `not installed (${!info.v86.version ? "v86 npm package" : SEABIOS} missing): ${HOW_TO_INSTALL.v86}`;
}
if (info.qemu.available && !info.qemu.version) {
  info.qemu.available = false;
  info.qemu.note = `not installed: ${HOW_TO_INSTALL.qemu}`;
}
if (info.ring3.available) {
  if (!exists(`${ROOT}cli/boot.ts`)) {
    info.ring3.available = false;
    info.ring3.note = "boot not available: cli/boot.ts (deno task boot) is not in this tree yet";
  } else {
    const b = await run(Deno.execPath(), ["task", "build"]);
    if (!b.ok) {
      info.ring3.available = false;
      info.ring3.note = `boot not available: deno task build failed: ${lastLine(b.out)}`;
    }
  }
}

const loadavg = () => readProc("/proc/loadavg").split(" ").slice(0, 3).join(" ");
const loadBefore = loadavg();
log(
  `guest ${kernelVersion(kernelBytes)}; ${ownInit ? "own /init" : "guest/init with ring3.run=/race/run"}; ${RUNS} runs`,
);
for (const k of EMUS) log(`${EMU_LABEL[k]}: ${info[k].available ? `ready (${info[k].version})` : info[k].note}`);

// ---- the race -------------------------------------------------------------------------------
// boots[emu][n] = one Boot per run. Runs interleave the emulators so that a burst of load on the
// shared machine hits all of them alike.
const boots: Record<Emu, Record<number, Boot[]>> = { ring3: {}, v86: {}, qemu: {} };
const stockBoots: Record<Emu, Boot[]> = { ring3: [], v86: [], qemu: [] };
let qemuIcount: Boot | null = null;
const brief = (b: Boot) =>
  b.error ? `FAILED: ${b.error}` : [
    `boot ${b.bootWall?.toFixed(2)} s`,
    ...Object.entries(b.work).map(([w, x]) =>
      `${w} ${x.error ? `FAILED (${x.error})` : `${x.wall?.toFixed(2)} s (guest clock ${x.guest})`}`
    ),
  ].join(", ");

// an emulator and vCPU count that could not boot, or hung, is not tried again: each try costs a
// timeout and says nothing new (a guest that boots short of CPUs returns soon and is retried)
const noBoot = new Set<string>();
// without the parallel workload only the single-vCPU boots have anything to run
const SMP_RUN = WORK.includes("par") ? SMP : [1];
for (let r = 1; r <= RUNS; r++) {
  for (const n of SMP_RUN) {
    for (const emu of EMUS) {
      if (!info[emu].available || (emu === "v86" && n > 1) || noBoot.has(`${emu}/${n}`)) continue;
      const work = n === 1 ? WORK : ["par"];
      const b = await boot(emu, n, work, `run${r}`);
      (boots[emu][n] ??= []).push(b);
      if (b.model && !info[emu].cpu) info[emu].cpu = b.model;
      log(`run ${r}/${RUNS} ${EMU_LABEL[emu]} smp ${n}: ${brief(b)}`);
      if (b.bootWall === undefined || b.timedOut) noBoot.add(`${emu}/${n}`);
      if (emu === "ring3" && n === 1 && b.bootWall === undefined) {
        info.ring3.available = false;
        info.ring3.note = `boot not available: ${b.error}`;
      }
    }
  }
  for (const emu of STOCK ? EMUS : []) {
    if (!info[emu].available || noBoot.has(`${emu}/stock`)) continue;
    const b = await boot(emu, 1, [], `stock-run${r}`, false, STOCK);
    stockBoots[emu].push(b);
    log(`run ${r}/${RUNS} ${EMU_LABEL[emu]} stock kernel: ${brief(b)}`);
    if (b.bootWall === undefined || b.timedOut) noBoot.add(`${emu}/stock`);
  }
}
if (info.qemu.available && !o["no-icount"] && WORK.includes("awk")) {
  qemuIcount = await boot("qemu", 1, ["awk"], "icount", true);
  log(`QEMU -icount run: ${brief(qemuIcount)}`);
}

// ---- figures --------------------------------------------------------------------------------
function firstError(bs: Boot[], pick: (b: Boot) => string | undefined): string | undefined {
  for (const b of bs) {
    const e = pick(b);
    if (e) return e;
  }
}

function cell(
  emu: Emu,
  bs: Boot[] | undefined,
  value: (b: Boot) => number | undefined,
  guest?: (b: Boot) => number | undefined,
  err?: (b: Boot) => string | undefined,
  cpu?: (b: Boot) => number | undefined,
  rss?: (b: Boot) => number | undefined,
): Cell {
  if (!bs || bs.length === 0) {
    const why = info[emu].note ?? "";
    return { note: why.startsWith("not installed") ? "not installed" : why.startsWith("not run") ? "not run" : "n/a" };
  }
  const v = bs.map(value).filter((x): x is number => x !== undefined && Number.isFinite(x));
  const g = guest ? bs.map(guest).filter((x): x is number => x !== undefined && Number.isFinite(x)) : [];
  const c: Cell = {};
  const s = stat(v);
  if (s) c.stat = s;
  const gs = stat(g);
  if (gs) c.guest = gs;
  const cs = stat(cpu ? bs.map(cpu).filter((x): x is number => x !== undefined && Number.isFinite(x)) : []);
  if (cs) c.cpu = cs;
  const rs = stat(rss ? bs.map(rss).filter((x): x is number => x !== undefined && Number.isFinite(x)) : []);
  if (rs) c.rss = rs;
  const why = () => (err && firstError(bs, err)) ?? firstError(bs, (b) => b.error) ?? "no figure";
  if (!s) c.note = `failed: ${why()}`;
  else if (v.length < bs.length) {
    c.runs = bs.length;
    c.note = `${bs.length - v.length} of ${bs.length} runs failed: ${why()}`;
  }
  return c;
}

function row(id: string, label: string, unit: Row["unit"], f: (emu: Emu) => Cell, higherIsBetter = false): Row {
  const cells = { ring3: f("ring3"), v86: f("v86"), qemu: f("qemu") };
  return {
    id,
    label,
    unit,
    ...(higherIsBetter ? { higherIsBetter } : {}),
    cells,
    ratios: ratios(cells),
    spreads: spreads(cells),
  };
}

const workCell = (w: string, n: number) => (emu: Emu): Cell => {
  if (emu === "v86" && n > 1) return { note: "– (no SMP)" };
  return cell(
    emu,
    boots[emu][n],
    (b) => b.work[w]?.wall,
    (b) => b.work[w]?.guest,
    (b) => b.work[w]?.error,
    (b) => b.work[w]?.cpu,
    (b) => b.work[w]?.rss,
  );
};
const S = SIZES;
const stockVersion = (() => {
  try {
    return Deno.readTextFileSync(`${STOCK_KERNEL}.version`).trim().replace(/_i386$/, "").replace(/_/g, " ");
  } catch {
    return "linux-image-686";
  }
})();
const DAILY_LABEL: Record<string, string> = {
  sh: `busybox sh loop, ${S.shN.toLocaleString("en")} iterations (s)`,
  gzip: `gzip -c of ${(S.lines * S.gzRep).toLocaleString("en")} text lines (s)`,
  sort: `sort -n of ${S.lines.toLocaleString("en")} lines (s)`,
  sed: `sed, 2 substitutions on ${S.lines.toLocaleString("en")} lines (s)`,
  fork: `${S.forkN} fork+exec of /bin/true (s)`,
};

const has = (w: string) => WORK.includes(w);
const rows: Row[] = [
  row(
    "boot",
    "boot to `ring3: userspace up` (host s)",
    "s",
    (emu) => cell(emu, boots[emu][1], (b) => b.bootWall, undefined, undefined, (b) => b.bootCpu, (b) => b.bootRss),
  ),
  ...(STOCK || STOCK_NOTE
    ? [row(
      "stock",
      `boot of Debian's stock ${stockVersion} to \`ring3: userspace up\` (host s)`,
      "s",
      (emu) =>
        STOCK_NOTE
          ? { note: "not installed" }
          : cell(emu, stockBoots[emu], (b) => b.bootWall, undefined, undefined, (b) => b.bootCpu, (b) => b.bootRss),
    )]
    : []),
  ...(has("md5") ? [row("md5", `md5sum of ${MIB} MiB (s)`, "s", workCell("md5", 1))] : []),
  ...(has("awk")
    ? [row("awk", `awk doubles, ${AWK_N.toLocaleString("en")} iterations (s)`, "s", workCell("awk", 1))]
    : []),
  ...(has("sse2")
    ? [row(
      "sse2",
      `SSE2 doubles + string functions (gcc -msse2 -mfpmath=sse), ${SIZES.sse2N.toLocaleString("en")} iterations (s)`,
      "s",
      workCell("sse2", 1),
    )]
    : []),
  ...(has("par") ? SMP : []).map((n) =>
    row(
      `par${n}`,
      `${n} parallel md5sum${n > 1 ? "s" : ""} of ${MIB} MiB, ${n} vCPU${n > 1 ? "s" : ""} (s)`,
      "s",
      workCell("par", n),
    )
  ),
];
const dailyRows = DAILY.filter(has).map((w) => row(w, DAILY_LABEL[w], "s", workCell(w, 1)));
rows.push(...dailyRows);
if (dailyRows.length >= 2) {
  rows.push(geomeanRow("daily", `geometric mean: ${dailyRows.map((r) => r.id).join(", ")}`, dailyRows));
}
// instructions over the awk workload ÷ host seconds between its START and WORK lines
const perSecond = (b: Boot) =>
  b.work.awk?.insns && b.work.awk.wall && !b.work.awk.error ? b.work.awk.insns / b.work.awk.wall / 1e6 : undefined;
const qemuAwkInsns = qemuIcount?.work.awk?.guest !== undefined && !qemuIcount.work.awk.error
  ? qemuIcount.work.awk.guest * 1e9
  : undefined;
if (has("awk")) {
  rows.push(row("mips", "guest instructions/s during awk (M/s)", "M/s", (emu) => {
    if (emu === "ring3" || emu === "v86") {
      return cell(emu, boots[emu][1], perSecond, undefined, (b) => b.work.awk?.error);
    }
    if (!boots.qemu[1]?.length) return { note: "not run" };
    if (qemuAwkInsns === undefined) {
      return {
        note: o["no-icount"] ? "not counted (--no-icount)" : `failed: ${qemuIcount?.work.awk?.error ?? "no count"}`,
      };
    }
    return cell(
      emu,
      boots.qemu[1],
      (b) => (b.work.awk?.wall && !b.work.awk.error ? qemuAwkInsns / b.work.awk.wall / 1e6 : undefined),
    );
  }, true));
}

// ---- machine and notes ----------------------------------------------------------------------
const cpuinfo = await Promise.resolve().then(() => readProc("/proc/cpuinfo")).catch(() => "");
const meminfo = await Promise.resolve().then(() => readProc("/proc/meminfo")).catch(() => "");
const osRelease = await Deno.readTextFile("/etc/os-release").catch(() => "");
const machine = {
  cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown CPU",
  cores: navigator.hardwareConcurrency,
  memGiB: Math.round(Number(/^MemTotal:\s*(\d+)/m.exec(meminfo)?.[1] ?? 0) / 1048576 * 10) / 10,
  os: /^PRETTY_NAME="?([^"\n]*)/m.exec(osRelease)?.[1] ?? Deno.build.os,
  hostKernel: (await run("uname", ["-r"])).out,
  deno: Deno.version.deno,
  loadBefore,
  loadAfter: loadavg(),
};

const notes: string[] = [];
for (const r of rows) {
  for (const k of EMUS) {
    const c = r.cells[k];
    if (c.stat && c.note) notes.push(`${EMU_LABEL[k]}, ${r.label}: ${c.note}`);
    else if (c.note && c.note.length > 60 && c.note.includes(" (")) {
      // the table gets the reason, the notes its detail (the last console line, the kernel's words)
      notes.push(`${EMU_LABEL[k]}, ${r.label}: ${c.note}`);
      c.note = c.note.slice(0, c.note.indexOf(" ("));
    }
  }
}
for (const k of EMUS) if (!info[k].available && info[k].note) notes.push(`${EMU_LABEL[k]}: ${info[k].note}`);
if (STOCK_NOTE) notes.push(STOCK_NOTE);
else if (STOCK) {
  notes.push(
    `Stock kernel row: Debian's ${stockVersion} (\`deno task bench:peers\` downloads it), booted with the same ` +
      "initramfs and command line (no workloads), on 1 vCPU; host seconds from starting the emulator to the boot " +
      "marker, as in the boot row.",
  );
}
notes.push(
  "Workload times are host seconds between the guest's START and END lines on the serial console (only shell " +
    "builtins run between them and the workload), so an emulator whose guest clock runs slow gains nothing; the " +
    "second table has the guest's own /proc/uptime deltas as a check. Boot is host wall time from starting the " +
    "emulator process (including its BIOS or loader, kernel decompression and, for ring3 and v86, Deno start-up " +
    "and wasm compilation) to the guest's `ring3: userspace up` line.",
  "Ratios are medians divided (ring3 ÷ peer): above 1 ring3 takes longer, or for instructions/s, runs more per second.",
  "v86 runs under Deno from the npm build (JIT on, SeaBIOS, `acpi: false`, so one CPU in PIC mode); it has no SMP.",
  "QEMU runs `qemu-system-i386 -accel tcg` (multi-threaded TCG) with SeaBIOS and its own bzImage loader.",
  "Instructions/s: instructions retired during the awk workload ÷ host seconds between its START and END " +
    "lines. ring3 counts with `deno task boot --icount-at` (every vCPU's retired instructions), v86 with its own " +
    "counter; QEMU's count comes from a separate `-icount shift=0` run (one guest nanosecond per instruction, a " +
    "run whose time is not used) ÷ host seconds of the awk workload in the normal runs. The counts differ a " +
    "little between emulators (timer interrupts, and code the guest picks by CPUID).",
  "Everyday rows (busybox 1.35, 1 vCPU): a `while [ $i -lt N ]; do i=$((i+1)); done` sh loop (checked: the " +
    'final count); gzip -c of generated text (an awk LCG writes "<n> <word>-<line> <word> <n>" lines before ' +
    "START; checked: md5 of the compressed stream and of gunzip's output); sort -n and a two-substitution sed over " +
    "those lines (checked: md5 of the output, computed on the host); fork+exec of /bin/true from a sh loop " +
    "(checked: every one succeeded). The geometric mean row's cells are the geometric means of those rows' " +
    "medians, so its ratios are the geometric means of theirs.",
  "Host CPU seconds: utime+stime of the emulator's process (all its threads: QEMU's vCPU and I/O threads, " +
    "ring3's and v86's Deno process) read from /proc when the START and END lines reach the host; on a loaded " +
    "machine they show the work done better than wall time does.",
  "Parallel rows: the guest runs one md5sum per CPU it has; a run where the guest brought up fewer CPUs than " +
    "asked for gives no figure.",
  "The md5 row is each boot's first md5sum (v86 compiles its JIT code then); the parallel rows run one untimed " +
    "round of their N md5sums first and time the second, so every vCPU runs warm code, as the 1-vCPU row always " +
    "did (it follows the md5 workload).",
  "This machine is shared with other jobs: compare figures within one run, not across runs.",
);
// A guest clock that loses time (an emulator starved of host CPU, or a clock bug) would have
// flattered it had guest seconds been the figure: say when it happened.
for (const k of EMUS) {
  const off = rows.filter((row) => row.unit === "s" && row.cells[k].stat && row.cells[k].guest).map((row) =>
    row.cells[k].stat!.median / row.cells[k].guest!.median
  );
  const worst = Math.max(0, ...off);
  if (worst > 1.25) {
    notes.push(
      `${EMU_LABEL[k]}'s guest clock ran slow in this run: host seconds were up to ${num(worst)}× its /proc/uptime ` +
        "seconds (second table).",
    );
  }
}
if (QUICK) notes.unshift(`--quick: ${RUNS} run${RUNS > 1 ? "s" : ""}, smaller workloads; not for comparison.`);
if (qemuAwkInsns !== undefined) {
  notes.push(`QEMU counted ${(qemuAwkInsns / 1e9).toFixed(2)}·10⁹ instructions for the awk workload.`);
}
for (const k of ["ring3", "v86"] as const) {
  const n = stat((boots[k][1] ?? []).map((b) => b.work.awk?.insns).filter((x): x is number => x !== undefined));
  if (n) notes.push(`${EMU_LABEL[k]} counted ${(n.median / 1e9).toFixed(2)}·10⁹ instructions for the awk workload.`);
}

const results: Results = {
  date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  machine,
  guest: {
    kernel: kernelVersion(kernelBytes).split(" ")[0],
    kernelBuild: kernelVersion(kernelBytes),
    kernelFile: guest.kernel.replace(ROOT, ""),
    kernelSha256: await sha256(kernelBytes),
    initrdFile: guest.initrd.replace(ROOT, ""),
    initrdSha256: await sha256(initrdBytes),
    init: ownInit ? "bench/peers/guest/run.sh as /init" : "guest/init, ring3.run=/race/run (bench/peers/guest/run.sh)",
    append: appendFor(WORK),
    memMiB: String(MEM),
  },
  runs: RUNS,
  ...(QUICK ? { quick: true } : {}),
  emulators: info,
  rows,
  notes,
};

const md = await writeResults(results, OUT, README);
log(`wrote ${OUT}/latest.{json,md,svg}`);
console.log(md);
