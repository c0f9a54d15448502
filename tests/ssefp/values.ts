// Operand and MXCSR generators for the SSE floating-point tests (fpmath_test.ts against the
// host directly, tests/diff/ssefp_test.ts through the whole machine): values rich in the cases
// where rounding and exceptions have their corners.
import { EDGE32, Rng } from "../lib/rng.ts";

export type T = "f" | "d" | "i"; // lanes: single, double, int32
export function f32gen(r: Rng): number {
  const k = r.below(100);
  const sign = r.chance(0.5) ? 0x80000000 : 0;
  if (k < 12) {
    return (r.pick([
      0,
      0x7f800000,
      0x7fc00000 | (r.u32() & 0x3fffff), // QNaN
      0x7f800000 | ((r.u32() & 0x3fffff) || 1), // SNaN
      (r.u32() & 0x7fffff) || 1, // denormal
      1 + r.below(4),
      0x007fffff,
      0x00800000,
      0x7f7fffff,
      0x3f800000,
      0x4f000000, // 2^31
      0x4effffff,
      0x3f000000, // 0.5
    ]) | sign) >>> 0;
  }
  if (k < 22) return bitsF((r.below(4001) - 2000) / r.pick([1, 2, 4, 8, 16, 3, 10]));
  if (k < 30) return bitsF(Math.fround((r.u32() | 0) * 2 ** (r.below(12) - 6) + r.pick([0, 0.5, -0.5, 0.25])));
  const e = k < 60 ? 127 + r.below(60) - 30 : k < 75 ? r.below(255) : k < 88 ? 1 + r.below(30) : 224 + r.below(31);
  return (sign | (e << 23) | (r.u32() & 0x7fffff)) >>> 0;
}
export function f64gen(r: Rng): [number, number] { // [lo, hi]
  const k = r.below(100);
  const sign = r.chance(0.5) ? 0x80000000 : 0;
  const lo = r.u32();
  if (k < 12) {
    const c = r.below(13);
    const hs = [
      [0, 0],
      [0, 0x7ff00000],
      [lo, 0x7ff80000 | (r.u32() & 0x7ffff)],
      [lo | 1, 0x7ff00000 | (r.u32() & 0x7ffff)],
      [lo, r.u32() & 0xfffff],
      [1 + r.below(4), 0],
      [0xffffffff, 0x000fffff],
      [0, 0x00100000],
      [0xffffffff, 0x7fefffff],
      [0, 0x3ff00000],
      [0, 0x41e00000], // 2^31
      [r.pick([0, 0x00200000, 0xffe00000]), 0x41dfffff],
      [0, 0x3fe00000],
    ][c];
    return [hs[0] >>> 0, (hs[1] | sign) >>> 0];
  }
  const dv = new DataView(new ArrayBuffer(8));
  if (k < 22) {
    dv.setFloat64(0, (r.below(4001) - 2000) / r.pick([1, 2, 4, 8, 16, 3, 10]), true);
    return [dv.getUint32(0, true), dv.getUint32(4, true)];
  }
  if (k < 30) {
    dv.setFloat64(0, (r.u32() | 0) * 2 ** (r.below(12) - 6) + r.pick([0, 0.5, -0.5, 0.25]), true);
    return [dv.getUint32(0, true), dv.getUint32(4, true)];
  }
  if (k < 33) { // at the single-precision underflow and overflow thresholds (CVTSD2SS)
    const t = r.chance(0.5)
      ? 2 ** -126 * (1 - 2 ** -24 * r.pick([1, 0.5, 1.5, 2]))
      : 2 ** 128 * (1 - 2 ** -25 * r.pick([1, 0.5, 1.5, 2]));
    dv.setFloat64(0, (t + (r.chance(0.5) ? 1 : -1) * t * 2 ** -(40 + r.below(14))) * (sign ? -1 : 1), true);
    return [dv.getUint32(0, true), dv.getUint32(4, true)];
  }
  if (k < 36) { // singles widened: conversions back to single hit exact, tie and overflow cases
    const f = f32gen(r);
    const fv = new DataView(new ArrayBuffer(4));
    fv.setUint32(0, f, true);
    dv.setFloat64(
      0,
      fv.getFloat32(0, true) * 2 ** r.pick([0, 0, 0, -1, 1, -30, 30]) + (r.chance(0.3) ? 2 ** -40 : 0),
      true,
    );
    return [dv.getUint32(0, true), dv.getUint32(4, true)];
  }
  const e = k < 60
    ? 1023 + r.below(120) - 60
    : k < 72
    ? r.below(2047)
    : k < 80
    ? 1 + r.below(60)
    : k < 88
    ? 1986 + r.below(61)
    : 873 + r.below(300);
  return [lo, (sign | (e << 20) | (r.u32() & 0xfffff)) >>> 0];
}
export function bitsF(x: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setFloat32(0, x, true);
  return dv.getUint32(0, true);
}
export function i32gen(r: Rng): number {
  const k = r.below(10);
  if (k < 2) return r.pick(EDGE32) >>> 0;
  if (k < 5) return r.u32();
  if (k < 8) return (r.below(1 << 26) - (1 << 25)) >>> 0;
  return ((r.below(1 << 12) << r.below(20)) * (r.chance(0.5) ? -1 : 1)) >>> 0;
}
export function fill(r: Rng, t: T, m: Uint8Array, off: number): void {
  const dv = new DataView(m.buffer);
  for (let i = 0; i < 16; i += t === "d" ? 8 : 4) {
    if (t === "d") {
      const [lo, hi] = f64gen(r);
      dv.setUint32(off + i, lo, true);
      dv.setUint32(off + i + 4, hi, true);
    } else dv.setUint32(off + i, t === "f" ? f32gen(r) : i32gen(r), true);
  }
}
// a second operand related to the first: cancellation, near-equal values, results at the
// overflow and underflow thresholds
export function relate(r: Rng, t: T, m: Uint8Array, ao: number, bo: number): void {
  if (t === "i") return;
  const dv = new DataView(m.buffer);
  const w = t === "d" ? 8 : 4;
  for (let i = 0; i < 16; i += w) {
    const k = r.below(10);
    if (k >= 4) continue;
    const hiA = dv.getUint32(ao + i + w - 4, true);
    const eb = t === "d" ? 20 : 23, emax = t === "d" ? 0x7ff : 0xff, bias = t === "d" ? 1023 : 127;
    const ea = (hiA >>> eb) & emax;
    let hi = dv.getUint32(bo + i + w - 4, true);
    if (k === 0) { // b ≈ ±a: cancellation, equality
      dv.setUint32(bo + i, dv.getUint32(ao + i, true) ^ (r.chance(0.5) ? 0 : r.below(4)), true);
      if (w === 8) dv.setUint32(bo + i + 4, (hiA ^ (r.chance(0.5) ? 0x80000000 : 0)) >>> 0, true);
      else dv.setUint32(bo + i, (dv.getUint32(bo + i, true) ^ (r.chance(0.5) ? 0x80000000 : 0)) >>> 0, true);
      continue;
    }
    if (k === 3 && r.chance(0.5)) { // a*b or a/b within a few ulps of the smallest normal or the largest finite
      const av = w === 8 ? dv.getFloat64(ao + i, true) : dv.getFloat32(ao + i, true);
      if (!Number.isFinite(av) || av === 0) continue;
      const t = r.chance(0.5) ? 2 ** (1 - bias) : (2 - 2 ** -(w === 8 ? 52 : 23)) * 2 ** bias;
      let bv = r.chance(0.5) ? t / av : av / t;
      bv = bv * (1 + (r.below(9) - 4) * 2 ** -(w === 8 ? 53 : 24));
      if (w === 8) dv.setFloat64(bo + i, bv, true);
      else dv.setFloat32(bo + i, bv, true);
      continue;
    }
    // exponent of b so that a*b or a/b lands near 2^emin or 2^emax
    const target = k === 1 ? 1 - bias : k === 2 ? bias : r.chance(0.5) ? -bias - r.below(24) : 2 - bias;
    let e = r.chance(0.5) ? target - (ea - bias) + bias : (ea - bias) - target + bias; // mul : div
    e += r.below(3) - 1;
    if (e < 1 || e >= emax) continue;
    hi = ((hi & ~(emax << eb)) | (e << eb)) >>> 0;
    dv.setUint32(bo + i + w - 4, hi, true);
  }
}
export function mxgen(r: Rng): number {
  let mx = r.below(4) << 13;
  if (r.chance(0.25)) mx |= 0x8000;
  if (r.chance(0.25)) mx |= 0x40;
  mx |= r.chance(0.8) ? 0x1f80 : r.below(64) << 7;
  const k = r.below(10);
  mx |= k < 4 ? 0 : k < 8 ? 0x20 : r.below(64);
  return mx;
}
