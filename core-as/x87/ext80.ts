// Conversions between f64 (the register model) and the 80-bit double-extended format: m80
// loads/stores, fsave/frstor images, exact integer images. Results come back through the two
// module globals cvM (64-bit significand, explicit integer bit) and cvSE (sign << 15 | exponent).
import { INDEF_BITS, fpRC, fpCW, fpEx, fpC1, SW_OE, SW_UE, SW_PE } from "./state";

export let cvM: u64 = 0;
export let cvSE: u32 = 0;

// exact: every double is representable in double-extended (denormals become normal)
export function f64ToExt(x: f64): void {
  const b = reinterpret<u64>(x);
  const sign = <u32>(b >> 63) << 15;
  const e = <u32>(b >> 52) & 0x7ff;
  const f = b & 0x000fffffffffffff;
  if (e == 0x7ff) {
    cvM = (<u64>1 << 63) | (f << 11);
    cvSE = sign | 0x7fff;
  } else if (e == 0) {
    if (f == 0) { cvM = 0; cvSE = sign; return; }
    const lz = <u32>clz(f);
    cvM = f << lz;
    cvSE = sign | (15372 - lz); // value = f * 2^-1074 = cvM * 2^(E - 16383 - 63)
  } else {
    cvM = (<u64>1 << 63) | (f << 11);
    cvSE = sign | (e - 1023 + 16383);
  }
}

// Round an 80-bit value to the nearest double. Unsupported encodings (pseudo-NaN/infinity,
// unnormals) become the QNaN indefinite; NaN payloads keep their top bits (an SNaN stays
// signalling); exponents beyond the double range overflow to infinity or underflow to zero.
export function extToF64(m: u64, se: u32): f64 {
  const sbit = <u64>(se >> 15) << 63;
  const e = <i32>(se & 0x7fff);
  if (e == 0x7fff) {
    if ((m >> 63) == 0) return reinterpret<f64>(INDEF_BITS);
    if ((m << 1) == 0) return reinterpret<f64>(sbit | 0x7ff0000000000000);
    let frac = (m << 1) >> 12;
    if (frac == 0) frac = 1; // a payload only in the low bits must still be a NaN
    return reinterpret<f64>(sbit | 0x7ff0000000000000 | frac);
  }
  if (m == 0) return reinterpret<f64>(sbit);
  if (e != 0 && (m >> 63) == 0) return reinterpret<f64>(INDEF_BITS);
  if (e == 0) return reinterpret<f64>(sbit); // (pseudo-)denormal: far below the double range
  const unb = e - 16383;
  if (unb > 1023) return reinterpret<f64>(sbit | 0x7ff0000000000000);
  if (unb < -1075) return reinterpret<f64>(sbit);
  let drop: i32 = 11;
  let biased: i32 = unb + 1023;
  if (unb < -1022) { drop = 11 + (-1022 - unb); biased = 0; }
  let kept: u64, rem: u64, half: u64;
  if (drop >= 64) { kept = 0; rem = m; half = <u64>1 << 63; }
  else {
    kept = m >> drop;
    rem = m & ((<u64>1 << drop) - 1);
    half = <u64>1 << (drop - 1);
  }
  // the integer bit of a normal result carries into the exponent field; a rounding carry
  // propagates into it naturally (up to infinity)
  let bits: u64 = (biased == 0 ? 0 : <u64>(biased - 1) << 52) + kept;
  if (rem > half || (rem == half && (kept & 1) != 0)) bits++;
  return reinterpret<f64>(sbit | bits);
}

// exact image of a 64-bit integer
export function i64ToExt(v: i64): void {
  const neg = v < 0;
  const mag: u64 = neg ? <u64>(0 - v) : <u64>v;
  if (mag == 0) { cvM = 0; cvSE = 0; return; }
  const lz = <u32>clz(mag);
  cvM = mag << lz;
  cvSE = (neg ? 0x8000 : 0) | (16383 + 63 - lz);
}

// ---- rounding an exact 80-bit image to an integer --------------------------------------------
// Results: cvInt (signed), cvInexact, cvUp (magnitude rounded up); returns false when the
// value is not a finite number that fits in `bits` bits (invalid operation).
export let cvInt: i64 = 0;
export let cvInexact: bool = false;
export let cvUp: bool = false;

export function extToInt(m: u64, se: u32, rc: u32, bits: u32): bool {
  const neg = (se >> 15) != 0;
  const e = <i32>(se & 0x7fff);
  cvInexact = false;
  cvUp = false;
  if (e == 0x7fff || (e != 0 && (m >> 63) == 0 && m != 0)) return false;
  if (m == 0) { cvInt = 0; return true; }
  const sh = 16383 + 63 - (e == 0 ? 1 : e); // value = m * 2^-sh
  let mag: u64;
  if (sh <= 0) {
    if (sh < 0) return false;
    mag = m;
  } else {
    let kept: u64, rem: u64, half: u64;
    if (sh > 64) { kept = 0; rem = 1; half = 2; } // below one half, not zero
    else if (sh == 64) { kept = 0; rem = m; half = <u64>1 << 63; }
    else { kept = m >> sh; rem = m & ((<u64>1 << sh) - 1); half = <u64>1 << (sh - 1); }
    mag = kept;
    if (rem != 0) {
      cvInexact = true;
      let up = false;
      if (rc == 0) up = rem > half || (rem == half && (kept & 1) != 0);
      else if (rc == 1) up = neg;
      else if (rc == 2) up = !neg;
      if (up) { mag++; cvUp = true; }
    }
  }
  const lim: u64 = <u64>1 << (bits - 1);
  if (neg ? mag > lim : mag >= lim) return false;
  cvInt = neg ? 0 - <i64>mag : <i64>mag;
  return true;
}

// ---- rounding an integer significand -----------------------------------------------------------
// m >> drop rounded by rc (drop >= 1; beyond 64 every bit is dropped, m != 0 counts as below one
// half); rdInexact: bits were lost, rdUp: the magnitude was rounded up
export let rdInexact: bool = false;
export let rdUp: bool = false;
export function rndDrop(m: u64, drop: i32, neg: bool, rc: u32): u64 {
  let kept: u64 = 0;
  let rem: u64 = m != 0 ? 1 : 0, half: u64 = 2;
  if (drop == 64) { rem = m; half = <u64>1 << 63; }
  else if (drop < 64) { kept = m >> drop; rem = m & ((<u64>1 << drop) - 1); half = <u64>1 << (drop - 1); }
  rdInexact = rem != 0;
  let up = false;
  if (rdInexact) {
    if (rc == 0) up = rem > half || (rem == half && (kept & 1) != 0);
    else if (rc == 1) up = neg;
    else if (rc == 2) up = !neg;
  }
  rdUp = up;
  return kept + (up ? 1 : 0);
}

// ---- storing an exact 80-bit image to a binary format ------------------------------------------
// Round a finite image (not an unnormal) to p significand bits with normal exponents emin..emax
// by RC, with the store's exceptions: overflow (OE PE; the masked result is infinity or the
// largest finite by RC), underflow (UE when the result rounded to p bits with an unbounded
// exponent is below 2^emin and inexact, or nonzero with UE unmasked), precision (PE), and C1
// = rounded up. Returns the bits of the format (sign at bit p + its exponent width - 1);
// an unmasked exception leaves fpOk false and the store must not happen.
export function extRound(m: u64, se: u32, p: i32, emin: i32, emax: i32, ebits: i32): u64 {
  const neg = (se & 0x8000) != 0;
  const sbit: u64 = neg ? <u64>1 << (p - 1 + ebits) : 0;
  fpC1(false);
  if (m == 0) return sbit;
  const ex = <i32>(se & 0x7fff);
  const lz = <i32>clz(m);
  m <<= lz;
  const E = (ex == 0 ? 1 : ex) - 16383 - lz; // value = m * 2^(E - 63)
  const rc = fpRC();
  let drop = 64 - p;
  if (E < emin) drop += emin - E;
  const mag = rndDrop(m, drop, neg, rc);
  const inexact = rdInexact, up = rdUp;
  const f = p - 1;
  const bias = 1 - emin;
  // the integer bit carries into the exponent field, and a rounding carry along with it
  const bits: u64 = E >= emin ? (<u64>(E + bias - 1) << f) + mag : mag;
  const infb: u64 = <u64>(emax + bias + 1) << f; // the infinity
  if (bits >= infb) {
    const toMax = rc == 3 || (rc == 1 && !neg) || (rc == 2 && neg);
    if (!fpEx(SW_OE | SW_PE)) return 0;
    fpC1(!toMax);
    return sbit | (toMax ? infb - 1 : infb);
  }
  // tininess after rounding to p bits at an unbounded exponent
  let tiny = E < emin - 1;
  if (E == emin - 1) {
    const r = 64 - p;
    const k = m >> r, rr = m & ((<u64>1 << r) - 1), h = <u64>1 << (r - 1);
    let u = false;
    if (rr != 0) {
      if (rc == 0) u = rr > h || (rr == h && (k & 1) != 0);
      else if (rc == 1) u = neg;
      else if (rc == 2) u = !neg;
    }
    tiny = !(u && k == (<u64>1 << p) - 1);
  }
  let exc: u32 = 0;
  if (inexact) exc = SW_PE;
  if (tiny && (inexact || (fpCW() & SW_UE) == 0)) exc |= SW_UE;
  if (exc != 0) {
    if (!fpEx(exc)) return 0;
    fpC1(up);
  }
  return sbit | bits;
}
