// Data transfer: fld/fst/fstp of f32, f64, f80 and registers, fild/fist/fistp of 16/32/64-bit
// integers, fbld/fbstp (18-digit packed BCD), the constants, fxch, fcmovcc, ffree, fincstp,
// fdecstp, fchs, fabs, fisttp (SSE3).
import { lwr16, lwr32, lwr8 } from "../mmu";
import { lrd8 } from "../mmu";
import { linR } from "../seg";
import { moff, mseg } from "../fetch";
import { cond } from "../flags";
import {
  fpOk, fpEx, fpC1, fpPush, fpPushExt, fpPop, fpPut, fpGet, fpEmpty, fpPhys, fpExt,
  fpExtValid, fpCopy, fpUnderflow, fpTagSet, fpTop, fpSetTop, fpRC, fpReg, indef, SW_IE,
} from "./state";
import { mRd16, mRd32, mRd64, mRd80, mRdHi, mDest, mWr64, mWr80, f32Val, f64Val, memDen } from "./mem";
import { f64ToExt, extToF64, i64ToExt, extToInt, extRound, cvM, cvSE, cvInt, cvInexact, cvUp } from "./ext80";
import { isSNaN64, quiet64, toF32, toInt, intRes, signBit } from "./round";
import { SW_PE, SW_DE, INDEF_BITS, fpCW } from "./state";
import { S } from "../state";
import { S_FPU, FP_CW } from "../layout";

// ---- loads ----------------------------------------------------------------------------------
// fld of an f32/f64 value: an SNaN signals IE and loads quieted
// (a stack overflow suppresses the other exceptions: the indefinite is pushed)
function fldVal(v: f64, den: bool): void {
  if (fpEmpty(7)) {
    if (isSNaN64(v)) { if (!fpEx(SW_IE)) return; v = quiet64(v); }
    else if (den) { if (!fpEx(SW_DE)) return; }
  }
  fpPush(v);
}
export function fldM32(): void { const v = f32Val(mRd32()); fldVal(v, memDen); }
export function fldM64(): void { const v = f64Val(mRd64()); fldVal(v, memDen); }
export function fldM80(): void {
  const m = mRd80();
  const se = mRdHi;
  fpPushExt(extToF64(m, se), m, se);
}
export function fildM16(): void { fpPush(<f64><i16>mRd16()); }
export function fildM32(): void { fpPush(<f64><i32>mRd32()); }
export function fildM64(): void {
  const v = <i64>mRd64();
  i64ToExt(v);
  fpPushExt(<f64>v, cvM, cvSE);
}
// packed BCD: 18 digits, low digit first, sign in bit 7 of byte 9 (invalid digits are taken as
// they come: the result is undefined on hardware)
export function fbld(): void {
  const lin = linR(mseg, moff, 10);
  let v: i64 = 0;
  for (let k: i32 = 8; k >= 0; k--) {
    const b = lrd8(lin + <u32>k);
    v = v * 100 + <i64>((b >> 4) * 10 + (b & 15));
  }
  const neg = (lrd8(lin + 9) & 0x80) != 0;
  i64ToExt(v);
  let se = cvSE;
  if (neg) { se |= 0x8000; v = -v; }
  const f = <f64>v;
  fpPushExt(neg && v == 0 ? -0.0 : f, cvM, se);
}

// constants: exact 80-bit images rounded by RC from the 66-bit internal values; `frac` tells
// whether the discarded part is above one half (round-to-nearest goes up)
function fldConst(m: u64, e: u32, above: bool): void {
  const rc = fpRC();
  const mm = (rc == 2 || (rc == 0 && above)) ? m + 1 : m;
  fpPushExt(extToF64(mm, e), mm, e);
}
export function fld1(): void { fpPush(1.0); }
export function fldz(): void { fpPush(0.0); }
export function fldl2t(): void { fldConst(0xd49a784bcd1b8afe, 0x4000, false); }
export function fldl2e(): void { fldConst(0xb8aa3b295c17f0bb, 0x3fff, true); }
export function fldpi(): void { fldConst(0xc90fdaa22168c234, 0x4000, true); }
export function fldlg2(): void { fldConst(0x9a209a84fbcff798, 0x3ffd, true); }
export function fldln2(): void { fldConst(0xb17217f7d1cf79ab, 0x3ffe, true); }

// fld st(i): the source is read before the push changes TOP
export function fldSt(i: u32): void {
  if (fpEmpty(i)) {
    // underflow wins over a simultaneous overflow: C1 = 0, the indefinite is pushed
    if (!fpUnderflow()) return;
    fpSetTop(fpTop() - 1);
    fpPut(0, indef());
    return;
  }
  const p = fpPhys(i);
  const np = (fpTop() - 1) & 7;
  if (!fpEmpty(7)) { fpPush(0); return; } // overflow: the push does the masked response
  fpC1(false);
  fpSetTop(np);
  store<f64>(fpReg(np), load<f64>(fpReg(p)));
  store<u64>(fpExt(np), load<u64>(fpExt(p)));
  store<u64>(fpExt(np), load<u64>(fpExt(p), 8), 8);
  fpTagSet(np, 0);
}

// ---- stores ---------------------------------------------------------------------------------
// st(0)'s exact image when it has one that stores differently from its double (a number: the
// store rounds it by RC with its own OE/UE/PE/C1); 0 otherwise
function st0Image(): u32 {
  const p = fpPhys(0);
  const e = fpExt(p);
  if (load<u8>(e, 10) == 0) return 0;
  const se = <u32>load<u16>(e, 8);
  const ex = se & 0x7fff;
  if (ex == 0x7fff || (ex != 0 && (load<u64>(e) >> 63) == 0)) return 0; // NaN, infinity, unnormal
  return e;
}

export function fstM32(pop: bool): void {
  const lin = mDest(4);
  let b: u32;
  if (fpEmpty(0)) {
    if (!fpUnderflow()) return;
    b = 0xffc00000;
  } else {
    const e = st0Image();
    if (e != 0) b = <u32>extRound(load<u64>(e), load<u16>(e, 8), 24, -126, 127, 8);
    else b = toF32(fpGet(0));
    if (!fpOk) return;
  }
  lwr32(lin, b);
  if (pop) fpPop();
}
export function fstM64(pop: bool): void {
  const lin = mDest(8);
  let v: u64;
  if (fpEmpty(0)) {
    if (!fpUnderflow()) return;
    v = INDEF_BITS;
  } else {
    const e = st0Image();
    if (e != 0) {
      v = extRound(load<u64>(e), load<u16>(e, 8), 53, -1022, 1023, 11);
      if (!fpOk) return;
    } else {
      fpC1(false);
      let x = fpGet(0);
      if (isSNaN64(x)) { if (!fpEx(SW_IE)) return; x = quiet64(x); }
      v = reinterpret<u64>(x);
    }
  }
  mWr64(lin, v);
  if (pop) fpPop();
}
export function fstpM80(): void {
  const lin = mDest(10);
  if (fpEmpty(0)) {
    if (!fpUnderflow()) return;
    mWr80(lin, 0xc000000000000000, 0xffff);
  } else {
    fpC1(false);
    if (fpExtValid(0)) {
      const e = fpExt(fpPhys(0));
      mWr80(lin, load<u64>(e), load<u16>(e, 8));
    } else {
      f64ToExt(fpGet(0));
      mWr80(lin, cvM, cvSE);
    }
  }
  fpPop();
}

// st(0) rounded by RC to an integer of `bits` bits; false on invalid (IE already reported)
let ivSign: bool = false;
function stInt(bits: u32): bool {
  if (fpEmpty(0)) { ivSign = true; return false; }
  const x = fpGet(0);
  ivSign = signBit(x);
  let ok: bool;
  if (fpExtValid(0)) {
    const e = fpExt(fpPhys(0));
    ok = extToInt(load<u64>(e), load<u16>(e, 8), fpRC(), bits);
    if (ok) {
      intResX = cvInt;
      fpC1(cvUp);
      if (cvInexact) fpEx(SW_PE);
    }
  } else {
    ok = toInt(x, bits);
    if (ok) intResX = intRes;
  }
  return ok;
}
let intResX: i64 = 0;
// integer indefinite (the most negative value) for invalid conversions
function intOrIndef(bits: u32): bool {
  if (fpEmpty(0)) { if (!fpUnderflow()) return false; intResX = <i64>1 << (bits - 1); return true; }
  if (stInt(bits)) return true;
  fpC1(false);
  if (!fpEx(SW_IE)) return false;
  intResX = <i64>1 << (bits - 1);
  return true;
}
export function fistM16(pop: bool): void {
  const lin = mDest(2);
  if (!intOrIndef(16)) return;
  lwr16(lin, <u32>intResX);
  if (pop) fpPop();
}
export function fistM32(pop: bool): void {
  const lin = mDest(4);
  if (!intOrIndef(32)) return;
  lwr32(lin, <u32>intResX);
  if (pop) fpPop();
}
export function fistpM64(): void {
  const lin = mDest(8);
  if (!intOrIndef(64)) return;
  mWr64(lin, <u64>intResX);
  fpPop();
}
// FISTTP (SSE3): store st(0) as an integer of `bits` bits truncated toward zero whatever RC says,
// then pop. The conversion runs with RC = chop for its duration (nothing in it can trap).
export function fisttp(bits: u32): void {
  const lin = mDest(bits >> 3);
  const cw = fpCW();
  store<u32>(S, cw | 0xc00, S_FPU + FP_CW);
  const ok = intOrIndef(bits);
  store<u32>(S, cw, S_FPU + FP_CW);
  if (!ok) return;
  if (bits == 16) lwr16(lin, <u32>intResX);
  else if (bits == 32) lwr32(lin, <u32>intResX);
  else mWr64(lin, <u64>intResX);
  fpPop();
}
export function fbstp(): void {
  const lin = mDest(10);
  let ok = !fpEmpty(0) && stInt(64);
  if (ok && (intResX > 999999999999999999 || intResX < -999999999999999999)) ok = false;
  if (!ok) {
    if (fpEmpty(0)) { if (!fpUnderflow()) return; }
    else { fpC1(false); if (!fpEx(SW_IE)) return; }
    mWr80(lin, 0xc000000000000000, 0xffff); // BCD indefinite
    fpPop();
    return;
  }
  let mag: u64 = intResX < 0 ? <u64>(0 - intResX) : <u64>intResX;
  for (let k: u32 = 0; k < 9; k++) {
    const lo = <u32>(mag % 10);
    mag /= 10;
    const hi = <u32>(mag % 10);
    mag /= 10;
    lwr8(lin + k, (hi << 4) | lo);
  }
  lwr8(lin + 9, ivSign ? 0x80 : 0);
  fpPop();
}

// ---- register moves -------------------------------------------------------------------------
// fst/fstp st(i)
export function fstSt(i: u32, pop: bool): void {
  if (fpEmpty(0)) {
    if (!fpUnderflow()) return;
    fpPut(i, indef());
  } else {
    fpC1(false);
    fpCopy(i, 0);
  }
  if (pop) fpPop();
}
export function fxch(i: u32): void {
  if (fpEmpty(0) || fpEmpty(i)) {
    if (!fpUnderflow()) return;
    if (fpEmpty(0)) fpPut(0, indef());
    if (fpEmpty(i)) fpPut(i, indef());
  } else fpC1(false);
  const a = fpPhys(0), b = fpPhys(i);
  const va = load<f64>(fpReg(a));
  store<f64>(fpReg(a), load<f64>(fpReg(b)));
  store<f64>(fpReg(b), va);
  const ea = fpExt(a), eb = fpExt(b);
  const x0 = load<u64>(ea), x1 = load<u64>(ea, 8);
  store<u64>(ea, load<u64>(eb));
  store<u64>(ea, load<u64>(eb, 8), 8);
  store<u64>(eb, x0);
  store<u64>(eb, x1, 8);
}
// fcmovcc: cc is the EFLAGS condition (jcc numbering)
export function fcmov(cc: u32, i: u32): void {
  if (fpEmpty(0) || fpEmpty(i)) {
    if (!fpUnderflow()) return;
    fpPut(0, indef());
    return;
  }
  if (cond(cc)) fpCopy(0, i); // C1 is left alone (as the host CPU does)
}
// C1 reads back as 0 after ffree/ffreep on the host CPU (the SDM says undefined)
export function ffree(i: u32): void { fpC1(false); fpTagSet(fpPhys(i), 3); }
export function fincstp(): void { fpC1(false); fpSetTop(fpTop() + 1); }
export function fdecstp(): void { fpC1(false); fpSetTop(fpTop() - 1); }

// fchs / fabs: sign-bit operations, NaN payloads and the exact image follow along
export function fsign(abs: bool): void {
  if (fpEmpty(0)) {
    if (!fpUnderflow()) return;
    fpPut(0, indef());
    return;
  }
  fpC1(false);
  const p = fpPhys(0);
  const b = load<u64>(fpReg(p));
  store<u64>(fpReg(p), abs ? b & 0x7fffffffffffffff : b ^ 0x8000000000000000);
  const e = fpExt(p);
  const se = load<u16>(e, 8);
  store<u16>(e, abs ? se & 0x7fff : se ^ 0x8000, 8);
}
