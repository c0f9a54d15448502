// SSE/SSE2 conversions between single, double and 32-bit integers in XMM, MMX and general
// registers (the table's fpcvt_* entries). Operand widths: a packed source in memory is m128
// (16-byte aligned) when all 16 bytes are converted, m64 when two lanes are; a scalar source is
// m32 or m64. The instructions that name an MMX register make the x87 -> MMX transition (TOP 0,
// all tags valid) and first take a pending x87 exception (#MF); CVTPI2PD from memory does
// neither. The result is written only when no unmasked exception is raised (fpvec.ts).
import { S, w32 } from "../state";
import { S_SSE_TMP } from "../layout";
import { modrm, mmem, mreg, mrmi } from "../fetch";
import { rmRd32 } from "../operand";
import {
  sseBegin, sseMmxBegin, simdFpFault, mxcsr, setMxcsr, xmmA, wRdTo, wRd32, wRd64, qRd, mmSet, mmTouch,
} from "./state";
import {
  fpCvt, CV_PI2PS, CV_PS2PI, CV_TPS2PI, CV_SI2SS, CV_SS2SI, CV_TSS2SI, CV_PS2PD, CV_SD2SS, CV_SS2SD,
  CV_DQ2PD, CV_PI2PD, CV_PD2PI, CV_TPD2PI, CV_SI2SD, CV_SD2SI,
  CV_TSD2SI,
} from "./fpvec";
import { mxOut } from "./fpmath";

const W128: u32 = 0; // source widths
const W64: u32 = 1;
const W32: u32 = 2;

// the XMM source (register or memory of the given width) at an address fpCvt reads
@inline function src(w: u32): usize {
  if (!mmem) return xmmA(mrmi);
  const t = S + S_SSE_TMP;
  if (w == W128) wRdTo(t);
  else if (w == W64) store<u64>(t, wRd64());
  else store<u32>(t, wRd32());
  return t;
}
@inline function run(op: u32, d: usize, s: usize): void {
  const mx = mxcsr();
  const ok = fpCvt(op, d, s, mx);
  if (mxOut != mx) setMxcsr(mxOut);
  if (!ok) simdFpFault();
}

// CVTPI2PS xmm, mm/m64 (the MMX transition even from memory)
export function fpcvt_pi2ps(): void {
  modrm();
  sseMmxBegin();
  const t = S + S_SSE_TMP;
  store<u64>(t, qRd());
  run(CV_PI2PS, xmmA(mreg), t);
  mmTouch();
}
// CVTPI2PD xmm, mm/m64 (the MMX transition only from a register)
export function fpcvt_pi2pd(): void {
  modrm();
  if (mmem) sseBegin();
  else sseMmxBegin();
  const t = S + S_SSE_TMP;
  store<u64>(t, qRd());
  run(CV_PI2PD, xmmA(mreg), t);
  if (!mmem) mmTouch();
}
// CVTSI2SS / CVTSI2SD xmm, r/m32
export function fpcvt_si2s(dbl: bool): void {
  modrm();
  sseBegin();
  const t = S + S_SSE_TMP;
  store<u32>(t, rmRd32());
  run(dbl ? CV_SI2SD : CV_SI2SS, xmmA(mreg), t);
}
// CVT(T)SS2SI / CVT(T)SD2SI r32, xmm/m32 (m64)
export function fpcvt_s2si(dbl: bool, tr: bool): void {
  modrm();
  sseBegin();
  const s = src(dbl ? W64 : W32);
  const t = S + S_SSE_TMP + 16;
  run(dbl ? (tr ? CV_TSD2SI : CV_SD2SI) : (tr ? CV_TSS2SI : CV_SS2SI), t, s);
  w32(mreg, load<u32>(t));
}
// CVT(T)PS2PI mm, xmm/m64 ; CVT(T)PD2PI mm, xmm/m128
export function fpcvt_p2pi(dbl: bool, tr: bool): void {
  modrm();
  sseMmxBegin();
  const s = src(dbl ? W128 : W64);
  const t = S + S_SSE_TMP + 16;
  run(dbl ? (tr ? CV_TPD2PI : CV_PD2PI) : (tr ? CV_TPS2PI : CV_PS2PI), t, s);
  mmSet(mreg, load<u64>(t));
}
// xmm <- xmm/m: CVTPS2PD (m64), CVTPD2PS (m128), CVTSS2SD (m32), CVTSD2SS (m64), CVTDQ2PS,
// CVT(T)PS2DQ (m128), CVTDQ2PD (m64), CVT(T)PD2DQ (m128)
export function fpcvt_x(op: u32): void {
  modrm();
  sseBegin();
  let w = W128;
  if (op == CV_PS2PD || op == CV_SD2SS || op == CV_DQ2PD) w = W64;
  else if (op == CV_SS2SD) w = W32;
  run(op, xmmA(mreg), src(w));
}

