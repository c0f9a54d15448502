// AssemblyScript entry that exposes core-as/sse/fpvec.ts alone (no machine around it), so
// fpmath_test.ts can run every SSE floating-point operation against the host CPU directly.
import { comiFlags, fpArith, fpComi, fpCvt } from "../../core-as/sse/fpvec";
import { mxOut } from "../../core-as/sse/fpmath";

const BUF = memory.data(64, 16); // +0: destination (16 bytes), +16: source
export function buf(): usize {
  return BUF;
}
export function arith(op: u32, form: u32, imm: u32, mx: u32): u32 {
  return fpArith(op, form, BUF, BUF + 16, imm, mx) ? 1 : 0;
}
export function comi(dbl: u32, quiet: u32, mx: u32): u32 {
  return fpComi(dbl != 0, quiet != 0, BUF, BUF + 16, mx) ? 1 : 0;
}
export function cvt(op: u32, mx: u32): u32 {
  return fpCvt(op, BUF, BUF + 16, mx) ? 1 : 0;
}
export function mxcsr(): u32 {
  return mxOut;
}
export function eflags(): u32 {
  return comiFlags;
}
