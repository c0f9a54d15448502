// Memory operands of x87 instructions (the ModR/M operand decoded by modrm()). Multi-part
// stores check the whole destination first (segment limit, then every page through lprobeW),
// so a fault leaves memory and the FPU untouched.
import { moff, mseg } from "../fetch";
import { linR, linW } from "../seg";
import { lrd16, lrd32, lrd64, lwr16, lwr64, lprobeW } from "../mmu";

@inline export function mRd16(): u32 { return lrd16(linR(mseg, moff, 2)); }
@inline export function mRd32(): u32 { return lrd32(linR(mseg, moff, 4)); }
@inline export function mRd64(): u64 { return lrd64(linR(mseg, moff, 8)); }
// 10-byte operand: the low 8 bytes are returned, the top two land in mRdHi
export let mRdHi: u32 = 0;
export function mRd80(): u64 {
  const lin = linR(mseg, moff, 10);
  const lo = lrd32(lin);
  const mid = lrd32(lin + 4);
  mRdHi = lrd16(lin + 8);
  return <u64>lo | (<u64>mid << 32);
}

// linear address of a destination of n bytes, checked for writing
export function mDest(n: u32): u32 {
  const lin = linW(mseg, moff, n);
  lprobeW(lin, n);
  return lin;
}
@inline export function mWr64(lin: u32, v: u64): void { lwr64(lin, v); }
@inline export function mWr80(lin: u32, m: u64, se: u32): void {
  mWr64(lin, m);
  lwr16(lin + 8, se);
}

// f32 / f64 operands as f64, NaN payloads kept bit-exact (no canonicalizing conversion).
// memDen tells whether the operand was a denormal: the instruction raises the
// denormal-operand exception itself, after its stack checks and only when no operand is a NaN
// (a denormal is a normal number once extended, so only memory operands can be denormal).
export let memDen: bool = false;
export function f32Val(b: u32): f64 {
  memDen = (b & 0x7f800000) == 0 && (b & 0x007fffff) != 0;
  if ((b & 0x7f800000) == 0x7f800000 && (b & 0x007fffff) != 0) {
    return reinterpret<f64>((<u64>(b & 0x80000000) << 32) | 0x7ff0000000000000 | (<u64>(b & 0x007fffff) << 29));
  }
  return <f64>reinterpret<f32>(b);
}
export function f64Val(b: u64): f64 {
  memDen = (b & 0x7ff0000000000000) == 0 && (b & 0x000fffffffffffff) != 0;
  return reinterpret<f64>(b);
}
