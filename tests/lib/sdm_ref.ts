// Reference semantics of the integer ALU groups, written from the Intel SDM pseudocode (bit by bit
// where the SDM loops) and independent of core-as. Each function returns the result, the flags it
// produces and `def`, the mask of the flags the SDM defines for that case.
export const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
export const ARITH = CF | PF | AF | ZF | SF | OF;

export interface Out {
  r: number;
  f: number;
  def: number;
}

export const bitsOf = (s: number) => s * 8;
export const modOf = (s: number) => 2 ** (8 * s);
export const maskOf = (s: number) => modOf(s) - 1;
export const msb = (v: number, s: number) => (v >= modOf(s) / 2 ? 1 : 0);
export const sx = (v: number, s: number) => (v >= modOf(s) / 2 ? v - modOf(s) : v);
const wrap = (v: number, s: number) => ((v % modOf(s)) + modOf(s)) % modOf(s);
export function parityEven(v: number): boolean {
  let n = 0;
  for (let i = 0; i < 8; i++) n += (v >> i) & 1;
  return n % 2 === 0;
}
export function szp(r: number, s: number): number {
  return (r === 0 ? ZF : 0) | (msb(r, s) ? SF : 0) | (parityEven(r & 0xff) ? PF : 0);
}

// op: 0 ADD 1 OR 2 ADC 3 SBB 4 AND 5 SUB 6 XOR 7 CMP (r is the value written, a for CMP)
export function alu(op: number, a: number, b: number, cfIn: number, s: number): Out {
  a = wrap(a, s);
  b = wrap(b, s);
  const c = op === 2 || op === 3 ? cfIn & 1 : 0;
  let full: number;
  switch (op) {
    case 1: {
      const r = (a | b) >>> 0;
      return { r: wrap(r, s), f: szp(wrap(r, s), s), def: ARITH & ~AF };
    }
    case 4: {
      const r = (a & b) >>> 0;
      return { r: wrap(r, s), f: szp(wrap(r, s), s), def: ARITH & ~AF };
    }
    case 6: {
      const r = (a ^ b) >>> 0;
      return { r: wrap(r, s), f: szp(wrap(r, s), s), def: ARITH & ~AF };
    }
    case 0:
    case 2:
      full = a + b + c;
      break;
    default:
      full = a - b - c;
      break;
  }
  const r = wrap(full, s);
  const add = op === 0 || op === 2;
  let f = szp(r, s);
  if (add ? full >= modOf(s) : full < 0) f |= CF;
  if (((a ^ b ^ r) & 0x10) !== 0) f |= AF;
  const sa = msb(a, s), sb = msb(b, s), sr = msb(r, s);
  if (add ? sa === sb && sr !== sa : sa !== sb && sr !== sa) f |= OF;
  return { r: op === 7 ? a : r, f, def: ARITH };
}

export function incdec(dec: boolean, a: number, cfIn: number, s: number): Out {
  const o = alu(dec ? 5 : 0, a, 1, 0, s);
  return { r: o.r, f: (o.f & ~CF) | (cfIn & CF), def: ARITH };
}

export function neg(a: number, s: number): Out {
  const o = alu(5, 0, a, 0, s);
  return { r: o.r, f: o.f, def: ARITH };
}

// group 2 with the count already taken from the instruction (masked here). fIn: flags before.
export function shift(op: number, a: number, count: number, fIn: number, s: number): Out {
  const bits = bitsOf(s), M = modOf(s);
  let d = wrap(a, s);
  const c = count & 0x1f;
  if (c === 0) return { r: d, f: fIn & ARITH, def: ARITH };
  let cf = fIn & 1;
  let of = 0;
  const ofDef = c === 1;
  switch (op) {
    case 0: { // ROL
      for (let i = 0; i < c % bits; i++) d = (d * 2 + msb(d, s)) % M;
      cf = d & 1;
      of = msb(d, s) ^ cf;
      break;
    }
    case 1: { // ROR
      for (let i = 0; i < c % bits; i++) d = Math.floor(d / 2) + (d & 1) * (M / 2);
      cf = msb(d, s);
      of = msb(d, s) ^ (Math.floor(d / (M / 4)) & 1);
      break;
    }
    case 2: { // RCL
      const t = s === 4 ? c : c % (bits + 1);
      for (let i = 0; i < t; i++) {
        const m = msb(d, s);
        d = (d * 2 + cf) % M;
        cf = m;
      }
      of = msb(d, s) ^ cf;
      break;
    }
    case 3: { // RCR
      of = msb(d, s) ^ cf;
      const t = s === 4 ? c : c % (bits + 1);
      for (let i = 0; i < t; i++) {
        const l = d & 1;
        d = Math.floor(d / 2) + cf * (M / 2);
        cf = l;
      }
      break;
    }
    case 4:
    case 6: { // SHL
      for (let i = 0; i < c; i++) {
        cf = msb(d, s);
        d = (d * 2) % M;
      }
      of = msb(d, s) ^ cf;
      break;
    }
    case 5: { // SHR
      of = msb(d, s);
      for (let i = 0; i < c; i++) {
        cf = d % 2;
        d = Math.floor(d / 2);
      }
      break;
    }
    default: { // SAR
      of = 0;
      let v = sx(d, s);
      for (let i = 0; i < c; i++) {
        cf = ((v % 2) + 2) % 2;
        v = Math.floor(v / 2);
      }
      d = wrap(v, s);
    }
  }
  const rot = op < 4;
  // rotates keep SF ZF AF PF; shifts set SF ZF PF from the result (AF undefined)
  const f = (rot ? fIn & (SF | ZF | AF | PF) : szp(d, s)) | cf | (of ? OF : 0);
  // CF is undefined for SHL/SHR/SAR counts >= the operand width
  const cfDef = rot || c < bits;
  const def = (rot ? SF | ZF | AF | PF : SF | ZF | PF) | (cfDef ? CF : 0) | (ofDef ? OF : 0);
  return { r: d, f, def };
}

// SHLD / SHRD (counts above the operand width are undefined: callers stay below)
export function shxd(right: boolean, a: number, b: number, count: number, fIn: number, s: number): Out {
  const M = modOf(s);
  let d = wrap(a, s), src = wrap(b, s);
  const c = count & 0x1f;
  if (c === 0) return { r: d, f: fIn & ARITH, def: ARITH };
  let cf = 0;
  for (let i = 0; i < c; i++) {
    if (right) {
      cf = d & 1;
      d = Math.floor(d / 2) + (src & 1) * (M / 2);
      src = Math.floor(src / 2);
    } else {
      cf = msb(d, s);
      d = (d * 2 + msb(src, s)) % M;
      src = (src * 2) % M;
    }
  }
  const of = msb(d, s) !== msb(wrap(a, s), s);
  return { r: d, f: szp(d, s) | cf | (of ? OF : 0), def: SF | ZF | PF | CF | (c === 1 ? OF : 0) };
}

// MUL / IMUL one-operand: returns low and high halves; CF=OF defined, rest undefined
export function mul(signed: boolean, a: number, b: number, s: number): { lo: number; hi: number; f: number } {
  const bits = BigInt(bitsOf(s));
  const A = signed ? BigInt(sx(wrap(a, s), s)) : BigInt(wrap(a, s));
  const B = signed ? BigInt(sx(wrap(b, s), s)) : BigInt(wrap(b, s));
  const p = A * B;
  const mask = (1n << bits) - 1n;
  const u = BigInt.asUintN(Number(bits) * 2, p);
  const lo = Number(u & mask), hi = Number(u >> bits);
  const fits = signed ? BigInt(sx(lo, s)) === p : hi === 0;
  return { lo, hi, f: fits ? 0 : CF | OF };
}

// DIV / IDIV: dividend hi:lo; null means #DE
export function div(signed: boolean, hi: number, lo: number, d: number, s: number): { q: number; r: number } | null {
  const bits = BigInt(bitsOf(s));
  let n = (BigInt(wrap(hi, s)) << bits) | BigInt(wrap(lo, s));
  let dv = BigInt(wrap(d, s));
  if (signed) {
    n = BigInt.asIntN(Number(bits) * 2, n);
    dv = BigInt(sx(wrap(d, s), s));
  }
  if (dv === 0n) return null;
  const q = n / dv, r = n % dv; // BigInt division truncates toward zero, like IDIV
  const lim = 1n << bits;
  if (signed ? q < -(lim / 2n) || q >= lim / 2n : q >= lim) return null;
  return { q: Number(BigInt.asUintN(Number(bits), q)), r: Number(BigInt.asUintN(Number(bits), r)) };
}

// ---- BCD, straight from the SDM pseudocode --------------------------------------------------
export interface Bcd {
  ax: number;
  f: number;
  def: number;
}
export function daa(al: number, cf: number, af: number): Bcd {
  const oldAl = al, oldCf = cf;
  let f = 0;
  if ((al & 0xf) > 9 || af) {
    const t = al + 6;
    al = t & 0xff;
    if (oldCf || t > 0xff) f |= CF;
    f |= AF;
  }
  if (oldAl > 0x99 || oldCf) {
    al = (al + 0x60) & 0xff;
    f |= CF;
  } else f &= ~CF;
  return { ax: al, f: f | szp(al, 1), def: ARITH & ~OF };
}
export function das(al: number, cf: number, af: number): Bcd {
  const oldAl = al, oldCf = cf;
  let f = 0;
  if ((al & 0xf) > 9 || af) {
    const t = al - 6;
    al = t & 0xff;
    if (oldCf || t < 0) f |= CF;
    f |= AF;
  }
  if (oldAl > 0x99 || oldCf) {
    al = (al - 0x60) & 0xff;
    f |= CF;
  }
  return { ax: al, f: f | szp(al, 1), def: ARITH & ~OF };
}
export function aaa(ax: number, af: number): Bcd {
  let f = 0;
  if ((ax & 0xf) > 9 || af) {
    ax = (ax + 0x106) & 0xffff;
    f = AF | CF;
  }
  return { ax: ax & 0xff0f, f, def: AF | CF };
}
export function aas(ax: number, af: number): Bcd {
  let f = 0;
  if ((ax & 0xf) > 9 || af) {
    ax = (ax - 6) & 0xffff;
    ax = (ax - 0x100) & 0xffff;
    f = AF | CF;
  }
  return { ax: ax & 0xff0f, f, def: AF | CF };
}
export function aam(ax: number, base: number): Bcd | null {
  if (base === 0) return null;
  const al = ax & 0xff;
  const r = al % base;
  return { ax: (Math.floor(al / base) << 8) | r, f: szp(r, 1), def: SF | ZF | PF };
}
export function aad(ax: number, base: number): Bcd {
  const al = ((ax & 0xff) + (ax >> 8) * base) & 0xff;
  return { ax: al, f: szp(al, 1), def: SF | ZF | PF };
}
