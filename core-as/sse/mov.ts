// SSE/SSE2/SSE3 data movement: MOVUPS/UPD/DQU, MOVAPS/APD/DQA, MOVSS/SD, MOVLPS/HPS/LPD/HPD,
// MOVHLPS/LHPS, MOVSLDUP/SHDUP/DDUP, MOVD/MOVQ (MMX and XMM), MOVQ2DQ/MOVDQ2Q, MOVMSKPS/PD,
// PMOVMSKB, the non-temporal stores (MOVNTPS/PD/DQ/Q/I), MASKMOVQ/MASKMOVDQU, LDDQU.
// Each handler decodes first (ModR/M), then passes its gate, reads every operand, then writes.
import { S, r32, w32, a32 } from "../state";
import { modrm, mmem, mreg, mrmi, mseg, moff, dataSeg } from "../fetch";
import { ud } from "../fault";
import { S_SSE_TMP } from "../layout";
import { linR, linW } from "../seg";
import { lrd32, lrd64, lwr8, lprobeW } from "../mmu";
import { rmRd32, rmWr32 } from "../operand";
import {
  sseBegin, mmxBegin, sseMmxBegin, xGet, xSet, xLo, xHi, xSetLo, xSetHi, xD, xSetD, wRd, wRdU, wRd64, wWr, wWrU,
  qRd, xmWr64, xmWr32, mmGet, mmSet, mmTouch, rd128, wr128, align16, q2v, xmmA, copy16, rd128To, wr128From,
  wRdTo, wRdUTo, wWrFrom, wWrUFrom,
} from "./state";

// ---- whole registers ---------------------------------------------------------------------------
// MOVUPS/MOVUPD/MOVDQU xmm, xmm/m128 (no alignment check)
export function movups_VW(): void {
  modrm();
  sseBegin();
  if (ASC_FEATURE_SIMD) xSet(mreg, wRdU());
  else wRdUTo(xmmA(mreg));
}
// MOVAPS/MOVAPD/MOVDQA xmm, xmm/m128 (#GP unless aligned)
export function movaps_VW(): void {
  modrm();
  sseBegin();
  if (ASC_FEATURE_SIMD) xSet(mreg, wRd());
  else wRdTo(xmmA(mreg));
}
export function movups_WV(): void {
  modrm();
  sseBegin();
  if (ASC_FEATURE_SIMD) wWrU(xGet(mreg));
  else wWrUFrom(xmmA(mreg));
}
export function movaps_WV(): void {
  modrm();
  sseBegin();
  if (ASC_FEATURE_SIMD) wWr(xGet(mreg));
  else wWrFrom(xmmA(mreg));
}
// MOVNTPS/MOVNTPD/MOVNTDQ m128, xmm: aligned stores (the hint does not change what is stored)
export function movnt_MV(): void {
  modrm();
  sseBegin();
  if (!mmem) ud();
  if (ASC_FEATURE_SIMD) wr128(align16(linW(mseg, moff, 16)), xGet(mreg));
  else wr128From(align16(linW(mseg, moff, 16)), xmmA(mreg));
}
// LDDQU xmm, m128
export function lddqu(): void {
  modrm();
  sseBegin();
  if (!mmem) ud();
  if (ASC_FEATURE_SIMD) xSet(mreg, rd128(linR(mseg, moff, 16)));
  else rd128To(linR(mseg, moff, 16), xmmA(mreg));
}

// ---- scalar lanes ------------------------------------------------------------------------------
// MOVSS xmm, xmm/m32: a register source moves the low dword only; memory zeroes the rest
export function movss_VW(): void {
  modrm();
  sseBegin();
  if (mmem) {
    if (ASC_FEATURE_SIMD) xSet(mreg, i32x4.replace_lane(i32x4.splat(0), 0, <i32>lrd32(linR(mseg, moff, 4))));
    else { const v = lrd32(linR(mseg, moff, 4)); xSetLo(mreg, <u64>v); xSetHi(mreg, 0); }
  } else xSetD(mreg, 0, xD(mrmi, 0));
}
export function movsd_VW(): void {
  modrm();
  sseBegin();
  if (mmem) { const v = lrd64(linR(mseg, moff, 8)); xSetLo(mreg, v); xSetHi(mreg, 0); }
  else xSetLo(mreg, xLo(mrmi));
}
export function movss_WV(): void {
  modrm();
  sseBegin();
  if (mmem) xmWr32(xD(mreg, 0));
  else xSetD(mrmi, 0, xD(mreg, 0));
}
export function movsd_WV(): void {
  modrm();
  sseBegin();
  if (mmem) xmWr64(xLo(mreg));
  else xSetLo(mrmi, xLo(mreg));
}
// MOVLPS/MOVLPD xmm, m64; with a register source (0F 12 only) MOVHLPS: low half = source's high
export function movlps_VM(hl: bool): void {
  modrm();
  sseBegin();
  if (mmem) xSetLo(mreg, lrd64(linR(mseg, moff, 8)));
  else if (hl) xSetLo(mreg, xHi(mrmi));
  else ud();
}
// MOVHPS/MOVHPD xmm, m64; with a register source (0F 16 only) MOVLHPS: high half = source's low
export function movhps_VM(lh: bool): void {
  modrm();
  sseBegin();
  if (mmem) xSetHi(mreg, lrd64(linR(mseg, moff, 8)));
  else if (lh) xSetHi(mreg, xLo(mrmi));
  else ud();
}
export function movlps_MV(): void { modrm(); sseBegin(); if (!mmem) ud(); xmWr64(xLo(mreg)); }
export function movhps_MV(): void { modrm(); sseBegin(); if (!mmem) ud(); xmWr64(xHi(mreg)); }
// MOVSLDUP (odd = 0: dwords 0 0 2 2) / MOVSHDUP (odd = 1: dwords 1 1 3 3), xmm/m128 aligned
export function movsldup(odd: u32): void {
  modrm();
  sseBegin();
  if (ASC_FEATURE_SIMD) {
    const v = wRd();
    xSet(mreg, odd ? v128.shuffle<u32>(v, v, 1, 1, 3, 3) : v128.shuffle<u32>(v, v, 0, 0, 2, 2));
  } else {
    const t = S + S_SSE_TMP;
    wRdTo(t);
    const lo = load<u32>(t + (odd << 2)), hi = load<u32>(t + 8 + (odd << 2));
    xSetD(mreg, 0, lo);
    xSetD(mreg, 1, lo);
    xSetD(mreg, 2, hi);
    xSetD(mreg, 3, hi);
  }
}
// MOVDDUP xmm, xmm/m64: the low qword twice
export function movddup(): void {
  modrm();
  sseBegin();
  const q = wRd64();
  if (ASC_FEATURE_SIMD) xSet(mreg, i64x2.splat(<i64>q));
  else { xSetLo(mreg, q); xSetHi(mreg, q); }
}

// ---- MOVD / MOVQ -------------------------------------------------------------------------------
// MOVD mm, r/m32 (zero-extended)
export function movd_PE(): void { modrm(); mmxBegin(); const v = rmRd32(); mmSet(mreg, <u64>v); }
// MOVD xmm, r/m32 (zero-extended to 128 bits)
export function movd_VE(): void {
  modrm();
  sseBegin();
  const v = rmRd32();
  if (ASC_FEATURE_SIMD) xSet(mreg, i32x4.replace_lane(i32x4.splat(0), 0, <i32>v));
  else { xSetLo(mreg, <u64>v); xSetHi(mreg, 0); }
}
// MOVD r/m32, mm
export function movd_EP(): void { modrm(); mmxBegin(); rmWr32(<u32>mmGet(mreg)); mmTouch(); }
// MOVD r/m32, xmm
export function movd_EV(): void { modrm(); sseBegin(); rmWr32(xD(mreg, 0)); }
// MOVQ mm, mm/m64
export function movq_PQ(): void { modrm(); mmxBegin(); const v = qRd(); mmSet(mreg, v); }
// MOVQ mm/m64, mm
export function movq_QP(): void {
  modrm();
  mmxBegin();
  const v = mmGet(mreg);
  if (mmem) { xmWr64(v); mmTouch(); } else mmSet(mrmi, v);
}
// MOVQ xmm, xmm/m64 (F3 0F 7E): zero-extended
export function movq_VW(): void { modrm(); sseBegin(); const v = wRd64(); xSetLo(mreg, v); xSetHi(mreg, 0); }
// MOVQ xmm/m64, xmm (66 0F D6): a register destination is zero-extended
export function movq_WV(): void {
  modrm();
  sseBegin();
  const v = xLo(mreg);
  if (mmem) xmWr64(v);
  else { xSetLo(mrmi, v); xSetHi(mrmi, 0); }
}
// MOVQ2DQ xmm, mm / MOVDQ2Q mm, xmm (register operands only)
export function movq2dq(): void {
  modrm();
  sseMmxBegin();
  if (mmem) ud();
  const v = mmGet(mrmi);
  xSetLo(mreg, v);
  xSetHi(mreg, 0);
  mmTouch();
}
export function movdq2q(): void {
  modrm();
  sseMmxBegin();
  if (mmem) ud();
  mmSet(mreg, xLo(mrmi));
}

// ---- masks -------------------------------------------------------------------------------------
// MOVMSKPS (pd = 0) / MOVMSKPD (pd = 1) r32, xmm: the sign bits
export function movmskps(pd: u32): void {
  modrm();
  sseBegin();
  if (mmem) ud();
  if (ASC_FEATURE_SIMD) {
    const v = xGet(mrmi);
    w32(mreg, pd ? <u32>i64x2.bitmask(v) : <u32>i32x4.bitmask(v));
  } else w32(mreg, pd ? signs(xmmA(mrmi), 8, 2) : signs(xmmA(mrmi), 4, 4));
}
// PMOVMSKB r32, mm / xmm: the sign bits of the bytes
export function pmovmskb(x: u32): void {
  modrm();
  if (x) sseBegin(); else mmxBegin();
  if (mmem) ud();
  if (ASC_FEATURE_SIMD) {
    if (x) w32(mreg, <u32>i8x16.bitmask(xGet(mrmi)));
    else { w32(mreg, <u32>i8x16.bitmask(q2v(mmGet(mrmi))) & 0xff); mmTouch(); }
  } else if (x) w32(mreg, signs(xmmA(mrmi), 1, 16));
  else {
    const t = S + S_SSE_TMP;
    store<u64>(t, mmGet(mrmi));
    w32(mreg, signs(t, 1, 8));
    mmTouch();
  }
}

// ---- non-temporal stores of integer registers ------------------------------------------------
// MOVNTQ m64, mm
export function movntq(): void {
  modrm();
  mmxBegin();
  if (!mmem) ud();
  xmWr64(mmGet(mreg));
  mmTouch();
}
// MOVNTI m32, r32 (SSE2, but only general registers: no CR0/CR4 gate)
export function movnti(): void {
  modrm();
  if (!mmem) ud();
  xmWr32(r32(mreg));
}
// MASKMOVQ mm, mm / MASKMOVDQU xmm, xmm: the bytes of the first operand whose mask byte (second
// operand) has its top bit set go to DS:EDI (DI with 16-bit addressing; segment overridable).
// The whole destination is checked before any byte is written.
export function maskmov(x: u32): void {
  if (ASC_FEATURE_SIMD) { maskmovSimd(x); return; }
  modrm();
  if (x) sseBegin(); else mmxBegin();
  if (mmem) ud();
  const n: u32 = x ? 16 : 8;
  // (the data bytes go through a scratch copy: lanes by a variable index)
  const t = S + S_SSE_TMP;
  let bits: u32;
  if (x) {
    bits = signs(xmmA(mrmi), 1, 16);
    copy16(t, xmmA(mreg));
  } else {
    store<u64>(t + 16, mmGet(mrmi));
    bits = signs(t + 16, 1, 8);
    store<u64>(t, mmGet(mreg));
  }
  const off = a32 ? r32(7) : r32(7) & 0xffff;
  const lin = linW(dataSeg(), off, n);
  if (bits != 0) lprobeW(lin, n);
  for (let i: u32 = 0; i < n; i++) if ((bits >> i) & 1) lwr8(lin + i, load<u8>(t + i));
  if (!x) mmTouch();
}
@inline function maskmovSimd(x: u32): void {
  modrm();
  if (x) sseBegin(); else mmxBegin();
  if (mmem) ud();
  const n: u32 = x ? 16 : 8;
  const d = x ? xGet(mreg) : q2v(mmGet(mreg));
  const m = x ? xGet(mrmi) : q2v(mmGet(mrmi));
  let bits = <u32>i8x16.bitmask(m);
  if (!x) bits &= 0xff;
  const off = a32 ? r32(7) : r32(7) & 0xffff;
  const lin = linW(dataSeg(), off, n);
  if (bits != 0) lprobeW(lin, n);
  // (the data bytes go through a scratch copy: lanes by a variable index)
  const t = S + S_SSE_TMP;
  v128.store(t, d);
  for (let i: u32 = 0; i < n; i++) if ((bits >> i) & 1) lwr8(lin + i, load<u8>(t + i));
  if (!x) mmTouch();
}

// the sign bits of k lanes of e bytes at p, lane 0 in bit 0 (the core without SIMD)
function signs(p: usize, e: u32, k: u32): u32 {
  let r: u32 = 0;
  for (let i: u32 = 0; i < k; i++) r |= (<u32>load<u8>(p + i * e + e - 1) >> 7) << i;
  return r;
}
