// Control flow: Jcc, JMP/CALL/RET near, LOOP/LOOPcc/JCXZ, INT n/INT3/INTO/INT1, BOUND, and
// group 5 (INC/DEC/CALL/JMP/PUSH r/m). Every near target is checked against the CS limit
// (#GP(0)) before ESP or EIP change; with a 16-bit operand size the new EIP is truncated to IP.
import { ip, o32, a32, lock, r16, r32, w16, w32 } from "../state";
import * as st from "../state";
import { SEG_CS, EXC_BR, EXC_BP, EXC_OF, EXC_DB } from "../layout";
import { modrm, mmem, mreg, mseg, moff, fetch8, fetch16, fetch32, fetchS8, amask } from "../fetch";
import { rmRdN, rmWrN, rmRdW } from "../operand";
import { segBase, segLimit, linR, linW, curEip } from "../seg";
import { lrd16, lrdN, lwrN, lhostW } from "../mmu";
import { push16, push32, peek16, peek32, setSp, spAdd } from "../stack";
import { cond, getZF, getOF, getCF, setLazy, szi, LF_INC, LF_DEC } from "../flags";
import { interrupt, INT_SOFT, INT_EXC } from "../intr";
import { raise, gp, ud, NO_ERR } from "../fault";
import { busLock, busUnlock } from "../buslock";
import { farJump, farCall } from "../fartransfer";
import { v86Sensitive } from "../descriptor";

// ---- near transfers ---------------------------------------------------------------------------
// jump to ip + d (d sign-extended); wide = 32-bit operand size
@inline function jumpRel(d: u32, wide: bool): void {
  const base = segBase(SEG_CS);
  let e = ip - base + d;
  if (!wide) e &= 0xffff;
  if (e > segLimit(SEG_CS)) gp(0);
  st.ip = base + e;
  st.head = true;
}
// new EIP given as an absolute offset (already truncated to the operand size)
@inline function jumpAbs(e: u32): void {
  if (e > segLimit(SEG_CS)) gp(0);
  st.ip = segBase(SEG_CS) + e;
  st.head = true;
}

@inline export function jcc_Jb(cc: u32): void {
  const d = fetchS8();
  st.head = true; // the fall-through starts a block too
  if (cond(cc)) jumpRel(d, o32);
}
@inline export function jcc_Jz(cc: u32, size: u32): void {
  const d = size == 4 ? fetch32() : fetch16();
  st.head = true;
  if (cond(cc)) jumpRel(d, size == 4);
}
@inline export function jmp_Jb(size: u32): void { jumpRel(fetchS8(), size == 4); }
@inline export function jmp_Jz(size: u32): void { jumpRel(size == 4 ? fetch32() : fetch16(), size == 4); }

@inline export function call_Jz(size: u32): void {
  const d = size == 4 ? fetch32() : fetch16();
  const base = segBase(SEG_CS);
  let r = ip - base;
  let e = r + d;
  if (size == 2) { r &= 0xffff; e &= 0xffff; }
  if (e > segLimit(SEG_CS)) gp(0);
  if (size == 4) push32(r); else push16(r);
  st.ip = base + e;
  st.head = true;
}

@inline export function ret(size: u32): void {
  const e = size == 4 ? peek32(0) : peek16(0);
  if (e > segLimit(SEG_CS)) gp(0);
  setSp(spAdd(size));
  st.ip = segBase(SEG_CS) + e;
  st.head = true;
}
@inline export function ret_Iw(size: u32): void {
  const n = fetch16();
  const e = size == 4 ? peek32(0) : peek16(0);
  if (e > segLimit(SEG_CS)) gp(0);
  setSp(spAdd(size + n));
  st.ip = segBase(SEG_CS) + e;
  st.head = true;
}

// ---- LOOP family: the counter is CX or ECX by address size ---------------------------------------
@inline function counter(): u32 { return a32 ? r32(1) : r16(1); }
@inline function setCounter(v: u32): void { if (a32) w32(1, v); else w16(1, v); }
@inline function loopCommon(size: u32, kind: u32): void {
  const d = fetchS8();
  const c = (counter() - 1) & (a32 ? 0xffffffff : 0xffff);
  let taken = c != 0;
  if (kind == 1) taken = taken && getZF();
  else if (kind == 2) taken = taken && !getZF();
  if (taken) jumpRel(d, size == 4); // may fault: the counter is written afterwards
  setCounter(c);
}
@inline export function loop(size: u32): void { loopCommon(size, 0); }
@inline export function loopz(size: u32): void { loopCommon(size, 1); }
@inline export function loopnz(size: u32): void { loopCommon(size, 2); }
@inline export function jcxz(size: u32): void {
  const d = fetchS8();
  if (counter() == 0) jumpRel(d, size == 4);
}

// ---- software interrupts: traps, the return address is the next instruction ----------------
export function int3(): void { interrupt(EXC_BP, NO_ERR, INT_SOFT); }
// INT n (not INT3, INTO or INT1) is IOPL-sensitive in virtual-8086 mode: #GP(0) below IOPL 3
export function int_Ib(): void { const v = fetch8(); v86Sensitive(); interrupt(v, NO_ERR, INT_SOFT); }
export function into(): void { if (getOF()) interrupt(EXC_OF, NO_ERR, INT_SOFT); }
// ICEBP (F1) raises #DB like a debug trap: the gate DPL is not checked, so it is not INT_SOFT
export function int1(): void { interrupt(EXC_DB, NO_ERR, INT_EXC); }

// BOUND r, m: signed bounds pair at m; outside -> #BR (a fault: EIP stays at BOUND)
@inline export function bound(size: u32): void {
  modrm();
  if (!mmem) ud();
  if (size == 4) {
    const lo = <i32>lrdN(linR(mseg, moff, 4), 4);
    const hi = <i32>lrdN(linR(mseg, amask(moff + 4), 4), 4);
    const v = <i32>r32(mreg);
    if (v < lo || v > hi) raise(EXC_BR, NO_ERR);
  } else {
    const lo = <i32><i16>lrd16(linR(mseg, moff, 2));
    const hi = <i32><i16>lrd16(linR(mseg, amask(moff + 2), 2));
    const v = <i32><i16>r16(mreg);
    if (v < lo || v > hi) raise(EXC_BR, NO_ERR);
  }
}

// ---- group 5: FF /0../6 ---------------------------------------------------------------------------
@inline export function grp5_Ev(size: u32): void {
  modrm();
  switch (mreg) {
    case 0: incDec(size, false); return;
    case 1: incDec(size, true); return;
    case 2: { // CALL near r/m
      const e = rmRdN(size);
      if (e > segLimit(SEG_CS)) gp(0);
      const r = curEip();
      if (size == 4) push32(r); else push16(r & 0xffff);
      st.ip = segBase(SEG_CS) + e;
      st.head = true;
      return;
    }
    case 3: case 5: { // CALL / JMP far m16:16 or m16:32
      if (!mmem) ud();
      const off = lrdN(linR(mseg, moff, size), size);
      const sel = lrd16(linR(mseg, amask(moff + size), 2));
      if (mreg == 3) farCall(sel, off, size); else farJump(sel, off, size);
      return;
    }
    case 4: jumpAbs(rmRdN(size)); return;
    case 6: { const v = rmRdN(size); if (size == 4) push32(v); else push16(v); return; }
    default: ud();
  }
}

// INC/DEC r/m: CF is preserved (kept in the lazy B operand)
function incDec(size: u32, dec: bool): void {
  const cf = getCF();
  let old: u32;
  if (lock) {
    const lin = linW(mseg, moff, size);
    const h = lhostW(lin, size);
    if (h != 0) {
      if (dec) old = size == 4 ? atomic.sub<u32>(h, 1) : <u32>atomic.sub<u16>(h, 1);
      else old = size == 4 ? atomic.add<u32>(h, 1) : <u32>atomic.add<u16>(h, 1);
    } else {
      busLock(); // (lhostW probed the write)
      old = lrdN(lin, size);
      lwrN(lin, dec ? old - 1 : old + 1, size);
      busUnlock();
    }
  } else {
    old = rmRdW(size);
    rmWrN(dec ? old - 1 : old + 1, size);
  }
  const res = (dec ? old - 1 : old + 1) & (size == 4 ? 0xffffffff : 0xffff);
  setLazy((dec ? LF_DEC : LF_INC) | szi(size), res, old, cf);
}
