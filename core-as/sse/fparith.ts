// SSE/SSE2/SSE3 floating-point arithmetic, compares and COMIS/UCOMIS (the table's fp_* entries):
// decode, the SSE gate, the operands (a packed memory operand must be 16-byte aligned; a scalar
// one is 4 or 8 bytes), then fpvec.ts computes every lane; MXCSR takes the flags, and an
// unmasked exception leaves the destination alone and raises #XM (#UD without
// CR4.OSXMMEXCPT).
import { S } from "../state";
import { S_SSE_TMP } from "../layout";
import { modrm, fetch8, mmem, mreg, mrmi } from "../fetch";
import { setArith } from "../flags";
import { sseBegin, simdFpFault, mxcsr, setMxcsr, xmmA, wRdTo, wRd32, wRd64 } from "./state";
import { fpArith, fpComi, comiFlags, F_PS, F_SS, F_PD, F_SD, OP_CMP } from "./fpvec";
import { mxOut } from "./fpmath";

// the source operand's address: the register, or the memory operand read into scratch
@inline function srcPacked(): usize {
  if (!mmem) return xmmA(mrmi);
  wRdTo(S + S_SSE_TMP);
  return S + S_SSE_TMP;
}
@inline function srcScalar(dbl: bool): usize {
  if (!mmem) return xmmA(mrmi);
  if (dbl) store<u64>(S + S_SSE_TMP, wRd64());
  else store<u32>(S + S_SSE_TMP, wRd32());
  return S + S_SSE_TMP;
}
// MXCSR gets the flags; an unmasked exception is delivered
@inline function finishFp(ok: bool, mx: u32): void {
  if (mxOut != mx) setMxcsr(mxOut);
  if (!ok) simdFpFault();
}

// ADD/SUB/MUL/DIV/MIN/MAX/SQRT/RCP/RSQRT PS and PD, SSE3 ADDSUB/HADD/HSUB PS and PD:
// xmm op= xmm/m128
export function fp_pk(op: u32, dbl: bool): void {
  modrm();
  sseBegin();
  const s = srcPacked();
  const mx = mxcsr();
  finishFp(fpArith(op, dbl ? F_PD : F_PS, xmmA(mreg), s, 0, mx), mx);
}
// the SS and SD forms: xmm op= xmm/m32 (m64), on the low lane
export function fp_sc(op: u32, dbl: bool): void {
  modrm();
  sseBegin();
  const s = srcScalar(dbl);
  const mx = mxcsr();
  finishFp(fpArith(op, dbl ? F_SD : F_SS, xmmA(mreg), s, 0, mx), mx);
}
// CMPPS/CMPPD xmm, xmm/m128, imm8 and CMPSS/CMPSD xmm, xmm/m32 (m64), imm8: the predicate is
// imm8 bits 2:0
export function fp_cmp(dbl: bool, scalar: bool): void {
  modrm();
  const imm = fetch8() & 7;
  sseBegin();
  const s = scalar ? srcScalar(dbl) : srcPacked();
  const mx = mxcsr();
  const form = scalar ? (dbl ? F_SD : F_SS) : (dbl ? F_PD : F_PS);
  finishFp(fpArith(OP_CMP, form, xmmA(mreg), s, imm, mx), mx);
}
// COMISS/UCOMISS xmm, xmm/m32, COMISD/UCOMISD xmm, xmm/m64: ZF PF CF from the comparison, OF SF
// AF cleared (EFLAGS unchanged when the exception is unmasked)
export function fp_comi(dbl: bool, quiet: bool): void {
  modrm();
  sseBegin();
  const s = srcScalar(dbl);
  const mx = mxcsr();
  const ok = fpComi(dbl, quiet, xmmA(mreg), s, mx);
  if (mxOut != mx) setMxcsr(mxOut);
  if (!ok) simdFpFault();
  setArith(comiFlags);
}
