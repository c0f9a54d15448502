// Transcendental instructions, computed with the double-precision math of AssemblyScript's
// NativeMath (correctly rounded or within an ulp). Results are reported inexact (PE) unless
// trivially exact; C1 (round-up) is left 0. Operands of magnitude 2^63 and above make
// fsin/fcos/fsincos/fptan set C2 and leave the stack alone, as on hardware.
import {
  fpOk, fpEx, fpC1, fpSetCC, fpPut, fpGet, fpEmpty, fpPop, fpPush, fpUnderflow, fpOverflow, indef,
  SW_IE, SW_ZE, SW_PE, SW_C2,
} from "./state";
import { nanPick, isInf64, signBit } from "./round";

const TWO63: f64 = 9223372036854775808.0;
const INV_LN2: f64 = 1.4426950408889634;

@inline function inexact(r: f64, exact: bool): f64 {
  if (!exact) fpEx(SW_PE);
  return r;
}

// kind: 0 fsin, 1 fcos, 2 fsincos, 3 fptan
export function ftrig(kind: u32): void {
  const two = kind >= 2;
  if (fpEmpty(0)) {
    if (!fpUnderflow()) return;
    fpPut(0, indef());
    if (two) fpPush(indef());
    return;
  }
  if (two && !fpEmpty(7)) {
    if (fpOverflow()) { fpPut(0, indef()); fpPush(indef()); }
    return;
  }
  const x = fpGet(0);
  fpC1(false);
  let a: f64, b: f64 = 1.0;
  if (x != x) { a = nanPick(x, x); b = a; }
  else if (isInf64(x)) {
    if (!fpEx(SW_IE)) return;
    a = indef(); b = a;
  } else if (Math.abs(x) >= TWO63) {
    fpSetCC(SW_C2, SW_C2);
    return;
  } else if (kind == 0) a = inexact(Math.sin(x), x == 0);
  else if (kind == 1) a = inexact(Math.cos(x), x == 0);
  else if (kind == 2) { a = inexact(Math.sin(x), x == 0); b = Math.cos(x); }
  else a = inexact(Math.tan(x), x == 0);
  if (!fpOk) return;
  fpSetCC(SW_C2, 0);
  fpPut(0, a);
  if (two) fpPush(b);
}

// two-operand forms: st(1) = f(st(1), st(0)), pop
function binaryPop(r: f64): void {
  if (!fpOk) return;
  fpPut(1, r);
  fpPop();
}
@inline function bothValid(): bool {
  if (!fpEmpty(0) && !fpEmpty(1)) return true;
  if (fpUnderflow()) { fpPut(1, indef()); fpPop(); }
  return false;
}

export function fpatan(): void {
  if (!bothValid()) return;
  const x = fpGet(0), y = fpGet(1);
  fpC1(false);
  if (x != x || y != y) { binaryPop(nanPick(y, x)); return; }
  binaryPop(inexact(Math.atan2(y, x), y == 0 || (isInf64(x) && !isInf64(y) && x > 0)));
}

// st(1) * log2(st(0))
export function fyl2x(): void {
  if (!bothValid()) return;
  const x = fpGet(0), y = fpGet(1);
  fpC1(false);
  let r: f64;
  if (x != x || y != y) r = nanPick(x, y);
  else if (x < 0 || (x == 1 && isInf64(y)) || ((x == 0 || isInf64(x)) && y == 0)) {
    fpEx(SW_IE);
    r = indef();
  } else if (x == 0) {
    if (!isInf64(y)) fpEx(SW_ZE);
    r = signBit(y) ? Infinity : -Infinity;
  } else if (isInf64(x)) r = signBit(y) ? -Infinity : Infinity;
  else if (isInf64(y)) r = x > 1 ? y : -y;
  else if (x == 1) r = y * 0.0;
  else r = inexact(y * Math.log2(x), false);
  binaryPop(r);
}

// st(1) * log2(st(0) + 1), for |st(0)| < 1 - sqrt(2)/2 (computed outside that range too)
export function fyl2xp1(): void {
  if (!bothValid()) return;
  const x = fpGet(0), y = fpGet(1);
  fpC1(false);
  let r: f64;
  if (x != x || y != y) r = nanPick(x, y);
  else if (x < -1 || (x == 0 && isInf64(y)) || (x == -1 && y == 0)) { fpEx(SW_IE); r = indef(); }
  else if (x == 0) r = (signBit(x) != signBit(y)) ? -0.0 : 0.0;
  else if (x == -1) { fpEx(SW_ZE); r = signBit(y) ? Infinity : -Infinity; }
  else r = inexact(y * (Math.log1p(x) * INV_LN2), false);
  binaryPop(r);
}

// 2^st(0) - 1, for -1 <= st(0) <= 1 (computed outside that range too)
export function f2xm1(): void {
  if (fpEmpty(0)) {
    if (fpUnderflow()) fpPut(0, indef());
    return;
  }
  const x = fpGet(0);
  fpC1(false);
  let r: f64;
  if (x != x) r = nanPick(x, x);
  else if (x == 0 || x == Infinity) r = x;
  else if (x == -Infinity) r = -1.0;
  else r = inexact(Math.expm1(x * 0.6931471805599453), false);
  if (fpOk) fpPut(0, r);
}
