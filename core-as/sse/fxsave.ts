// FXSAVE/FXRSTOR (the 512-byte image of SDM vol. 1 table 10-2, 32-bit layout) and
// LDMXCSR/STMXCSR.
//
//   0 FCW  2 FSW  4 abridged FTW (bit i: physical register i not empty)  6 FOP (11 bits)
//   8 FPU IP  12 FCS  16 FPU DP  20 FDS  24 MXCSR  28 MXCSR_MASK
//  32 + 16i  ST(i) / MMi: 10 bytes (the exact 80-bit image), 6 reserved bytes written as zero
// 160 + 16i  XMMi (i < 8); 288-511 reserved, not written
//
// Both need the operand 16-byte aligned (#GP(0)) and raise #NM when CR0.EM or CR0.TS is set;
// neither depends on CR4.OSFXSR (this CPU always saves the XMM registers). FXRSTOR raises #GP(0)
// for an MXCSR with a bit outside MXCSR_MASK set (0xFFFF: only bits 16-31), before
// anything changes.
import { S } from "../state";
import { mseg, moff } from "../fetch";
import { gp, nm } from "../fault";
import { linR, linW } from "../seg";
import { lrd8, lrd16, lrd32, lrd64, lwr8, lwr16, lwr32, lwr64, lprobeW } from "../mmu";
import {
  S_CR0, CR0_EM, CR0_TS, S_FPU, FP_CW, FP_TAG, FP_IP, FP_CS, FP_DP, FP_DS, FP_OP, MXCSR_MASK,
} from "../layout";
import { fpSW, fpSetSWraw, fpSetTop, fpTop, fpReg, fpExt, fpTagEmpty, fpPhysPutExt, fpRecalcES } from "../x87/state";
import { f64ToExt, extToF64, cvM, cvSE } from "../x87/ext80";
import { sseBegin, mxcsr, setMxcsr, xGet, xSet, xmmA, rd128, wr128, rd128To, wr128From } from "./state";

const AREA: u32 = 288; // bytes of the image that are read or written

function fxGate(): void {
  if ((load<u32>(S, S_CR0) & (CR0_EM | CR0_TS)) != 0) nm();
}

export function fxsave(): void {
  fxGate();
  const lin = linW(mseg, moff, 512);
  if ((lin & 15) != 0) gp(0);
  lprobeW(lin, AREA);
  const f = S + S_FPU;
  let ftw: u32 = 0;
  for (let p: u32 = 0; p < 8; p++) if (!fpTagEmpty(p)) ftw |= 1 << p;
  lwr16(lin, load<u32>(f, FP_CW));
  lwr16(lin + 2, fpSW());
  lwr8(lin + 4, ftw);
  lwr8(lin + 5, 0);
  lwr16(lin + 6, load<u32>(f, FP_OP) & 0x7ff);
  lwr32(lin + 8, load<u32>(f, FP_IP));
  lwr32(lin + 12, load<u32>(f, FP_CS) & 0xffff);
  lwr32(lin + 16, load<u32>(f, FP_DP));
  lwr32(lin + 20, load<u32>(f, FP_DS) & 0xffff);
  lwr32(lin + 24, mxcsr());
  lwr32(lin + 28, MXCSR_MASK);
  for (let i: u32 = 0; i < 8; i++) {
    const p = (fpTop() + i) & 7;
    const e = fpExt(p);
    let m: u64, se: u32;
    if (load<u8>(e, 10) != 0) { m = load<u64>(e); se = load<u16>(e, 8); }
    else { f64ToExt(load<f64>(fpReg(p))); m = cvM; se = cvSE; }
    const a = lin + 32 + (i << 4);
    lwr64(a, m);
    lwr64(a + 8, <u64>(se & 0xffff));
  }
  if (ASC_FEATURE_SIMD) for (let r: u32 = 0; r < 8; r++) wr128(lin + 160 + (r << 4), xGet(r));
  else for (let r: u32 = 0; r < 8; r++) wr128From(lin + 160 + (r << 4), xmmA(r));
}

export function fxrstor(): void {
  fxGate();
  const lin = linR(mseg, moff, 512);
  if ((lin & 15) != 0) gp(0);
  // every page of the area is readable and MXCSR valid before anything changes
  lrd8(lin);
  lrd8(lin + AREA - 1);
  const mx = lrd32(lin + 24);
  if ((mx & ~MXCSR_MASK) != 0) gp(0);
  const f = S + S_FPU;
  const cw = lrd16(lin), sw = lrd16(lin + 2), ftw = lrd8(lin + 4);
  store<u32>(f, (cw & 0x1f7f) | 0x40, FP_CW);
  store<u32>(f, lrd16(lin + 6) & 0x7ff, FP_OP);
  store<u32>(f, lrd32(lin + 8), FP_IP);
  store<u32>(f, lrd16(lin + 12), FP_CS);
  store<u32>(f, lrd32(lin + 16), FP_DP);
  store<u32>(f, lrd16(lin + 20), FP_DS);
  fpSetSWraw(sw);
  fpSetTop(sw >> 11);
  let t: u32 = 0;
  for (let p: u32 = 0; p < 8; p++) if (((ftw >> p) & 1) == 0) t |= <u32>3 << (p << 1);
  store<u32>(f, t, FP_TAG);
  fpRecalcES();
  for (let i: u32 = 0; i < 8; i++) {
    const a = lin + 32 + (i << 4);
    const m = lrd64(a);
    const se = lrd16(a + 8);
    fpPhysPutExt((fpTop() + i) & 7, extToF64(m, se), m, se);
  }
  if (ASC_FEATURE_SIMD) for (let r: u32 = 0; r < 8; r++) xSet(r, rd128(lin + 160 + (r << 4)));
  else for (let r: u32 = 0; r < 8; r++) rd128To(lin + 160 + (r << 4), xmmA(r));
  setMxcsr(mx);
}

// LDMXCSR m32 / STMXCSR m32 (SSE: the CR0/CR4 gate)
export function ldmxcsr(): void {
  sseBegin();
  const v = lrd32(linR(mseg, moff, 4));
  if ((v & ~MXCSR_MASK) != 0) gp(0);
  setMxcsr(v);
}
export function stmxcsr(): void {
  sseBegin();
  lwr32(linW(mseg, moff, 4), mxcsr());
}
