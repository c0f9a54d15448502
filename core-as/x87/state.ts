// x87 register stack, tags, status/control words, exception signalling and the #NM/#MF gate.
//
// Registers are kept as f64 (physical order, FP_ST): 80-bit extended precision is NOT modelled,
// every arithmetic result is rounded to a 53-bit significand and the precision-control field of
// the control word is ignored. The exponent range is the register's (15 bits): results beyond
// the double range are kept as "wide" exact images (below), so, as on hardware with PC=double,
// they overflow/underflow (and denormalize, a second rounding) only when stored. To keep data that only passes
// through the FPU exact, each physical register also has a slot at FP_EXT holding an exact
// 80-bit image (u64 significand, u16 sign/exponent, u8 valid flag at +10). Loads that produce an
// exact 80-bit value (fld m80, fild m64, fbld, frstor, constants) fill it; fxch/fld st(i)/fst
// st(i)/fchs/fabs carry it along; every other write invalidates it. Stores to m80, integer
// stores and fsave use the image when it is valid, so fld m80 -> fstp m80 and fild m64 ->
// fistp m64 (gcc's 64-bit atomic load/store on i586) are bit-exact.
//
// Tags: FP_TAG keeps the hardware 2-bit encoding, but internally only "empty" (3) versus
// "valid" (0) is written; fnstenv/fnsave compute zero/special tags from the contents.
import { S, ip0 } from "../state";
import {
  S_FPU, FP_CW, FP_SW, FP_TOP, FP_TAG, FP_IP, FP_CS, FP_DP, FP_DS, FP_OP, FP_EXT,
  S_CR0, CR0_EM, CR0_TS, EXC_MF, S_SEG, SEG_SIZE, SG_SEL, SG_BASE, SEG_CS,
} from "../layout";
import { nm, raise, NO_ERR } from "../fault";
import { mrm, moff, mseg } from "../fetch";

// status word bits
export const SW_IE: u32 = 0x0001;
export const SW_DE: u32 = 0x0002;
export const SW_ZE: u32 = 0x0004;
export const SW_OE: u32 = 0x0008;
export const SW_UE: u32 = 0x0010;
export const SW_PE: u32 = 0x0020;
export const SW_SF: u32 = 0x0040;
export const SW_ES: u32 = 0x0080;
export const SW_C0: u32 = 0x0100;
export const SW_C1: u32 = 0x0200;
export const SW_C2: u32 = 0x0400;
export const SW_C3: u32 = 0x4000;
export const SW_B: u32 = 0x8000;
export const SW_CC: u32 = 0x4700;
export const SW_EXC: u32 = 0x003f;

// QNaN "real indefinite": the masked response to an invalid operation
export const INDEF_BITS: u64 = 0xfff8000000000000;
@inline export function indef(): f64 { return reinterpret<f64>(INDEF_BITS); }

// Set when the current instruction must not write its result (an unmasked exception that the
// SDM says leaves the destination and the stack unchanged). Reset by fpBegin().
export let fpOk: bool = true;
@inline export function fpFail(): void { fpOk = false; }

@inline export function fpReg(p: u32): u32 { return S + S_FPU + (p << 3); } // FP_ST = 0
@inline export function fpExt(p: u32): u32 { return S + S_FPU + FP_EXT + (p << 4); }
@inline export function fpTop(): u32 { return load<u32>(S, S_FPU + FP_TOP); }
@inline export function fpSetTop(t: u32): void { store<u32>(S, t & 7, S_FPU + FP_TOP); }
@inline export function fpPhys(i: u32): u32 { return (fpTop() + i) & 7; }
@inline export function fpCW(): u32 { return load<u32>(S, S_FPU + FP_CW); }
@inline export function fpRC(): u32 { return (fpCW() >> 10) & 3; }
@inline export function fpSWraw(): u32 { return load<u32>(S, S_FPU + FP_SW); }
@inline export function fpSetSWraw(v: u32): void { store<u32>(S, v & 0xc7ff, S_FPU + FP_SW); }
// the architectural status word, TOP included
@inline export function fpSW(): u32 { return (fpSWraw() & 0xc7ff) | (fpTop() << 11); }

@inline export function fpTagEmpty(p: u32): bool { return ((load<u32>(S, S_FPU + FP_TAG) >> (p << 1)) & 3) == 3; }
@inline export function fpEmpty(i: u32): bool { return fpTagEmpty(fpPhys(i)); }
@inline export function fpTagSet(p: u32, t: u32): void {
  const w = load<u32>(S, S_FPU + FP_TAG);
  store<u32>(S, (w & ~(<u32>3 << (p << 1))) | (t << (p << 1)), S_FPU + FP_TAG);
}

@inline export function fpGet(i: u32): f64 { return load<f64>(fpReg(fpPhys(i))); }
// write a computed value: the register becomes valid and its exact image stale
export function fpPut(i: u32, v: f64): void {
  const p = fpPhys(i);
  store<f64>(fpReg(p), v);
  store<u8>(fpExt(p), 0, 10);
  fpTagSet(p, 0);
}
// Valid byte of the image: 1 = exact image of the value (the double holds it rounded to
// nearest); 2 = "wide", a finite nonzero value beyond the double range (exponent above 1023 or
// below -1022: arithmetic results that only overflow or underflow when stored, loads of such
// m80 values). The double of a wide register is a stand-in of the same sign and class (the
// nearest double, kept nonzero and finite), so code that only looks at the class stays right;
// arithmetic, stores and compares read the image.
export const EXT_EXACT: u8 = 1;
export const EXT_WIDE: u8 = 2;
const MAXD: f64 = 1.7976931348623157e308;
// write physical register p's value from an exact image; v is the image rounded to nearest
export function fpPhysPutExt(p: u32, v: f64, m: u64, se: u32): void {
  const e = fpExt(p);
  store<u64>(e, m);
  store<u16>(e, <u16>se, 8);
  const ex = se & 0x7fff;
  let kind = EXT_EXACT;
  // finite nonzero numbers (unnormals excluded) outside [2^-1022, 2^1024)
  if (ex != 0x7fff && m != 0 && (ex == 0 || (m >> 63) != 0) && (ex < 16383 - 1022 || ex > 16383 + 1023)) {
    kind = EXT_WIDE;
    const neg = (se & 0x8000) != 0;
    if (ex > 16383) v = neg ? -MAXD : MAXD;
    else if (v == 0) v = reinterpret<f64>((neg ? <u64>0x8000000000000000 : 0) | 1);
  }
  store<u8>(e, kind, 10);
  store<f64>(fpReg(p), v);
}
// write a value together with its exact 80-bit image
export function fpPutExt(i: u32, v: f64, m: u64, se: u32): void {
  const p = fpPhys(i);
  fpPhysPutExt(p, v, m, se);
  fpTagSet(p, 0);
}
@inline export function fpExtValid(i: u32): bool { return load<u8>(fpExt(fpPhys(i)), 10) != 0; }
// image address of physical register p when it is wide, else 0
@inline export function fpWideAt(p: u32): u32 {
  const e = fpExt(p);
  return load<u8>(e, 10) == EXT_WIDE ? e : 0;
}
// copy register st(src) (value, image, validity) into st(dst)
export function fpCopy(dst: u32, src: u32): void {
  const d = fpPhys(dst), s = fpPhys(src);
  store<f64>(fpReg(d), load<f64>(fpReg(s)));
  const de = fpExt(d), se = fpExt(s);
  store<u64>(de, load<u64>(se));
  store<u64>(de, load<u64>(se, 8), 8);
  fpTagSet(d, 0);
}

// ---- condition codes ------------------------------------------------------------------------
@inline export function fpSetCC(mask: u32, v: u32): void {
  fpSetSWraw((fpSWraw() & ~mask) | (v & mask));
}
@inline export function fpC1(on: bool): void { fpSetCC(SW_C1, on ? SW_C1 : 0); }

// ---- exceptions -----------------------------------------------------------------------------
// Record exception flags; with any of them unmasked, ES and B are set so that the next waiting
// FP instruction raises #MF. Returns true when the instruction goes on to deliver its result:
// all flags masked, or only the precision exception unmasked (the rounded result is still
// delivered). Otherwise fpOk turns false and the destination and the stack stay as they were.
// (For unmasked overflow/underflow with a register destination the hardware would deliver a
// result with a biased exponent; here the destination is kept instead.)
export function fpEx(bits: u32): bool {
  let sw = fpSWraw() | bits;
  const un = bits & ~fpCW() & SW_EXC;
  if (un != 0) sw |= SW_ES | SW_B;
  fpSetSWraw(sw);
  if ((un & ~SW_PE) != 0) { fpOk = false; return false; }
  return true;
}
// stack underflow (reading an empty register): IE|SF with C1 = 0
export function fpUnderflow(): bool {
  fpC1(false);
  return fpEx(SW_IE | SW_SF);
}
// stack overflow (pushing onto a valid register): IE|SF with C1 = 1
export function fpOverflow(): bool {
  fpC1(true);
  return fpEx(SW_IE | SW_SF);
}
// ES/B follow the flags and the masks after the control or status word was loaded
export function fpRecalcES(): void {
  const sw = fpSWraw();
  if ((sw & ~fpCW() & SW_EXC) != 0) fpSetSWraw(sw | SW_ES | SW_B);
  else fpSetSWraw(sw & ~(SW_ES | SW_B));
}

// ---- stack ----------------------------------------------------------------------------------
// Push v. On overflow the masked response pushes the indefinite; unmasked, nothing changes.
export function fpPush(v: f64): bool {
  const p = (fpTop() - 1) & 7;
  if (!fpTagEmpty(p)) {
    if (!fpOverflow()) return false;
    v = indef();
  } else fpC1(false);
  fpSetTop(p);
  fpPut(0, v);
  return true;
}
// push with an exact 80-bit image (the image is dropped if the push overflows)
export function fpPushExt(v: f64, m: u64, se: u32): bool {
  const p = (fpTop() - 1) & 7;
  if (!fpTagEmpty(p)) return fpPush(v);
  fpC1(false);
  fpSetTop(p);
  fpPutExt(0, v, m, se);
  return true;
}
export function fpPop(): void {
  const t = fpTop();
  fpTagSet(t, 3);
  fpSetTop(t + 1);
}

// ---- entry gate -----------------------------------------------------------------------------
// Every ESC (D8-DF) instruction: #NM when CR0.EM or CR0.TS is set (SDM vol. 3 table 2-2), then,
// for the waiting forms, #MF when an unmasked exception is pending. #MF is raised whatever
// CR0.NE says: the FERR#/IRQ13 route of NE=0 is not modelled (the instruction faults instead).
export function fpBegin(wait: bool): void {
  if ((load<u32>(S, S_CR0) & (CR0_EM | CR0_TS)) != 0) nm();
  if (wait && (fpSWraw() & SW_ES) != 0) raise(EXC_MF, NO_ERR);
  fpOk = true;
}

// Remember the last non-control instruction (FIP/FCS/FOP) and its memory operand (FDP/FDS).
export function fpNote(op: u32, mem: bool): void {
  const cs = S + S_SEG + SEG_CS * SEG_SIZE;
  store<u32>(S, ip0 - load<u32>(cs, SG_BASE), S_FPU + FP_IP);
  store<u32>(S, load<u32>(cs, SG_SEL) & 0xffff, S_FPU + FP_CS);
  store<u32>(S, ((op & 7) << 8) | mrm, S_FPU + FP_OP);
  if (mem) {
    store<u32>(S, moff, S_FPU + FP_DP);
    store<u32>(S, load<u32>(S + S_SEG + mseg * SEG_SIZE, SG_SEL) & 0xffff, S_FPU + FP_DS);
  }
}
