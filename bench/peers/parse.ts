// Reads one boot's console (lines stamped with host seconds since the emulator was started) into
// figures. Pure, so the tests can feed it recorded consoles.
import { createHash } from "node:crypto";

export interface Line {
  t: number; // host wall seconds since the emulator process was started
  text: string;
}

export interface Work {
  guest?: number; // seconds by the guest's /proc/uptime
  wall?: number; // host seconds between the START and END lines (WORK when there is no END)
  insns?: number; // guest instructions the emulator counted over the workload (v86, ring3)
  error?: string; // the result was wrong or missing: no figure
}

export interface Boot {
  bootWall?: number; // host seconds to "ring3: userspace up"
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

// The workloads' sizes (run.sh's race.mib and race.awkn) and the answers they must give.
export interface Expect {
  mib: number;
  awkN: number;
  md5: string;
  awk: string;
  cpus?: number; // vCPUs the guest must have brought up (unchecked when absent)
}

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

export function expectFor(mib: number, awkN: number, cpus?: number): Expect {
  return {
    mib,
    awkN,
    md5: mib === 16 ? EXPECT_MD5 : zerosMd5(mib),
    awk: awkN === 200000 ? EXPECT_AWK : awkSum(awkN),
    ...(cpus !== undefined ? { cpus } : {}),
  };
}

export const FULL: Expect = { mib: 16, awkN: 200000, md5: EXPECT_MD5, awk: EXPECT_AWK };

// Kernel lines that say a CPU did not come up (printed even with `quiet`).
const CPU_TROUBLE =
  /do_boot_cpu failed|failed to report alive|CPU\d+ (?:not responding|failed)|Not responding|smpboot: .*(?:fail|stuck)/i;

export function parseConsole(lines: Line[], want: string[], expect: Expect = FULL): Boot {
  const b: Boot = { work: {} };
  const start: Record<string, number> = {};
  const end: Record<string, number> = {};
  // instruction counts at a workload's START and END lines
  const ic: Record<string, { start?: number; end?: number }> = {};
  let cur = "";
  let lastMark: { w: string; end: boolean } | null = null;
  let md5: string | undefined;
  let awk: string | undefined;
  const parMd5: string[] = [];
  for (const { t, text } of lines) {
    const s = text.replace(/\r/g, "").trimEnd();
    let m: RegExpExecArray | null;
    if (b.bootWall === undefined && s.includes(BOOT_MARKER)) b.bootWall = t;
    else if ((m = /^RACE nproc=(\d+)/.exec(s))) b.nproc = Number(m[1]);
    else if ((m = /^model name\s*:\s*(.*)$/.exec(s)) && b.model === undefined) b.model = m[1];
    else if ((m = /^START (\w+)$/.exec(s))) {
      cur = m[1];
      start[cur] = t;
      lastMark = { w: cur, end: false };
    } else if ((m = /^END (\w+)$/.exec(s))) {
      end[m[1]] = t;
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
    else if ((m = /^PAR-MD5 ?(\S*)$/.exec(s))) parMd5.push(m[1]);
    else if ((m = /^ring3: exit (\d+)$/.exec(s))) b.exit = Number(m[1]);
    else if (/Kernel panic/.test(s) && !b.error) b.error = s.replace(/^\[[ \d.]+\] /, "");
    else if (CPU_TROUBLE.test(s)) (b.cpuErrors ??= []).push(s.replace(/^\[[ \d.]+\] /, ""));
  }
  for (const [w, c] of Object.entries(ic)) {
    if (b.work[w] && c.start !== undefined && c.end !== undefined) b.work[w].insns = c.end - c.start;
  }
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
    else if (w === "par") {
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
