// x87 against the host FPU. Every template starts with FNINIT and loads a control word with
// precision control = double (PC=10) and all exceptions masked, so the host rounds the basic
// operations (+ - * / sqrt) to a 53-bit significand like ring3's model (both keep the
// register's 15-bit exponent: results beyond the double range overflow or denormalize only on
// the store); the results, the stored integers/BCD and the status word (C0..C3, TOP, exception flags) are compared exactly.
// The rounding mode is random where it matters (fistp, frndint, fld m64 -> fst m32, constants).
// Transcendentals (fsin fcos fsincos fptan fpatan f2xm1 fyl2x fyl2xp1) are computed by the host
// x87 with its own 64-bit-significand algorithms and argument reduction, which PC does not
// affect, while ring3 uses f64 libm-style math: they are compared with a relative tolerance
// (1e-12, plus 1e-300 absolute near zero) and without PE/C1, which follow the last-bit rounding.
//
// Window layout: a at +0, b at +8, result(s) at +16/+24 (tword results +16..+26), SW at +40,
// CW at +48, raw 80-bit / BCD operand at +32.
import { Case, diffGroup, Template } from "./lib/harness.ts";
import { Rng } from "../lib/rng.ts";

const T: Template[] = [];
const MEM = 64;

function f64gen(r: Rng): number {
  const k = r.below(100);
  if (k < 8) {
    return r.pick([
      0,
      -0,
      1,
      -1,
      0.5,
      2,
      Infinity,
      -Infinity,
      NaN,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      2.2250738585072014e-308,
      1e308,
      -1e-310,
      3,
      10,
      0.1,
      1 / 3,
    ]);
  }
  if (k < 25) return (r.below(2001) - 1000) / r.pick([1, 2, 4, 8, 10, 3]);
  if (k < 40) return (r.u32() | 0) * 2 ** (r.below(40) - 20);
  if (k < 45) return (r.u32() + r.u32() / 4294967296) * 2 ** (r.below(2000) - 1000) * (r.chance(0.5) ? -1 : 1);
  const dv = new DataView(new ArrayBuffer(8));
  dv.setUint32(0, r.u32(), true);
  // random sign and significand, exponent mostly moderate
  const e = r.chance(0.8) ? 1023 + r.below(120) - 60 : r.below(2048);
  dv.setUint32(4, ((r.u32() & 0x800fffff) | (e << 20)) >>> 0, true);
  return dv.getFloat64(0, true);
}

interface Opt {
  rc?: boolean; // random rounding mode (else nearest)
  a?: (r: Rng) => number;
  b?: (r: Rng) => number;
  raw?: (r: Rng, m: Uint8Array) => void; // fill bytes +32..+41
  tol?: number[]; // offsets of f64 results compared with tolerance
}
function x87(name: string, body: string, o: Opt = {}): void {
  T.push({
    name,
    asm: `fninit\nfldcw [DATA+48]\n${
      body.trim().split("\n").map((l) => l.trim()).join("\n")
    }\nfnstsw [DATA+40]\nfninit`,
    mem: MEM,
    gen: (r: Rng, c: Case) => {
      const dv = new DataView(c.mem.buffer);
      dv.setFloat64(0, (o.a ?? f64gen)(r), true);
      dv.setFloat64(8, (o.b ?? f64gen)(r), true);
      for (let i = 16; i < 48; i++) c.mem[i] = 0;
      o.raw?.(r, c.mem);
      // PC = 10 (double), all exceptions masked, RC random or nearest
      dv.setUint16(48, 0x027f | ((o.rc ? r.below(4) : 0) << 10), true);
    },
    memCompare: o.tol ? tolCompare(o.tol) : undefined,
  });
}

function tolCompare(offs: number[]) {
  return (exp: Uint8Array, got: Uint8Array): string | null => {
    const e = new DataView(exp.buffer, exp.byteOffset), g = new DataView(got.buffer, got.byteOffset);
    for (let i = 0; i < exp.length; i++) {
      if (offs.some((o) => i >= o && i < o + 8)) continue;
      if (i === 40) { // SW low byte without PE (bit 5)
        if (((exp[i] ^ got[i]) & ~0x20) !== 0) {
          return `status word ${e.getUint16(40, true).toString(16)} vs ${g.getUint16(40, true).toString(16)}`;
        }
        continue;
      }
      if (i === 41) { // SW high byte without C1 (bit 9)
        if (((exp[i] ^ got[i]) & ~0x02) !== 0) {
          return `status word ${e.getUint16(40, true).toString(16)} vs ${g.getUint16(40, true).toString(16)}`;
        }
        continue;
      }
      if (exp[i] !== got[i]) return `byte +${i}`;
    }
    for (const o of offs) {
      const x = e.getFloat64(o, true), y = g.getFloat64(o, true);
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      if (x === y) continue;
      if (Math.abs(x - y) <= 1e-12 * Math.abs(x) + 1e-300) continue;
      return `f64 at +${o}: ${x} vs ${y}`;
    }
    return null;
  };
}

// ---- basic arithmetic, exact ------------------------------------------------------------------
for (const op of ["fadd", "fsub", "fsubr", "fmul", "fdiv", "fdivr"]) {
  x87(`${op} m64`, `fld qword [DATA]\n${op} qword [DATA+8]\nfstp qword [DATA+16]`, { rc: true });
  x87(
    `${op} st0, st1`,
    `fld qword [DATA+8]\nfld qword [DATA]\n${op} st0, st1\nfstp qword [DATA+16]\nfstp qword [DATA+24]`,
  );
  x87(`${op}p st1, st0`, `fld qword [DATA]\nfld qword [DATA+8]\n${op}p st1, st0\nfstp qword [DATA+16]`, { rc: true });
  x87(`${op} m32`, `fld qword [DATA]\n${op} dword [DATA+8]\nfstp qword [DATA+16]`);
  x87(`fi${op.slice(1)} m32int`, `fld qword [DATA]\nfi${op.slice(1)} dword [DATA+8]\nfstp qword [DATA+16]`);
}
x87("fsqrt", "fld qword [DATA]\nfsqrt\nfstp qword [DATA+16]", { rc: true });
x87("fabs ; fchs", "fld qword [DATA]\nfabs\nfst qword [DATA+16]\nfchs\nfstp qword [DATA+24]");
x87("frndint", "fld qword [DATA]\nfrndint\nfstp qword [DATA+16]", {
  rc: true,
  a: (r) => (r.u32() - 2 ** 31) / r.pick([1, 2, 4, 3, 1000, 7]),
});
x87("fscale", "fld qword [DATA+8]\nfld qword [DATA]\nfscale\nfstp qword [DATA+16]\nfstp qword [DATA+24]", {
  b: (r) => r.below(200) - 100 + (r.chance(0.2) ? 0.5 : 0),
});
x87("fxtract", "fld qword [DATA]\nfxtract\nfstp qword [DATA+16]\nfstp qword [DATA+24]");
for (const op of ["fprem", "fprem1"]) {
  x87(op, `fld qword [DATA+8]\nfld qword [DATA]\n${op}\nfstp qword [DATA+16]\nfstp qword [DATA+24]`, {
    a: (r) => f64gen(r) * (r.chance(0.5) ? 1 : 2 ** -900),
  });
}

// ---- results beyond the double range ----------------------------------------------------------
// With PC=double the register still has the 15-bit exponent: a product or quotient beyond the
// double range is an ordinary register value (rounded to 53 bits), that overflows, underflows or
// denormalizes (rounding a second time) only when stored, and that later operations use as is.
function extreme(r: Rng): number {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setUint32(0, r.u32(), true);
  const k = r.below(10);
  const e = k < 4 ? 1 + r.below(80) : k < 8 ? 2046 - r.below(80) : k < 9 ? 0 : 1023 + r.below(41) - 20;
  dv.setUint32(4, ((r.u32() & 0x800fffff) | (e << 20)) >>> 0, true);
  return dv.getFloat64(0, true);
}
const ext = { a: extreme, b: extreme, rc: true };
for (const [op, back] of [["fmul", "fdiv"], ["fdiv", "fmul"]]) {
  x87(`${op} m64 ; fstp m80`, `fld qword [DATA]\n${op} qword [DATA+8]\nfstp tword [DATA+16]`, ext);
  x87(`${op} m64 ; fstp m32`, `fld qword [DATA]\n${op} qword [DATA+8]\nfstp dword [DATA+16]`, ext);
  x87(
    `${op} m64 ; ${back} m64 (back into range)`,
    `fld qword [DATA]\n${op} qword [DATA+8]\n${back} qword [DATA+8]\nfstp qword [DATA+16]`,
    ext,
  );
  x87(
    `${op} m64 ; fadd st0, st0 ; fsub m64`,
    `fld qword [DATA]\n${op} qword [DATA+8]\nfadd st0, st0\nfsub qword [DATA]\nfstp tword [DATA+16]`,
    ext,
  );
  x87(`${op} m64 ; fsqrt`, `fld qword [DATA]\nfabs\n${op} qword [DATA+8]\nfsqrt\nfstp qword [DATA+16]`, ext);
  x87(`${op} m64 ; fcom m64`, `fld qword [DATA]\n${op} qword [DATA+8]\nfcom qword [DATA]\nfstp st0`, ext);
  x87(`${op} m64 ; fucomip`, `fld qword [DATA+8]\nfld qword [DATA]\n${op} st0, st1\nfucomip st0, st1\nfstp st0`, ext);
  x87(
    `${op} m64 ; fxtract`,
    `fld qword [DATA]\n${op} qword [DATA+8]\nfxtract\nfstp qword [DATA+16]\nfstp qword [DATA+24]`,
    ext,
  );
  x87(`${op} m64 ; fistp m64`, `fld qword [DATA]\n${op} qword [DATA+8]\nfistp qword [DATA+16]`, ext);
  x87(`${op} m64 ; frndint`, `fld qword [DATA]\n${op} qword [DATA+8]\nfrndint\nfstp tword [DATA+16]`, ext);
}
x87("fld m64 ; fscale ; fstp m80", "fld qword [DATA+8]\nfld qword [DATA]\nfscale\nfstp tword [DATA+16]\nfstp st0", {
  rc: true,
  b: (r) => r.below(4400) - 2200 + (r.chance(0.2) ? 0.5 : 0),
});
// m80 operands far outside the double range, with 53-bit significands (ring3 keeps operands at
// double precision: a 64-bit significand would be rounded before the operation)
const m80wide = (r: Rng, m: Uint8Array) => {
  for (let i = 32; i < 40; i++) m[i] = r.u32() & 0xff;
  m[32] = 0, m[33] &= 0xf8, m[39] |= 0x80;
  const e = r.chance(0.5) ? 0x3fff + r.below(2400) - 1200 : r.below(0x7ffe) + 1;
  m[40] = e & 0xff, m[41] = ((e >> 8) & 0x7f) | (r.chance(0.5) ? 0x80 : 0);
};
x87("fld m80 ; fstp m32", "fld tword [DATA+32]\nfstp dword [DATA+16]", { rc: true, raw: m80wide });
for (const op of ["fmul", "fdiv", "fadd", "fdivr"]) {
  x87(`fld m80 ; ${op} m64 ; fstp m80`, `fld tword [DATA+32]\n${op} qword [DATA+8]\nfstp tword [DATA+16]`, {
    rc: true,
    raw: m80wide,
    b: extreme,
  });
}
x87("fld m80 ; ftst", "fld tword [DATA+32]\nftst\nfstp st0", { raw: m80wide });
x87("fld m80 ; fcom m64", "fld tword [DATA+32]\nfcom qword [DATA+8]\nfstp st0", { raw: m80wide, b: extreme });
x87(
  "fld m80 ; fld m80 ; fucomip",
  "fld tword [DATA+32]\nfld tword [DATA+32]\nfmul st0, st0\nfucomip st0, st1\nfstp st0",
  { raw: m80wide },
);
x87("fdivr m64 by zero, denormal dividend", "fld qword [DATA]\nfdivr qword [DATA+8]\nfstp qword [DATA+16]", {
  a: (r) => r.pick([0, -0, 1, Infinity]),
  b: (r) => r.pick([Number.MIN_VALUE, -2.2250738585072e-308, 1e-310]),
});

// ---- compares and classification ------------------------------------------------------------
x87("fcom m64", "fld qword [DATA]\nfcom qword [DATA+8]\nfstp st0", { b: (r) => r.chance(0.3) ? 1 : f64gen(r) });
x87("fcomp m32", "fld qword [DATA]\nfcomp dword [DATA+8]");
for (const op of ["fcom", "fucom"]) {
  x87(`${op} st1`, `fld qword [DATA+8]\nfld qword [DATA]\n${op} st1\nfstp st0\nfstp st0`);
  x87(`${op}pp`, `fld qword [DATA+8]\nfld qword [DATA]\n${op}pp`);
}
for (const op of ["fcomi", "fucomi", "fcomip", "fucomip"]) {
  // EFLAGS ZF PF CF come back through the record
  x87(`${op} st0, st1`, `fld qword [DATA+8]\nfld qword [DATA]\n${op} st0, st1`);
}
x87("ftst", "fld qword [DATA]\nftst");
x87("fxam", "fld qword [DATA]\nfxam");
x87("fxam empty", "fxam");

// ---- integer and BCD conversions ------------------------------------------------------------
for (const [sz, n] of [["word", 2], ["dword", 4], ["qword", 8]] as [string, number][]) {
  x87(`fistp m${n * 8}`, `fld qword [DATA]\nfistp ${sz} [DATA+16]`, {
    rc: true,
    a: (r) =>
      r.chance(0.7)
        ? (r.u32() - 2 ** 31) * 2 ** (r.below(40) - 8 * (4 - n) - 8) + r.pick([0, 0.5, 0.25, 0.75, -0.5])
        : f64gen(r),
  });
  if (n < 8) x87(`fist m${n * 8}`, `fld qword [DATA]\nfist ${sz} [DATA+16]\nfstp st0`, { rc: true });
  x87(`fild m${n * 8}`, `fild ${sz} [DATA]\nfstp qword [DATA+16]`, { rc: true });
}
x87("fld m32 ; fstp m64", "fld dword [DATA]\nfstp qword [DATA+16]");
x87("fld m64 ; fstp m32", "fld qword [DATA]\nfstp dword [DATA+16]", { rc: true });
x87("fld m80 ; fstp m80", "fld tword [DATA+32]\nfstp tword [DATA+16]", {
  raw: (r, m) => {
    for (let i = 32; i < 40; i++) m[i] = r.u32() & 0xff;
    if (r.chance(0.8)) m[39] |= 0x80; // mostly normals (explicit integer bit)
    const e = r.chance(0.8) ? 0x3fff + r.below(200) - 100 : r.pick([0, 0x7fff, r.below(0x8000)]);
    m[40] = e & 0xff, m[41] = ((e >> 8) & 0x7f) | (r.chance(0.5) ? 0x80 : 0);
  },
});
x87("fld m80 ; fstp m64", "fld tword [DATA+32]\nfstp qword [DATA+16]", {
  rc: true,
  raw: (r, m) => {
    for (let i = 32; i < 40; i++) m[i] = r.u32() & 0xff;
    m[39] |= 0x80;
    const e = 0x3fff + r.below(2400) - 1200;
    m[40] = e & 0xff, m[41] = ((e >> 8) & 0x7f) | (r.chance(0.5) ? 0x80 : 0);
  },
});
x87("fbld ; fstp m64", "fbld [DATA+32]\nfstp qword [DATA+16]", {
  raw: (r, m) => {
    for (let i = 32; i < 41; i++) m[i] = r.below(10) | (r.below(10) << 4);
    m[41] = r.chance(0.5) ? 0x80 : 0;
  },
});
x87("fld m64 ; fbstp", "fld qword [DATA]\nfbstp [DATA+16]", {
  rc: true,
  a: (r) =>
    r.chance(0.8) ? (r.u32() * 2 ** r.below(28) + r.pick([0, 0.5, 0.25])) * (r.chance(0.5) ? -1 : 1) : f64gen(r),
});
for (const k of ["fld1", "fldz", "fldpi", "fldl2e", "fldl2t", "fldlg2", "fldln2"]) {
  x87(k, `${k}\nfstp qword [DATA+16]`, { rc: true });
}
x87("fxch ; fstp both", "fld qword [DATA]\nfld qword [DATA+8]\nfxch\nfstp qword [DATA+16]\nfstp qword [DATA+24]");
x87("stack underflow: fadd on empty", "fadd st0, st1\nfstp qword [DATA+16]");
x87(
  "stack overflow: 9 loads",
  "fld1\nfld1\nfld1\nfld1\nfld1\nfld1\nfld1\nfld1\nfld qword [DATA]\nfstp qword [DATA+16]",
);
x87("fnstcw", "fld qword [DATA]\nfld qword [DATA+8]\nfnstcw [DATA+16]\nfstp st0\nfstp st0");

// ---- transcendentals, within tolerance -------------------------------------------------------
const small = (r: Rng) => (r.u32() / 4294967296 - 0.5) * r.pick([1e-6, 0.1, 2, 10, 200]);
x87("fsin", "fld qword [DATA]\nfsin\nfstp qword [DATA+16]", { a: small, tol: [16] });
x87("fcos", "fld qword [DATA]\nfcos\nfstp qword [DATA+16]", { a: small, tol: [16] });
x87("fsincos", "fld qword [DATA]\nfsincos\nfstp qword [DATA+16]\nfstp qword [DATA+24]", { a: small, tol: [16, 24] });
x87("fptan", "fld qword [DATA]\nfptan\nfstp qword [DATA+16]\nfstp qword [DATA+24]", { a: small, tol: [16, 24] });
x87("fsin out of range (C2)", "fld qword [DATA]\nfsin\nfstp qword [DATA+16]", {
  a: (r) => r.pick([2 ** 63, -(2 ** 63), 1e19, 2 ** 64, 1e300]),
});
x87("fpatan", "fld qword [DATA]\nfld qword [DATA+8]\nfpatan\nfstp qword [DATA+16]", { a: small, b: small, tol: [16] });
x87("f2xm1", "fld qword [DATA]\nf2xm1\nfstp qword [DATA+16]", { a: (r) => r.u32() / 2147483648 - 1, tol: [16] });
x87("fyl2x", "fld qword [DATA+8]\nfld qword [DATA]\nfyl2x\nfstp qword [DATA+16]", {
  a: (r) => r.u32() / 1e6 + 1e-3,
  b: small,
  tol: [16],
});
x87("fyl2xp1", "fld qword [DATA+8]\nfld qword [DATA]\nfyl2xp1\nfstp qword [DATA+16]", {
  a: (r) => (r.u32() / 4294967296 - 0.5) * 0.58,
  b: small,
  tol: [16],
});

diffGroup("x87", T);
