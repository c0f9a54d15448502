// x87 FPU tests. Differential part: random snippets run on ring3 (32-bit protected mode) and on
// the host CPU (tests/x87/native.c, 64-bit mode, same bytes) with the precision control at
// double, where the host computes exactly what IEEE double arithmetic gives; the whole fnsave
// image (registers, tags, status word with flags and condition codes, FOP), stored operands,
// AX and EFLAGS must agree. SDM-based part: #NM/#MF, unmasked responses, environment layouts.
import assert from "node:assert/strict";
import * as L from "../../core-as/layout.ts";
import { Rng } from "../lib/rng.ts";
import {
  DATA,
  extOf,
  fnsave,
  frstor,
  imageFor,
  Insn,
  M,
  MEM,
  nativeRunner,
  OUT_IMG,
  R,
  RAM,
  Result,
  Rig,
  runNative,
} from "./rig.ts";

const rig = await Rig.create({ ramBytes: RAM });
const native = nativeRunner() !== null;
if (!native) console.error("x87_state_test: gcc missing, host-CPU comparisons skipped");

// ---- deterministic random -----------------------------------------------------------------
const rng = new Rng(0x9e3779b9);
const rnd = () => rng.float();
const ri = (n: number) => Math.floor(rnd() * n);
const pick = <T>(a: T[]): T => a[ri(a.length)];

const f64buf = new DataView(new ArrayBuffer(8));
function fromBits(hi: number, lo: number): number {
  f64buf.setUint32(4, hi >>> 0, true);
  f64buf.setUint32(0, lo >>> 0, true);
  return f64buf.getFloat64(0, true);
}
// doubles with exponents in [-lo, lo], sometimes special
function rdouble(range = 60, specials = true): number {
  if (specials && rnd() < 0.12) {
    return pick([
      0,
      -0,
      Infinity,
      -Infinity,
      NaN,
      fromBits(0x7ff80000, 0x1234),
      fromBits(0xfff40000, 0x55),
      1,
      -1,
      0.5,
      2,
      3,
      -7,
    ]);
  }
  if (rnd() < 0.15) return (ri(2000) - 1000) / pick([1, 2, 4, 8, 10, 3]);
  const e = ri(2 * range + 1) - range + 1023;
  return fromBits((rnd() < 0.5 ? 0x80000000 : 0) | (e << 20) | ri(1 << 20), ri(2 ** 32));
}

// ---- snippet plumbing -------------------------------------------------------------------------
interface Case {
  code: Insn[];
  mem: Uint8Array;
  what: string;
}
function newMem(cw: number, regs: number[] = []): Uint8Array {
  const mem = new Uint8Array(MEM);
  mem.set(imageFor(cw, regs.map(extOf)), 0);
  return mem;
}
const hex = (u: Uint8Array) => [...u].map((x) => x.toString(16).padStart(2, "0")).join("");
// Whether the host keeps FOP for an instruction without an unmasked exception: newer Intel CPUs
// do not (SDM vol. 1, 8.1.9.1: FOP is then stored only after an unmasked exception), P6-family
// CPUs like the Core Duo ring3 is always do. When the host does not, FOP is left out of the
// comparisons (ring3's FOP has its own test below: "x87 FIP/FCS/FOP/FDP/FDS").
const hostKeepsFop = native && (() => {
  const [r] = runNative(framed([{ code: [R(0xd9, 0xe8)], mem: newMem(0x37f), what: "fld1" }]));
  return new DataView(r.mem.buffer).getUint16(OUT_IMG + 18, true) === 0x1e8;
})();
if (native && !hostKeepsFop) {
  console.error("x87_state_test: this host CPU keeps FOP only after exceptions; FOP not compared");
}
// the FIP/FCS/FDP/FDS pointer fields (and FOP, where the host does not keep it) of an image at `base`
function clearPointers(m: Uint8Array, base: number): void {
  for (let k = base + 12; k < base + 28; k++) {
    if ((k !== base + 18 && k !== base + 19) || !hostKeepsFop) m[k] = 0;
  }
}
// everything but the FIP/FCS/FDP/FDS pointer fields of the output image
function comparable(r: Result): string {
  const m = r.mem.slice();
  clearPointers(m, OUT_IMG);
  return hex(m) + ` eax=${(r.eax & 0xffff).toString(16)} fl=${(r.eflags & (L.F_ZF | L.F_PF | L.F_CF)).toString(16)}`;
}
function describe(r: Result): string {
  const dv = new DataView(r.mem.buffer);
  const sw = dv.getUint16(OUT_IMG + 4, true);
  const regs = [];
  for (let i = 0; i < 8; i++) regs.push(hex(r.mem.slice(OUT_IMG + 28 + i * 10, OUT_IMG + 38 + i * 10).reverse()));
  return `sw=${sw.toString(16)} tw=${dv.getUint16(OUT_IMG + 8, true).toString(16)} ax=${
    (r.eax & 0xffff).toString(16)
  } ` +
    `fl=${(r.eflags & 0x45).toString(16)} data=${hex(r.mem.slice(DATA, DATA + 48))} st=${regs.join(" ")}`;
}
// the native side runs the same frame
function framed(cases: Case[]): Case[] {
  return cases.map((c) => ({ ...c, code: [frstor(), ...c.code, R(0xdf, 0xe0), fnsave()] }));
}
function check(cases: Case[], cmp = comparable) {
  if (!native) return;
  const want = runNative(framed(cases));
  let bad = 0;
  const msgs: string[] = [];
  cases.forEach((c, k) => {
    const got = rig.exec(framed([c])[0].code, c.mem);
    assert.equal(got.fault, undefined, `${c.what}: fault ${got.fault}`);
    if (cmp(got) !== cmp(want[k])) {
      if (bad++ < 6) msgs.push(`${c.what}\n  ring3: ${describe(got)}\n  host:  ${describe(want[k])}`);
    }
  });
  assert.equal(bad, 0, `${bad}/${cases.length} differ:\n${msgs.join("\n")}`);
}

const cwFor = (rc: number) => 0x027f | (rc << 10); // all masked, precision control = double
const fld64 = (d: number) => M(0xdd, 0, d);
const fstp64 = (d: number) => M(0xdd, 3, d);
const OPS = ["add", "mul", "com", "comp", "sub", "subr", "div", "divr"];

// ---- arithmetic ---------------------------------------------------------------------------
Deno.test("x87 arithmetic matches the host (all forms, all rounding modes, flags and C1)", () => {
  const cases: Case[] = [];
  for (let n = 0; n < 3000; n++) {
    const rc = ri(4);
    const mem = newMem(cwFor(rc));
    const dv = new DataView(mem.buffer);
    const a = rdouble(), b = rdouble();
    let op = pick([0, 1, 4, 5, 6, 7]);
    if (rnd() < 0.05) op = pick([2, 3]);
    dv.setFloat64(DATA, a, true);
    dv.setFloat64(DATA + 8, b, true);
    dv.setFloat32(DATA + 16, b, true);
    dv.setInt32(DATA + 20, Math.trunc(b) | 0, true);
    dv.setInt16(DATA + 24, Math.trunc(b) & 0xffff, true);
    const form = ri(7);
    const code: Insn[] = [fld64(DATA)];
    switch (form) {
      case 0:
        code.push(fld64(DATA + 8), R(0xd8, 0xc1 | (op << 3)));
        break; // st0 op= st1
      case 1:
        code.push(fld64(DATA + 8), R(0xdc, 0xc1 | (op << 3)));
        break; // st1 op= st0 (reversed encodings)
      case 2:
        code.push(fld64(DATA + 8), R(0xde, 0xc1 | (op << 3 === 0x18 ? 0x10 : op << 3)));
        break;
      case 3:
        code.push(M(0xd8, op, DATA + 16));
        break; // m32
      case 4:
        code.push(M(0xdc, op, DATA + 8));
        break; // m64
      case 5:
        code.push(M(0xda, op, DATA + 20));
        break; // m32int
      default:
        code.push(M(0xde, op, DATA + 24));
        break; // m16int
    }
    code.push(fstp64(DATA + 32));
    cases.push({ code, mem, what: `form ${form} f${OPS[op]} a=${a} b=${b} rc=${rc}` });
  }
  check(cases);
});

Deno.test("x87 unary and partial-remainder operations match the host", () => {
  const cases: Case[] = [];
  const unary: [string, Insn][] = [
    ["fsqrt", R(0xd9, 0xfa)],
    ["frndint", R(0xd9, 0xfc)],
    ["fabs", R(0xd9, 0xe1)],
    ["fchs", R(0xd9, 0xe0)],
    ["ftst", R(0xd9, 0xe4)],
    ["fxam", R(0xd9, 0xe5)],
  ];
  const binary: [string, Insn][] = [["fscale", R(0xd9, 0xfd)], ["fprem", R(0xd9, 0xf8)], ["fprem1", R(0xd9, 0xf5)]];
  for (let n = 0; n < 2500; n++) {
    const rc = ri(4);
    const mem = newMem(cwFor(rc));
    const dv = new DataView(mem.buffer);
    const kind = ri(4);
    if (kind < 2) {
      const [name, ins] = pick(unary);
      const a = rnd() < 0.3 ? (ri(4000) - 2000) / 8 : Math.abs(rdouble()) * (name === "fsqrt" && rnd() < 0.8 ? 1 : -1);
      dv.setFloat64(DATA, a, true);
      cases.push({ code: [fld64(DATA), ins, fstp64(DATA + 16)], mem, what: `${name} ${a} rc=${rc}` });
    } else if (kind === 2) {
      const [name, ins] = pick(binary);
      const a = rdouble(name === "fscale" ? 200 : 300);
      const b = name === "fscale"
        ? (rnd() < 0.8 ? (ri(400) - 200) / pick([1, 1, 3]) : rdouble(8))
        : rdouble(name === "fprem" ? 200 : 200);
      dv.setFloat64(DATA, b, true);
      dv.setFloat64(DATA + 8, a, true);
      cases.push({
        code: [fld64(DATA), fld64(DATA + 8), ins, fstp64(DATA + 16), fstp64(DATA + 24)],
        mem,
        what: `${name} ${a}, ${b} rc=${rc}`,
      });
    } else {
      // fxtract, then both parts
      const a = rdouble(300);
      dv.setFloat64(DATA, a, true);
      cases.push({
        code: [fld64(DATA), R(0xd9, 0xf4), fstp64(DATA + 16), fstp64(DATA + 24)],
        mem,
        what: `fxtract ${a}`,
      });
    }
  }
  check(cases);
});

// ---- compares -------------------------------------------------------------------------------
Deno.test("x87 compares: condition codes, EFLAGS of fcomi, fcmovcc", () => {
  const cases: Case[] = [];
  const special = () =>
    rnd() < 0.4 ? pick([0, -0, 1, -1, Infinity, -Infinity, NaN, fromBits(0xfff40000, 1)]) : rdouble(4);
  for (let n = 0; n < 2000; n++) {
    const mem = newMem(cwFor(0));
    const dv = new DataView(mem.buffer);
    const a = special(), b = rnd() < 0.2 ? a : special();
    dv.setFloat64(DATA, b, true);
    dv.setFloat64(DATA + 8, a, true);
    dv.setFloat32(DATA + 16, a, true);
    dv.setInt32(DATA + 20, Math.trunc(a) | 0, true);
    dv.setInt16(DATA + 24, Math.trunc(a) & 0xffff, true);
    const load = [fld64(DATA), fld64(DATA + 8)]; // st0 = a, st1 = b
    const forms: [string, Insn[]][] = [
      ["fcom st1", [R(0xd8, 0xd1)]],
      ["fcomp st1", [R(0xd8, 0xd9)]],
      ["fcompp", [R(0xde, 0xd9)]],
      ["fucom st1", [R(0xdd, 0xe1)]],
      ["fucomp st1", [R(0xdd, 0xe9)]],
      ["fucompp", [R(0xda, 0xe9)]],
      ["fcom m64", [M(0xdc, 2, DATA)]],
      ["fcomp m32", [M(0xd8, 3, DATA + 16)]],
      ["ficom m32", [M(0xda, 2, DATA + 20)]],
      ["ficomp m16", [M(0xde, 3, DATA + 24)]],
      ["fcomi", [R(0xdb, 0xf1)]],
      ["fcomip", [R(0xdf, 0xf1)]],
      ["fucomi", [R(0xdb, 0xe9)]],
      ["fucomip", [R(0xdf, 0xe9)]],
      ["ftst", [R(0xd9, 0xe4)]],
      ["fxam", [R(0xd9, 0xe5)]],
    ];
    const [name, ins] = pick(forms);
    const code = [...load, ...ins];
    if (name.startsWith("fcomi") || name.startsWith("fucomi")) {
      // then a random fcmovcc from st(1) (or st(2) after the pop, which is empty: underflow)
      const cc = ri(8);
      code.push(R(cc < 4 ? 0xda : 0xdb, 0xc0 | ((cc & 3) << 3) | 1));
    }
    cases.push({ code, mem, what: `${name} a=${a} b=${b}` });
  }
  check(cases);
});

// ---- integers and BCD ---------------------------------------------------------------------
Deno.test("x87 integer and BCD stores: rounding modes, integer indefinite, fild/fbld", () => {
  const cases: Case[] = [];
  for (let n = 0; n < 2500; n++) {
    const rc = ri(4);
    const mem = newMem(cwFor(rc));
    const dv = new DataView(mem.buffer);
    const mag = pick([1, 100, 3e4, 4e4, 2e9, 3e9, 1e15, 9e15, 1e18, 2e18, 9.3e18, 1e20]);
    let a = (rnd() - 0.5) * 2 * mag;
    if (rnd() < 0.3) a = Math.round(a * 2) / 2; // halfway cases
    if (rnd() < 0.05) {
      a = pick([
        NaN,
        Infinity,
        -Infinity,
        -0,
        32767.5,
        -32768.5,
        2147483647.5,
        -2147483648.4,
        9223372036854775807,
        -9223372036854775808,
      ]);
    }
    dv.setFloat64(DATA, a, true);
    // fild/fbld sources
    dv.setBigInt64(
      DATA + 8,
      BigInt.asIntN(64, BigInt(ri(2 ** 32)) << BigInt(ri(32)) | BigInt(ri(2 ** 32))) * (rnd() < 0.5 ? -1n : 1n),
      true,
    );
    for (let k = 0; k < 9; k++) mem[DATA + 40 + k] = ri(10) | (ri(10) << 4);
    mem[DATA + 49] = rnd() < 0.5 ? 0x80 : 0;
    const forms: [string, Insn[]][] = [
      ["fist m16", [fld64(DATA), M(0xdf, 2, DATA + 16)]],
      ["fistp m16", [fld64(DATA), M(0xdf, 3, DATA + 16)]],
      ["fist m32", [fld64(DATA), M(0xdb, 2, DATA + 16)]],
      ["fistp m32", [fld64(DATA), M(0xdb, 3, DATA + 16)]],
      ["fistp m64", [fld64(DATA), M(0xdf, 7, DATA + 16)]],
      ["fbstp", [fld64(DATA), M(0xdf, 6, DATA + 16)]],
      ["fild m64/fistp m64", [M(0xdf, 5, DATA + 8), M(0xdf, 7, DATA + 16)]],
      ["fild m64/fstp m80", [M(0xdf, 5, DATA + 8), M(0xdb, 7, DATA + 16)]],
      ["fild m32/fild m16/faddp", [M(0xdb, 0, DATA + 8), M(0xdf, 0, DATA + 12), R(0xde, 0xc1), fstp64(DATA + 16)]],
      ["fbld/fbstp", [M(0xdf, 4, DATA + 40), M(0xdf, 6, DATA + 16)]],
      ["fbld/fistp m64", [M(0xdf, 4, DATA + 40), M(0xdf, 7, DATA + 16)]],
    ];
    const [name, code] = pick(forms);
    cases.push({ code, mem, what: `${name} a=${a} rc=${rc}` });
  }
  check(cases);
});

// ---- stack discipline -----------------------------------------------------------------------
Deno.test("x87 stack overflow/underflow, fxch/ffree/fincstp/fdecstp/fld st(i)/fstp st(i)", () => {
  const cases: Case[] = [];
  for (let n = 0; n < 1500; n++) {
    const depth = ri(9);
    const regs: number[] = [];
    for (let k = 0; k < depth; k++) regs.push(rdouble(10, false));
    const mem = newMem(cwFor(ri(4)), regs);
    new DataView(mem.buffer).setFloat64(DATA, rdouble(10), true);
    new DataView(mem.buffer).setFloat64(DATA + 24, rdouble(10, false), true);
    const pool: Insn[] = [
      R(0xd9, 0xe8),
      R(0xd9, 0xee),
      fld64(DATA + 24),
      fld64(DATA),
      R(0xd9, 0xc0 | ri(8)),
      R(0xd9, 0xc8 | ri(8)),
      R(0xdd, 0xd8 | ri(8)),
      R(0xdd, 0xd0 | ri(8)),
      R(0xdd, 0xc0 | ri(8)),
      R(0xd9, 0xf7),
      R(0xd9, 0xf6),
      R(0xde, 0xc1 | (ri(2) << 3)),
      R(0xd8, 0xc0 | ri(8)),
      R(0xdf, 0xc0 | ri(8)),
      fstp64(DATA + 8),
      R(0xd9, 0xe5),
      R(0xd9, 0xe1),
      R(0xd9, 0xfa),
      M(0xdf, 7, DATA + 16),
      R(0xdb, 0xc0 | ri(32)),
    ];
    const code: Insn[] = [];
    const len = 1 + ri(10);
    for (let k = 0; k < len; k++) code.push(pick(pool));
    cases.push({ code, mem, what: `depth ${depth}: ${code.map((i) => hex(new Uint8Array(i))).join(" ")}` });
  }
  check(cases);
});

// ---- constants, m80 -----------------------------------------------------------------------
Deno.test("x87 constants per rounding mode and m80 round trips are bit-exact", () => {
  const cases: Case[] = [];
  for (let rc = 0; rc < 4; rc++) {
    for (const c of [0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee]) {
      cases.push({
        code: [R(0xd9, c), M(0xdb, 7, DATA)],
        mem: newMem(cwFor(rc)),
        what: `const d9 ${c.toString(16)} rc=${rc}`,
      });
      cases.push({
        code: [R(0xd9, c), fstp64(DATA)],
        mem: newMem(cwFor(0)),
        what: `const d9 ${c.toString(16)} -> m64`,
      });
    }
  }
  for (let n = 0; n < 600; n++) {
    const mem = newMem(cwFor(0));
    for (let k = 0; k < 10; k++) mem[DATA + k] = ri(256);
    if (rnd() < 0.7) mem[DATA + 7] |= 0x80; // mostly normals
    if (rnd() < 0.5) {
      mem[DATA + 8] = ri(256);
      mem[DATA + 9] = (mem[DATA + 9] & 0x80) | 0x3f | (ri(2) << 6);
    }
    const ex = (mem[DATA + 8] | (mem[DATA + 9] << 8)) & 0x7fff;
    const inRange = ex > 16383 - 1000 && ex < 16383 + 1000 && (mem[DATA + 7] & 0x80) !== 0;
    const code: Insn[] = [M(0xdb, 5, DATA), R(0xd9, 0xe5), R(0xd9, 0xc9), M(0xdb, 7, DATA + 16)];
    if (inRange) code.push(M(0xdb, 5, DATA), fstp64(DATA + 32));
    cases.push({ code, mem, what: `m80 ${hex(mem.slice(DATA, DATA + 10).reverse())}` });
  }
  check(cases);
});

// ---- transcendental -------------------------------------------------------------------------
function ulps(a: number, b: number): number {
  if (Number.isNaN(a) && Number.isNaN(b)) return 0;
  if (a === b) return 0;
  f64buf.setFloat64(0, a, true);
  const x = f64buf.getBigInt64(0, true);
  f64buf.setFloat64(0, b, true);
  const y = f64buf.getBigInt64(0, true);
  const d = x - y;
  return Number(d < 0n ? -d : d);
}
Deno.test("x87 transcendental instructions agree with the host within 2 ulp", () => {
  if (!native) return;
  const ops: [string, Insn, number][] = [
    ["fsin", R(0xd9, 0xfe), 1],
    ["fcos", R(0xd9, 0xff), 1],
    ["fsincos", R(0xd9, 0xfb), 2],
    ["fptan", R(0xd9, 0xf2), 2],
    ["fpatan", R(0xd9, 0xf3), 0],
    ["fyl2x", R(0xd9, 0xf1), 0],
    ["fyl2xp1", R(0xd9, 0xf9), 0],
    ["f2xm1", R(0xd9, 0xf0), 1],
  ];
  const cases: Case[] = [];
  for (let n = 0; n < 1500; n++) {
    const [name, ins, outs] = pick(ops);
    const mem = newMem(cwFor(0));
    const dv = new DataView(mem.buffer);
    let x: number;
    if (name === "f2xm1" || name === "fyl2xp1") x = (rnd() * 2 - 1) * (name === "f2xm1" ? 1 : 0.29);
    else if (name === "fyl2x") x = Math.exp((rnd() - 0.5) * 40);
    else x = (rnd() - 0.5) * pick([1, 10, 1000]);
    if (rnd() < 0.05) x = pick([0, -0, Infinity, -Infinity, NaN, 1, ...(name === "f2xm1" ? [] : [2 ** 63])]);
    const y = rdouble(5, rnd() < 0.1);
    dv.setFloat64(DATA, y, true);
    dv.setFloat64(DATA + 8, x, true);
    const code: Insn[] = [fld64(DATA), fld64(DATA + 8), ins, fstp64(DATA + 16), fstp64(DATA + 24)];
    if (outs === 2) code.push(fstp64(DATA + 32));
    else code.push(R(0xd9, 0xd0));
    cases.push({ code, mem, what: `${name} x=${x} y=${y}` });
  }
  const want = runNative(framed(cases));
  let bad = 0;
  const msgs: string[] = [];
  cases.forEach((c, k) => {
    const got = rig.exec(framed([c])[0].code, c.mem);
    const g = new DataView(got.mem.buffer), w = new DataView(want[k].mem.buffer);
    let worst = 0;
    for (const off of [16, 24, 32]) {
      worst = Math.max(worst, ulps(g.getFloat64(DATA + off, true), w.getFloat64(DATA + off, true)));
    }
    // status: everything but PE and C1 (inexactness and round-up direction of approximations)
    const sw = (r: Result) => new DataView(r.mem.buffer).getUint16(OUT_IMG + 4, true) & ~0x220;
    if (worst > 2 || sw(got) !== sw(want[k])) {
      if (bad++ < 6) msgs.push(`${c.what}: ulps=${worst}\n  ring3: ${describe(got)}\n  host:  ${describe(want[k])}`);
    }
  });
  assert.equal(bad, 0, `${bad}/${cases.length} differ:\n${msgs.join("\n")}`);
});

// ---- control and environment --------------------------------------------------------------
Deno.test("x87 fldcw/fnstcw, fnstenv/fldenv, fnsave/frstor images match the host", () => {
  const cases: Case[] = [];
  for (let n = 0; n < 300; n++) {
    const regs: number[] = [];
    const depth = ri(9);
    for (let k = 0; k < depth; k++) regs.push(rdouble(300));
    const mem = newMem(cwFor(ri(4)), regs);
    const dv = new DataView(mem.buffer);
    dv.setUint16(DATA, ri(0x10000) | 0x3f, true); // keep exceptions masked on the host
    const forms: [string, Insn[]][] = [
      ["fldcw/fnstcw", [M(0xd9, 5, DATA), M(0xd9, 7, DATA + 8)]],
      ["fnstenv", [R(0xd9, 0xe8), M(0xd9, 6, DATA + 16)]],
      ["fnstenv/fldenv", [M(0xd9, 6, DATA + 16), R(0xd9, 0xf7), M(0xd9, 4, DATA + 16), M(0xdd, 7, DATA + 8)]],
      ["fnsave/frstor", [M(0xdd, 6, DATA + 16), R(0xd9, 0xe8), M(0xdd, 4, DATA + 16)]],
      ["o16 fnstenv", [[0x66, ...M(0xd9, 6, DATA + 64)]]],
      ["fnclex", [
        R(0xd9, 0xe8),
        R(0xd9, 0xe8),
        R(0xd9, 0xe8),
        R(0xd9, 0xe8),
        R(0xd9, 0xe8),
        R(0xd9, 0xe8),
        R(0xd9, 0xe8),
        R(0xd9, 0xe8),
        R(0xd9, 0xe8),
        R(0xdb, 0xe2),
      ]],
      ["fninit", [R(0xd9, 0xe8), R(0xdb, 0xe3), M(0xdd, 7, DATA + 8)]],
    ];
    const [name, code] = pick(forms);
    cases.push({ code, mem, what: `${name} depth ${depth}` });
  }
  // the environments stored inside the data area hold pointers: compare without them
  check(cases, (r) => {
    const m = r.mem.slice();
    for (const base of [OUT_IMG, DATA + 16]) clearPointers(m, base);
    for (let k = DATA + 64 + 6; k < DATA + 64 + 14; k++) m[k] = 0; // 16-bit layout: FIP FCS FDP FDS
    return hex(m) + ` ax=${r.eax & 0xffff}`;
  });
});

// ---- SDM-based checks (no host needed) ----------------------------------------------------
const F = (off: number) => rig.core.get(L.S_FPU + off);
const fld1 = R(0xd9, 0xe8), fldz = R(0xd9, 0xee);
const CR0_BASE = L.CR0_PE | L.CR0_NE | L.CR0_ET;

Deno.test("x87 #NM: CR0.EM or CR0.TS on ESC, MP+TS on WAIT", () => {
  const mem = new Uint8Array(MEM);
  assert.equal(rig.exec([fld1], mem, { cr0: CR0_BASE | L.CR0_TS }).fault, L.EXC_NM);
  assert.equal(rig.exec([fld1], mem, { cr0: CR0_BASE | L.CR0_EM }).fault, L.EXC_NM);
  assert.equal(rig.exec([M(0xd9, 7, DATA)], mem, { cr0: CR0_BASE | L.CR0_TS }).fault, L.EXC_NM); // fnstcw too
  assert.equal(rig.exec([[0x9b]], mem, { cr0: CR0_BASE | L.CR0_TS }).fault, undefined);
  assert.equal(rig.exec([[0x9b]], mem, { cr0: CR0_BASE | L.CR0_EM }).fault, undefined);
  assert.equal(rig.exec([[0x9b]], mem, { cr0: CR0_BASE | L.CR0_TS | L.CR0_MP }).fault, L.EXC_NM);
  // the faulting instruction left nothing behind
  const r = rig.exec([fld1], mem, { cr0: CR0_BASE | L.CR0_TS });
  assert.equal(r.fault, L.EXC_NM);
  assert.equal(F(L.FP_TOP), 0);
  assert.equal(F(L.FP_TAG), 0xffff);
});

Deno.test("x87 #MF: unmasked exception is reported by the next waiting instruction", () => {
  const mem = new Uint8Array(MEM);
  new DataView(mem.buffer).setUint16(DATA, 0x37b, true); // divide-by-zero unmasked
  const setup = [M(0xd9, 5, DATA), fld1, fldz, R(0xde, 0xf9)]; // fdivp st1, st0: 1/0
  let r = rig.exec([...setup, R(0xdf, 0xe0)], mem); // fnstsw ax does not wait
  assert.equal(r.fault, undefined);
  assert.equal(r.eax & 0xffff, 0x8000 | 0x80 | 0x04 | (6 << 11), "B ES ZE, TOP=6: no pop");
  assert.equal(F(L.FP_TAG), 0x0fff, "st0 and st1 still valid");
  r = rig.exec([...setup, fld1], mem);
  assert.equal(r.fault, L.EXC_MF);
  assert.equal(F(L.FP_TOP), 6, "the faulting fld1 did not push");
  assert.equal(rig.exec([...setup, [0x9b]], mem).fault, L.EXC_MF); // fwait
  assert.equal(rig.exec([...setup, R(0xdb, 0xe2), fld1], mem).fault, undefined); // fnclex clears ES
  assert.equal(rig.exec([...setup, M(0xd9, 6, DATA + 16), fld1], mem).fault, undefined, "fnstenv masks everything");
  assert.equal(rig.exec([...setup, R(0xdb, 0xe3), fld1], mem).fault, undefined); // fninit
  // fldcw that unmasks a pending flag arms #MF as well
  new DataView(mem.buffer).setUint16(DATA + 2, 0x37f, true);
  r = rig.exec([M(0xd9, 5, DATA + 2), fld1, fldz, R(0xde, 0xf9), M(0xd9, 5, DATA), fld1], mem);
  assert.equal(r.fault, L.EXC_MF);
});

Deno.test("x87 unmasked invalid operation: stack overflow changes nothing", () => {
  const mem = new Uint8Array(MEM);
  new DataView(mem.buffer).setUint16(DATA, 0x37e, true); // IE unmasked
  const r = rig.exec([M(0xd9, 5, DATA), ...Array(9).fill(fld1), R(0xdf, 0xe0)], mem);
  assert.equal(r.fault, undefined);
  assert.equal(r.eax & 0xffff, 0x8000 | 0x80 | 0x41 | 0x200 | (0 << 11), "B ES SF IE C1, TOP still 0");
  assert.equal(F(L.FP_TAG), 0);
  // masked: the indefinite is pushed
  new DataView(mem.buffer).setUint16(DATA, 0x37f, true);
  rig.exec([M(0xd9, 5, DATA), ...Array(9).fill(fld1)], mem);
  assert.equal(F(L.FP_TOP), 7);
  const p = F(L.FP_TOP);
  assert.equal(rig.core.dv.getBigUint64(rig.core.base + L.S_FPU + p * 8, true), 0xfff8000000000000n);
});

Deno.test("x87 FIP/FCS/FOP/FDP/FDS in the 32- and 16-bit protected-mode environments", () => {
  const mem = new Uint8Array(MEM);
  const code = [fld1, M(0xdc, 0, DATA + 8), M(0xd9, 6, DATA + 32), [0x66, ...M(0xd9, 6, DATA + 64)]];
  const r = rig.exec(code, mem);
  const dv = new DataView(r.mem.buffer);
  const env = DATA + 32;
  assert.equal(dv.getUint32(env, true), 0xffff037f);
  assert.equal(dv.getUint32(env + 4, true) & 0xffff, 7 << 11);
  assert.equal(dv.getUint32(env + 8, true), 0xffff3fff);
  assert.equal(dv.getUint32(env + 12, true), 0x10000 + 2, "FIP = the fadd");
  assert.equal(dv.getUint32(env + 16, true), 0x08 | (0x480 | 0x83) << 16, "FCS, FOP = dc 83");
  assert.equal(dv.getUint32(env + 20, true), DATA + 8 + 0x20000);
  assert.equal(dv.getUint32(env + 24, true), 0x10);
  const e16 = DATA + 64; // fnstenv itself masked the exceptions
  assert.deepEqual([0, 2, 4, 6, 8, 10, 12].map((k) => dv.getUint16(e16 + k, true)), [
    0x37f,
    7 << 11,
    0x3fff,
    2,
    0x08,
    (DATA + 8) & 0xffff,
    0x10,
  ]);
});

Deno.test("x87 fsave/frstor keep arbitrary 80-bit registers bit-exact", () => {
  for (let n = 0; n < 50; n++) {
    const mem = new Uint8Array(MEM);
    const regs = [];
    for (let i = 0; i < 8; i++) {
      regs.push({
        m: (1n << 63n) | (BigInt(ri(2 ** 31)) << 32n) | BigInt(ri(2 ** 32)),
        se: (ri(2) << 15) | (16383 - 200 + ri(400)),
      });
    }
    mem.set(imageFor(0x37f, regs), 0);
    const r = rig.exec([frstor(), R(0xd9, 0xc9), R(0xd9, 0xc9), fnsave()], mem);
    assert.deepEqual(r.mem.slice(OUT_IMG + 28, OUT_IMG + 108), mem.slice(28, 108));
  }
});

Deno.test("x87 fistp rounding modes and integer indefinite (SDM values)", () => {
  const cases: [number, number, number, number][] = [ // value, rc, bytes, expected (as unsigned)
    [2.5, 0, 4, 2],
    [2.5, 1, 4, 2],
    [2.5, 2, 4, 3],
    [2.5, 3, 4, 2],
    [3.5, 0, 4, 4],
    [-2.5, 0, 4, 0xfffffffe],
    [-2.5, 1, 4, 0xfffffffd],
    [-2.5, 2, 4, 0xfffffffe],
    [-2.5, 3, 4, 0xfffffffe],
    [1e10, 0, 4, 0x80000000],
    [32768, 0, 2, 0x8000],
    [-32768, 0, 2, 0x8000],
    [-32768.6, 3, 2, 0x8000],
    [NaN, 0, 4, 0x80000000],
    [-Infinity, 0, 2, 0x8000],
    [2147483647.4, 0, 4, 0x7fffffff],
  ];
  for (const [v, rc, bytes, want] of cases) {
    const mem = new Uint8Array(MEM);
    const dv = new DataView(mem.buffer);
    dv.setUint16(DATA, 0x37f | (rc << 10), true);
    dv.setFloat64(DATA + 8, v, true);
    const r = rig.exec([
      M(0xd9, 5, DATA),
      fld64(DATA + 8),
      bytes === 4 ? M(0xdb, 3, DATA + 16) : M(0xdf, 3, DATA + 16),
      R(0xdf, 0xe0),
    ], mem);
    const got = bytes === 4
      ? new DataView(r.mem.buffer).getUint32(DATA + 16, true)
      : new DataView(r.mem.buffer).getUint16(DATA + 16, true);
    assert.equal(got, want, `fistp ${v} rc=${rc} m${bytes * 8}`);
    const invalid = (want === 0x80000000 || want === 0x8000) && Math.trunc(v) !== -32768;
    assert.equal((r.eax & 1) !== 0, invalid, `IE for ${v}`);
    assert.equal((r.eax & 0x3800) >> 11, 0, "popped");
  }
});
