// Opcode entry points D8-DF (the ModR/M reg field, and for register forms the whole ModR/M
// byte, select the instruction). Every entry first passes the #NM/#MF gate (fpBegin: the
// no-wait control forms skip the #MF check), decodes and executes; non-control instructions
// then record FIP/FCS/FOP (and FDP/FDS for a memory operand). Recording last is equivalent to
// recording first, since nothing inside an instruction reads the pointers, and a faulting
// memory access leaves them untouched.
//
// Register encodings that Intel leaves undocumented but that P6 executes as aliases are kept:
// D9 D8+i (fstp), DC D0+i / D8+i (fcom / fcomp), DD C8+i (fxch), DE D0+i (fcomp), DF C0+i
// (ffreep: free then pop), DF C8+i (fxch), DF D0+i / D8+i (fstp). Other empty slots are #UD.
import { modrm, fetch8, mmem, mreg, mrmi, mrm } from "../fetch";
import * as st from "../state";
import { ud } from "../fault";
import { fpBegin, fpNote, fpPop } from "./state";
import { mRd16, mRd32, mRd64, f32Val, f64Val, memDen } from "./mem";
import { fpArithMem, fpArithReg, fsqrt, frndint, fscale, fxtract, fprem } from "./arith";
import {
  fldM32, fldM64, fldM80, fildM16, fildM32, fildM64, fbld, fld1, fldz, fldl2t, fldl2e, fldpi, fldlg2,
  fldln2, fldSt, fstM32, fstM64, fstpM80, fistM16, fistM32, fistpM64, fbstp, fstSt, fxch, fcmov, ffree,
  fincstp, fdecstp, fsign, fisttp,
} from "./loadstore";
import { fcomVal, fcomSt, fcomi, ftst, fxam } from "./compare";
import { ftrig, fpatan, fyl2x, fyl2xp1, f2xm1 } from "./transcend";
import { fldcw, fnstcw, fnstswM, fnstswAX, fnclex, fninit, fnstenv, fldenv, fnsave, frstor } from "./control";


// the ModR/M byte without consuming it (to tell the no-wait forms before the #MF check)
function peekModrm(): u32 {
  const save = st.ip;
  const b = fetch8();
  st.ip = save;
  return b;
}

// memory-operand arithmetic group: 0 add, 1 mul, 2 com, 3 comp, 4 sub, 5 subr, 6 div, 7 divr
// (den: the operand was a denormal)
function memArith(v: f64, op: u32, den: bool): void {
  if (op == 2 || op == 3) fcomVal(v, 0, false, op - 2, den);
  else fpArithMem(op, v, den);
}
// register arithmetic with st(i) as destination (DC, DE): Intel's encodings of sub/subr and
// div/divr are swapped there relative to D8
@inline function revOp(op: u32): u32 { return op >= 4 ? op ^ 1 : op; }

export function fpu_d8(): void {
  fpBegin(true);
  modrm();
  if (mmem) { const v = f32Val(mRd32()); memArith(v, mreg, memDen); }
  else if (mreg == 2 || mreg == 3) fcomSt(mrmi, false, mreg - 2);
  else fpArithReg(mreg, 0, mrmi, false);
  fpNote(0, mmem);
}

export function fpu_dc(): void {
  fpBegin(true);
  modrm();
  if (mmem) { const v = f64Val(mRd64()); memArith(v, mreg, memDen); }
  else if (mreg == 2 || mreg == 3) fcomSt(mrmi, false, mreg - 2);
  else fpArithReg(revOp(mreg), mrmi, 0, false);
  fpNote(4, mmem);
}

export function fpu_da(): void {
  fpBegin(true);
  modrm();
  if (mmem) memArith(<f64><i32>mRd32(), mreg, false);
  else if (mreg < 4) fcmov(fcmovCC(mreg), mrmi);
  else if (mrm == 0xe9) fcomSt(1, true, 2); // fucompp
  else ud();
  fpNote(2, mmem);
}

export function fpu_de(): void {
  fpBegin(true);
  modrm();
  if (mmem) memArith(<f64><i16>mRd16(), mreg, false);
  else if (mreg == 3) { if (mrmi != 1) ud(); fcomSt(1, false, 2); } // fcompp
  else if (mreg == 2) fcomSt(mrmi, false, 1);
  else fpArithReg(revOp(mreg), mrmi, 0, true);
  fpNote(6, mmem);
}

export function fpu_d9(): void {
  const b = peekModrm();
  if (b < 0xc0 && ((b >> 3) & 7) >= 4) {
    // control forms: fldenv and fldcw wait, fnstenv and fnstcw do not; no FIP/FDP update
    const r = (b >> 3) & 7;
    fpBegin(r < 6);
    modrm();
    if (r == 4) fldenv(); else if (r == 5) fldcw(); else if (r == 6) fnstenv(); else fnstcw();
    return;
  }
  fpBegin(true);
  modrm();
  if (mmem) {
    if (mreg == 0) fldM32(); else if (mreg == 2) fstM32(false); else if (mreg == 3) fstM32(true); else ud();
    fpNote(1, true);
    return;
  }
  const op = mrm;
  if (op < 0xc8) fldSt(mrmi);
  else if (op < 0xd0) fxch(mrmi);
  else if (op >= 0xd8 && op < 0xe0) fstSt(mrmi, true);
  else {
    switch (op) {
      case 0xd0: break; // fnop
      case 0xe0: fsign(false); break;
      case 0xe1: fsign(true); break;
      case 0xe4: ftst(); break;
      case 0xe5: fxam(); break;
      case 0xe8: fld1(); break;
      case 0xe9: fldl2t(); break;
      case 0xea: fldl2e(); break;
      case 0xeb: fldpi(); break;
      case 0xec: fldlg2(); break;
      case 0xed: fldln2(); break;
      case 0xee: fldz(); break;
      case 0xf0: f2xm1(); break;
      case 0xf1: fyl2x(); break;
      case 0xf2: ftrig(3); break;
      case 0xf3: fpatan(); break;
      case 0xf4: fxtract(); break;
      case 0xf5: fprem(true); break;
      case 0xf6: fdecstp(); break;
      case 0xf7: fincstp(); break;
      case 0xf8: fprem(false); break;
      case 0xf9: fyl2xp1(); break;
      case 0xfa: fsqrt(); break;
      case 0xfb: ftrig(2); break;
      case 0xfc: frndint(); break;
      case 0xfd: fscale(); break;
      case 0xfe: ftrig(0); break;
      case 0xff: ftrig(1); break;
      default: ud(); return;
    }
  }
  fpNote(1, false);
}

// fcmovcc conditions (jcc numbering) by ModR/M reg: DA b, e, be, u; DB the negations
@inline function fcmovCC(r: u32): u32 { return r == 0 ? 2 : r == 1 ? 4 : r == 2 ? 6 : 10; }

export function fpu_db(): void {
  const b = peekModrm();
  if (b == 0xe2 || b == 0xe3) { // fnclex, fninit: no wait, control
    fpBegin(false);
    modrm();
    if (b == 0xe2) fnclex(); else fninit();
    return;
  }
  fpBegin(true);
  modrm();
  if (mmem) {
    switch (mreg) {
      case 0: fildM32(); break;
      case 2: fistM32(false); break;
      case 3: fistM32(true); break;
      case 5: fldM80(); break;
      case 7: fstpM80(); break;
      case 1: fisttp(32); break;
      default: ud(); return;
    }
  } else {
    const op = mrm;
    if (op < 0xe0) fcmov(fcmovCC(mreg) + 1, mrmi);
    else if (op == 0xe0 || op == 0xe1 || op == 0xe4) { /* feni, fdisi, fsetpm: no-ops since the 387 */ }
    else if (op >= 0xe8 && op < 0xf0) fcomi(mrmi, true, false);
    else if (op >= 0xf0 && op < 0xf8) fcomi(mrmi, false, false);
    else ud();
  }
  fpNote(3, mmem);
}

export function fpu_dd(): void {
  const b = peekModrm();
  const r = (b >> 3) & 7;
  if (b < 0xc0 && r >= 4) {
    // frstor waits, fnsave and fnstsw do not; none updates FIP/FDP
    fpBegin(r == 4);
    modrm();
    if (r == 4) frstor(); else if (r == 6) fnsave(); else if (r == 7) fnstswM(); else ud();
    return;
  }
  fpBegin(true);
  modrm();
  if (mmem) {
    if (mreg == 0) fldM64(); else if (mreg == 1) fisttp(64); else if (mreg == 2) fstM64(false); else if (mreg == 3) fstM64(true); else ud();
  } else {
    switch (mreg) {
      case 0: ffree(mrmi); break;
      case 1: fxch(mrmi); break;
      case 2: fstSt(mrmi, false); break;
      case 3: fstSt(mrmi, true); break;
      case 4: fcomSt(mrmi, true, 0); break;
      case 5: fcomSt(mrmi, true, 1); break;
      default: ud(); return;
    }
  }
  fpNote(5, mmem);
}

export function fpu_df(): void {
  if (peekModrm() == 0xe0) { fpBegin(false); modrm(); fnstswAX(); return; }
  fpBegin(true);
  modrm();
  if (mmem) {
    switch (mreg) {
      case 0: fildM16(); break;
      case 1: fisttp(16); break;
      case 2: fistM16(false); break;
      case 3: fistM16(true); break;
      case 4: fbld(); break;
      case 5: fildM64(); break;
      case 6: fbstp(); break;
      default: fistpM64(); break;
    }
  } else {
    switch (mreg) {
      case 0: ffree(mrmi); fpPop(); break; // ffreep
      case 1: fxch(mrmi); break;
      case 2: case 3: fstSt(mrmi, true); break;
      case 5: fcomi(mrmi, true, true); break;
      case 6: fcomi(mrmi, false, true); break;
      default: ud(); return;
    }
  }
  fpNote(7, mmem);
}
