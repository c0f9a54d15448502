// SSE/SSE2/SSE3 floating-point instructions on 128-bit values in memory (an XMM register in
// the state block, or an operand read into a buffer): every lane is computed, the flags of all
// lanes are collected, and the destination is written only when no unmasked exception is
// raised. Each function returns false for an unmasked exception (the caller delivers #XM or
// #UD); the new MXCSR (flags set either way) is `mxOut` of fpmath.ts. The source is read
// completely before the destination is written (they may be the same register).
import {
  mxBegin, mxEnd, add32, sub32, mul32, div32, sqrt32, add64, sub64, mul64, div64, sqrt64,
  minmax32, minmax64, cmp32, cmp64, comi32, comi64, rcp32, rsqrt32, cvt32to64, cvt64to32,
  cvtI32to32, cvtI32to64, cvt32toI32, cvt64toI32,
} from "./fpmath";

// forms of an arithmetic group (the mandatory prefix): none PS, F3 SS, 66 PD, F2 SD
export const F_PS: u32 = 0;
export const F_SS: u32 = 1;
export const F_PD: u32 = 2;
export const F_SD: u32 = 3;
// operations
export const OP_ADD: u32 = 0;
export const OP_SUB: u32 = 1;
export const OP_MUL: u32 = 2;
export const OP_DIV: u32 = 3;
export const OP_MIN: u32 = 4;
export const OP_MAX: u32 = 5;
export const OP_SQRT: u32 = 6;
export const OP_RCP: u32 = 7; // PS, SS only
export const OP_RSQRT: u32 = 8; // PS, SS only
export const OP_CMP: u32 = 9; // imm: the predicate
export const OP_ADDSUB: u32 = 10; // PS (F2 prefix), PD (66)
export const OP_HADD: u32 = 11; // PS (F2), PD (66)
export const OP_HSUB: u32 = 12; // PS (F2), PD (66)

function lane32(op: u32, a: u32, b: u32, imm: u32): u32 {
  switch (op) {
    case OP_ADD: return add32(a, b);
    case OP_SUB: return sub32(a, b);
    case OP_MUL: return mul32(a, b);
    case OP_DIV: return div32(a, b);
    case OP_MIN: return minmax32(a, b, false);
    case OP_MAX: return minmax32(a, b, true);
    case OP_SQRT: return sqrt32(b);
    case OP_RCP: return rcp32(b);
    case OP_RSQRT: return rsqrt32(b);
    default: return cmp32(a, b, imm) ? 0xffffffff : 0;
  }
}
function lane64(op: u32, a: u64, b: u64, imm: u32): u64 {
  switch (op) {
    case OP_ADD: return add64(a, b);
    case OP_SUB: return sub64(a, b);
    case OP_MUL: return mul64(a, b);
    case OP_DIV: return div64(a, b);
    case OP_MIN: return minmax64(a, b, false);
    case OP_MAX: return minmax64(a, b, true);
    case OP_SQRT: return sqrt64(b);
    default: return cmp64(a, b, imm) ? 0xffffffffffffffff : 0;
  }
}

// d = d op s in the given form; scalar forms read only the low lane of s and keep d's upper
// lanes
export function fpArith(op: u32, form: u32, d: usize, s: usize, imm: u32, mx: u32): bool {
  mxBegin(mx);
  if (form == F_PS) {
    const a0 = load<u32>(d), a1 = load<u32>(d, 4), a2 = load<u32>(d, 8), a3 = load<u32>(d, 12);
    const b0 = load<u32>(s), b1 = load<u32>(s, 4), b2 = load<u32>(s, 8), b3 = load<u32>(s, 12);
    let r0: u32, r1: u32, r2: u32, r3: u32;
    if (op == OP_ADDSUB) {
      r0 = sub32(a0, b0); r1 = add32(a1, b1); r2 = sub32(a2, b2); r3 = add32(a3, b3);
    } else if (op == OP_HADD) {
      r0 = add32(a0, a1); r1 = add32(a2, a3); r2 = add32(b0, b1); r3 = add32(b2, b3);
    } else if (op == OP_HSUB) {
      r0 = sub32(a0, a1); r1 = sub32(a2, a3); r2 = sub32(b0, b1); r3 = sub32(b2, b3);
    } else {
      r0 = lane32(op, a0, b0, imm); r1 = lane32(op, a1, b1, imm);
      r2 = lane32(op, a2, b2, imm); r3 = lane32(op, a3, b3, imm);
    }
    if (!mxEnd(mx)) return false;
    store<u32>(d, r0); store<u32>(d, r1, 4); store<u32>(d, r2, 8); store<u32>(d, r3, 12);
    return true;
  }
  if (form == F_PD) {
    const a0 = load<u64>(d), a1 = load<u64>(d, 8);
    const b0 = load<u64>(s), b1 = load<u64>(s, 8);
    let r0: u64, r1: u64;
    if (op == OP_ADDSUB) { r0 = sub64(a0, b0); r1 = add64(a1, b1); }
    else if (op == OP_HADD) { r0 = add64(a0, a1); r1 = add64(b0, b1); }
    else if (op == OP_HSUB) { r0 = sub64(a0, a1); r1 = sub64(b0, b1); }
    else { r0 = lane64(op, a0, b0, imm); r1 = lane64(op, a1, b1, imm); }
    if (!mxEnd(mx)) return false;
    store<u64>(d, r0); store<u64>(d, r1, 8);
    return true;
  }
  if (form == F_SS) {
    const r = lane32(op, load<u32>(d), load<u32>(s), imm);
    if (!mxEnd(mx)) return false;
    store<u32>(d, r);
    return true;
  }
  const r = lane64(op, load<u64>(d), load<u64>(s), imm);
  if (!mxEnd(mx)) return false;
  store<u64>(d, r);
  return true;
}

// COMISS/UCOMISS (dbl false), COMISD/UCOMISD: the low lanes of a and b; the result is the
// EFLAGS value of ZF PF CF (all other arithmetic flags clear) in comiFlags
export let comiFlags: u32 = 0;
export function fpComi(dbl: bool, quiet: bool, a: usize, b: usize, mx: u32): bool {
  mxBegin(mx);
  comiFlags = dbl ? comi64(load<u64>(a), load<u64>(b), quiet) : comi32(load<u32>(a), load<u32>(b), quiet);
  return mxEnd(mx);
}

// conversions: d receives the bytes the instruction writes (an XMM register, an MMX register
// image, or a 32-bit general register), s holds the source (an integer source in its low bytes)
export const CV_PI2PS: u32 = 0; // xmm[0..1] <- mm int32 x2 (rounded)
export const CV_PS2PI: u32 = 1; // mm <- 2 singles, RC
export const CV_TPS2PI: u32 = 2; // mm <- 2 singles, truncated
export const CV_SI2SS: u32 = 3; // xmm[0] <- r/m32
export const CV_SS2SI: u32 = 4; // r32 <- single, RC
export const CV_TSS2SI: u32 = 5;
export const CV_PD2PS: u32 = 6; // xmm <- 2 doubles as singles, upper half zero
export const CV_PS2PD: u32 = 7; // xmm <- 2 singles widened
export const CV_SD2SS: u32 = 8; // xmm[0] <- double
export const CV_SS2SD: u32 = 9; // xmm[0..1] (the low double) <- single
export const CV_DQ2PS: u32 = 10; // 4 int32 -> 4 singles
export const CV_PS2DQ: u32 = 11;
export const CV_TPS2DQ: u32 = 12;
export const CV_DQ2PD: u32 = 13; // 2 int32 -> 2 doubles
export const CV_PD2DQ: u32 = 14; // 2 doubles -> 2 int32, upper half zero
export const CV_TPD2DQ: u32 = 15;
export const CV_PI2PD: u32 = 16; // mm int32 x2 -> 2 doubles
export const CV_PD2PI: u32 = 17; // 2 doubles -> mm
export const CV_TPD2PI: u32 = 18;
export const CV_SI2SD: u32 = 19;
export const CV_SD2SI: u32 = 20;
export const CV_TSD2SI: u32 = 21;

export function fpCvt(op: u32, d: usize, s: usize, mx: u32): bool {
  mxBegin(mx);
  switch (op) {
    case CV_PI2PS: {
      const r0 = cvtI32to32(load<i32>(s)), r1 = cvtI32to32(load<i32>(s, 4));
      if (!mxEnd(mx)) return false;
      store<u32>(d, r0); store<u32>(d, r1, 4);
      return true;
    }
    case CV_PS2PI: case CV_TPS2PI: {
      const t = op == CV_TPS2PI;
      const r0 = cvt32toI32(load<u32>(s), t), r1 = cvt32toI32(load<u32>(s, 4), t);
      if (!mxEnd(mx)) return false;
      store<u32>(d, r0); store<u32>(d, r1, 4);
      return true;
    }
    case CV_SI2SS: {
      const r = cvtI32to32(load<i32>(s));
      if (!mxEnd(mx)) return false;
      store<u32>(d, r);
      return true;
    }
    case CV_SS2SI: case CV_TSS2SI: {
      const r = cvt32toI32(load<u32>(s), op == CV_TSS2SI);
      if (!mxEnd(mx)) return false;
      store<u32>(d, r);
      return true;
    }
    case CV_PD2PS: {
      const r0 = cvt64to32(load<u64>(s)), r1 = cvt64to32(load<u64>(s, 8));
      if (!mxEnd(mx)) return false;
      store<u32>(d, r0); store<u32>(d, r1, 4); store<u64>(d, 0, 8);
      return true;
    }
    case CV_PS2PD: {
      const r0 = cvt32to64(load<u32>(s)), r1 = cvt32to64(load<u32>(s, 4));
      if (!mxEnd(mx)) return false;
      store<u64>(d, r0); store<u64>(d, r1, 8);
      return true;
    }
    case CV_SD2SS: {
      const r = cvt64to32(load<u64>(s));
      if (!mxEnd(mx)) return false;
      store<u32>(d, r);
      return true;
    }
    case CV_SS2SD: {
      const r = cvt32to64(load<u32>(s));
      if (!mxEnd(mx)) return false;
      store<u64>(d, r);
      return true;
    }
    case CV_DQ2PS: {
      const r0 = cvtI32to32(load<i32>(s)), r1 = cvtI32to32(load<i32>(s, 4));
      const r2 = cvtI32to32(load<i32>(s, 8)), r3 = cvtI32to32(load<i32>(s, 12));
      if (!mxEnd(mx)) return false;
      store<u32>(d, r0); store<u32>(d, r1, 4); store<u32>(d, r2, 8); store<u32>(d, r3, 12);
      return true;
    }
    case CV_PS2DQ: case CV_TPS2DQ: {
      const t = op == CV_TPS2DQ;
      const r0 = cvt32toI32(load<u32>(s), t), r1 = cvt32toI32(load<u32>(s, 4), t);
      const r2 = cvt32toI32(load<u32>(s, 8), t), r3 = cvt32toI32(load<u32>(s, 12), t);
      if (!mxEnd(mx)) return false;
      store<u32>(d, r0); store<u32>(d, r1, 4); store<u32>(d, r2, 8); store<u32>(d, r3, 12);
      return true;
    }
    case CV_DQ2PD: case CV_PI2PD: {
      const r0 = cvtI32to64(load<i32>(s)), r1 = cvtI32to64(load<i32>(s, 4));
      store<u64>(d, r0); store<u64>(d, r1, 8);
      return mxEnd(mx);
    }
    case CV_PD2DQ: case CV_TPD2DQ: case CV_PD2PI: case CV_TPD2PI: {
      const t = op == CV_TPD2DQ || op == CV_TPD2PI;
      const r0 = cvt64toI32(load<u64>(s), t), r1 = cvt64toI32(load<u64>(s, 8), t);
      if (!mxEnd(mx)) return false;
      store<u32>(d, r0); store<u32>(d, r1, 4);
      if (op == CV_PD2DQ || op == CV_TPD2DQ) store<u64>(d, 0, 8);
      return true;
    }
    case CV_SI2SD: {
      store<u64>(d, cvtI32to64(load<i32>(s)));
      return mxEnd(mx);
    }
    default: { // CV_SD2SI, CV_TSD2SI
      const r = cvt64toI32(load<u64>(s), op == CV_TSD2SI);
      if (!mxEnd(mx)) return false;
      store<u32>(d, r);
      return true;
    }
  }
}
