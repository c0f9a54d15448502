// Reads one boot's console (lines stamped with host seconds since the emulator was started) into
// figures. Pure, so the tests can feed it recorded consoles.

export interface Line {
  t: number; // host wall seconds since the emulator process was started
  text: string;
}

export interface Work {
  guest?: number; // seconds by the guest's /proc/uptime
  wall?: number; // host seconds between the START and WORK lines
  insns?: number; // guest instructions the emulator counted over the workload (v86)
  error?: string; // the result was wrong or missing: no figure
}

export interface Boot {
  bootWall?: number; // host seconds to "ring3: userspace up"
  nproc?: number;
  model?: string;
  exit?: number; // the race script's exit status as guest/init reports it
  work: Record<string, Work>;
  error?: string; // the boot as a whole failed
}

export const BOOT_MARKER = "ring3: userspace up";
export const EXPECT_MD5 = "2c7ab85a893283e98c931e9511add182"; // 16 MiB of zeros
export const EXPECT_AWK = "50.519065";

export function parseConsole(lines: Line[], want: string[]): Boot {
  const b: Boot = { work: {} };
  const start: Record<string, number> = {};
  const icStart: Record<string, number> = {};
  let cur = "";
  let lastMark: { w: string; end: boolean } | null = null;
  let md5: string | undefined;
  let awk: string | undefined;
  let par: [number, number] | undefined;
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
    } else if ((m = /^WORK (\w+) (-?[\d.]+)$/.exec(s))) {
      const w = m[1];
      b.work[w] = { guest: Number(m[2]), ...(start[w] !== undefined ? { wall: t - start[w] } : {}) };
      lastMark = { w, end: true };
      cur = "";
    } else if ((m = /^v86-icount (\d+)$/.exec(s)) && lastMark) {
      const n = Number(m[1]);
      if (!lastMark.end) icStart[lastMark.w] = n;
      else if (icStart[lastMark.w] !== undefined && b.work[lastMark.w]) {
        b.work[lastMark.w].insns = n - icStart[lastMark.w];
      }
    } else if ((m = /^([0-9a-f]{32}) +\/tmp\/z$/.exec(s)) && cur === "md5") md5 = m[1];
    else if ((m = /^awk-sum (\S+)$/.exec(s))) awk = m[1];
    else if ((m = /^PAR-OK (\d+) of (\d+)$/.exec(s))) par = [Number(m[1]), Number(m[2])];
    else if ((m = /^ring3: exit (\d+)$/.exec(s))) b.exit = Number(m[1]);
    else if (/Kernel panic/.test(s) && !b.error) b.error = s.replace(/^\[[ \d.]+\] /, "");
  }
  const fail = (w: string, why: string) => {
    b.work[w] = { error: why };
  };
  for (const w of want) {
    if (!b.work[w]) {
      fail(w, b.error ?? (b.bootWall === undefined ? "did not boot" : `no WORK ${w} line`));
      continue;
    }
    if (w === "md5" && md5 !== EXPECT_MD5) fail(w, `wrong md5sum: ${md5 ?? "none printed"}`);
    if (w === "awk" && awk !== EXPECT_AWK) fail(w, `wrong awk checksum: ${awk ?? "none printed"}`);
    if (w === "par") {
      if (!par) fail(w, "no PAR-OK line");
      else if (par[0] !== par[1] || (b.nproc !== undefined && par[1] !== b.nproc)) {
        fail(w, `${par[0]} of ${par[1]} parallel md5sums correct`);
      }
    }
  }
  return b;
}
