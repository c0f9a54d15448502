// Shuffles by an immediate and lane inserts/extracts: PSHUFW, PSHUFD, PSHUFHW, PSHUFLW, SHUFPS,
// SHUFPD, UNPCKLPS/HPS/LPD/HPD, PINSRW, PEXTRW. Lanes chosen at run time go through the scratch
// area (S_SSE_TMP): the source stored, the lanes read back by index.
import { S, r16, w32 } from "../state";
import { S_SSE_TMP } from "../layout";
import { modrm, fetch8, mmem, mreg, mrmi, mseg, moff } from "../fetch";
import { ud } from "../fault";
import { linR } from "../seg";
import { lrd16 } from "../mmu";
import {
  sseBegin, mmxBegin, xGet, xSet, xLo, xHi, xSetLo, xSetHi, xmmA, wRd, wRdTo, qRd, mmGet, mmSet, mmTouch, copy16,
} from "./state";

@inline function tmp(): u32 { return S + S_SSE_TMP; }

// PSHUFW mm, mm/m64, imm8: word i = source word (imm >> 2i) & 3
export function pshufw(): void {
  modrm();
  const imm = fetch8();
  mmxBegin();
  const q = qRd();
  let r: u64 = 0;
  for (let i: u32 = 0; i < 4; i++) r |= ((q >> (((imm >> (i << 1)) & 3) << 4)) & 0xffff) << (i << 4);
  mmSet(mreg, r);
}
// PSHUFD xmm, xmm/m128, imm8: dword i = source dword (imm >> 2i) & 3
export function pshufd(): void {
  modrm();
  const imm = fetch8();
  sseBegin();
  const t = tmp();
  wRdTo(t);
  const d = xmmA(mreg);
  for (let i: u32 = 0; i < 4; i++) store<u32>(d + (i << 2), load<u32>(t + (((imm >> (i << 1)) & 3) << 2)));
}
// PSHUFHW (hi = 4) / PSHUFLW (hi = 0) xmm, xmm/m128, imm8: the four words of one half shuffled
// among themselves, the other half copied
export function pshufhw(hi: u32): void {
  modrm();
  const imm = fetch8();
  sseBegin();
  const t = tmp();
  if (ASC_FEATURE_SIMD) {
    v128.store(t, wRd());
    v128.store(t, v128.load(t), 16);
  } else {
    wRdTo(t);
    copy16(t + 16, t);
  }
  for (let i: u32 = 0; i < 4; i++) store<u16>(t + 16 + ((hi + i) << 1), load<u16>(t + ((hi + ((imm >> (i << 1)) & 3)) << 1)));
  if (ASC_FEATURE_SIMD) xSet(mreg, v128.load(t, 16));
  else copy16(xmmA(mreg), t + 16);
}
// SHUFPS xmm, xmm/m128, imm8: dwords 0-1 from the destination, 2-3 from the source
export function shufps(): void {
  modrm();
  const imm = fetch8();
  sseBegin();
  const t = tmp();
  if (ASC_FEATURE_SIMD) {
    v128.store(t, xGet(mreg));
    v128.store(t, wRd(), 16);
  } else {
    copy16(t, xmmA(mreg));
    wRdTo(t + 16);
  }
  const d = xmmA(mreg);
  store<u32>(d, load<u32>(t + ((imm & 3) << 2)));
  store<u32>(d, load<u32>(t + (((imm >> 2) & 3) << 2)), 4);
  store<u32>(d, load<u32>(t + 16 + (((imm >> 4) & 3) << 2)), 8);
  store<u32>(d, load<u32>(t + 16 + (((imm >> 6) & 3) << 2)), 12);
}
// SHUFPD xmm, xmm/m128, imm8: qword 0 from the destination, 1 from the source
export function shufpd(): void {
  modrm();
  const imm = fetch8();
  sseBegin();
  if (ASC_FEATURE_SIMD) {
    const s = wRd();
    const lo = (imm & 1) ? xHi(mreg) : xLo(mreg);
    const hi = (imm & 2) ? <u64>i64x2.extract_lane(s, 1) : <u64>i64x2.extract_lane(s, 0);
    xSetLo(mreg, lo);
    xSetHi(mreg, hi);
  } else {
    wRdTo(tmp());
    const lo = (imm & 1) ? xHi(mreg) : xLo(mreg);
    const hi = load<u64>(tmp() + ((imm & 2) << 2));
    xSetLo(mreg, lo);
    xSetHi(mreg, hi);
  }
}
// UNPCKLPS (h = 0): a0 b0 a1 b1; UNPCKHPS (h = 1): a2 b2 a3 b3
export function unpck_ps(h: u32): void {
  modrm();
  sseBegin();
  if (ASC_FEATURE_SIMD) {
    const b = wRd();
    const a = xGet(mreg);
    xSet(mreg, h ? v128.shuffle<u32>(a, b, 2, 6, 3, 7) : v128.shuffle<u32>(a, b, 0, 4, 1, 5));
  } else {
    const t = tmp();
    wRdTo(t);
    const d = xmmA(mreg);
    const o = h << 3;
    const a0 = load<u32>(d + o), a1 = load<u32>(d + o + 4), b0 = load<u32>(t + o), b1 = load<u32>(t + o + 4);
    store<u32>(d, a0);
    store<u32>(d, b0, 4);
    store<u32>(d, a1, 8);
    store<u32>(d, b1, 12);
  }
}
// UNPCKLPD (h = 0): a0 b0; UNPCKHPD (h = 1): a1 b1
export function unpck_pd(h: u32): void {
  modrm();
  sseBegin();
  if (ASC_FEATURE_SIMD) {
    const b = wRd();
    const a = xGet(mreg);
    xSet(mreg, h ? v128.shuffle<u64>(a, b, 1, 3) : v128.shuffle<u64>(a, b, 0, 2));
  } else {
    const t = tmp();
    wRdTo(t);
    const d = xmmA(mreg);
    const a = load<u64>(d + (h << 3)), b = load<u64>(t + (h << 3));
    store<u64>(d, a);
    store<u64>(d, b, 8);
  }
}

// PINSRW mm (x = 0) / xmm (x = 1), r32/m16, imm8: word imm & 3 / imm & 7
export function pinsrw(x: u32): void {
  modrm();
  const imm = fetch8();
  if (x) sseBegin(); else mmxBegin();
  const v = mmem ? lrd16(linR(mseg, moff, 2)) : r16(mrmi);
  if (x) store<u16>(xmmA(mreg) + ((imm & 7) << 1), <u16>v);
  else {
    const sh = <u64>((imm & 3) << 4);
    mmSet(mreg, (mmGet(mreg) & ~(<u64>0xffff << sh)) | (<u64>v << sh));
  }
}
// PEXTRW r32, mm / xmm, imm8 (register operand only): the word, zero-extended
export function pextrw(x: u32): void {
  modrm();
  const imm = fetch8();
  if (x) sseBegin(); else mmxBegin();
  if (mmem) ud();
  if (x) w32(mreg, <u32>load<u16>(xmmA(mrmi) + ((imm & 7) << 1)));
  else { w32(mreg, <u32>(mmGet(mrmi) >> <u64>((imm & 3) << 4)) & 0xffff); mmTouch(); }
}
