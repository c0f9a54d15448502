// Packed integer arithmetic, compares, logic, shifts, packs and unpacks: one operation per
// opcode byte (the table's `mmx_op(0xNN)` / `sse_op(0xNN)`), computed on wasm v128 values for both
// register files. An MMX operand is the low half of a v128 (its high half is a copy and means
// nothing); the few operations that move data between the halves (unpack high, pack) have an
// MMX form of their own. Also the logic of ANDPS/ANDNPS/ORPS/XORPS and their PD forms.
import { S } from "../state";
import { S_SSE_TMP } from "../layout";
import { modrm, fetch8, mmem, mreg, mrmi } from "../fetch";
import { ud } from "../fault";
import { sseBegin, mmxBegin, xGet, xSet, xmmA, wRd, wRdTo, qRd, mmGet, mmSet, q2v, v2q, copy16, zero16 } from "./state";
import { calcS, shiftS } from "./scalar";

// (a function, not a global: a v128 global would need SIMD in the core built without it)
@inline function ZERO(): v128 { return i64x2.splat(0); }

// shift counts: a count at or above the lane width empties the lane (arithmetic: fills it with
// the sign); the count operand is 64 bits wide
@inline function count(b: v128): u32 {
  const c = <u64>i64x2.extract_lane(b, 0);
  return c > 64 ? 64 : <u32>c;
}
@inline function sll(w: u32, a: v128, c: u32): v128 {
  if (c >= w) return ZERO();
  return w == 16 ? i16x8.shl(a, c) : w == 32 ? i32x4.shl(a, c) : i64x2.shl(a, c);
}
@inline function srl(w: u32, a: v128, c: u32): v128 {
  if (c >= w) return ZERO();
  return w == 16 ? i16x8.shr_u(a, c) : w == 32 ? i32x4.shr_u(a, c) : i64x2.shr_u(a, c);
}
@inline function sra(w: u32, a: v128, c: u32): v128 {
  if (c >= w) c = w - 1;
  return w == 16 ? i16x8.shr_s(a, c) : i32x4.shr_s(a, c);
}
// the high halves of 16 x 16-bit products (PMULHW / PMULHUW)
@inline function mulhi(a: v128, b: v128, signed: bool): v128 {
  const lo = signed ? i32x4.extmul_low_i16x8_s(a, b) : i32x4.extmul_low_i16x8_u(a, b);
  const hi = signed ? i32x4.extmul_high_i16x8_s(a, b) : i32x4.extmul_high_i16x8_u(a, b);
  return i8x16.shuffle(lo, hi, 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31);
}
// PACK*: an MMX pack takes 4 lanes of each operand (the v128 narrowing takes 8: keep dwords 0, 2)
@inline function pack(r: v128, x: bool): v128 { return x ? r : v128.shuffle<u32>(r, r, 0, 2, 0, 2); }

// dst op src for opcode `op` (x: XMM operands, else MMX)
@inline function calc(op: u32, a: v128, b: v128, x: bool): v128 {
  switch (op) {
    case 0x54: case 0xdb: return v128.and(a, b); // ANDPS/PD, PAND
    case 0x55: case 0xdf: return v128.andnot(b, a); // ANDNPS/PD, PANDN: ~dst & src
    case 0x56: case 0xeb: return v128.or(a, b);
    case 0x57: case 0xef: return v128.xor(a, b);
    case 0x60: return i8x16.shuffle(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23); // PUNPCKLBW
    case 0x61: return i8x16.shuffle(a, b, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23); // PUNPCKLWD
    case 0x62: return v128.shuffle<u32>(a, b, 0, 4, 1, 5); // PUNPCKLDQ
    case 0x63: return pack(i8x16.narrow_i16x8_s(a, b), x); // PACKSSWB
    case 0x64: return i8x16.gt_s(a, b);
    case 0x65: return i16x8.gt_s(a, b);
    case 0x66: return i32x4.gt_s(a, b);
    case 0x67: return pack(i8x16.narrow_i16x8_u(a, b), x); // PACKUSWB
    case 0x68: // PUNPCKHBW
      return x
        ? i8x16.shuffle(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)
        : i8x16.shuffle(a, b, 4, 20, 5, 21, 6, 22, 7, 23, 4, 20, 5, 21, 6, 22, 7, 23);
    case 0x69: // PUNPCKHWD
      return x
        ? i8x16.shuffle(a, b, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31)
        : i8x16.shuffle(a, b, 4, 5, 20, 21, 6, 7, 22, 23, 4, 5, 20, 21, 6, 7, 22, 23);
    case 0x6a: return x ? v128.shuffle<u32>(a, b, 2, 6, 3, 7) : v128.shuffle<u32>(a, b, 1, 5, 1, 5); // PUNPCKHDQ
    case 0x6b: return pack(i16x8.narrow_i32x4_s(a, b), x); // PACKSSDW
    case 0x6c: return v128.shuffle<u64>(a, b, 0, 2); // PUNPCKLQDQ
    case 0x6d: return v128.shuffle<u64>(a, b, 1, 3); // PUNPCKHQDQ
    case 0x74: return i8x16.eq(a, b);
    case 0x75: return i16x8.eq(a, b);
    case 0x76: return i32x4.eq(a, b);
    case 0xd1: return srl(16, a, count(b));
    case 0xd2: return srl(32, a, count(b));
    case 0xd3: return srl(64, a, count(b));
    case 0xd4: return i64x2.add(a, b);
    case 0xd5: return i16x8.mul(a, b);
    case 0xd8: return i8x16.sub_sat_u(a, b);
    case 0xd9: return i16x8.sub_sat_u(a, b);
    case 0xda: return i8x16.min_u(a, b);
    case 0xdc: return i8x16.add_sat_u(a, b);
    case 0xdd: return i16x8.add_sat_u(a, b);
    case 0xde: return i8x16.max_u(a, b);
    case 0xe0: return i8x16.avgr_u(a, b);
    case 0xe1: return sra(16, a, count(b));
    case 0xe2: return sra(32, a, count(b));
    case 0xe3: return i16x8.avgr_u(a, b);
    case 0xe4: return mulhi(a, b, false);
    case 0xe5: return mulhi(a, b, true);
    case 0xe8: return i8x16.sub_sat_s(a, b);
    case 0xe9: return i16x8.sub_sat_s(a, b);
    case 0xea: return i16x8.min_s(a, b);
    case 0xec: return i8x16.add_sat_s(a, b);
    case 0xed: return i16x8.add_sat_s(a, b);
    case 0xee: return i16x8.max_s(a, b);
    case 0xf1: return sll(16, a, count(b));
    case 0xf2: return sll(32, a, count(b));
    case 0xf3: return sll(64, a, count(b));
    case 0xf4: // PMULUDQ: dwords 0 and 2, unsigned, to 64 bits
      return i64x2.extmul_low_i32x4_u(v128.shuffle<u32>(a, a, 0, 2, 0, 2), v128.shuffle<u32>(b, b, 0, 2, 0, 2));
    case 0xf5: return i32x4.dot_i16x8_s(a, b); // PMADDWD (-32768 * -32768 twice wraps to 0x80000000, as on x86)
    case 0xf6: { // PSADBW: per qword the sum of the bytes' absolute differences, in its low word
      const d = i8x16.sub(i8x16.max_u(a, b), i8x16.min_u(a, b));
      const s = i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(d));
      return v128.and(i32x4.add(s, v128.shuffle<u32>(s, s, 1, 0, 3, 2)), i64x2.splat(0xffff));
    }
    case 0xf8: return i8x16.sub(a, b);
    case 0xf9: return i16x8.sub(a, b);
    case 0xfa: return i32x4.sub(a, b);
    case 0xfb: return i64x2.sub(a, b);
    case 0xfc: return i8x16.add(a, b);
    case 0xfd: return i16x8.add(a, b);
    case 0xfe: return i32x4.add(a, b);
    default: unreachable(); return a;
  }
}

// MMX form: mm, mm/m64
@inline export function mmx_op(op: u32): void {
  modrm();
  mmxBegin();
  const b = qRd();
  if (ASC_FEATURE_SIMD) mmSet(mreg, v2q(calc(op, q2v(mmGet(mreg)), q2v(b), false)));
  else {
    const t = S + S_SSE_TMP;
    store<u64>(t, mmGet(mreg));
    store<u64>(t + 16, b);
    calcS(op, t, t + 16, t + 32, 8);
    mmSet(mreg, load<u64>(t + 32));
  }
}
// SSE2 form (and the PS/PD logic): xmm, xmm/m128 (aligned)
@inline export function sse_op(op: u32): void {
  modrm();
  sseBegin();
  if (ASC_FEATURE_SIMD) {
    const b = wRd();
    xSet(mreg, calc(op, xGet(mreg), b, true));
  } else {
    const t = S + S_SSE_TMP;
    wRdTo(t + 16);
    calcS(op, xmmA(mreg), t + 16, t + 32, 16);
    copy16(xmmA(mreg), t + 32);
  }
}

// ---- shifts by an immediate (0F 71, 72, 73: /2 right logical, /4 right arithmetic, /6 left;
// 66 0F 73 also /3 PSRLDQ and /7 PSLLDQ, by bytes). Register operands only. ---------------------
@inline function shiftImm(w: u32, r: u32, a: v128, c: u32): v128 {
  if (r == 2) return srl(w, a, c);
  if (r == 6) return sll(w, a, c);
  return sra(w, a, c); // r == 4, w < 64 (checked by the callers)
}
@inline function shiftOk(w: u32, r: u32): bool { return r == 2 || r == 6 || (r == 4 && w != 64); }
@inline export function mmx_shift_imm(w: u32): void {
  modrm();
  const c = fetch8();
  mmxBegin();
  if (mmem || !shiftOk(w, mreg)) ud();
  if (ASC_FEATURE_SIMD) mmSet(mrmi, v2q(shiftImm(w, mreg, q2v(mmGet(mrmi)), c)));
  else {
    const t = S + S_SSE_TMP;
    store<u64>(t, mmGet(mrmi));
    shiftS(mreg, w, t, c, 8);
    mmSet(mrmi, load<u64>(t));
  }
}
@inline export function sse_shift_imm(w: u32): void {
  modrm();
  const c = fetch8();
  sseBegin();
  if (mmem) ud();
  if (ASC_FEATURE_SIMD) {
    if (w == 64 && (mreg == 3 || mreg == 7)) { xSet(mrmi, byteShift(xGet(mrmi), c, mreg == 7)); return; }
    if (!shiftOk(w, mreg)) ud();
    xSet(mrmi, shiftImm(w, mreg, xGet(mrmi), c));
  } else {
    if (w == 64 && (mreg == 3 || mreg == 7)) { byteShiftS(xmmA(mrmi), c, mreg == 7); return; }
    if (!shiftOk(w, mreg)) ud();
    shiftS(mreg, w, xmmA(mrmi), c, 16);
  }
}
// PSRLDQ / PSLLDQ: by whole bytes (a count above 15 empties the register), through the scratch
// area: zeros, the value, zeros; read 16 bytes at the shifted place
function byteShift(v: v128, c: u32, left: bool): v128 {
  if (c > 16) c = 16;
  const t = S + S_SSE_TMP;
  v128.store(t, ZERO());
  v128.store(t, v, 16);
  v128.store(t, ZERO(), 32);
  return v128.load(left ? t + 16 - c : t + 16 + c);
}
// the same on the register at p, without SIMD
function byteShiftS(p: usize, c: u32, left: bool): void {
  if (c > 16) c = 16;
  const t = S + S_SSE_TMP;
  zero16(t);
  copy16(t + 16, p);
  zero16(t + 32);
  copy16(p, left ? t + 16 - c : t + 16 + c);
}
