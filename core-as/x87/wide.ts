// Arithmetic beyond the double range. An x87 register has a 15-bit exponent whatever the
// precision control says, so a product, quotient, sum, square root or fscale result that a
// double cannot hold (at or beyond 2^1024, below 2^-1022) is an ordinary register value: it
// is rounded to a 53-bit significand at its own exponent, raises no OE/UE, and only overflows or
// underflows when it is stored to memory (where a denormal result is rounded a second time).
// Operands and results here are split as sig * 2^exp with |sig| in [1, 2) (a normal double,
// so the error-free transformations of round.ts apply) and an i32 exponent; a result outside
// the double range becomes the register's "wide" exact image (state.ts).
import {
  fpRC, fpEx, fpC1, fpPut, fpPutExt, SW_OE, SW_UE, SW_PE,
} from "./state";
import { extToF64, rndDrop, rdInexact, rdUp } from "./ext80";

// ---- splitting operands ---------------------------------------------------------------------
export let dS: f64 = 0; // signed significand, |dS| in [1, 2)
export let dE: i32 = 0;

@inline function pow2(k: i32): f64 { return reinterpret<f64>(<u64>(k + 1023) << 52); }

// a finite nonzero double (denormals included)
export function splitF64(x: f64): void {
  const b = reinterpret<u64>(x);
  let e = <i32>((b >> 52) & 0x7ff);
  let f = b & 0x000fffffffffffff;
  if (e == 0) { // denormal: normalize the fraction
    const sh = <i32>clz(f) - 11;
    f = (f << sh) & 0x000fffffffffffff;
    e = 1 - sh;
  }
  dS = reinterpret<f64>((b & 0x8000000000000000) | (<u64>1023 << 52) | f);
  dE = e - 1023;
}
// a wide register image at address `e` (finite, nonzero); the 64-bit significand is rounded to
// nearest at 53 bits, the precision every operand has in this model
export function splitExt(e: u32): void {
  const m = load<u64>(e);
  const se = <u32>load<u16>(e, 8);
  const lz = <i32>clz(m);
  const ex = <i32>(se & 0x7fff);
  let s = <f64>(m << lz) * pow2(-63);
  let k = (ex == 0 ? 1 : ex) - 16383 - lz;
  if (s >= 2) { s = 1; k++; }
  dS = (se & 0x8000) != 0 ? -s : s;
  dE = k;
}
// a wide image that is a denormal of the register format (the denormal-operand exception)
@inline export function extDen(w: u32): bool { return w != 0 && (load<u16>(w, 8) & 0x7fff) == 0; }
// a register or memory operand: the image when wide, else the double
@inline export function split(x: f64, w: u32): void {
  if (w != 0) splitExt(w); else splitF64(x);
}

// ---- results ------------------------------------------------------------------------------
// resWide: the last result is the image resM/resSE (the returned double is its stand-in)
export let resWide: bool = false;
export let resM: u64 = 0;
export let resSE: u32 = 0;

// Round r (rounded to nearest, normal and finite along with its neighbours; s = sign of
// exact - r) by the rounding control; sets C1 (rounded up in magnitude) and PE when inexact.
export function rcStep(r: f64, s: i32): f64 {
  if (s == 0) { fpC1(false); return r; }
  const rc = fpRC();
  let v = r;
  const b = reinterpret<u64>(r);
  // away from zero: b + 1; toward zero: b - 1 (r is normal, so both stay finite)
  if (rc == 1) { if (s < 0) v = reinterpret<f64>(r > 0 ? b - 1 : b + 1); }
  else if (rc == 2) { if (s > 0) v = reinterpret<f64>(r > 0 ? b + 1 : b - 1); }
  else if (rc == 3) { if ((s < 0) == (r > 0)) v = reinterpret<f64>(b - 1); }
  const up = rc == 0 ? (s < 0) == (r > 0) : rc == 1 ? v < 0 : rc == 2 ? v > 0 : false;
  fpC1(up);
  fpEx(SW_PE);
  return v;
}

// Finish sig * 2^k: sig is the nearest double (normal, |sig| < 4) to the exact result
// significand, s the sign of exact - sig. Returns the register value: the double itself when
// in range, else the stand-in with the wide image in resM/resSE.
export function wideResult(sig: f64, s: i32, k: i32): f64 {
  const E0 = <i32>((reinterpret<u64>(sig) >> 52) & 0x7ff) - 1023 + k;
  const v = rcStep(sig, s);
  const b = reinterpret<u64>(v);
  const E = <i32>((b >> 52) & 0x7ff) - 1023 + k;
  if (E0 < -16382) return denormal(sig, s, E0, E < -16382);
  if (E >= -1022 && E <= 1023) return v * pow2(k - (k >> 1)) * pow2(k >> 1); // exact
  const sign = <u32>(b >> 63) << 15;
  const m = ((b & 0x000fffffffffffff) | 0x0010000000000000) << 11;
  if (E > 16383) {
    // beyond the register range: the masked overflow response at 53 bits of precision
    const rc = fpRC();
    const neg = sign != 0;
    const toMax = rc == 3 || (rc == 1 && !neg) || (rc == 2 && neg);
    fpEx(SW_OE | SW_PE);
    fpC1(!toMax);
    if (!toMax) return neg ? -Infinity : Infinity;
    return setWide(0xfffffffffffff800, sign | 0x7ffe);
  }
  return setWide(m, sign | <u32>(E + 16383));
}
// Below the register's normal range: a denormal of the 15-bit-exponent format whose
// significand has the precision's 53 bits, i.e. the integer multiple of 2^-16434 nearest (by
// RC) to the exact result, rounded once: sig with a sticky unit below its last bit stands for
// the exact value (s tells on which side it lies), and at least 12 bits are dropped, so the
// sticky unit never decides a tie by itself. Flags: PE when inexact, UE when also tiny after
// rounding to 53 bits at an unbounded exponent; C1 = rounded up.
function denormal(sig: f64, s: i32, E0: i32, tiny: bool): f64 {
  const b = reinterpret<u64>(sig);
  const neg = (b >> 63) != 0;
  let m = ((b & 0x000fffffffffffff) | 0x0010000000000000) << 11;
  if (s != 0) m = (s > 0) != neg ? m + 1 : m - 1;
  const mag = rndDrop(m, -16371 - E0, neg, fpRC()); // value = m * 2^(E0 - 63)
  fpC1(rdUp);
  if (rdInexact) fpEx(tiny ? SW_UE | SW_PE : SW_PE);
  const sign: u32 = neg ? 0x8000 : 0;
  if (mag == 0) return neg ? -0.0 : 0.0;
  const mr = mag << 11;
  return setWide(mr, sign | <u32>(mr >> 63)); // a carry into bit 63 is the smallest normal
}
function setWide(m: u64, se: u32): f64 {
  resWide = true;
  resM = m;
  resSE = se;
  return extToF64(m, se);
}
@inline export function clearWide(): void { resWide = false; }
// a zero or an in-range value: nothing wide
@inline export function plain(v: f64): f64 { resWide = false; return v; }

// write the result of an operation to st(i)
export function fpPutRes(i: u32, v: f64): void {
  if (resWide) fpPutExt(i, v, resM, resSE);
  else fpPut(i, v);
}
