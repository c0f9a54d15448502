// SIMD register files and the rules every MMX/SSE instruction shares: the CR0/CR4 gates (#UD,
// #NM, #MF), the MMX registers aliased onto the x87's, the XMM registers and MXCSR in the state
// block, and the operands a ModR/M byte names (XMM/MMX register or memory: 16 bytes with or
// without the alignment check, 8, 4).
//
// XMM registers live at S_XMM (16 bytes each, lanes little-endian as in memory) and are handled
// as wasm v128 values. The core is built twice (core-as/build.ts): with WebAssembly SIMD, and
// without it for hosts whose wasm engine lacks SIMD (V8 on ia32 without SSE4.1, e.g. Node inside a
// ring3 guest). `ASC_FEATURE_SIMD` is AssemblyScript's compile-time constant for that: every
// v128 use sits in an `if (ASC_FEATURE_SIMD)` branch (the other branch is not compiled), and the
// scalar branch computes the same bytes through memory (the *To / *From forms below take host
// addresses of 16-byte values: a register, or scratch at S_SSE_TMP). An MMX register MMi is physical x87 register i: its 64 bits are the
// significand of the register's exact 80-bit image (x87/state.ts FP_EXT) and a write sets the
// sign and exponent to all ones. An MMX instruction sets TOP to 0 and every tag to valid (EMMS:
// every tag empty), after its last access that can fault.
import { S, TLB } from "../state";
import {
  S_XMM, S_MXCSR, S_CR0, S_CR4, CR0_EM, CR0_TS, CR4_OSFXSR, CR4_OSXMMEXCPT, S_FPU, FP_TOP, FP_TAG, FP_SW,
  FP_EXT, EXC_MF, EXC_XM, TLB_ENTRIES, TLB_TAG_R, TLB_TAG_W, TLB_DELTA,
} from "../layout";
import { ud, nm, gp, raise, NO_ERR } from "../fault";
import { mmem, mseg, moff, mrmi } from "../fetch";
import { linR, linW } from "../seg";
import { lrd32, lrd64, lwr32, lwr64, lprobeW } from "../mmu";
import { f64ToExt, cvM } from "../x87/ext80";

// ---- gates ----------------------------------------------------------------------------------
// SSE, SSE2 and SSE3 instructions (SDM vol. 3 table 2-2; vol. 2 "SIMD exceptions"): #UD when
// CR0.EM = 1 or CR4.OSFXSR = 0, else #NM when CR0.TS = 1. One test on the fast path.
@inline export function sseBegin(): void {
  if (((load<u32>(S, S_CR0) & (CR0_EM | CR0_TS)) | (~load<u32>(S, S_CR4) & CR4_OSFXSR)) != 0) sseGate();
}
function sseGate(): void {
  if ((load<u32>(S, S_CR0) & CR0_EM) != 0 || (load<u32>(S, S_CR4) & CR4_OSFXSR) == 0) ud();
  nm();
}
// MMX instructions (and EMMS): #UD when CR0.EM = 1, #NM when CR0.TS = 1, #MF when an unmasked
// x87 exception is pending.
@inline export function mmxBegin(): void {
  if ((load<u32>(S, S_CR0) & (CR0_EM | CR0_TS)) != 0) mmxGate();
  if ((load<u32>(S, S_FPU + FP_SW) & 0x80) != 0) raise(EXC_MF, NO_ERR);
}
function mmxGate(): void {
  if ((load<u32>(S, S_CR0) & CR0_EM) != 0) ud();
  nm();
}
// SSE2 instructions that name an MMX register (MOVQ2DQ, MOVDQ2Q, CVTPI2PD...): the SSE gate,
// then the pending x87 exception.
@inline export function sseMmxBegin(): void {
  sseBegin();
  if ((load<u32>(S, S_FPU + FP_SW) & 0x80) != 0) raise(EXC_MF, NO_ERR);
}
// An unmasked SIMD floating-point exception: #XM when CR4.OSXMMEXCPT = 1, else #UD.
export function simdFpFault(): void {
  if ((load<u32>(S, S_CR4) & CR4_OSXMMEXCPT) != 0) raise(EXC_XM, NO_ERR);
  ud();
}

// ---- MXCSR ----------------------------------------------------------------------------------
@inline export function mxcsr(): u32 { return load<u32>(S, S_MXCSR); }
@inline export function setMxcsr(v: u32): void { store<u32>(S, v, S_MXCSR); }

// ---- XMM registers ---------------------------------------------------------------------------
@inline export function xmmA(r: u32): u32 { return S + S_XMM + (r << 4); }
@inline export function xGet(r: u32): v128 { return v128.load(xmmA(r)); }
@inline export function xSet(r: u32, v: v128): void { v128.store(xmmA(r), v); }
@inline export function xLo(r: u32): u64 { return load<u64>(xmmA(r)); }
@inline export function xSetLo(r: u32, v: u64): void { store<u64>(xmmA(r), v); }
@inline export function xHi(r: u32): u64 { return load<u64>(xmmA(r), 8); }
@inline export function xSetHi(r: u32, v: u64): void { store<u64>(xmmA(r), v, 8); }
@inline export function xD(r: u32, i: u32): u32 { return load<u32>(xmmA(r) + (i << 2)); }
@inline export function xSetD(r: u32, i: u32, v: u32): void { store<u32>(xmmA(r) + (i << 2), v); }

// 16 bytes from host address s to d
@inline export function copy16(d: usize, s: usize): void {
  if (ASC_FEATURE_SIMD) v128.store(d, v128.load(s));
  else { const lo = load<u64>(s), hi = load<u64>(s, 8); store<u64>(d, lo); store<u64>(d, hi, 8); }
}
@inline export function zero16(d: usize): void { store<u64>(d, 0); store<u64>(d, 0, 8); }

// ---- MMX registers ---------------------------------------------------------------------------
@inline function fpImage(i: u32): u32 { return S + S_FPU + FP_EXT + (i << 4); }
// MMi: the significand of physical register i (of its exact image, else of its double)
export function mmGet(i: u32): u64 {
  const e = fpImage(i);
  if (load<u8>(e, 10) != 0) return load<u64>(e);
  f64ToExt(load<f64>(S + S_FPU + (i << 3)));
  return cvM;
}
// the x87 -> MMX transition: TOP = 0, every tag valid
@inline export function mmTouch(): void {
  store<u32>(S, 0, S_FPU + FP_TOP);
  store<u32>(S, 0, S_FPU + FP_TAG);
}
// write MMi (and make the transition): significand v, sign and exponent all ones; the register's
// double is the value that 80-bit pattern stands for (a NaN or -infinity)
export function mmSet(i: u32, v: u64): void {
  const e = fpImage(i);
  store<u64>(e, v);
  store<u16>(e, 0xffff, 8);
  store<u8>(e, 1, 10);
  let d: u64 = 0xfff0000000000000;
  if ((v >> 63) == 0) d = 0xfff8000000000000; // pseudo-NaN/infinity: the indefinite
  else if ((v << 1) != 0) { const f = (v << 1) >> 12; d |= f != 0 ? f : 1; }
  store<u64>(S + S_FPU + (i << 3), d);
  mmTouch();
}
// EMMS: TOP = 0, every tag empty
export function mmEmpty(): void {
  store<u32>(S, 0, S_FPU + FP_TOP);
  store<u32>(S, 0xffff, S_FPU + FP_TAG);
}

// ---- memory ----------------------------------------------------------------------------------
@inline function tlbE(lin: u32): u32 { return TLB + (((lin >>> 12) & (TLB_ENTRIES - 1)) << 2); }
// 16 bytes at a linear address: one access inside a page, else two 8-byte halves (low first)
// (rd128To / wr128From: the same to / from host address d; d is written only after both halves
// were read)
export function rd128To(lin: u32, d: usize): void {
  if (ASC_FEATURE_SIMD) { v128.store(d, rd128(lin)); return; }
  const e = tlbE(lin);
  if (load<u32>(e, TLB_TAG_R) == (lin & 0xfffff000) && (lin & 0xfff) <= 0xff0) { copy16(d, lin + load<u32>(e, TLB_DELTA)); return; }
  const lo = lrd64(lin);
  const hi = lrd64(lin + 8);
  store<u64>(d, lo);
  store<u64>(d, hi, 8);
}
export function wr128From(lin: u32, s: usize): void {
  if (ASC_FEATURE_SIMD) { wr128(lin, v128.load(s)); return; }
  const e = tlbE(lin);
  if (load<u32>(e, TLB_TAG_W) == (lin & 0xfffff000) && (lin & 0xfff) <= 0xff0) { copy16(lin + load<u32>(e, TLB_DELTA), s); return; }
  lprobeW(lin, 16);
  const lo = load<u64>(s), hi = load<u64>(s, 8);
  lwr64(lin, lo);
  lwr64(lin + 8, hi);
}
export function rd128(lin: u32): v128 {
  const e = tlbE(lin);
  if (load<u32>(e, TLB_TAG_R) == (lin & 0xfffff000) && (lin & 0xfff) <= 0xff0) return v128.load(lin + load<u32>(e, TLB_DELTA));
  const lo = lrd64(lin);
  const hi = lrd64(lin + 8);
  return i64x2.replace_lane(i64x2.splat(<i64>lo), 1, <i64>hi);
}
// a write of 16 bytes faults before any byte changes
export function wr128(lin: u32, v: v128): void {
  const e = tlbE(lin);
  if (load<u32>(e, TLB_TAG_W) == (lin & 0xfffff000) && (lin & 0xfff) <= 0xff0) { v128.store(lin + load<u32>(e, TLB_DELTA), v); return; }
  lprobeW(lin, 16);
  lwr64(lin, <u64>i64x2.extract_lane(v, 0));
  lwr64(lin + 8, <u64>i64x2.extract_lane(v, 1));
}
// MOVAPS-class operands (and every 16-byte operand of a packed SSE instruction but MOVUPS,
// MOVUPD, MOVDQU, LDDQU): #GP(0) unless 16-byte aligned
@inline export function align16(lin: u32): u32 {
  if ((lin & 15) != 0) gp(0);
  return lin;
}

// ---- ModR/M operands (after modrm()) -----------------------------------------------------------
// W: an XMM register or m128, aligned / unaligned
@inline export function wRd(): v128 { return mmem ? rd128(align16(linR(mseg, moff, 16))) : xGet(mrmi); }
@inline export function wRdU(): v128 { return mmem ? rd128(linR(mseg, moff, 16)) : xGet(mrmi); }
// W as m64 / m32 or the low lanes of a register
@inline export function wRd64(): u64 { return mmem ? lrd64(linR(mseg, moff, 8)) : xLo(mrmi); }
@inline export function wRd32(): u32 { return mmem ? lrd32(linR(mseg, moff, 4)) : xD(mrmi, 0); }
// W as a destination: an XMM register or m128 (aligned / unaligned)
@inline export function wWr(v: v128): void { if (mmem) wr128(align16(linW(mseg, moff, 16)), v); else xSet(mrmi, v); }
@inline export function wWrU(v: v128): void { if (mmem) wr128(linW(mseg, moff, 16), v); else xSet(mrmi, v); }
// the same through host address d (a register or scratch)
@inline export function wRdTo(d: usize): void {
  if (ASC_FEATURE_SIMD) v128.store(d, wRd());
  else if (mmem) rd128To(align16(linR(mseg, moff, 16)), d);
  else copy16(d, xmmA(mrmi));
}
@inline export function wRdUTo(d: usize): void {
  if (ASC_FEATURE_SIMD) v128.store(d, wRdU());
  else if (mmem) rd128To(linR(mseg, moff, 16), d);
  else copy16(d, xmmA(mrmi));
}
@inline export function wWrFrom(s: usize): void {
  if (ASC_FEATURE_SIMD) wWr(v128.load(s));
  else if (mmem) wr128From(align16(linW(mseg, moff, 16)), s);
  else copy16(xmmA(mrmi), s);
}
@inline export function wWrUFrom(s: usize): void {
  if (ASC_FEATURE_SIMD) wWrU(v128.load(s));
  else if (mmem) wr128From(linW(mseg, moff, 16), s);
  else copy16(xmmA(mrmi), s);
}
// Q: an MMX register or m64
@inline export function qRd(): u64 { return mmem ? lrd64(linR(mseg, moff, 8)) : mmGet(mrmi); }
// 8 / 4 bytes to the memory operand
@inline export function xmWr64(v: u64): void { lwr64(linW(mseg, moff, 8), v); }
@inline export function xmWr32(v: u32): void { lwr32(linW(mseg, moff, 4), v); }
// a v128 whose low 64 bits are q (the high half is don't-care for MMX arithmetic)
@inline export function q2v(q: u64): v128 { return i64x2.splat(<i64>q); }
@inline export function v2q(v: v128): u64 { return <u64>i64x2.extract_lane(v, 0); }
