// Comparisons: fcom/fcomp/fcompp, fucom/fucomp/fucompp, ficom/ficomp, ftst (condition codes
// C3 C2 C0: > 000, < 001, = 100, unordered 111), fcomi/fcomip/fucomi/fucomip (the same result
// in ZF PF CF), and fxam.
import { setArith } from "../flags";
import { F_CF, F_PF, F_ZF } from "../layout";
import {
  fpEx, fpSetCC, fpGet, fpEmpty, fpPhys, fpExt, fpExtValid, fpPop, fpUnderflow, fpTagEmpty, fpReg,
  fpTop, fpWideAt, SW_IE, SW_DE, SW_C0, SW_C1, SW_C2, SW_C3, SW_CC,
} from "./state";
import { isSNaN64, isInf64, signBit } from "./round";
import { f64ToExt, cvM, cvSE } from "./ext80";
import { extDen } from "./wide";

// magnitude order of two finite values, one of them wide (wa/wb: image addresses or 0)
let kM: u64 = 0;
let kE: i32 = 0;
function key(x: f64, w: u32): void {
  let m: u64, ex: i32;
  if (w != 0) { m = load<u64>(w); ex = <i32>(load<u16>(w, 8) & 0x7fff); }
  else { f64ToExt(x); m = cvM; ex = <i32>(cvSE & 0x7fff); }
  if (m == 0) { kM = 0; kE = -100000; return; }
  const lz = <i32>clz(m);
  kM = m << lz;
  kE = (ex == 0 ? 1 : ex) - lz;
}
function cmpWide(a: f64, wa: u32, b: f64, wb: u32): i32 {
  const na = signBit(a) && a != 0, nb = signBit(b) && b != 0; // the stand-ins carry the sign
  if (na != nb) return na ? 1 : 0;
  key(a, wa);
  const am = kM, ae = kE;
  key(b, wb);
  if (am == kM && ae == kE) return 2;
  const bigger = ae != kE ? ae > kE : am > kM; // |a| > |b|
  return bigger != na ? 0 : 1;
}

// compare a with b; returns 0 (>), 1 (<), 2 (=), 3 (unordered) or -1 when an unmasked
// exception leaves the condition codes alone. den: b was a denormal memory operand.
function cmp(a: f64, b: f64, wa: u32, wb: u32, unordered: bool, den: bool): i32 {
  if (a != a || b != b) {
    if (!unordered || isSNaN64(a) || isSNaN64(b)) { if (!fpEx(SW_IE)) return -1; }
    return 3;
  }
  if (den || extDen(wa) || extDen(wb)) { if (!fpEx(SW_DE)) return -1; }
  if ((wa | wb) != 0) return cmpWide(a, wa, b, wb);
  return a > b ? 0 : a < b ? 1 : 2;
}

@inline function ccOf(r: i32): u32 {
  return r == 0 ? 0 : r == 1 ? SW_C0 : r == 2 ? SW_C3 : SW_C3 | SW_C2 | SW_C0;
}
@inline function flOf(r: i32): u32 {
  return r == 0 ? 0 : r == 1 ? F_CF : r == 2 ? F_ZF : F_ZF | F_PF | F_CF;
}

// fcom family against a value (memory operand or st(i) already read, wb its wide image or 0);
// pops = 0, 1 or 2
export function fcomVal(b: f64, wb: u32, unordered: bool, pops: u32, den: bool): void {
  if (fpEmpty(0)) {
    if (!fpUnderflow()) return;
    fpSetCC(SW_CC, SW_C3 | SW_C2 | SW_C0);
  } else {
    const r = cmp(fpGet(0), b, fpWideAt(fpPhys(0)), wb, unordered, den);
    if (r < 0) return;
    fpSetCC(SW_CC, ccOf(r));
  }
  for (let k: u32 = 0; k < pops; k++) fpPop();
}
export function fcomSt(i: u32, unordered: bool, pops: u32): void {
  if (fpEmpty(i)) {
    if (!fpUnderflow()) return;
    fpSetCC(SW_CC, SW_C3 | SW_C2 | SW_C0);
    for (let k: u32 = 0; k < pops; k++) fpPop();
    return;
  }
  fcomVal(fpGet(i), fpWideAt(fpPhys(i)), unordered, pops, false);
}
// fcomi/fucomi(p): EFLAGS ZF PF CF, OF SF AF cleared; C1 cleared
export function fcomi(i: u32, unordered: bool, pop: bool): void {
  let r: i32;
  const p0 = fpTop(), pi = (p0 + i) & 7;
  if (fpTagEmpty(p0) || fpTagEmpty(pi)) {
    if (!fpUnderflow()) return;
    r = 3;
  } else {
    r = cmp(load<f64>(fpReg(p0)), load<f64>(fpReg(pi)), fpWideAt(p0), fpWideAt(pi), unordered, false);
    if (r < 0) return;
    fpSetCC(SW_C1, 0);
  }
  setArith(flOf(r));
  if (pop) fpPop();
}
export function ftst(): void {
  if (fpEmpty(0)) {
    if (!fpUnderflow()) return;
    fpSetCC(SW_CC, SW_C3 | SW_C2 | SW_C0);
    return;
  }
  const a = fpGet(0);
  if (a != a) { if (!fpEx(SW_IE)) return; fpSetCC(SW_CC, SW_C3 | SW_C2 | SW_C0); return; }
  if (extDen(fpWideAt(fpPhys(0)))) { if (!fpEx(SW_DE)) return; }
  fpSetCC(SW_CC, ccOf(a > 0 ? 0 : a < 0 ? 1 : 2));
}

// fxam: C3 C2 C0 = class, C1 = sign. A double denormal is a normal number in double-extended
// format, so it reports "normal" unless the exact image says otherwise.
export function fxam(): void {
  const p = fpPhys(0);
  const x = load<f64>(fpReg(p));
  let c: u32;
  let sign = signBit(x);
  if (fpTagEmpty(p)) c = SW_C3 | SW_C0;
  else if (fpExtValid(0)) {
    const e = fpExt(p);
    const m = load<u64>(e);
    const se = <u32>load<u16>(e, 8);
    sign = (se >> 15) != 0;
    const ex = se & 0x7fff;
    if (ex == 0x7fff) c = (m >> 63) == 0 ? 0 : (m << 1) == 0 ? SW_C2 | SW_C0 : SW_C0;
    else if (ex == 0) c = m == 0 ? SW_C3 : SW_C3 | SW_C2;
    else c = (m >> 63) == 0 ? 0 : SW_C2;
  } else if (x != x) c = SW_C0;
  else if (isInf64(x)) c = SW_C2 | SW_C0;
  else if (x == 0) c = SW_C3;
  else c = SW_C2;
  fpSetCC(SW_CC, c | (sign ? SW_C1 : 0));
}
