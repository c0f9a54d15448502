// Reads one boot's console (lines stamped with host seconds since the emulator was started) into
// figures. Pure, so the tests can feed it recorded consoles.
import { createHash } from "node:crypto";

export interface Line {
  t: number; // host wall seconds since the emulator process was started
  text: string;
  cpu?: number; // host CPU seconds (user+sys) the emulator process had used when the line arrived
  rss?: number; // peak resident memory (MiB) of the emulator process since the last START line (or its start)
}

export interface Work {
  guest?: number; // seconds by the guest's /proc/uptime
  wall?: number; // host seconds between the START and END lines (WORK when there is no END)
  insns?: number; // guest instructions the emulator counted over the workload (v86, ring3)
  cpu?: number; // host CPU seconds the emulator process used between the START and END lines
  rss?: number; // peak resident memory (MiB) of the emulator process between the START and END lines
  error?: string; // the result was wrong or missing: no figure
}

export interface Boot {
  bootWall?: number; // host seconds to "ring3: userspace up"
  bootCpu?: number; // host CPU seconds the emulator process had used by then
  bootRss?: number; // peak resident memory (MiB) of the emulator process by then
  nproc?: number;
  model?: string;
  exit?: number; // the race script's exit status as guest/init reports it
  cpuErrors?: string[]; // the kernel's complaints about bringing up CPUs
  work: Record<string, Work>;
  error?: string; // the boot as a whole failed
  timedOut?: boolean; // the race stopped the emulator (set by race.ts)
}

export const BOOT_MARKER = "ring3: userspace up";
export const EXPECT_MD5 = "2c7ab85a893283e98c931e9511add182"; // 16 MiB of zeros
export const EXPECT_AWK = "50.519065";

// The workloads' sizes (run.sh's race.* options) and the answers they must give.
export interface Sizes {
  mib: number; // race.mib: MiB of zeros the md5sums hash
  awkN: number; // race.awkn: iterations of the awk loop
  shN: number; // race.shn: iterations of the sh loop
  lines: number; // race.lines: generated lines sort and sed work on
  gzRep: number; // race.gzrep: copies of those lines gzip compresses
  forkN: number; // race.forkn: fork+execs of /bin/true
  sse2N: number; // race.sse2n: iterations of the SSE2 program's loop (guest/sse2.c)
}

export interface Expect extends Sizes {
  md5: string;
  awk: string;
  textMd5: string; // md5 of gzip's input, which gunzip must give back
  gzMd5?: string; // md5 of the guest's busybox gzip -c stream, where known (unchecked when absent)
  sortMd5: string;
  sedMd5: string;
  cpus?: number; // vCPUs the guest must have brought up (unchecked when absent)
  sse2Sum: string; // the SSE2 program's loop sum (the awk loop's, in doubles)
  sse2Str?: string; // its string-function checksum as the host's native build prints it (unchecked when absent)
}

// run.sh's defaults (the full race) and --quick's sizes
export const FULL_SIZES: Sizes = {
  mib: 16,
  awkN: 200000,
  shN: 20000,
  lines: 60000,
  gzRep: 2,
  forkN: 300,
  sse2N: 20000000,
};
export const QUICK_SIZES: Sizes = {
  mib: 4,
  awkN: 50000,
  shN: 5000,
  lines: 15000,
  gzRep: 2,
  forkN: 100,
  sse2N: 5000000,
};

// run.sh's kernel options for sizes other than its defaults
export function sizeArgs(s: Sizes): string {
  const opt = {
    mib: "mib",
    awkN: "awkn",
    shN: "shn",
    lines: "lines",
    gzRep: "gzrep",
    forkN: "forkn",
    sse2N: "sse2n",
  } as const;
  return (Object.keys(opt) as (keyof Sizes)[]).filter((k) => s[k] !== FULL_SIZES[k])
    .map((k) => ` race.${opt[k]}=${s[k]}`).join("");
}

// The md5 of gzip -c's stream from the guest's busybox (1.35.0, Debian) for lines x copies,
// recorded from QEMU and checked against the round trip: gzip's output is not the host's zlib's.
export const GZIP_MD5: Record<string, string> = {
  "60000x2": "9d9aaca6dc8f04778a413c171c85efe0",
  "15000x2": "e087d9cd61a1b60a9c3e88ca843cef14",
};

// md5 of `mib` MiB of zeros
export function zerosMd5(mib: number): string {
  return createHash("md5").update(new Uint8Array(mib << 20)).digest("hex");
}

// run.sh's awk loop in doubles, printed like its printf "%.6f". x87 extended precision in some
// emulators changes only digits far below the sixth decimal.
export function awkSum(n: number): string {
  let s = 0, x = 1.0;
  for (let i = 0; i < n; i++) {
    x = x * 1.0000001 + 0.5 / (i + 1.5);
    s += x / (i + 1);
  }
  return s.toFixed(6);
}

const WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa"
  .split(" ");

// run.sh's gen_lines: "<a> <word>-<i> <word> <x mod 1000>" from a 32-bit LCG (every value an
// integer below 2^53, so awk's doubles hold it exactly)
export function genLines(n: number): string[] {
  const out: string[] = [];
  let x = 1;
  for (let i = 1; i <= n; i++) {
    x = (x * 69069 + 12345) % 4294967296;
    const a = Math.floor(x / 65536);
    out.push(`${a} ${WORDS[a % 16]}-${i} ${WORDS[Math.floor(x / 4096) % 16]} ${x % 1000}\n`);
  }
  return out;
}

// busybox sort -n: by the leading number, equal numbers by the whole line (bytes)
export function sortN(lines: string[]): string[] {
  return [...lines].sort((p, q) => parseInt(p) - parseInt(q) || (p < q ? -1 : p > q ? 1 : 0));
}

// run.sh's sed -e 's/\([a-z]*\)-\([0-9]*\)/\2:\1/' -e 's/[aeiou]/_/g'
export const sedLine = (l: string) => l.replace(/([a-z]*)-([0-9]*)/, "$2:$1").replace(/[aeiou]/g, "_");

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

const memo = new Map<string, Expect>();
export function expectFor(s: Sizes, cpus?: number): Expect {
  const key = JSON.stringify([s, cpus]);
  const known = memo.get(key);
  if (known) return known;
  const lines = genLines(s.lines);
  const gz = GZIP_MD5[`${s.lines}x${s.gzRep}`];
  const e: Expect = {
    ...s,
    md5: s.mib === 16 ? EXPECT_MD5 : zerosMd5(s.mib),
    awk: s.awkN === 200000 ? EXPECT_AWK : awkSum(s.awkN),
    textMd5: md5(lines.join("").repeat(s.gzRep)),
    ...(gz ? { gzMd5: gz } : {}),
    sortMd5: md5(sortN(lines).join("")),
    sedMd5: md5(lines.map(sedLine).join("")),
    sse2Sum: awkSum(s.sse2N),
    ...(cpus !== undefined ? { cpus } : {}),
  };
  memo.set(key, e);
  return e;
}

// Kernel lines that say a CPU did not come up (printed even with `quiet`).
const CPU_TROUBLE =
  /do_boot_cpu failed|failed to report alive|CPU\d+ (?:not responding|failed)|Not responding|smpboot: .*(?:fail|stuck)/i;

export function parseConsole(lines: Line[], want: string[], expect: Expect = expectFor(FULL_SIZES)): Boot {
  const b: Boot = { work: {} };
  const start: Record<string, number> = {};
  const end: Record<string, number> = {};
  // instruction counts at a workload's START and END lines
  const ic: Record<string, { start?: number; end?: number }> = {};
  // the emulator's host CPU seconds at a workload's START and END lines
  const cpu: Record<string, { start?: number; end?: number }> = {};
  // the results the new workloads print: SH-I, FORK-OK, GZIP-MD5, GZIP-RT, SORT-MD5, SED-MD5
  const tagged: Record<string, string> = {};
  let cur = "";
  let lastMark: { w: string; end: boolean } | null = null;
  let md5: string | undefined;
  let awk: string | undefined;
  let sse2: string[] | undefined;
  const parMd5: string[] = [];
  const rss: Record<string, number> = {};
  for (const { t, text, cpu: c, rss: r } of lines) {
    const s = text.replace(/\r/g, "").trimEnd();
    let m: RegExpExecArray | null;
    if (b.bootWall === undefined && s.includes(BOOT_MARKER)) {
      b.bootWall = t;
      if (c !== undefined) b.bootCpu = c;
      if (r !== undefined) b.bootRss = r;
    } else if ((m = /^RACE nproc=(\d+)/.exec(s))) b.nproc = Number(m[1]);
    else if ((m = /^model name\s*:\s*(.*)$/.exec(s)) && b.model === undefined) b.model = m[1];
    else if ((m = /^START (\w+)$/.exec(s))) {
      cur = m[1];
      start[cur] = t;
      if (c !== undefined) (cpu[cur] ??= {}).start = c;
      lastMark = { w: cur, end: false };
    } else if ((m = /^END (\w+)$/.exec(s))) {
      end[m[1]] = t;
      if (c !== undefined) (cpu[m[1]] ??= {}).end = c;
      if (r !== undefined) rss[m[1]] = r;
      lastMark = { w: m[1], end: true };
    } else if ((m = /^WORK (\w+) (-?[\d.]+)$/.exec(s))) {
      const w = m[1], until = end[w] ?? t;
      b.work[w] = { guest: Number(m[2]), ...(start[w] !== undefined ? { wall: until - start[w] } : {}) };
      // consoles from before END lines existed end their workloads at WORK
      lastMark = end[w] === undefined ? { w, end: true } : null;
      cur = "";
    } else if ((m = /^v86-icount (\d+)$/.exec(s)) && lastMark) {
      // v86_runner.ts prints its count on the line after each mark
      (ic[lastMark.w] ??= {})[lastMark.end ? "end" : "start"] = Number(m[1]);
      lastMark = null;
    } else if ((m = /^ring3: icount (\d+) after '(START|END|WORK) (\w+)/.exec(s))) {
      // cli/boot.ts --icount-at writes these to stderr: they name their mark, so their order
      // among the console lines does not matter
      (ic[m[3]] ??= {})[m[2] === "START" ? "start" : "end"] = Number(m[1]);
    } else if ((m = /^([0-9a-f]{32}) +\/tmp\/z$/.exec(s)) && cur === "md5") md5 = m[1];
    else if ((m = /^awk-sum (\S+)$/.exec(s))) awk = m[1];
    else if ((m = /^sse2-sum (\S+) (\d+) (\d+)$/.exec(s))) sse2 = [m[1], m[2], m[3]];
    else if ((m = /^PAR-MD5 ?(\S*)$/.exec(s))) parMd5.push(m[1]);
    else if ((m = /^(SH-I|FORK-OK|GZIP-MD5|GZIP-RT|SORT-MD5|SED-MD5) (\S+)$/.exec(s))) tagged[m[1]] = m[2];
    else if ((m = /^ring3: exit (\d+)$/.exec(s))) b.exit = Number(m[1]);
    else if (/Kernel panic/.test(s) && !b.error) b.error = s.replace(/^\[[ \d.]+\] /, "");
    else if (CPU_TROUBLE.test(s)) (b.cpuErrors ??= []).push(s.replace(/^\[[ \d.]+\] /, ""));
  }
  for (const [w, c] of Object.entries(ic)) {
    if (b.work[w] && c.start !== undefined && c.end !== undefined) b.work[w].insns = c.end - c.start;
  }
  for (const [w, c] of Object.entries(cpu)) {
    if (b.work[w] && c.start !== undefined && c.end !== undefined) b.work[w].cpu = c.end - c.start;
  }
  for (const [w, r] of Object.entries(rss)) if (b.work[w]) b.work[w].rss = r;
  const fail = (w: string, why: string) => {
    b.work[w] = { error: why };
  };
  // a guest short of CPUs ran a different workload: no figure, and the kernel's reason
  const cpuShort = expect.cpus !== undefined && b.nproc !== undefined && b.nproc !== expect.cpus
    ? `the guest brought up ${b.nproc} of ${expect.cpus} CPUs${b.cpuErrors ? ` (${b.cpuErrors[0].slice(0, 100)})` : ""}`
    : undefined;
  for (const w of want) {
    if (!b.work[w]) {
      fail(w, b.error ?? cpuShort ?? (b.bootWall === undefined ? "did not boot" : `no WORK ${w} line`));
      continue;
    }
    if (cpuShort) fail(w, cpuShort);
    else if (w === "md5" && md5 !== expect.md5) fail(w, `wrong md5sum: ${md5 ?? "none printed"}`);
    else if (w === "awk" && awk !== expect.awk) fail(w, `wrong awk checksum: ${awk ?? "none printed"}`);
    else if (
      w === "sse2" &&
      (sse2?.[0] !== expect.sse2Sum || sse2[2] !== "0" || (expect.sse2Str !== undefined && sse2[1] !== expect.sse2Str))
    ) {
      fail(
        w,
        `wrong sse2 result: ${sse2?.join(" ") ?? "none printed"} (want ${expect.sse2Sum} ${expect.sse2Str ?? "?"} 0)`,
      );
    } else if (w === "sh" && tagged["SH-I"] !== String(expect.shN)) {
      fail(w, `wrong sh loop count: ${tagged["SH-I"] ?? "none printed"} (want ${expect.shN})`);
    } else if (w === "fork" && tagged["FORK-OK"] !== String(expect.forkN)) {
      fail(w, `${tagged["FORK-OK"] ?? "no"} of ${expect.forkN} fork+execs succeeded`);
    } else if (w === "gzip" && tagged["GZIP-RT"] !== expect.textMd5) {
      fail(w, `gunzip gave back the wrong text: md5 ${tagged["GZIP-RT"] ?? "none printed"}`);
    } else if (w === "gzip" && (expect.gzMd5 ? tagged["GZIP-MD5"] !== expect.gzMd5 : !tagged["GZIP-MD5"])) {
      fail(w, `wrong gzip stream: md5 ${tagged["GZIP-MD5"] ?? "none printed"}`);
    } else if (w === "sort" && tagged["SORT-MD5"] !== expect.sortMd5) {
      fail(w, `wrong sort output: md5 ${tagged["SORT-MD5"] ?? "none printed"}`);
    } else if (w === "sed" && tagged["SED-MD5"] !== expect.sedMd5) {
      fail(w, `wrong sed output: md5 ${tagged["SED-MD5"] ?? "none printed"}`);
    } else if (w === "par") {
      const good = parMd5.filter((h) => h === expect.md5).length;
      const n = b.nproc ?? expect.cpus;
      if (parMd5.length === 0) fail(w, "no PAR-MD5 lines");
      else if (good !== parMd5.length || (n !== undefined && parMd5.length !== n)) {
        fail(w, `${good} of ${n ?? parMd5.length} parallel md5sums correct`);
      }
    }
  }
  return b;
}
