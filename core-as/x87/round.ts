// Rounding and exception detection for results computed in f64 (results beyond the double
// range are finished by wide.ts). WebAssembly only rounds to
// nearest, so each operation also works out the sign of (exact result - rounded result) with
// error-free transformations (TwoSum, Dekker's product on operands scaled to [1,2)); from that
// sign come the precision exception, C1 ("rounded up") and the directed rounding modes of the
// control word: the result is stepped one ulp when the mode asks for the other neighbour.
import {
  fpRC, fpEx, fpC1, indef, SW_IE, SW_ZE, SW_DE, SW_OE, SW_UE, SW_PE,
} from "./state";
import { rcStep, wideResult, split, splitExt, dS, dE, plain, clearWide, extDen } from "./wide";

const SPLIT: f64 = 134217729.0; // 2^27 + 1
const MAXD: f64 = 1.7976931348623157e308;
const MIN_NORMAL: f64 = 2.2250738585072014e-308;

@inline export function isNaN64(x: f64): bool { return x != x; }
@inline export function isInf64(x: f64): bool { return (reinterpret<u64>(x) << 1) == 0xffe0000000000000; }
@inline export function isSNaN64(x: f64): bool {
  return x != x && (reinterpret<u64>(x) & 0x0008000000000000) == 0;
}
@inline export function quiet64(x: f64): f64 { return reinterpret<f64>(reinterpret<u64>(x) | 0x0008000000000000); }
@inline export function signBit(x: f64): bool { return (reinterpret<u64>(x) >> 63) != 0; }
@inline function sgn(x: f64): i32 { return x > 0 ? 1 : x < 0 ? -1 : 0; }

@inline function pow2(k: i32): f64 { return reinterpret<f64>(<u64>(k + 1023) << 52); }
// x * 2^k, exact unless the result over/underflows (steps keep intermediates in range)
export function scale2(x: f64, k: i32): f64 {
  while (k > 1000) { x *= pow2(1000); k -= 1000; }
  while (k < -1000) { x *= pow2(-1000); k += 1000; }
  return x * pow2(k);
}
// unbiased binary exponent of a finite nonzero double (denormals included)
export function expOf(x: f64): i32 {
  const b = reinterpret<u64>(x);
  const e = <i32>((b >> 52) & 0x7ff);
  if (e != 0) return e - 1023;
  return (63 - <i32>clz(b & 0x000fffffffffffff)) - 1074;
}

export function nextUp(x: f64): f64 {
  if (x != x || x == Infinity) return x;
  if (x == 0) return reinterpret<f64>(<u64>1);
  const b = reinterpret<u64>(x);
  return reinterpret<f64>(x > 0 ? b + 1 : b - 1);
}
@inline export function nextDown(x: f64): f64 { return -nextUp(-x); }

// a*b - p exactly for |a|,|b| in [1,4) (Dekker)
function mulErr(a: f64, b: f64, p: f64): f64 {
  let c = SPLIT * a;
  const ah = c - (c - a), al = a - ah;
  c = SPLIT * b;
  const bh = c - (c - b), bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

// sign(exact - r) for r = RN(a * b); a, b finite nonzero
export function errMul(a: f64, b: f64, r: f64): i32 {
  const ea = expOf(a), eb = expOf(b);
  const a1 = scale2(a, -ea), b1 = scale2(b, -eb);
  const r1 = a1 * b1;
  const R = scale2(r, -(ea + eb)); // r on the scaled grid (coarser when r is denormal)
  if (r1 != R) return r1 > R ? 1 : -1;
  return sgn(mulErr(a1, b1, r1));
}
// sign(exact - q) for q = RN(a / b); a, b finite nonzero
export function errDiv(a: f64, b: f64, q: f64): i32 {
  const ea = expOf(a), eb = expOf(b);
  const a1 = scale2(a, -ea), b1 = scale2(b, -eb);
  const q1 = a1 / b1;
  const Q = scale2(q, eb - ea);
  if (q1 != Q) return q1 > Q ? 1 : -1;
  const p = q1 * b1;
  const rem = (a1 - p) - mulErr(q1, b1, p);
  return sgn(rem) * sgn(b1);
}
// sign(exact - r) for r = RN(sqrt(a)); a finite > 0
export function errSqrt(a: f64, r: f64): i32 {
  const ea = expOf(a) & ~1;
  const a1 = scale2(a, -ea);
  const r1 = scale2(r, -(ea >> 1));
  const p = r1 * r1;
  return sgn((a1 - p) - mulErr(r1, r1, p));
}
// sign(exact - s) for s = RN(a + b); all finite
@inline export function errAdd(a: f64, b: f64, s: f64): i32 {
  const bb = s - a;
  return sgn((a - (s - bb)) + (b - bb));
}

// x87 NaN operand rules (SDM vol. 1 table 4-7): an SNaN signals IE; the result is the NaN
// operand, of an SNaN and a QNaN the QNaN, of two SNaNs or two QNaNs the one with the larger
// significand; quieted.
export function nanPick(a: f64, b: f64): f64 {
  clearWide();
  fpC1(false);
  const sa = isSNaN64(a), sb = isSNaN64(b);
  if (sa || sb) { if (!fpEx(SW_IE)) return a; }
  let r: f64;
  if (a != a && b != b && sa != sb) r = sa ? b : a;
  else if (a != a && b != b) {
    const ma = reinterpret<u64>(a) & 0x0007ffffffffffff, mb = reinterpret<u64>(b) & 0x0007ffffffffffff;
    r = mb > ma ? b : ma > mb ? a : (signBit(a) ? b : a);
  } else r = a != a ? a : b;
  return quiet64(r);
}
@inline function invalid(): f64 {
  fpC1(false);
  fpEx(SW_IE);
  return indef();
}
// an exact special result (zero, infinity): C1 = 0, no flags
@inline function exact(r: f64): f64 { fpC1(false); return plain(r); }
// the rounded-to-nearest double r of a result is the register's rounding too when r and both
// its neighbours are normal doubles; otherwise the result goes the wide way
@inline function inRange(r: f64): bool {
  const a = Math.abs(r);
  return a > MIN_NORMAL && a < MAXD;
}

// a op b for the x87 arithmetic group: 0 add, 1 mul, 4 sub, 5 subr, 6 div, 7 divr. wa, wb: the
// image addresses of wide register operands (0: the double is the operand). Sets resWide.
export function fpBinop(op: u32, a: f64, b: f64, wa: u32, wb: u32): f64 {
  clearWide();
  if (op == 5 || op == 7) { const t = a; a = b; b = t; const u = wa; wa = wb; wb = u; op--; }
  if (a != a || b != b) return nanPick(a, b);
  // a denormal of the register format (never a zero divisor's dividend: that is only ZE)
  if ((wa | wb) != 0 && (extDen(wa) || extDen(wb)) && !(op == 6 && b == 0)) {
    if (!fpEx(SW_DE)) return a;
  }
  const negB = op == 4;
  if (negB) b = -b;
  const fast = (wa | wb) == 0;
  if (op == 1) {
    if ((a == 0 && isInf64(b)) || (b == 0 && isInf64(a))) return invalid();
    const r = a * b;
    if (isInf64(a) || isInf64(b) || a == 0 || b == 0) return exact(r);
    if (fast && inRange(r)) return rcStep(r, errMul(a, b, r));
    split(a, wa); const as = dS, ae = dE;
    split(b, wb);
    const r1 = as * dS;
    return wideResult(r1, sgn(mulErr(as, dS, r1)), ae + dE);
  }
  if (op == 6) {
    if ((a == 0 && b == 0) || (isInf64(a) && isInf64(b))) return invalid();
    const r = a / b;
    if (b == 0 && !isInf64(a)) { fpC1(false); fpEx(SW_ZE); return plain(r); }
    if (isInf64(a) || isInf64(b) || a == 0) return exact(r);
    if (fast && inRange(r)) return rcStep(r, errDiv(a, b, r));
    split(a, wa); const as = dS, ae = dE;
    split(b, wb);
    const q = as / dS;
    const p = q * dS;
    const rem = (as - p) - mulErr(q, dS, p);
    return wideResult(q, sgn(rem) * sgn(dS), ae - dE);
  }
  // add
  if (isInf64(a) && isInf64(b) && signBit(a) != signBit(b)) return invalid();
  let r = a + b;
  if (isInf64(a) || isInf64(b)) return exact(r);
  const rc = fpRC();
  if (fast) {
    // an exact zero sum of operands that are not both +0 is -0 when rounding down
    if (r == 0) {
      if (rc == 1 && !(reinterpret<u64>(a) == 0 && reinterpret<u64>(b) == 0)) r = -0.0;
      return exact(r);
    }
    // a sum of doubles below 2^-1022 is exact (both lie on the 2^-1074 grid)
    if (Math.abs(r) <= MIN_NORMAL) return exact(r);
    if (inRange(r)) return rcStep(r, errAdd(a, b, r));
  }
  // a wide operand plus zero is that operand
  if (a == 0 || b == 0) {
    const x = a == 0 ? b : a;
    split(x, a == 0 ? wb : wa);
    return wideResult(a == 0 && negB && wb != 0 ? -dS : dS, 0, dE);
  }
  split(a, wa); let as = dS, ae = dE;
  split(b, wb); let bs = negB && wb != 0 ? -dS : dS, be = dE;
  if (ae < be) { const t = as; as = bs; bs = t; const u = ae; ae = be; be = u; }
  const d = ae - be;
  if (d > 60) return wideResult(as, bs > 0 ? 1 : -1, ae); // b is below a quarter ulp of a
  const bb = bs * pow2(-d);
  const r1 = as + bb;
  if (r1 == 0) return exact(rc == 1 ? -0.0 : 0.0);
  return wideResult(r1, errAdd(as, bb, r1), ae);
}

export function fpSqrt(a: f64, w: u32): f64 {
  clearWide();
  if (a != a) return nanPick(a, a);
  if (a == 0) return exact(a);
  if (a < 0) return invalid();
  if (isInf64(a)) return exact(a);
  if (extDen(w)) { if (!fpEx(SW_DE)) return a; }
  if (w == 0) {
    const r = Math.sqrt(a); // a normal double whatever a is
    return rcStep(r, errSqrt(a, r));
  }
  splitExt(w);
  let s = dS, e = dE;
  if ((e & 1) != 0) { s *= 2; e--; }
  const r = Math.sqrt(s);
  const p = r * r;
  return wideResult(r, sgn((s - p) - mulErr(r, r, p)), e >> 1);
}

// round to an integral value by the rounding control
export function rcRound(x: f64, rc: u32): f64 {
  switch (rc) {
    case 0: return nearest<f64>(x);
    case 1: return floor<f64>(x);
    case 2: return ceil<f64>(x);
    default: return trunc<f64>(x);
  }
}

// ---- conversions for stores ---------------------------------------------------------------
// f64 -> f32 bits rounded by RC with the x87 store exceptions; fpOk false when an unmasked one
// suppresses the store
export function toF32(x: f64): u32 {
  if (x != x) {
    if (isSNaN64(x)) { if (!fpEx(SW_IE)) return 0; }
    const b = reinterpret<u64>(x);
    return <u32>(b >> 32) & 0x80000000 | 0x7fc00000 | <u32>((b >> 29) & 0x003fffff);
  }
  fpC1(false);
  if (isInf64(x) || x == 0) return reinterpret<u32>(<f32>x);
  const rc = fpRC();
  const f = <f32>x;
  const back = <f64>f;
  if (back == x) return reinterpret<u32>(f);
  // inexact (or overflowing): pick the neighbour the rounding control asks for
  const s = x > back ? 1 : -1;
  let bits = reinterpret<u32>(f);
  const fm = reinterpret<u32>(<f32>3.4028234663852886e38);
  if (isInf64(back)) {
    // rounded to nearest overflowed
    const toMax = rc == 3 || (rc == 1 && x > 0) || (rc == 2 && x < 0);
    bits = toMax ? (bits & 0x80000000) | fm : bits;
    if (!fpEx(SW_OE | SW_PE)) return 0;
    fpC1(!toMax);
    return bits;
  }
  const absb = bits & 0x7fffffff;
  let adj = false;
  if (rc == 1) adj = s < 0;
  else if (rc == 2) adj = s > 0;
  else if (rc == 3) adj = (s < 0) == (x > 0);
  if (adj) {
    // step away from the nearest result in the direction of s
    const away = (s > 0) == (x > 0); // increases the magnitude
    if (absb == 0) bits = (bits & 0x80000000) | 1; // from a zero: the smallest denormal
    else bits = away ? bits + 1 : bits - 1;
  }
  const fin = reinterpret<f32>(bits);
  const up = Math.abs(<f64>fin) > Math.abs(x);
  if ((bits & 0x7fffffff) >= 0x7f800000) {
    if (!fpEx(SW_OE | SW_PE)) return 0;
    fpC1(true);
    return bits;
  }
  let ex = SW_PE;
  if ((bits & 0x7f800000) == 0) ex |= SW_UE;
  if (!fpEx(ex)) return 0;
  fpC1(up);
  return bits;
}

// register value -> integer of `bits` bits by RC. Returns false on invalid (NaN, infinity, out of
// range); sets PE/C1 when inexact.
export let intRes: i64 = 0;
export function toInt(x: f64, bits: u32): bool {
  if (x != x || isInf64(x)) return false;
  const r = rcRound(x, fpRC());
  const lim = bits == 64 ? 9223372036854775808.0 : bits == 32 ? 2147483648.0 : 32768.0;
  if (r < -lim || r >= lim) return false;
  intRes = <i64>r;
  if (r != x) {
    fpC1(Math.abs(r) > Math.abs(x));
    fpEx(SW_PE);
  } else fpC1(false);
  return true;
}
