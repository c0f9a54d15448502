// The peer race's pure parts: the cpio overlay (checked with the system's cpio and a real
// kernel-style concatenation), the console parser, statistics and the three report forms. One
// test boots the overlay on QEMU when QEMU and the guest images are present.
import assert from "node:assert/strict";
import { cpioNewc, gunzip, gzip, initKnowsRing3Run, raceInitrd } from "../../bench/peers/cpio.ts";
import {
  awkSum,
  EXPECT_AWK,
  EXPECT_MD5,
  expectFor,
  FULL_SIZES,
  genLines,
  type Line,
  parseConsole,
  QUICK_SIZES,
  sedLine,
  sizeArgs,
  sortN,
  zerosMd5,
} from "../../bench/peers/parse.ts";
import {
  axisRange,
  type Cell,
  geomeanRow,
  ratios,
  type Results,
  spreads,
  stat,
  toMarkdown,
  toSvg,
} from "../../bench/peers/report.ts";
import { README_BEGIN, README_END, withReadmeSection } from "../../bench/peers/output.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function cpioList(archive: Uint8Array, extract?: string): Promise<string> {
  const args = extract ? ["-i", "--quiet", "--to-stdout", extract] : ["-it", "--quiet"];
  const p = new Deno.Command("cpio", { args, stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
  const w = p.stdin.getWriter();
  await w.write(archive);
  await w.close();
  const r = await p.output();
  assert.ok(r.success, dec.decode(r.stderr));
  return dec.decode(r.stdout);
}

Deno.test("cpioNewc: the system's cpio reads names, modes and contents back", async () => {
  const script = enc.encode("#!/bin/sh\necho hi\n"); // 19 bytes: exercises the data padding
  const a = cpioNewc([{ name: "race", mode: 0o040755 }, { name: "race/run", mode: 0o100755, data: script }]);
  assert.equal(a.length % 4, 0);
  assert.equal(dec.decode(a.subarray(0, 6)), "070701");
  assert.deepEqual((await cpioList(a)).trim().split("\n"), ["race", "race/run"]);
  assert.equal(await cpioList(a, "race/run"), "#!/bin/sh\necho hi\n");
  // mode field of the second header: regular file, rwxr-xr-x
  const second = dec.decode(a).indexOf("070701", 6);
  assert.equal(parseInt(dec.decode(a.subarray(second + 14, second + 22)), 16), 0o100755);
  assert.ok(dec.decode(a).includes("TRAILER!!!"));
});

Deno.test("raceInitrd: appends a second gzip member and keeps the original bytes", async () => {
  const base = await gzip(
    cpioNewc([{ name: "init", mode: 0o100755, data: enc.encode("case x in ring3.run=/*) ;; esac") }]),
  );
  const script = enc.encode("echo race\n");
  const out = await raceInitrd(base, script, false);
  assert.deepEqual(out.subarray(0, base.length), base);
  const extra = await gunzip(out.subarray(base.length));
  assert.deepEqual((await cpioList(extra)).trim().split("\n"), ["race", "race/run"]);
  const asInit = await gunzip((await raceInitrd(base, script, true)).subarray(base.length));
  assert.equal(await cpioList(asInit, "init"), "echo race\n");
  assert.equal(await initKnowsRing3Run(base), true);
  assert.equal(
    await initKnowsRing3Run(await gzip(cpioNewc([{ name: "init", mode: 0o100755, data: enc.encode("#!/bin/sh") }]))),
    false,
  );
});

const at = (t: number, text: string, cpu?: number): Line => ({ t, text, ...(cpu !== undefined ? { cpu } : {}) });
// the full race's answers, as QEMU's guest printed them (gen_lines, sort -n, sed, gzip of busybox 1.35)
const FULL_TEXT = "27733c902b1b872202e4fe418f7159c4";
const FULL_GZ = "9d9aaca6dc8f04778a413c171c85efe0";
const FULL_SORT = "b4a1eb2dbf44dd45960e3f379dbc844e";
const FULL_SED = "0049142693e0a98c34d50d9479ed48ad";
const DAILY = ["sh", "gzip", "sort", "sed", "fork"];
const goodConsole = [
  at(1.0, "[    0.000000] Linux version 6.1.192"),
  at(5.5, "ring3: userspace up\r", 7.25),
  at(5.6, "RACE nproc=2 work=md5,awk,par"),
  at(5.7, "model name\t: QEMU Virtual CPU version 2.5+"),
  at(6.0, "START md5"),
  at(6.1, "v86-icount 1000"),
  at(6.9, `${EXPECT_MD5}  /tmp/z`),
  at(6.95, "END md5"),
  at(6.95, "v86-icount 5000"),
  at(7.0, "WORK md5 0.90"),
  at(7.1, "START awk"),
  at(10.0, "awk-sum 50.519065"),
  at(10.2, "WORK awk 3.05"),
  at(10.3, "START par"),
  at(10.9, "END par"),
  at(11.0, "WORK par 0.61"),
  at(11.0, `PAR-MD5 ${EXPECT_MD5}`),
  at(11.0, `PAR-MD5 ${EXPECT_MD5}`),
  at(11.1, "START sh", 20.5),
  at(11.2, "SH-I 20000"),
  at(12.1, "END sh", 21.25),
  at(12.1, "WORK sh 1.00"),
  at(12.2, "START gzip"),
  at(13.2, "END gzip"),
  at(13.2, "WORK gzip 1.00"),
  at(13.3, `GZIP-MD5 ${FULL_GZ}`),
  at(13.4, `GZIP-RT ${FULL_TEXT}`),
  at(13.5, "START sort"),
  at(14.5, "END sort"),
  at(14.5, "WORK sort 1.00"),
  at(14.6, `SORT-MD5 ${FULL_SORT}`),
  at(14.7, "START sed"),
  at(15.7, "END sed"),
  at(15.7, "WORK sed 1.00"),
  at(15.8, `SED-MD5 ${FULL_SED}`),
  at(15.9, "START fork"),
  at(16.9, "FORK-OK 300"),
  at(16.9, "END fork"),
  at(16.9, "WORK fork 1.00"),
  at(17.0, "RACE-DONE"),
  at(11.2, "ring3: exit 0"),
];

const PAR1 = goodConsole.findIndex((l) => l.text.startsWith("PAR-MD5")); // the first of two

Deno.test("parseConsole: figures, host-clock cross-checks and instruction counts", () => {
  const b = parseConsole(goodConsole, ["md5", "awk", "par"]);
  assert.equal(b.error, undefined);
  assert.equal(b.bootWall, 5.5);
  assert.equal(b.nproc, 2);
  assert.equal(b.model, "QEMU Virtual CPU version 2.5+");
  assert.equal(b.exit, 0);
  assert.equal(b.work.md5.guest, 0.9);
  assert.ok(Math.abs(b.work.md5.wall! - 0.95) < 1e-9); // START to END
  assert.ok(Math.abs(b.work.awk.wall! - 3.1) < 1e-9); // no END line (older consoles): START to WORK
  assert.ok(Math.abs(b.work.par.wall! - 0.6) < 1e-9);
  assert.equal(b.work.md5.insns, 4000);
  assert.equal(b.work.awk.guest, 3.05);
  assert.equal(b.work.awk.insns, undefined);
  assert.equal(b.work.par.guest, 0.61);
  for (const w of ["md5", "awk", "par"]) assert.equal(b.work[w].error, undefined);
  assert.equal(b.bootCpu, 7.25);
  assert.equal(b.work.sh.cpu, 0.75); // CPU seconds at END less those at START
  assert.equal(b.work.md5.cpu, undefined); // no CPU readings on its lines
});

Deno.test("parseConsole: the everyday workloads' answers are checked", () => {
  const b = parseConsole(goodConsole, DAILY);
  for (const w of DAILY) assert.equal(b.work[w].error, undefined, w);
  assert.ok(Math.abs(b.work.gzip.wall! - 1) < 1e-9);
  const swap = (from: string, to: string) => goodConsole.map((l) => (l.text.startsWith(from) ? at(l.t, to) : l));
  const err = (lines: Line[], w: string) => parseConsole(lines, [w]).work[w].error;
  assert.match(err(swap("SH-I", "SH-I 19999"), "sh")!, /wrong sh loop count: 19999 \(want 20000\)/);
  assert.match(err(goodConsole.filter((l) => !l.text.startsWith("SH-I")), "sh")!, /none printed/);
  assert.match(err(swap("FORK-OK", "FORK-OK 299"), "fork")!, /299 of 300 fork\+execs/);
  assert.match(err(swap("GZIP-RT", `GZIP-RT ${FULL_SORT}`), "gzip")!, /gunzip gave back the wrong text/);
  assert.match(err(swap("GZIP-MD5", `GZIP-MD5 ${FULL_SORT}`), "gzip")!, /wrong gzip stream/);
  assert.match(err(swap("SORT-MD5", `SORT-MD5 ${FULL_SED}`), "sort")!, /wrong sort output/);
  assert.match(err(swap("SED-MD5", `SED-MD5 ${FULL_SORT}`), "sed")!, /wrong sed output/);
  assert.equal(parseConsole(swap("SED-MD5", `SED-MD5 ${FULL_SORT}`), ["sed"]).work.sed.wall, undefined);
  // sizes without a recorded gzip stream: the round trip is still checked, the stream only present
  const odd = expectFor({ ...FULL_SIZES, gzRep: 1 });
  assert.equal(odd.gzMd5, undefined);
  const oneCopy = swap("GZIP-RT", `GZIP-RT ${odd.textMd5}`);
  assert.equal(parseConsole(oneCopy, ["gzip"], odd).work.gzip.error, undefined);
  assert.match(
    parseConsole(oneCopy.filter((l) => !l.text.startsWith("GZIP-MD5")), ["gzip"], odd).work.gzip.error!,
    /none/,
  );
});

Deno.test("the generated text, sort -n and sed follow run.sh", () => {
  const l = genLines(3);
  // x = 69069 * 1 + 12345 = 81414: a = 1, words 1 % 16 and floor(81414 / 4096) % 16 = 3
  assert.equal(l[0], "1 bravo-1 delta 414\n");
  assert.equal(l.length, 3);
  assert.ok(genLines(60000).every((s) => /^\d+ [a-z]+-\d+ [a-z]+ \d+\n$/.test(s)));
  // equal numbers fall back to comparing whole lines; 10 after 9 (numeric, not text)
  assert.deepEqual(sortN(["9 b\n", "10 a\n", "9 a\n"]), ["9 a\n", "9 b\n", "10 a\n"]);
  assert.equal(sedLine("12 alpha-7 oscar 3\n"), "12 7:_lph_ _sc_r 3\n");
  const e = expectFor(FULL_SIZES);
  assert.equal(e.textMd5, FULL_TEXT);
  assert.equal(e.sortMd5, FULL_SORT);
  assert.equal(e.sedMd5, FULL_SED);
  assert.equal(e.gzMd5, FULL_GZ);
  assert.equal(sizeArgs(FULL_SIZES), "");
  assert.equal(
    sizeArgs(QUICK_SIZES),
    " race.mib=4 race.awkn=50000 race.shn=5000 race.lines=15000 race.forkn=100 race.sse2n=5000000",
  );
});

Deno.test("parseConsole: a wrong answer is an error, never a time", () => {
  const swap = (from: string, to: string) => goodConsole.map((l) => (l.text.startsWith(from) ? at(l.t, to) : l));
  assert.match(
    parseConsole(swap(EXPECT_MD5, `${"0".repeat(32)}  /tmp/z`), ["md5"]).work.md5.error!,
    /wrong md5sum: 0{32}/,
  );
  assert.match(parseConsole(swap("awk-sum", "awk-sum 50.519064"), ["awk"]).work.awk.error!, /wrong awk checksum/);
  const oneBad = goodConsole.map((l, i) => (i === PAR1 ? at(l.t, `PAR-MD5 ${"f".repeat(32)}`) : l));
  assert.match(parseConsole(oneBad, ["par"]).work.par.error!, /1 of 2 parallel/);
  const oneMissing = goodConsole.filter((_, i) => i !== PAR1);
  assert.match(parseConsole(oneMissing, ["par"]).work.par.error!, /1 of 2 parallel/); // nproc is 2
  assert.match(
    parseConsole(goodConsole.filter((l) => !l.text.startsWith("PAR-MD5")), ["par"]).work.par.error!,
    /no PAR-MD5/,
  );
  assert.equal(parseConsole(goodConsole, ["md5"]).work.md5.guest, 0.9);
});

Deno.test("parseConsole: ring3's --icount-at lines on stderr count a workload wherever they land", () => {
  // stderr is read apart from stdout: its lines may come before or after the mark they name
  const lines = [
    at(7.0, "ring3: icount 123 after 'START awk'"),
    ...goodConsole,
    at(10.0, "ring3: icount 5123 after 'END awk'"),
  ];
  const b = parseConsole(lines, ["md5", "awk"]);
  assert.equal(b.work.awk.insns, 5000);
  assert.equal(b.work.awk.guest, 3.05);
  assert.equal(b.work.md5.insns, 4000); // v86's positional lines, after START and END
  const wrong = parseConsole(lines.map((l) => (l.text.startsWith("awk-sum") ? at(l.t, "awk-sum 1") : l)), ["awk"]);
  assert.equal(wrong.work.awk.insns, undefined); // no figure of any kind for a wrong answer
  assert.match(wrong.work.awk.error!, /wrong awk checksum/);
});

Deno.test("parseConsole: a guest short of CPUs gives no parallel figure, and says why", () => {
  const short = goodConsole.map((l) => (l.text.startsWith("RACE nproc") ? at(l.t, "RACE nproc=1 work=par") : l))
    .filter((_, i) => i !== PAR1);
  short.splice(1, 0, at(1.5, "[    0.512000] smpboot: do_boot_cpu failed(-1) to wakeup CPU#1"));
  const b = parseConsole(short, ["par"], expectFor(FULL_SIZES, 2));
  assert.equal(b.work.par.guest, undefined);
  assert.equal(b.work.par.error, "the guest brought up 1 of 2 CPUs (smpboot: do_boot_cpu failed(-1) to wakeup CPU#1)");
  assert.equal(parseConsole(goodConsole, ["par"], expectFor(FULL_SIZES, 2)).work.par.guest, 0.61);
  // booted, then hung before the workload finished: the CPU shortage is still the reason given
  const hung = parseConsole(short.slice(0, 9), ["par"], expectFor(FULL_SIZES, 2));
  assert.match(hung.work.par.error!, /brought up 1 of 2 CPUs/);
});

Deno.test("the expected answers follow the workload sizes", () => {
  assert.equal(zerosMd5(16), EXPECT_MD5);
  assert.equal(awkSum(200000), EXPECT_AWK);
  const q = expectFor(QUICK_SIZES, 1);
  assert.equal(q.md5, "b5cfa9d6c8febd618f91ac2843d50a1c");
  assert.equal(q.awk, "41.082635");
  const quick = goodConsole.map((l) =>
    l.text.startsWith(EXPECT_MD5) || l.text.startsWith("PAR-MD5")
      ? at(l.t, l.text.replace(EXPECT_MD5, q.md5))
      : l.text.startsWith("awk-sum")
      ? at(l.t, "awk-sum 41.082635")
      : l
  );
  const b = parseConsole(quick, ["md5", "awk", "par"], expectFor(QUICK_SIZES, 2));
  for (const w of ["md5", "awk", "par"]) assert.equal(b.work[w].error, undefined, w);
  assert.match(parseConsole(quick, ["md5"]).work.md5.error!, /wrong md5sum/); // full-size answers by default
});

Deno.test("parseConsole: no boot, a panic, a missing workload", () => {
  const none = parseConsole([at(3, "SeaBIOS (version 1.16)")], ["md5"]);
  assert.equal(none.bootWall, undefined);
  assert.equal(none.work.md5.error, "did not boot");
  const panic = parseConsole([at(2, "[    1.234567] Kernel panic - not syncing: VFS: Unable to mount root fs")], [
    "md5",
    "awk",
  ]);
  assert.equal(panic.error, "Kernel panic - not syncing: VFS: Unable to mount root fs");
  assert.equal(panic.work.awk.error, panic.error);
  const cut = parseConsole(goodConsole.slice(0, goodConsole.findIndex((l) => l.text.startsWith("START awk"))), [
    "md5",
    "awk",
  ]);
  assert.equal(cut.work.md5.guest, 0.9);
  assert.equal(cut.work.awk.error, "no WORK awk line");
});

Deno.test("stat and ratios", () => {
  assert.deepEqual(stat([3, 1, 2]), { median: 2, min: 1, max: 3, n: 3, values: [3, 1, 2] });
  assert.equal(stat([4, 1, 3, 2])!.median, 2.5);
  assert.equal(stat([]), undefined);
  const c = (m?: number): Cell => (m === undefined ? { note: "n/a" } : { stat: stat([m])! });
  assert.deepEqual(ratios({ ring3: c(10), v86: c(4), qemu: c(2) }), { ring3_v86: 2.5, ring3_qemu: 5, v86_qemu: 2 });
  assert.deepEqual(ratios({ ring3: c(), v86: c(4), qemu: c(2) }), { ring3_v86: null, ring3_qemu: null, v86_qemu: 2 });
  const three = (...v: number[]): Cell => ({ stat: stat(v)! });
  const sp = spreads({ ring3: three(9, 10, 12), v86: three(3, 4, 6), qemu: { note: "n/a" } });
  assert.deepEqual(sp.ring3_v86, [1.5, 4]);
  assert.equal(sp.ring3_qemu, null);
  assert.deepEqual(axisRange([1.5, 3.9]), [0.5, 5]);
  assert.deepEqual(axisRange([0.3, 40]), [0.2, 50]);
});

function sample(): Results {
  const s = (...v: number[]) => stat(v)!;
  const cells = {
    ring3: { note: "n/a" },
    v86: { stat: s(3, 4, 5), guest: s(8, 9, 10) },
    qemu: { stat: s(1, 1.1, 1.2) },
  };
  return {
    date: "2026-01-01T00:00:00Z",
    machine: { cpu: "Test CPU <x>", cores: 2, os: "Debian", loadBefore: "1.0", loadAfter: "2.0" },
    guest: { kernel: "6.1.192", memMiB: "256", append: "console=ttyS0 quiet" },
    runs: 3,
    emulators: {
      ring3: { version: "abc", available: false, note: "boot not available: no machine" },
      v86: { version: "0.5.462", available: true },
      qemu: { version: "7.2", available: true },
    },
    rows: [
      { id: "md5", label: "md5sum of 16 MiB (s)", unit: "s", cells, ratios: ratios(cells) },
      {
        id: "par2",
        label: "2 md5sums (s)",
        unit: "s",
        cells: { ...cells, v86: { note: "– (no SMP)" } },
        ratios: ratios({ ...cells, v86: { note: "–" } }),
      },
    ],
    notes: ["ring3: boot not available: no machine"],
  };
}

Deno.test("toMarkdown: one row per workload with medians, spreads, ratios and the machine", () => {
  const md = toMarkdown(sample());
  assert.match(
    md,
    /^\| md5sum of 16 MiB \(s\) \| n\/a \| 4\.00 \(3\.00–5\.00\) \| 1\.10 \(1\.00–1\.20\) \| – \| – \|$/m,
  );
  assert.match(md, /^\| 2 md5sums \(s\) \| n\/a \| – \(no SMP\) \| 1\.10 \(1\.00–1\.20\) \| – \| – \|$/m);
  assert.match(md, /^\| md5sum of 16 MiB \(s\) \| – \| 9\.00 \(8\.00–10\.0\) \| – \|$/m); // host-clock table
  assert.match(md, /Test CPU <x>, 2 cores/);
  assert.match(md, /^- ring3: boot not available: no machine$/m);
  const r = sample();
  r.rows[0].cells.qemu = { stat: stat([1, 1.2]), runs: 3, note: "1 of 3 runs failed: hung" };
  assert.match(toMarkdown(r), /\| 1\.10 \(1\.00–1\.20\) \[2 of 3 runs\] \|/);
  // ratios carry the range the runs allow: ring3 9..12 over v86 3..5 is 1.80..4.00
  const withRing3 = sample();
  const cells = { ...withRing3.rows[0].cells, ring3: { stat: stat([9, 10, 12])! } };
  withRing3.rows[0] = { ...withRing3.rows[0], cells, ratios: ratios(cells), spreads: spreads(cells) };
  assert.match(
    toMarkdown(withRing3),
    /^\| md5sum of 16 MiB \(s\) \| 10\.0 \(9\.00–12\.0\) \| .* \| 2\.50× \(1\.80–4\.00\) \| 9\.09× \(7\.50–12\.0\) \|$/m,
  );
  assert.match(toMarkdown(withRing3), /a ratio's range is from the runs' extremes/);
  assert.doesNotMatch(toMarkdown(withRing3), /Host CPU seconds/); // no CPU figures: no table
});

Deno.test("toMarkdown: the host CPU table and the geometric mean row", () => {
  const r = sample();
  const s = (...v: number[]) => stat(v)!;
  const mk = (id: string, ring3: number, v86: number, qemu: number) => {
    const cells = {
      ring3: { stat: s(ring3), cpu: s(ring3 * 1.5) },
      v86: { stat: s(v86 * 0.9, v86, v86 * 1.1), cpu: s(v86) },
      qemu: { stat: s(qemu) },
    };
    return { id, label: `${id} (s)`, unit: "s" as const, cells, ratios: ratios(cells), spreads: spreads(cells) };
  };
  const a = mk("sh", 8, 2, 1), b = mk("sort", 2, 2, 4);
  const g = geomeanRow("daily", "geometric mean of sh, sort (s)", [a, b]);
  assert.equal(g.cells.ring3.stat!.median, 4); // sqrt(8 * 2)
  assert.equal(g.cells.v86.stat!.median, 2);
  assert.ok(Math.abs(g.ratios.ring3_v86! - 2) < 1e-12); // sqrt(4 * 1): the ratios' geometric mean
  assert.ok(Math.abs(g.ratios.ring3_qemu! - 2) < 1e-12); // sqrt(8 * 0.5)
  assert.ok(Math.abs(g.cells.ring3.cpu!.median - 6) < 1e-12);
  assert.equal(g.cells.qemu.cpu, undefined); // QEMU has no CPU figures in these rows
  const [lo, hi] = g.spreads!.ring3_v86!;
  assert.ok(lo < 2 && hi > 2);
  // an emulator missing one workload gets no mean, and no ratio with it
  const gap = geomeanRow("daily", "gm", [a, { ...b, cells: { ...b.cells, qemu: { note: "failed: x" } } }]);
  assert.equal(gap.cells.qemu.stat, undefined);
  assert.equal(gap.ratios.ring3_qemu, null);
  r.rows = [a, b, g];
  const md = toMarkdown(r);
  assert.match(md, /^\| geometric mean of sh, sort \(s\) \| 4\.00 \| 2\.00 \| 2\.00 \| 2\.00× \(.*\) \| 2\.00× \|$/m);
  assert.match(md, /Host CPU seconds/);
  // CPU table: ring3 12 CPU s, v86 2, QEMU none; ratio ring3/v86 6×
  assert.match(md, /^\| sh \(s\) \| 12\.0 \| 2\.00 \| – \| 6\.00× \| – \|$/m);
  assert.match(md, /^\| geometric mean of sh, sort \(s\) \| 6\.00 \| 2\.00 \| – \| 3\.00× \| – \|$/m);
  assert.match(toSvg(r), /geometric mean of sh, sort/);
});

Deno.test("toSvg: bars only for ratios that exist, escaped text, axis through 1×", () => {
  const svg = toSvg(sample());
  assert.ok(svg.startsWith("<svg ") && svg.trimEnd().endsWith("</svg>"));
  const bars = [...svg.matchAll(/<rect x="[\d.]+" y="\d+" width="[\d.]+" height="11"/g)];
  assert.equal(bars.length, 1); // only v86/QEMU for md5; par2 has no v86 figure
  assert.match(svg, /4\.00×|3\.64×/);
  assert.ok(svg.includes("Test CPU &lt;x&gt;"));
  assert.ok(!svg.includes("<x>"));
  assert.match(svg, /ring3: boot not available: no machine/);
  assert.equal((svg.match(/<text /g) ?? []).length, (svg.match(/<\/text>/g) ?? []).length);
  assert.equal((svg.match(/<path d="M/g) ?? []).length, 1); // the v86/QEMU bar's whisker over its runs
  const one = sample();
  one.rows[0].cells.v86 = { stat: stat([4])! };
  one.rows[0].cells.qemu = { stat: stat([1.1])! };
  assert.equal((toSvg(one).match(/<path d="M/g) ?? []).length, 0); // one run: no range to draw
});

Deno.test("withReadmeSection replaces only the text between the markers", () => {
  const readme = `# x\n\n## Performance\n${README_BEGIN}\nold\n${README_END}\ntail\n`;
  const now = withReadmeSection(readme, "| new |\n");
  assert.ok(now.startsWith("# x\n\n## Performance\n"));
  assert.ok(now.endsWith(`${README_END}\ntail\n`));
  assert.ok(now.includes("| new |") && !now.includes("old"));
  assert.equal(withReadmeSection("no markers", "x"), "no markers");
});

// The overlay and script on a real kernel, when the peer and the images are here (~10-30 s).
const ROOT = new URL("../../", import.meta.url).pathname;
const images = `${ROOT}guest/images`;
// (spawning a missing program throws before any promise exists)
const haveQemu = await Promise.resolve()
  .then(() => new Deno.Command("qemu-system-i386", { args: ["--version"], stdout: "null", stderr: "null" }).output())
  .then((r) => r.success).catch(() => false);
const haveImages = await Deno.stat(`${images}/bzImage`).then(() => true).catch(() => false);

Deno.test({
  name: "the race script runs md5, sort and sed on QEMU through guest/init's ring3.run=",
  ignore: !haveQemu || !haveImages,
  async fn() {
    const base = await Deno.readFile(`${images}/initramfs.cpio.gz`);
    assert.ok(await initKnowsRing3Run(base));
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeFile(
        `${dir}/initrd`,
        await raceInitrd(base, await Deno.readFile(`${ROOT}bench/peers/guest/run.sh`), false),
      );
      const t0 = performance.now();
      const r = await new Deno.Command("qemu-system-i386", {
        args: [
          "-accel",
          "tcg",
          "-m",
          "128",
          "-display",
          "none",
          "-monitor",
          "none",
          "-serial",
          "stdio",
          "-no-reboot",
          "-kernel",
          `${images}/bzImage`,
          "-initrd",
          `${dir}/initrd`,
          "-append",
          "console=ttyS0 quiet ring3.run=/race/run race.work=md5,sort,sed race.lines=2000",
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(180_000),
      }).output();
      const s = (performance.now() - t0) / 1000;
      const lines = dec.decode(r.stdout).split("\n").map((text) => at(s, text));
      const b = parseConsole(lines, ["md5", "sort", "sed"], expectFor({ ...FULL_SIZES, lines: 2000 }));
      for (const w of ["md5", "sort", "sed"]) {
        assert.equal(b.work[w].error, undefined, dec.decode(r.stdout).slice(-2000));
      }
      assert.ok(b.work.md5.guest! >= 0);
      assert.equal(b.exit, 0);
      assert.equal(b.nproc, 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
