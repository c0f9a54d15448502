// The race's results: statistics, and their JSON, Markdown and SVG forms (the SVG is written by
// hand: a log-scale bar chart of the time ratios). Pure functions of the Results object.

export type Emu = "ring3" | "v86" | "qemu";
export const EMUS: Emu[] = ["ring3", "v86", "qemu"];
export const EMU_LABEL: Record<Emu, string> = { ring3: "ring3", v86: "v86", qemu: "QEMU TCG" };

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
  values: number[];
}

export interface Cell {
  stat?: Stat; // the figure: host seconds (or instructions per host second)
  guest?: Stat; // the same workload by the guest's /proc/uptime (a check on its clock)
  cpu?: Stat; // host CPU seconds (user+sys, all threads) the emulator process used over it
  rss?: Stat; // peak resident memory (MiB) of the emulator process over it (boot: from its start)
  note?: string; // why there is no figure, or why some runs gave none
  runs?: number; // boots tried, when fewer gave a figure
}

export interface Row {
  id: string;
  label: string;
  unit: "s" | "M/s";
  higherIsBetter?: boolean;
  cells: Record<Emu, Cell>;
  // medians divided: ring3/v86, ring3/QEMU (the brief's ratios) and v86/QEMU for scale
  ratios: Ratios<number>;
  // the widest the ratio could be from the runs: [min ÷ other's max, max ÷ other's min]
  spreads?: Ratios<[number, number]>;
}

export type RatioKey = "ring3_v86" | "ring3_qemu" | "v86_qemu";
export type Ratios<T> = Record<RatioKey, T | null>;

export interface EmuInfo {
  version: string | null;
  available: boolean;
  note?: string; // why it did not run, or how it was run
  cpu?: string; // the guest's "model name"
}

export interface Results {
  date: string;
  machine: Record<string, string | number>;
  guest: Record<string, string>;
  runs: number;
  quick?: boolean; // --quick: one run of smaller workloads
  emulators: Record<Emu, EmuInfo>;
  rows: Row[];
  notes: string[];
}

export function stat(values: number[]): Stat | undefined {
  if (values.length === 0) return undefined;
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], n: v.length, values };
}

export function ratios(cells: Record<Emu, Cell>): Row["ratios"] {
  const r = (a: Emu, b: Emu) => {
    const x = cells[a].stat?.median, y = cells[b].stat?.median;
    return x !== undefined && y !== undefined && y > 0 ? x / y : null;
  };
  return { ring3_v86: r("ring3", "v86"), ring3_qemu: r("ring3", "qemu"), v86_qemu: r("v86", "qemu") };
}

// A row whose cells are the geometric means of other rows' medians (seconds, host CPU seconds),
// so that its ratios are the geometric means of theirs. An emulator lacking a figure in any of
// the rows gets none here (a mean of fewer workloads would not compare).
export function geomeanRow(id: string, label: string, of: Row[]): Row {
  const gm = (xs: number[]) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
  const all = <T>(xs: (T | undefined | null)[]): xs is T[] => xs.length > 0 && xs.every((x) => x != null);
  const cells = {} as Record<Emu, Cell>;
  for (const k of EMUS) {
    const med = of.map((r) => r.cells[k].stat?.median);
    const cpu = of.map((r) => r.cells[k].cpu?.median);
    const c: Cell = {};
    if (all(med) && med.every((x) => x > 0)) c.stat = stat([gm(med)])!;
    else c.note = "–";
    if (c.stat && all(cpu) && cpu.every((x) => x > 0)) c.cpu = stat([gm(cpu)])!;
    cells[k] = c;
  }
  const sp = {} as Ratios<[number, number]>;
  for (const key of ["ring3_v86", "ring3_qemu", "v86_qemu"] as RatioKey[]) {
    const each = of.map((r) => spreadOf(r)[key]);
    sp[key] = all(each) ? [gm(each.map((x) => x[0])), gm(each.map((x) => x[1]))] : null;
  }
  return { id, label, unit: "s", cells, ratios: ratios(cells), spreads: sp };
}

export function num(x: number): string {
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : x.toFixed(2);
}

export function spreads(cells: Record<Emu, Cell>): Ratios<[number, number]> {
  const r = (a: Emu, b: Emu): [number, number] | null => {
    const x = cells[a].stat, y = cells[b].stat;
    return x && y && y.min > 0 ? [x.min / y.max, x.max / y.min] : null;
  };
  return { ring3_v86: r("ring3", "v86"), ring3_qemu: r("ring3", "qemu"), v86_qemu: r("v86", "qemu") };
}

// results written before spreads were stored get them from their cells
const spreadOf = (row: Row) => row.spreads ?? spreads(row.cells);

function ratioText(row: Row, k: RatioKey): string {
  const x = row.ratios[k];
  if (x === null) return "–";
  const s = spreadOf(row)[k];
  return s && s[1] > s[0] ? `${num(x)}× (${num(s[0])}–${num(s[1])})` : `${num(x)}×`;
}

function cellText(c: Cell, which: "stat" | "guest" | "cpu" | "rss" = "stat"): string {
  const s = c[which];
  if (!s) return c.note ?? "–";
  const t = s.n > 1 ? `${num(s.median)} (${num(s.min)}–${num(s.max)})` : num(s.median);
  return which === "stat" && c.runs ? `${t} [${s.n} of ${c.runs} runs]` : t;
}

export function toJson(r: Results): string {
  return JSON.stringify(r, null, 2) + "\n";
}

export function toMarkdown(r: Results): string {
  const out: string[] = [];
  const e = r.emulators;
  const ver = (k: Emu) => `${EMU_LABEL[k]} ${e[k].version ?? "(not installed)"}`;
  out.push(
    `Measured ${r.date} on ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.os}; ` +
      `load average ${r.machine.loadBefore} before, ${r.machine.loadAfter} after. ` +
      `${ver("v86")}, ${ver("qemu")}, ring3 ${e.ring3.version ?? "?"}. ` +
      `Guest: ${r.guest.kernel}, ${r.guest.memMiB} MiB, \`${r.guest.append}\`. ` +
      `Medians of ${r.runs} run${r.runs > 1 ? "s" : ""} (min–max)${
        r.runs > 1 ? "; a ratio's range is from the runs' extremes (min ÷ max to max ÷ min)" : ""
      }.${r.quick ? " **--quick: development run with smaller workloads.**" : ""}`,
    "",
    "| workload | ring3 | v86 | QEMU TCG | ring3/v86 | ring3/QEMU |",
    "|---|--:|--:|--:|--:|--:|",
  );
  for (const row of r.rows) {
    const c = (k: Emu) => cellText(row.cells[k]).replace(/\|/g, "\\|");
    out.push(
      `| ${row.label} | ${c("ring3")} | ${c("v86")} | ${c("qemu")} | ${ratioText(row, "ring3_v86")} | ${
        ratioText(row, "ring3_qemu")
      } |`,
    );
  }
  const checks = r.rows.filter((row) => EMUS.some((k) => row.cells[k].guest));
  if (checks.length) {
    out.push(
      "",
      "The same workloads timed by each guest's own clock (/proc/uptime deltas the guest prints), a check " +
        "on the emulator's guest clock against the host seconds above:",
      "",
      "| workload | ring3 | v86 | QEMU TCG |",
      "|---|--:|--:|--:|",
    );
    for (const row of checks) {
      out.push(
        `| ${row.label} | ${
          EMUS.map((k) => (row.cells[k].guest ? cellText(row.cells[k], "guest") : "–")).join(" | ")
        } |`,
      );
    }
  }
  const cpus = r.rows.filter((row) => EMUS.some((k) => row.cells[k].cpu));
  if (cpus.length) {
    out.push(
      "",
      "Host CPU seconds (user+sys, all threads) the emulator process used over the same spans, from " +
        "/proc/PID/stat when the START and END lines arrived (boot: from the process's start), and their ratios:",
      "",
      "| workload | ring3 | v86 | QEMU TCG | ring3/v86 | ring3/QEMU |",
      "|---|--:|--:|--:|--:|--:|",
    );
    for (const row of cpus) {
      const c = (k: Emu) => (row.cells[k].cpu ? cellText(row.cells[k], "cpu") : "–");
      const q = (a: Emu, b: Emu) => {
        const x = row.cells[a].cpu?.median, y = row.cells[b].cpu?.median;
        return x !== undefined && y !== undefined && y > 0 ? `${num(x / y)}×` : "–";
      };
      out.push(
        `| ${row.label} | ${c("ring3")} | ${c("v86")} | ${c("qemu")} | ${q("ring3", "v86")} | ${q("ring3", "qemu")} |`,
      );
    }
  }
  const rss = r.rows.filter((row) => EMUS.some((k) => row.cells[k].rss));
  if (rss.length) {
    out.push(
      "",
      "Peak host memory (resident set, MiB) of each emulator process over the same spans: the kernel's " +
        "high-water mark (VmHWM in /proc/PID/status), reset at each START line (clear_refs) and read at its END line " +
        "(boot: from the process's start to the boot marker), and their ratios:",
      "",
      "| workload | ring3 | v86 | QEMU TCG | ring3/v86 | ring3/QEMU |",
      "|---|--:|--:|--:|--:|--:|",
    );
    for (const row of rss) {
      const c = (k: Emu) => (row.cells[k].rss ? cellText(row.cells[k], "rss") : "–");
      const q = (a: Emu, b: Emu) => {
        const x = row.cells[a].rss?.median, y = row.cells[b].rss?.median;
        return x !== undefined && y !== undefined && y > 0 ? `${num(x / y)}×` : "–";
      };
      out.push(
        `| ${row.label} | ${c("ring3")} | ${c("v86")} | ${c("qemu")} | ${q("ring3", "v86")} | ${q("ring3", "qemu")} |`,
      );
    }
  }
  if (r.notes.length) out.push("", ...r.notes.map((n) => `- ${n}`));
  return out.join("\n") + "\n";
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export const SERIES = [
  { key: "ring3_v86", label: "ring3 / v86", color: "#c0392b" },
  { key: "ring3_qemu", label: "ring3 / QEMU TCG", color: "#2471a3" },
  { key: "v86_qemu", label: "v86 / QEMU TCG (peers, for scale)", color: "#8c8c8c" },
] as const;

// The axis ends on 1-2-5 steps around the values and always includes 1×.
export function axisRange(values: number[]): [number, number] {
  const steps: number[] = [];
  for (let e = -4; e <= 6; e++) for (const m of [1, 2, 5]) steps.push(m * 10 ** e);
  const min = Math.min(1, ...values) * 0.95, max = Math.max(1, ...values) * 1.1;
  const lo = Math.min(1, steps.filter((v) => v <= min).pop() ?? steps[0]);
  const hi = Math.max(2, steps.find((v) => v >= max) ?? steps[steps.length - 1]);
  return [lo, hi];
}

const tick = (v: number) => `${Number(v.toPrecision(2))}×`;

// Horizontal bars from 1× (same speed) on a log axis: right of the line the first emulator takes
// longer; a whisker across the bar's end spans the ratio's range over the runs. Only the time
// rows: the instructions-per-second row says the same as the awk row.
export function toSvg(r: Results): string {
  const rows = r.rows.filter((row) => row.unit === "s");
  const W = 820, left = 290, right = 50, top = 78, barH = 11, gap = 3;
  const groupH = SERIES.length * (barH + gap) + 14;
  const unavailable = EMUS.filter((k) => !r.emulators[k].available);
  const footLines = unavailable.length + 1;
  const H = top + rows.length * groupH + 34 + footLines * 15;
  const values = rows.flatMap((row) => SERIES.flatMap((s) => [row.ratios[s.key], ...(spreadOf(row)[s.key] ?? [])]))
    .filter((x): x is number => x !== null && x > 0);
  const [lo, hi] = axisRange(values);
  const x = (v: number) =>
    left + ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (W - left - right);
  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${
      W / 2
    }" y="20" text-anchor="middle" font-size="15" font-weight="bold">Time ratios on the same guest (log scale; right of 1× = the first is slower)</text>`,
  );
  SERIES.forEach((s, i) => {
    const lx = left - 200 + i * 210;
    o.push(
      `<rect x="${lx}" y="32" width="12" height="12" fill="${s.color}"/>`,
      `<text x="${lx + 17}" y="42">${esc(s.label)}</text>`,
    );
  });
  const axisBottom = top + rows.length * groupH;
  for (let d = 10 ** Math.floor(Math.log10(lo) + 1e-9); d <= hi * 1.0001; d *= 10) {
    for (const m of [1, 2, 5]) {
      const v = d * m;
      if (v < lo * 0.9999 || v > hi * 1.0001) continue;
      const gx = x(v).toFixed(1);
      o.push(`<line x1="${gx}" y1="${top - 8}" x2="${gx}" y2="${axisBottom}" stroke="${m === 1 ? "#ccc" : "#eee"}"/>`);
      o.push(`<text x="${gx}" y="${top - 12}" text-anchor="middle" fill="#555" font-size="10">${tick(v)}</text>`);
    }
  }
  const x1 = x(1);
  o.push(
    `<line x1="${x1.toFixed(1)}" y1="${top - 8}" x2="${
      x1.toFixed(1)
    }" y2="${axisBottom}" stroke="#333" stroke-width="1.5"/>`,
  );
  rows.forEach((row, i) => {
    const gy = top + i * groupH;
    o.push(
      `<text x="${left - 10}" y="${gy + groupH / 2 - 2}" text-anchor="end">${esc(row.label.replace(/`/g, ""))}</text>`,
    );
    SERIES.forEach((s, j) => {
      const v = row.ratios[s.key];
      const by = gy + 4 + j * (barH + gap);
      if (v === null || v <= 0) {
        o.push(
          `<text x="${(x1 + 6).toFixed(1)}" y="${by + barH - 2}" fill="#999" font-size="10">${
            esc(s.label.split(" (")[0])
          }: n/a</text>`,
        );
        return;
      }
      const a = Math.min(x1, x(v)), b = Math.max(x1, x(v));
      o.push(
        `<rect x="${a.toFixed(1)}" y="${by}" width="${
          Math.max(1, b - a).toFixed(1)
        }" height="${barH}" fill="${s.color}"/>`,
      );
      const sp = spreadOf(row)[s.key];
      let [ta, tb] = [a, b];
      if (sp && sp[1] > sp[0]) {
        const [wa, wb] = [x(sp[0]), x(sp[1])], my = by + barH / 2;
        o.push(
          `<path d="M${wa.toFixed(1)} ${my}H${wb.toFixed(1)}M${wa.toFixed(1)} ${by + 2}V${by + barH - 2}M${
            wb.toFixed(1)
          } ${by + 2}V${by + barH - 2}" stroke="#222" stroke-width="1" fill="none"/>`,
        );
        [ta, tb] = [Math.min(a, wa), Math.max(b, wb)];
      }
      const tx = v >= 1 ? tb + 4 : ta - 4;
      o.push(
        `<text x="${tx.toFixed(1)}" y="${by + barH - 2}" font-size="10" text-anchor="${v >= 1 ? "start" : "end"}">${
          num(v)
        }×</text>`,
      );
    });
  });
  let fy = axisBottom + 24;
  o.push(
    `<text x="10" y="${fy}" fill="#444" font-size="11">${
      esc(
        `${r.date} · ${r.machine.cpu}, ${r.machine.cores} cores · load ${r.machine.loadBefore} · medians of ${r.runs} run${
          r.runs > 1 ? "s, whiskers: range over the runs" : ""
        }${r.quick ? " · --quick run" : ""}`,
      )
    }</text>`,
  );
  for (const k of unavailable) {
    fy += 15;
    o.push(
      `<text x="10" y="${fy}" fill="#a00" font-size="11">${
        esc(`${EMU_LABEL[k]}: ${r.emulators[k].note ?? "not available"}`.slice(0, 140))
      }</text>`,
    );
  }
  o.push("</svg>");
  return o.join("\n") + "\n";
}
