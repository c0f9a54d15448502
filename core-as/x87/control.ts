// Control instructions: fldcw, fnstcw, fnstsw (m16 and AX), fnclex, fninit, fnstenv/fldenv,
// fnsave/frstor (14/28-byte environment by operand size; protected-mode layout with selector
// and offset pointers, real/V86-mode layout with 20/32-bit linear pointers), fwait.
import { S, o32, w16 } from "../state";
import { moff, mseg } from "../fetch";
import { linR } from "../seg";
import { lrd8, lrd16, lrd32, lwr16, lwr32 } from "../mmu";
import {
  S_FPU, FP_CW, FP_TAG, FP_IP, FP_CS, FP_DP, FP_DS, FP_OP, S_CR0, S_FLAGS, CR0_PE, CR0_MP, CR0_TS,
  F_VM, EXC_MF,
} from "../layout";
import { nm, raise, NO_ERR } from "../fault";
import {
  fpCW, fpSW, fpSWraw, fpSetSWraw, fpSetTop, fpTop, fpReg, fpExt, fpTagEmpty, fpRecalcES, SW_ES,
  fpPhysPutExt,
} from "./state";
import { mRd16, mDest, mWr80 } from "./mem";
import { f64ToExt, extToF64, cvM, cvSE } from "./ext80";

export function fldcw(): void {
  // bit 6 is reserved and reads as one; bits 13-15 read as zero
  store<u32>(S, (mRd16() & 0x1f7f) | 0x40, S_FPU + FP_CW);
  fpRecalcES();
}
export function fnstcw(): void { lwr16(mDest(2), fpCW()); }
export function fnstswM(): void { lwr16(mDest(2), fpSW()); }
export function fnstswAX(): void { w16(0, fpSW()); }
export function fnclex(): void { fpSetSWraw(fpSWraw() & 0x7f00); }
export function fninit(): void {
  store<u32>(S, 0x37f, S_FPU + FP_CW);
  fpSetSWraw(0);
  fpSetTop(0);
  store<u32>(S, 0xffff, S_FPU + FP_TAG);
  store<u32>(S, 0, S_FPU + FP_IP);
  store<u32>(S, 0, S_FPU + FP_CS);
  store<u32>(S, 0, S_FPU + FP_DP);
  store<u32>(S, 0, S_FPU + FP_DS);
  store<u32>(S, 0, S_FPU + FP_OP);
}

// WAIT/FWAIT: #NM only when both MP and TS are set; then any pending unmasked exception
export function fwait(): void {
  const cr0 = load<u32>(S, S_CR0);
  if ((cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS)) nm();
  if ((fpSWraw() & SW_ES) != 0) raise(EXC_MF, NO_ERR);
}

// ---- environment ----------------------------------------------------------------------------
@inline function protMode(): bool {
  return (load<u32>(S, S_CR0) & CR0_PE) != 0 && (load<u32>(S, S_FLAGS) & F_VM) == 0;
}
@inline function envSize(): u32 { return o32 ? 28 : 14; }

// tag word as software sees it: 00 valid, 01 zero, 10 special (NaN, infinity, denormal,
// unsupported), 11 empty
function fullTags(): u32 {
  let tw: u32 = 0;
  for (let p: u32 = 0; p < 8; p++) {
    let t: u32;
    if (fpTagEmpty(p)) t = 3;
    else if (load<u8>(fpExt(p), 10) != 0) {
      const m = load<u64>(fpExt(p));
      const e = <u32>load<u16>(fpExt(p), 8) & 0x7fff;
      t = e == 0 ? (m == 0 ? 1 : 2) : e == 0x7fff || (m >> 63) == 0 ? 2 : 0;
    } else {
      const x = load<f64>(fpReg(p));
      t = x == 0 ? 1 : (x != x || (reinterpret<u64>(x) << 1) == 0xffe0000000000000) ? 2 : 0;
    }
    tw |= t << (p << 1);
  }
  return tw;
}

function envStore(lin: u32): void {
  const f = S + S_FPU;
  const fip = load<u32>(f, FP_IP), fcs = load<u32>(f, FP_CS), fop = load<u32>(f, FP_OP) & 0x7ff;
  const fdp = load<u32>(f, FP_DP), fds = load<u32>(f, FP_DS);
  const tw = fullTags();
  if (o32) {
    lwr32(lin, 0xffff0000 | fpCW());
    lwr32(lin + 4, 0xffff0000 | fpSW());
    lwr32(lin + 8, 0xffff0000 | tw);
    if (protMode()) {
      lwr32(lin + 12, fip);
      lwr32(lin + 16, (fcs & 0xffff) | (fop << 16));
      lwr32(lin + 20, fdp);
      lwr32(lin + 24, fds & 0xffff);
    } else {
      const li = (fcs << 4) + fip, ld = (fds << 4) + fdp;
      lwr32(lin + 12, 0xffff0000 | (li & 0xffff));
      lwr32(lin + 16, ((li >> 16) << 12) | fop);
      lwr32(lin + 20, 0xffff0000 | (ld & 0xffff));
      lwr32(lin + 24, (ld >> 16) << 12);
    }
  } else {
    lwr16(lin, fpCW());
    lwr16(lin + 2, fpSW());
    lwr16(lin + 4, tw);
    if (protMode()) {
      lwr16(lin + 6, fip);
      lwr16(lin + 8, fcs);
      lwr16(lin + 10, fdp);
      lwr16(lin + 12, fds);
    } else {
      const li = (fcs << 4) + fip, ld = (fds << 4) + fdp;
      lwr16(lin + 6, li);
      lwr16(lin + 8, (((li >> 16) & 15) << 12) | fop);
      lwr16(lin + 10, ld);
      lwr16(lin + 12, ((ld >> 16) & 15) << 12);
    }
  }
}

// Reads may only start changing state once the whole area is known to be readable: the
// segment check covers all of it and one read per page touched maps every page.
function srcArea(n: u32): u32 {
  const lin = linR(mseg, moff, n);
  lrd8(lin);
  lrd8(lin + n - 1);
  return lin;
}

function envLoad(lin: u32): void {
  const f = S + S_FPU;
  let cw: u32, sw: u32, tw: u32;
  if (o32) {
    cw = lrd16(lin); sw = lrd16(lin + 4); tw = lrd16(lin + 8);
    if (protMode()) {
      store<u32>(f, lrd32(lin + 12), FP_IP);
      const w = lrd32(lin + 16);
      store<u32>(f, w & 0xffff, FP_CS);
      store<u32>(f, (w >> 16) & 0x7ff, FP_OP);
      store<u32>(f, lrd32(lin + 20), FP_DP);
      store<u32>(f, lrd16(lin + 24), FP_DS);
    } else {
      const w = lrd32(lin + 16);
      store<u32>(f, (lrd16(lin + 12)) | (((w >> 12) & 0xffff) << 16), FP_IP);
      store<u32>(f, 0, FP_CS);
      store<u32>(f, w & 0x7ff, FP_OP);
      store<u32>(f, (lrd16(lin + 20)) | (((lrd32(lin + 24) >> 12) & 0xffff) << 16), FP_DP);
      store<u32>(f, 0, FP_DS);
    }
  } else {
    cw = lrd16(lin); sw = lrd16(lin + 2); tw = lrd16(lin + 4);
    if (protMode()) {
      store<u32>(f, lrd16(lin + 6), FP_IP);
      store<u32>(f, lrd16(lin + 8), FP_CS);
      store<u32>(f, lrd16(lin + 10), FP_DP);
      store<u32>(f, lrd16(lin + 12), FP_DS);
    } else {
      const w = lrd16(lin + 8);
      store<u32>(f, lrd16(lin + 6) | ((w >> 12) << 16), FP_IP);
      store<u32>(f, 0, FP_CS);
      store<u32>(f, w & 0x7ff, FP_OP);
      store<u32>(f, lrd16(lin + 10) | ((lrd16(lin + 12) >> 12) << 16), FP_DP);
      store<u32>(f, 0, FP_DS);
    }
  }
  store<u32>(f, (cw & 0x1f7f) | 0x40, FP_CW);
  fpSetSWraw(sw);
  fpSetTop(sw >> 11);
  // only empty versus not empty is kept; the other tags follow from the contents
  let t: u32 = 0;
  for (let p: u32 = 0; p < 8; p++) if (((tw >> (p << 1)) & 3) == 3) t |= <u32>3 << (p << 1);
  store<u32>(f, t, FP_TAG);
  fpRecalcES();
}

export function fnstenv(): void {
  const lin = mDest(envSize());
  envStore(lin);
  store<u32>(S, fpCW() | 0x3f, S_FPU + FP_CW); // fnstenv masks every exception afterwards,
  fpRecalcES(); // which also clears ES and B (as the host CPU shows)
}
export function fldenv(): void {
  envLoad(srcArea(envSize()));
}

export function fnsave(): void {
  const n = envSize();
  const lin = mDest(n + 80);
  envStore(lin);
  for (let i: u32 = 0; i < 8; i++) {
    const p = (fpTop() + i) & 7;
    const e = fpExt(p);
    if (load<u8>(e, 10) != 0) mWr80(lin + n + i * 10, load<u64>(e), load<u16>(e, 8));
    else {
      f64ToExt(load<f64>(fpReg(p)));
      mWr80(lin + n + i * 10, cvM, cvSE);
    }
  }
  fninit();
}
export function frstor(): void {
  const n = envSize();
  const lin = srcArea(n + 80);
  envLoad(lin);
  for (let i: u32 = 0; i < 8; i++) {
    const p = (fpTop() + i) & 7;
    const a = lin + n + i * 10;
    const m = <u64>lrd32(a) | (<u64>lrd32(a + 4) << 32);
    const se = lrd16(a + 8);
    fpPhysPutExt(p, extToF64(m, se), m, se);
  }
}
