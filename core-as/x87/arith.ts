// Arithmetic: fadd/fmul/fsub/fsubr/fdiv/fdivr in their memory, register and popping forms,
// fsqrt, frndint, fscale, fxtract, fprem, fprem1.
import {
  fpOk, fpEx, fpC1, fpSetCC, fpPut, fpGet, fpEmpty, fpPop, fpPush, fpUnderflow, fpOverflow, fpRC, indef,
  fpTop, fpTagEmpty, fpReg, fpPhys, fpWideAt, SW_IE, SW_ZE, SW_DE, SW_PE, SW_C0, SW_C1, SW_C2, SW_C3,
} from "./state";
import { fpBinop, fpSqrt, nanPick, rcRound, scale2, expOf, isInf64, signBit } from "./round";
import { split, dS, dE, wideResult, clearWide, fpPutRes } from "./wide";

// st(0) = st(0) op v, v a memory operand already read (op: 0 add, 1 mul, 4 sub, 5 subr, 6 div,
// 7 divr); den: v is a denormal. The denormal-operand exception comes after the stack check,
// and the host CPU does not raise it with a NaN operand nor when dividing the denormal by zero.
export function fpArithMem(op: u32, v: f64, den: bool): void {
  const p = fpTop();
  if (fpTagEmpty(p)) {
    if (fpUnderflow()) fpPut(0, indef());
    return;
  }
  const a = load<f64>(fpReg(p));
  if (den && a == a && !(op == 7 && a == 0)) { if (!fpEx(SW_DE)) return; }
  const r = fpBinop(op, a, v, fpWideAt(p), 0);
  if (fpOk) fpPutRes(0, r);
}
// st(d) = st(d) op st(s), then pop if asked
export function fpArithReg(op: u32, d: u32, s: u32, pop: bool): void {
  const pd = fpPhys(d), ps = fpPhys(s);
  if (fpTagEmpty(pd) || fpTagEmpty(ps)) {
    if (!fpUnderflow()) return;
    fpPut(d, indef());
  } else {
    const r = fpBinop(op, load<f64>(fpReg(pd)), load<f64>(fpReg(ps)), fpWideAt(pd), fpWideAt(ps));
    if (!fpOk) return;
    fpPutRes(d, r);
  }
  if (pop) fpPop();
}

// unary operations on st(0): the stack-underflow response is common
@inline function st0OrUnderflow(): bool {
  if (!fpEmpty(0)) return true;
  if (fpUnderflow()) fpPut(0, indef());
  return false;
}

export function fsqrt(): void {
  if (!st0OrUnderflow()) return;
  const r = fpSqrt(fpGet(0), fpWideAt(fpPhys(0)));
  if (fpOk) fpPutRes(0, r);
}

export function frndint(): void {
  if (!st0OrUnderflow()) return;
  const x = fpGet(0);
  if (x != x) { const r = nanPick(x, x); if (fpOk) fpPut(0, r); return; }
  // a wide value of magnitude 2^1024 or more is an integer already
  if (fpWideAt(fpPhys(0)) != 0 && Math.abs(x) > 1) { fpC1(false); return; }
  const r = rcRound(x, fpRC());
  if (r != x) {
    fpC1(Math.abs(r) > Math.abs(x));
    if (!fpEx(SW_PE)) return;
  } else fpC1(false);
  fpPut(0, r);
}

// st(0) * 2^trunc(st(1)): exact unless the register range is left
export function fscale(): void {
  if (fpEmpty(0) || fpEmpty(1)) {
    if (fpUnderflow()) fpPut(0, indef());
    return;
  }
  const x = fpGet(0), y = fpGet(1);
  const wx = fpWideAt(fpPhys(0)), wy = fpWideAt(fpPhys(1));
  let r: f64;
  clearWide();
  if (x != x || y != y) r = nanPick(x, y);
  else if (isInf64(y)) {
    if ((x == 0 && y > 0) || (isInf64(x) && y < 0)) { fpEx(SW_IE); r = indef(); }
    else if (x == 0 || isInf64(x)) r = x;
    else r = y > 0 ? (signBit(x) ? -Infinity : Infinity) : (signBit(x) ? -0.0 : 0.0);
    fpC1(false);
  } else if (x == 0 || isInf64(x)) { r = x; fpC1(false); }
  else {
    // a wide st(1) is beyond 2^1024 (any huge scale leaves the range) or below 1 (scale 0)
    const t = wy != 0 ? (Math.abs(y) > 1 ? y : 0) : trunc<f64>(y);
    const n: i32 = t > 100000 ? 100000 : t < -100000 ? -100000 : <i32>t;
    split(x, wx);
    r = wideResult(dS, 0, dE + n);
  }
  if (fpOk) fpPutRes(0, r);
}

// st(0) = exponent, then push the significand
export function fxtract(): void {
  if (fpEmpty(0)) {
    if (!fpUnderflow()) return;
    fpPut(0, indef());
    fpPush(indef());
    return;
  }
  if (!fpEmpty(7)) {
    if (fpOverflow()) { fpPut(0, indef()); fpPush(indef()); }
    return;
  }
  const x = fpGet(0);
  let e: f64, m: f64;
  fpC1(false);
  if (x != x) { e = nanPick(x, x); m = e; }
  else if (x == 0) {
    if (!fpEx(SW_ZE)) return;
    e = -Infinity; m = x;
  } else if (isInf64(x)) { e = Infinity; m = x; }
  else {
    split(x, fpWideAt(fpPhys(0)));
    e = <f64>dE;
    m = dS;
  }
  if (!fpOk) return;
  fpPut(0, e);
  fpPush(m);
}

// Partial remainder. fprem truncates the quotient, fprem1 rounds it to nearest (IEEE). When the
// exponents differ by 64 or more only a partial reduction is done (C2 = 1) and the instruction is
// meant to be repeated; otherwise C0, C3, C1 receive the quotient's low bits Q2, Q1, Q0 and
// C2 = 0.
export function fprem(ieee: bool): void {
  if (fpEmpty(0) || fpEmpty(1)) {
    if (fpUnderflow()) fpPut(0, indef());
    return;
  }
  const a = fpGet(0), b = fpGet(1);
  if (a != a || b != b) { const r = nanPick(a, b); if (fpOk) { fpPut(0, r); fpSetCC(SW_C2, 0); } return; }
  if (isInf64(a) || b == 0) {
    if (!fpEx(SW_IE)) return;
    fpPut(0, indef());
    fpSetCC(SW_C2, 0);
    return;
  }
  if (a == 0 || isInf64(b)) { fpSetCC(SW_C0 | SW_C1 | SW_C2 | SW_C3, 0); return; }
  const d = expOf(a) - expOf(b);
  if (d >= 64) {
    // the hardware reduces by a multiple of 32 binary places, leaving a difference of 32..63
    const bb = scale2(b, (d & ~31) - 32);
    fpPut(0, a % bb);
    fpSetCC(SW_C2, SW_C2);
    return;
  }
  let r = a % b; // exact
  const ab = Math.abs(b);
  let q: u32;
  const b8 = ab * 8;
  if (!isInf64(b8)) q = <u32>nearest<f64>(Math.abs((a % b8) - r) / ab) & 7;
  else q = <u32>nearest<f64>(Math.abs(a - r) / ab) & 7;
  if (ieee) {
    const ar = Math.abs(r);
    const rest = ab - ar;
    if (ar > rest || (ar == rest && (q & 1) != 0)) {
      r = r - (signBit(r) ? -ab : ab);
      q = (q + 1) & 7;
    }
    if (r == 0) r = signBit(a) ? -0.0 : 0.0;
  }
  fpPut(0, r);
  fpSetCC(SW_C0 | SW_C1 | SW_C2 | SW_C3,
    ((q & 4) != 0 ? SW_C0 : 0) | ((q & 2) != 0 ? SW_C3 : 0) | ((q & 1) != 0 ? SW_C1 : 0));
}
