// IEEE single/double arithmetic of the SSE unit, per lane, with MXCSR semantics: the four
// rounding modes, FTZ, DAZ and the six exception flags. WebAssembly only rounds to nearest, so
// each operation computes the nearest double to the exact result together with the sign of the
// remaining error (TwoSum, Dekker products, the remainder of a quotient or square root), and
// `finish` rounds that to the destination format with any mode: the exact value is
// (M + s*eps) * 2^(E-52), which is rounded once, at the format's precision and exponent range,
// with tininess detected after rounding (as x86 does). Self-contained (no machine state): the
// instruction layer (fpvec.ts) calls mxBegin(MXCSR), the lane functions, then mxEnd.

// MXCSR bits
export const MX_IE: u32 = 0x01;
export const MX_DE: u32 = 0x02;
export const MX_ZE: u32 = 0x04;
export const MX_OE: u32 = 0x08;
export const MX_UE: u32 = 0x10;
export const MX_PE: u32 = 0x20;
export const MX_DAZ: u32 = 0x40;
export const MX_FTZ: u32 = 0x8000;
export const QNAN32: u32 = 0xffc00000; // the QNaN floating-point indefinite
export const QNAN64: u64 = 0xfff8000000000000;
export const INT_INDEF: u32 = 0x80000000; // the integer indefinite

// the operation's mode and its accumulated flags
let rc: u32 = 0; // 0 nearest, 1 down, 2 up, 3 toward zero
let ftz = false;
let daz = false;
let ueMasked = true;
let oeMasked = true;
// round to nearest with PE set and masked: a result that is a normal number is the host's
let fast = false;
export let fl: u32 = 0; // exception flags raised by the lanes of this instruction
export let mxOut: u32 = 0; // MXCSR after the instruction (mxEnd)

export function mxBegin(mx: u32): void {
  rc = (mx >> 13) & 3;
  ftz = (mx & MX_FTZ) != 0;
  daz = (mx & MX_DAZ) != 0;
  ueMasked = (mx & (MX_UE << 7)) != 0;
  oeMasked = (mx & (MX_OE << 7)) != 0;
  fast = rc == 0 && (mx & (MX_PE | (MX_PE << 7))) == (MX_PE | (MX_PE << 7));
  fl = 0;
}
// Ends an instruction: the flags go to MXCSR (mxOut). Returns false when an unmasked exception
// must be delivered (#XM/#UD) and the destination left unwritten. Pre-computation exceptions
// (IE, DE, ZE) of any lane come first: when one of them is unmasked, the post-computation
// exceptions (OE, UE, PE) are not reported.
export function mxEnd(mx: u32): bool {
  const unm = ~(mx >> 7) & 0x3f;
  let f = fl;
  let ok = true;
  if ((f & 7 & unm) != 0) { f &= 7; ok = false; }
  else if ((f & unm) != 0) ok = false;
  mxOut = mx | f;
  return ok;
}

// ---- bit helpers ---------------------------------------------------------------------------------
@inline export function isNanF(a: u32): bool { return (a & 0x7fffffff) > 0x7f800000; }
@inline export function isSnanF(a: u32): bool { return isNanF(a) && (a & 0x00400000) == 0; }
@inline export function isNanD(a: u64): bool { return (a & 0x7fffffffffffffff) > 0x7ff0000000000000; }
@inline export function isSnanD(a: u64): bool { return isNanD(a) && (a & 0x0008000000000000) == 0; }
@inline function isDen32(a: u32): bool { return (a & 0x7f800000) == 0 && (a & 0x007fffff) != 0; }
@inline function isDen64(a: u64): bool { return (a & 0x7ff0000000000000) == 0 && (a & 0x000fffffffffffff) != 0; }
@inline function isInf32(a: u32): bool { return (a & 0x7fffffff) == 0x7f800000; }
@inline function isInf64(a: u64): bool { return (a & 0x7fffffffffffffff) == 0x7ff0000000000000; }
@inline function isZero32(a: u32): bool { return (a & 0x7fffffff) == 0; }
@inline function isZero64(a: u64): bool { return (a & 0x7fffffffffffffff) == 0; }
@inline function f32v(a: u32): f64 { return <f64>reinterpret<f32>(a); }
@inline function f64v(a: u64): f64 { return reinterpret<f64>(a); }
@inline function sgn(x: f64): i32 { return x > 0 ? 1 : x < 0 ? -1 : 0; }
// finite and above the smallest normal (which a tiny exact value can round to)
@inline function normal32(f: f32): bool {
  return (reinterpret<u32>(f) & 0x7fffffff) - 0x00800001 < 0x7effffff;
}
@inline function normal64(f: f64): bool {
  return (reinterpret<u64>(f) & 0x7fffffffffffffff) - 0x0010000000000001 < 0x7fdfffffffffffff;
}
@inline function pow2(k: i32): f64 { return reinterpret<f64>(<u64>(k + 1023) << 52); }

// a denormal operand: flushed to zero under DAZ, else the denormal-operand flag
@inline function in32(a: u32): u32 {
  if (!isDen32(a)) return a;
  if (daz) return a & 0x80000000;
  fl |= MX_DE;
  return a;
}
@inline function in64(a: u64): u64 {
  if (!isDen64(a)) return a;
  if (daz) return a & 0x8000000000000000;
  fl |= MX_DE;
  return a;
}

// NaN operands of arithmetic: an SNaN signals IE; the result is the first operand if it is a
// NaN, else the second, quieted
@inline function nan32(a: u32, b: u32): u32 {
  if (isSnanF(a) || isSnanF(b)) fl |= MX_IE;
  return (isNanF(a) ? a : b) | 0x00400000;
}
@inline function nan64(a: u64, b: u64): u64 {
  if (isSnanD(a) || isSnanD(b)) fl |= MX_IE;
  return (isNanD(a) ? a : b) | 0x0008000000000000;
}

// x * 2^k, exact while the result is a normal double
function scale2(x: f64, k: i32): f64 {
  while (k > 1000) { x *= pow2(1000); k -= 1000; }
  while (k < -1000) { x *= pow2(-1000); k += 1000; }
  return x * pow2(k);
}
// unbiased exponent of a finite nonzero double (denormals included)
function expOf(x: f64): i32 {
  const b = reinterpret<u64>(x);
  const e = <i32>((b >> 52) & 0x7ff);
  if (e != 0) return e - 1023;
  return (63 - <i32>clz(b & 0x000fffffffffffff)) - 1074;
}

const SPLIT: f64 = 134217729.0; // 2^27 + 1
// a*b - p exactly (Dekker) for p = RN(a*b), operands well inside the double range
function mulErr(a: f64, b: f64, p: f64): f64 {
  let c = SPLIT * a;
  const ah = c - (c - a), al = a - ah;
  c = SPLIT * b;
  const bh = c - (c - b), bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}
// sign(a + b - s) for s = RN(a + b)
@inline function errAdd(a: f64, b: f64, s: f64): i32 {
  const bb = s - a;
  return sgn((a - (s - bb)) + (b - bb));
}

// ---- rounding to the destination ------------------------------------------------------------------
// Round (M + s*eps) * 2^(E-52) (M: 53-bit significand with its integer bit, s: the sign of
// the exact value's remaining error, |eps| <= 1/2) with the sign `neg` to single (f32) or
// double. Returns the bits; raises OE, UE, PE; FTZ flushes underflowing results.
export function finish(neg: bool, M: u64, s: i32, E: i32, f32: bool): u64 {
  const p: i32 = f32 ? 24 : 53;
  const emin: i32 = f32 ? -126 : -1022;
  const bias: i32 = f32 ? 127 : 1023;
  const sbit: u64 = neg ? (f32 ? <u64>0x80000000 : 0x8000000000000000) : 0;
  let M4 = (M << 2) + <u64>(<i64>s); // two guard bits: eps lies strictly inside them
  // just below a power of two (the nearest double rounded up to it): one binade lower, so
  // that tininess is judged on the right exponent
  if (s < 0 && M == 0x0010000000000000) { E--; M4 = (<u64>1 << 55) - 1; }
  const d0 = 55 - p;
  let drop = d0;
  if (E < emin) drop += emin - E;
  let kept: u64 = 0, rem: u64 = M4, half: u64 = <u64>1 << 63;
  if (drop < 64) { kept = M4 >> drop; rem = M4 & ((<u64>1 << drop) - 1); half = <u64>1 << (drop - 1); }
  const inexact = rem != 0;
  let up = false;
  if (inexact) {
    if (rc == 0) up = rem > half || (rem == half && (kept & 1) != 0);
    else if (rc == 1) up = neg;
    else if (rc == 2) up = !neg;
  }
  const mag = kept + (up ? 1 : 0);
  const f = p - 1;
  const bits: u64 = E >= emin ? (<u64>(E + bias - 1) << f) + mag : mag;
  const infb: u64 = <u64>(2 * bias + 1) << f;
  if (bits >= infb) {
    // unmasked: PE goes with OE when the result rounded to the precision (at an unbounded
    // exponent, what a handler would be given) is inexact
    if (!oeMasked) { fl |= inexact ? MX_OE | MX_PE : MX_OE; return 0; }
    fl |= MX_OE | MX_PE;
    const toMax = rc == 3 || (rc == 1 && !neg) || (rc == 2 && neg);
    return sbit | (toMax ? infb - 1 : infb);
  }
  if (E < emin) {
    // tiny unless rounding at the full precision with an unbounded exponent reaches 2^emin
    let tiny = true;
    if (E == emin - 1 && inexact) {
      const k2 = M4 >> d0, r2 = M4 & ((<u64>1 << d0) - 1), h2 = <u64>1 << (d0 - 1);
      let u2 = false;
      if (r2 != 0) {
        if (rc == 0) u2 = r2 > h2 || (r2 == h2 && (k2 & 1) != 0);
        else if (rc == 1) u2 = neg;
        else if (rc == 2) u2 = !neg;
      }
      tiny = !(u2 && k2 + 1 == (<u64>1 << p));
    }
    if (tiny) {
      if (!ueMasked) {
        // PE when the result rounded to the precision at an unbounded exponent is inexact
        fl |= (M4 & ((<u64>1 << d0) - 1)) != 0 ? MX_UE | MX_PE : MX_UE;
        return 0;
      }
      if (ftz) { fl |= MX_UE | MX_PE; return sbit; }
      if (inexact) fl |= MX_UE | MX_PE;
      return sbit | bits;
    }
  }
  if (inexact) fl |= MX_PE;
  return sbit | bits;
}
// round the finite nonzero double r * 2^k, with s = sign(exact - r), to the format; with
// `flip` the true result is -(r * 2^k) (r and s are its magnitude's)
function finishF64(r: f64, s: i32, k: i32, f32: bool, flip: bool = false): u64 {
  const b = reinterpret<u64>(r);
  const neg = ((b >> 63) != 0) != flip;
  if (flip) s = -s;
  let e = <i32>((b >> 52) & 0x7ff);
  let m = b & 0x000fffffffffffff;
  if (e == 0) { const sh = <i32>clz(m) - 11; m <<= sh; e = 1 - sh; }
  else m |= 0x0010000000000000;
  return finish(neg, m, neg ? -s : s, e - 1023 + k, f32);
}
@inline function zeroSum(a: u64, b: u64, sh: u32): u64 {
  // an exact zero sum: the operands' sign if they agree, else -0 rounding down, +0 otherwise
  if (((a ^ b) >> sh) == 0) return a & (<u64>1 << sh);
  return rc == 1 ? <u64>1 << sh : 0;
}

// ---- single precision -------------------------------------------------------------------------------
// operands widen exactly to doubles; sums, products, quotients and roots of singles never leave
// the double range, so no scaling is needed
export function add32(a: u32, b: u32): u32 {
  if (isNanF(a) || isNanF(b)) return nan32(a, b);
  a = in32(a); b = in32(b);
  if (isInf32(a) || isInf32(b)) {
    if (isInf32(a) && isInf32(b) && a != b) { fl |= MX_IE; return QNAN32; }
    return isInf32(a) ? a : b;
  }
  const x = f32v(a), y = f32v(b);
  const r = x + y;
  if (fast) { const f = <f32>r; if (normal32(f)) return reinterpret<u32>(f); }
  if (r == 0) return <u32>zeroSum(a, b, 31);
  return <u32>finishF64(r, errAdd(x, y, r), 0, true);
}
@inline export function sub32(a: u32, b: u32): u32 {
  if (isNanF(b)) return nan32(a, b);
  return add32(a, b ^ 0x80000000);
}
export function mul32(a: u32, b: u32): u32 {
  if (isNanF(a) || isNanF(b)) return nan32(a, b);
  a = in32(a); b = in32(b);
  const sign = (a ^ b) & 0x80000000;
  if (isInf32(a) || isInf32(b)) {
    if (isZero32(a) || isZero32(b)) { fl |= MX_IE; return QNAN32; }
    return sign | 0x7f800000;
  }
  if (isZero32(a) || isZero32(b)) return sign;
  const r = f32v(a) * f32v(b); // exact in a double
  if (fast) { const f = <f32>r; if (normal32(f)) return reinterpret<u32>(f); }
  return <u32>finishF64(r, 0, 0, true);
}
export function div32(a: u32, b: u32): u32 {
  if (isNanF(a) || isNanF(b)) return nan32(a, b);
  const sign = (a ^ b) & 0x80000000;
  if (isInf32(a)) {
    if (isInf32(b)) { fl |= MX_IE; return QNAN32; }
    in32(b);
    return sign | 0x7f800000;
  }
  if (isInf32(b)) { in32(a); return sign; }
  if (daz) a = in32(a);
  if (isZero32(b)) {
    if (isZero32(a)) { fl |= MX_IE; return QNAN32; }
    fl |= MX_ZE; // a denormal dividend: no DE
    return sign | 0x7f800000;
  }
  a = in32(a); b = in32(b);
  if (isZero32(b)) {
    if (isZero32(a)) { fl |= MX_IE; return QNAN32; }
    fl |= MX_ZE;
    return sign | 0x7f800000;
  }
  if (isZero32(a)) return sign;
  const x = Math.abs(f32v(a)), y = Math.abs(f32v(b));
  const q = x / y;
  if (fast) { const f = <f32>q; if (normal32(f)) return reinterpret<u32>(f) | sign; }
  const pr = q * y;
  const rem = (x - pr) - mulErr(q, y, pr);
  return <u32>finishF64(q, sgn(rem), 0, true, sign != 0);
}
export function sqrt32(a: u32): u32 {
  if (isNanF(a)) return nan32(a, a);
  if (daz && isDen32(a)) return a & 0x80000000;
  if (isZero32(a)) return a;
  if ((a >> 31) != 0) { fl |= MX_IE; return QNAN32; } // a negative denormal: no DE
  a = in32(a);
  if (isInf32(a)) return a;
  const x = f32v(a);
  const r = Math.sqrt(x);
  if (fast) { const f = <f32>r; if (normal32(f)) return reinterpret<u32>(f); }
  const pr = r * r;
  return <u32>finishF64(r, sgn((x - pr) - mulErr(r, r, pr)), 0, true);
}

// ---- double precision -------------------------------------------------------------------------------
// operands are scaled to [1, 2) (exactly) so the error-free transformations cannot over- or
// underflow; the exponent goes to `finish` separately
export function add64(a: u64, b: u64): u64 {
  if (isNanD(a) || isNanD(b)) return nan64(a, b);
  a = in64(a); b = in64(b);
  if (isInf64(a) || isInf64(b)) {
    if (isInf64(a) && isInf64(b) && a != b) { fl |= MX_IE; return QNAN64; }
    return isInf64(a) ? a : b;
  }
  if (isZero64(a) || isZero64(b)) {
    if (isZero64(a) && isZero64(b)) return zeroSum(a, b, 63);
    const x = isZero64(a) ? b : a;
    return finishF64(f64v(x), 0, 0, false);
  }
  const x = f64v(a), y = f64v(b);
  if (fast) { const r = x + y; if (normal64(r)) return reinterpret<u64>(r); }
  const ea = expOf(x), eb = expOf(y);
  if (ea - eb > 60) return finishF64(scale2(x, -ea), sgn(y), ea, false);
  if (eb - ea > 60) return finishF64(scale2(y, -eb), sgn(x), eb, false);
  const m = ea > eb ? ea : eb;
  const xs = scale2(x, -m), ys = scale2(y, -m);
  const r = xs + ys;
  if (r == 0) return zeroSum(a, b, 63);
  return finishF64(r, errAdd(xs, ys, r), m, false);
}
@inline export function sub64(a: u64, b: u64): u64 {
  if (isNanD(b)) return nan64(a, b);
  return add64(a, b ^ 0x8000000000000000);
}
export function mul64(a: u64, b: u64): u64 {
  if (isNanD(a) || isNanD(b)) return nan64(a, b);
  a = in64(a); b = in64(b);
  const sign = (a ^ b) & 0x8000000000000000;
  if (isInf64(a) || isInf64(b)) {
    if (isZero64(a) || isZero64(b)) { fl |= MX_IE; return QNAN64; }
    return sign | 0x7ff0000000000000;
  }
  if (isZero64(a) || isZero64(b)) return sign;
  if (fast) { const r = f64v(a) * f64v(b); if (normal64(r)) return reinterpret<u64>(r); }
  const x = Math.abs(f64v(a)), y = Math.abs(f64v(b));
  const ea = expOf(x), eb = expOf(y);
  const x1 = scale2(x, -ea), y1 = scale2(y, -eb);
  const pr = x1 * y1;
  return finishF64(pr, sgn(mulErr(x1, y1, pr)), ea + eb, false, sign != 0);
}
export function div64(a: u64, b: u64): u64 {
  if (isNanD(a) || isNanD(b)) return nan64(a, b);
  const sign = (a ^ b) & 0x8000000000000000;
  if (isInf64(a)) {
    if (isInf64(b)) { fl |= MX_IE; return QNAN64; }
    in64(b);
    return sign | 0x7ff0000000000000;
  }
  if (isInf64(b)) { in64(a); return sign; }
  if (daz) a = in64(a);
  if (isZero64(b)) {
    if (isZero64(a)) { fl |= MX_IE; return QNAN64; }
    fl |= MX_ZE; // a denormal dividend: no DE
    return sign | 0x7ff0000000000000;
  }
  a = in64(a); b = in64(b);
  if (isZero64(b)) {
    if (isZero64(a)) { fl |= MX_IE; return QNAN64; }
    fl |= MX_ZE;
    return sign | 0x7ff0000000000000;
  }
  if (isZero64(a)) return sign;
  if (fast) { const r = f64v(a) / f64v(b); if (normal64(r)) return reinterpret<u64>(r); }
  const x = Math.abs(f64v(a)), y = Math.abs(f64v(b));
  const ea = expOf(x), eb = expOf(y);
  const x1 = scale2(x, -ea), y1 = scale2(y, -eb);
  const q = x1 / y1;
  const pr = q * y1;
  const rem = (x1 - pr) - mulErr(q, y1, pr);
  return finishF64(q, sgn(rem), ea - eb, false, sign != 0);
}
export function sqrt64(a: u64): u64 {
  if (isNanD(a)) return nan64(a, a);
  if (daz && isDen64(a)) return a & 0x8000000000000000;
  if (isZero64(a)) return a;
  if ((a >> 63) != 0) { fl |= MX_IE; return QNAN64; } // a negative denormal: no DE
  a = in64(a);
  if (isInf64(a)) return a;
  const x = f64v(a);
  if (fast) return reinterpret<u64>(Math.sqrt(x)); // always a normal number
  const e = expOf(x) & ~1;
  const x1 = scale2(x, -e); // [1, 4)
  const r = Math.sqrt(x1);
  const pr = r * r;
  return finishF64(r, sgn((x1 - pr) - mulErr(r, r, pr)), e >> 1, false);
}

// ---- minimum, maximum --------------------------------------------------------------------------------
// A NaN in either operand (quiet or signalling) raises IE and returns the second operand as it
// is; so does a tie (two zeros of any sign); denormals count as zero under DAZ (the second
// operand is returned flushed, even beside a NaN).
export function minmax32(a: u32, b: u32, max: bool): u32 {
  if (isNanF(a) || isNanF(b)) { fl |= MX_IE; return daz && isDen32(b) ? b & 0x80000000 : b; }
  a = in32(a); b = in32(b);
  const x = f32v(a), y = f32v(b);
  return (max ? x > y : x < y) ? a : b;
}
export function minmax64(a: u64, b: u64, max: bool): u64 {
  if (isNanD(a) || isNanD(b)) { fl |= MX_IE; return daz && isDen64(b) ? b & 0x8000000000000000 : b; }
  a = in64(a); b = in64(b);
  const x = f64v(a), y = f64v(b);
  return (max ? x > y : x < y) ? a : b;
}

// ---- comparisons ------------------------------------------------------------------------------------
// CMPccPS/PD predicate p (0 EQ, 1 LT, 2 LE, 3 UNORD, 4 NEQ, 5 NLT, 6 NLE, 7 ORD): true/false.
// An SNaN raises IE; a QNaN does too for the ordered-signalling predicates LT, LE, NLT, NLE.
function cmpRes(p: u32, x: f64, y: f64, un: bool): bool {
  let r: bool;
  switch (p & 3) {
    case 0: r = x == y; break;
    case 1: r = x < y; break;
    case 2: r = x <= y; break;
    default: r = un;
  }
  return (p & 4) != 0 ? !r : r;
}
export function cmp32(a: u32, b: u32, p: u32): bool {
  const un = isNanF(a) || isNanF(b);
  if (un) {
    if (isSnanF(a) || isSnanF(b) || ((p & 3) == 1 || (p & 3) == 2)) fl |= MX_IE;
  } else { a = in32(a); b = in32(b); }
  return cmpRes(p, f32v(a), f32v(b), un);
}
export function cmp64(a: u64, b: u64, p: u32): bool {
  const un = isNanD(a) || isNanD(b);
  if (un) {
    if (isSnanD(a) || isSnanD(b) || ((p & 3) == 1 || (p & 3) == 2)) fl |= MX_IE;
  } else { a = in64(a); b = in64(b); }
  return cmpRes(p, f64v(a), f64v(b), un);
}
// COMISS/UCOMISS/COMISD/UCOMISD: EFLAGS ZF PF CF (bit 6, 2, 0) = unordered 111, less 001,
// equal 100, greater 000. COMIS signals IE on any NaN, UCOMIS on SNaNs.
export function comi32(a: u32, b: u32, quietOk: bool): u32 {
  if (isNanF(a) || isNanF(b)) {
    if (!quietOk || isSnanF(a) || isSnanF(b)) fl |= MX_IE;
    return 0x45;
  }
  a = in32(a); b = in32(b);
  const x = f32v(a), y = f32v(b);
  return x < y ? 0x01 : x == y ? 0x40 : 0;
}
export function comi64(a: u64, b: u64, quietOk: bool): u32 {
  if (isNanD(a) || isNanD(b)) {
    if (!quietOk || isSnanD(a) || isSnanD(b)) fl |= MX_IE;
    return 0x45;
  }
  a = in64(a); b = in64(b);
  const x = f64v(a), y = f64v(b);
  return x < y ? 0x01 : x == y ? 0x40 : 0;
}

// ---- conversions -----------------------------------------------------------------------------------
export function cvt32to64(a: u32): u64 {
  if (isNanF(a)) {
    if (isSnanF(a)) fl |= MX_IE;
    return (<u64>(a & 0x80000000) << 32) | 0x7ff8000000000000 | (<u64>(a & 0x003fffff) << 29);
  }
  a = in32(a);
  return reinterpret<u64>(<f64>reinterpret<f32>(a)); // exact
}
export function cvt64to32(a: u64): u32 {
  if (isNanD(a)) {
    if (isSnanD(a)) fl |= MX_IE;
    return <u32>(a >> 32) & 0x80000000 | 0x7fc00000 | <u32>((a >> 29) & 0x003fffff);
  }
  a = in64(a);
  const sign = <u32>(a >> 32) & 0x80000000;
  if (isInf64(a)) return sign | 0x7f800000;
  if (isZero64(a)) return sign;
  return <u32>finishF64(f64v(a), 0, 0, true);
}
// a signed 32-bit integer to single (rounded by RC) or double (exact)
export function cvtI32to32(v: i32): u32 {
  if (v == 0) return 0;
  return <u32>finishF64(<f64>v, 0, 0, true);
}
@inline export function cvtI32to64(v: i32): u64 { return reinterpret<u64>(<f64>v); }
// a finite or special double to a signed 32-bit integer, rounded by RC or truncated; NaN,
// infinity and values out of range raise IE and give the integer indefinite
function toI32(x: f64, trunc_: bool): u32 {
  if (x != x) { fl |= MX_IE; return INT_INDEF; }
  let r: f64;
  if (trunc_) r = trunc<f64>(x);
  else {
    switch (rc) {
      case 0: r = nearest<f64>(x); break;
      case 1: r = floor<f64>(x); break;
      case 2: r = ceil<f64>(x); break;
      default: r = trunc<f64>(x);
    }
  }
  if (!(r >= -2147483648.0 && r < 2147483648.0)) { fl |= MX_IE; return INT_INDEF; }
  if (r != x) fl |= MX_PE;
  return <u32><i32>r;
}
export function cvt32toI32(a: u32, trunc_: bool): u32 {
  if (daz && isDen32(a)) a &= 0x80000000;
  return toI32(f32v(a), trunc_);
}
export function cvt64toI32(a: u64, trunc_: bool): u32 {
  if (daz && isDen64(a)) a &= 0x8000000000000000;
  return toI32(f64v(a), trunc_);
}

// ---- reciprocal approximations ---------------------------------------------------------------------
// RCPSS/RSQRTSS results are implementation-specific; the SDM bounds the relative error by
// 1.5 * 2^-12. ring3 returns the correctly rounded reciprocal (or reciprocal square root) of
// the single operand, far inside that bound and the same on every host. Special cases as the
// SDM gives them: no flags ever; denormal operands count as zero (infinite result); results
// below the single normal range are flushed to a zero of the operand's sign; the reciprocal
// square root of a negative number is the QNaN indefinite.
export function rcp32(a: u32): u32 {
  if (isNanF(a)) return a | 0x00400000;
  const sign = a & 0x80000000;
  if ((a & 0x7f800000) == 0) return sign | 0x7f800000;
  if (isInf32(a)) return sign;
  const r = <f32>(1.0 / f32v(a));
  const rb = reinterpret<u32>(r);
  if ((rb & 0x7f800000) == 0) return sign;
  return rb;
}
export function rsqrt32(a: u32): u32 {
  if (isNanF(a)) return a | 0x00400000;
  const sign = a & 0x80000000;
  if ((a & 0x7f800000) == 0) return sign | 0x7f800000;
  if (sign != 0) return QNAN32;
  if (isInf32(a)) return 0;
  return reinterpret<u32>(<f32>(1.0 / Math.sqrt(f32v(a))));
}
