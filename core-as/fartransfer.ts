// Far control transfers (SDM vol. 2: JMP, CALL, RET, IRET; vol. 3 ch. 5.8 and 7): real mode,
// protected-mode code segments (conforming / non-conforming), call gates with a stack switch and
// parameter copy, returns to outer rings, and JMP/CALL/IRET into another task (the switch itself
// is in task.ts). The opcode handlers that call in here are in ops/farops.ts and ops/branch.ts.
// Virtual-8086 mode (SDM vol. 3, ch. 20): far transfers inside it load segments real-mode style
// (seg.ts segLoadV86); IRET inside it is IOPL-sensitive; IRET at CPL 0 with VM=1 in the popped
// EFLAGS enters it (the nine-dword frame interrupt delivery from it pushed, pmintr.ts).
import { S } from "./state";
import * as st from "./state";
import {
  S_FLAGS, S_CR0, S_CPL, CR0_PE, SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_TR, F_IF, F_IOPL, F_NT, F_RF, F_VM,
  F_VIF, F_VIP, EXC_GP, EXC_NP, EXC_SS, EXC_TS,
} from "./layout";
import { writeEflags } from "./eflags";
import { srd16, lrd16, lrd32, updateMode } from "./mmu";
import { raise } from "./fault";
import { segBase, segSel, segLimit, segSet, segLoadReal, segLoadV86, linR, curEip } from "./seg";
import { sp, setSp, spAdd, push16, push32, probePush } from "./stack";
import {
  dlo, dhi, daddr, readDesc, readGdtDesc, dBase, dLimit, dAttr, dType, dSys, dDpl, dPresent, dCode, dData, dRW,
  dConforming, setAccessed, loadCS, cpl, nullInaccessible, stkUse, stkUseCurrent, stkCheck, stkPush, stkCommitEsp,
} from "./descriptor";
import { tssStack, checkNewSS, nsSel, nsEsp, nsLo, nsHi, nsAddr, taskSwitch, TS_JMP, TS_CALL, TS_IRET } from "./task";

@inline function pe(): bool { return (load<u32>(S, S_CR0) & CR0_PE) != 0; }
@inline function vm(): bool { return (load<u32>(S, S_FLAGS) & F_VM) != 0; }

// RF is never put into the live EFLAGS by IRET: without code breakpoints it has no effect, and
// every fault pushes RF=1 itself (pmintr.ts).
@inline function writeFlags(v: u32, mask: u32): void { writeEflags(v, mask & ~F_RF); }

// ---- code-segment target checks for JMP/CALL -------------------------------------------------
function checkCodeTarget(sel: u32, hi: u32, curCpl: u32): void {
  const err = sel & 0xfffc;
  const dpl = dDpl(hi);
  if (dConforming(hi)) { if (dpl > curCpl) raise(EXC_GP, err); }
  else if ((sel & 3) > curCpl || dpl != curCpl) raise(EXC_GP, err);
  if (!dPresent(hi)) raise(EXC_NP, err);
}

// ---- JMP far ------------------------------------------------------------------------------------
export function farJump(sel: u32, off: u32, size: u32): void {
  sel &= 0xffff;
  if (size == 2) off &= 0xffff;
  if (!pe() || vm()) {
    if (off > segLimit(SEG_CS)) raise(EXC_GP, 0);
    if (vm()) segLoadV86(SEG_CS, sel); else segLoadReal(SEG_CS, sel);
    st.ip = segBase(SEG_CS) + off;
    st.head = true;
    return;
  }
  if ((sel & 0xfffc) == 0) raise(EXC_GP, 0);
  readDesc(sel, EXC_GP, 0);
  const lo = dlo, hi = dhi, addr = daddr;
  const curCpl = cpl();
  if (dCode(hi)) {
    checkCodeTarget(sel, hi, curCpl);
    if (off > dLimit(lo, hi)) raise(EXC_GP, 0);
    setAccessed(addr, hi);
    loadCS(sel, lo, hi, curCpl);
    st.ip = segBase(SEG_CS) + off;
    st.head = true;
    return;
  }
  const err = sel & 0xfffc;
  if (!dSys(hi)) raise(EXC_GP, err);
  const t = dType(hi);
  if (t == 4 || t == 0xc) { // call gate: same privilege only
    if (dDpl(hi) < curCpl || dDpl(hi) < (sel & 3)) raise(EXC_GP, err);
    if (!dPresent(hi)) raise(EXC_NP, err);
    const csel = lo >>> 16;
    const goff = t == 0xc ? (hi & 0xffff0000) | (lo & 0xffff) : lo & 0xffff;
    if ((csel & 0xfffc) == 0) raise(EXC_GP, 0);
    readDesc(csel, EXC_GP, 0);
    const clo = dlo, chi = dhi, caddr = daddr;
    const cerr = csel & 0xfffc;
    if (!dCode(chi)) raise(EXC_GP, cerr);
    if (dConforming(chi) ? dDpl(chi) > curCpl : dDpl(chi) != curCpl) raise(EXC_GP, cerr);
    if (!dPresent(chi)) raise(EXC_NP, cerr);
    if (goff > dLimit(clo, chi)) raise(EXC_GP, 0);
    setAccessed(caddr, chi);
    loadCS(csel, clo, chi, curCpl);
    st.ip = segBase(SEG_CS) + goff;
    st.head = true;
    return;
  }
  taskTransfer(sel, lo, hi, addr, t, curCpl, TS_JMP);
}

// JMP/CALL to a TSS descriptor or a task gate
function taskTransfer(sel: u32, lo: u32, hi: u32, addr: u32, t: u32, curCpl: u32, how: u32): void {
  const err = sel & 0xfffc;
  if (t == 5) {
    if (dDpl(hi) < curCpl || dDpl(hi) < (sel & 3)) raise(EXC_GP, err);
    if (!dPresent(hi)) raise(EXC_NP, err);
    const tsel = lo >>> 16;
    readGdtDesc(tsel, EXC_GP, 0);
    const tt = dType(dhi);
    if (!dSys(dhi) || (tt != 1 && tt != 9)) raise(EXC_GP, tsel & 0xfffc);
    if (!dPresent(dhi)) raise(EXC_NP, tsel & 0xfffc);
    taskSwitch(tsel, dlo, dhi, daddr, how, 0);
    return;
  }
  if (t == 1 || t == 9) {
    if ((sel & 4) != 0) raise(EXC_GP, err);
    if (dDpl(hi) < curCpl || dDpl(hi) < (sel & 3)) raise(EXC_GP, err);
    if (!dPresent(hi)) raise(EXC_NP, err);
    taskSwitch(sel, lo, hi, addr, how, 0);
    return;
  }
  raise(EXC_GP, err); // busy TSS, LDT, interrupt/trap gates, reserved types
}

// ---- CALL far -----------------------------------------------------------------------------------
export function farCall(sel: u32, off: u32, size: u32): void {
  sel &= 0xffff;
  if (size == 2) off &= 0xffff;
  if (!pe() || vm()) {
    probePush(size * 2);
    if (off > segLimit(SEG_CS)) raise(EXC_GP, 0);
    const retCs = segSel(SEG_CS), retIp = curEip();
    if (size == 4) { push32(retCs); push32(retIp); } else { push16(retCs); push16(retIp); }
    if (vm()) segLoadV86(SEG_CS, sel); else segLoadReal(SEG_CS, sel);
    st.ip = segBase(SEG_CS) + off;
    st.head = true;
    return;
  }
  if ((sel & 0xfffc) == 0) raise(EXC_GP, 0);
  readDesc(sel, EXC_GP, 0);
  const lo = dlo, hi = dhi, addr = daddr;
  const curCpl = cpl();
  if (dCode(hi)) {
    checkCodeTarget(sel, hi, curCpl);
    stkUseCurrent();
    stkCheck(2, size, 0);
    if (off > dLimit(lo, hi)) raise(EXC_GP, 0);
    setAccessed(addr, hi);
    const retCs = segSel(SEG_CS), retIp = curEip();
    stkPush(retCs, size);
    stkPush(retIp, size);
    stkCommitEsp();
    loadCS(sel, lo, hi, curCpl);
    st.ip = segBase(SEG_CS) + off;
    st.head = true;
    return;
  }
  const err = sel & 0xfffc;
  if (!dSys(hi)) raise(EXC_GP, err);
  const t = dType(hi);
  if (t == 4 || t == 0xc) { callGate(sel, lo, hi, curCpl); return; }
  taskTransfer(sel, lo, hi, addr, t, curCpl, TS_CALL);
}

function callGate(sel: u32, lo: u32, hi: u32, curCpl: u32): void {
  const err = sel & 0xfffc;
  if (dDpl(hi) < curCpl || dDpl(hi) < (sel & 3)) raise(EXC_GP, err);
  if (!dPresent(hi)) raise(EXC_NP, err);
  const g32 = dType(hi) == 0xc;
  const w: u32 = g32 ? 4 : 2;
  const csel = lo >>> 16;
  const goff = g32 ? (hi & 0xffff0000) | (lo & 0xffff) : lo & 0xffff;
  const nparm = hi & 0x1f;
  if ((csel & 0xfffc) == 0) raise(EXC_GP, 0);
  readDesc(csel, EXC_GP, 0);
  const clo = dlo, chi = dhi, caddr = daddr;
  const cerr = csel & 0xfffc;
  const dpl = dDpl(chi);
  if (!dCode(chi) || dpl > curCpl) raise(EXC_GP, cerr);
  if (!dPresent(chi)) raise(EXC_NP, cerr);
  const retCs = segSel(SEG_CS), retIp = curEip();
  if (!dConforming(chi) && dpl < curCpl) {
    tssStack(dpl, 0);
    checkNewSS(nsSel, dpl, 0);
    const ssLo = nsLo, ssHi = nsHi, ssAddr = nsAddr, ssSel = nsSel, newEsp = nsEsp;
    stkUse(dBase(ssLo, ssHi), dLimit(ssLo, ssHi), dAttr(ssHi) | 1, newEsp, dpl);
    stkCheck(4 + nparm, w, ssSel & 0xfffc);
    // the parameters must be readable on the old stack (at the old privilege)
    const oldSp = sp();
    const m: u32 = st.ss32 ? 0xffffffff : 0xffff;
    for (let i: u32 = 0; i < nparm; i++) parmRead((oldSp + i * w) & m, w);
    if (goff > dLimit(clo, chi)) raise(EXC_GP, 0);
    setAccessed(ssAddr, ssHi);
    setAccessed(caddr, chi);
    // commit: the old stack is read through SS before SS changes
    const oldSs = segSel(SEG_SS), oldEsp = load<u32>(S, 16);
    stkPush(oldSs, w);
    stkPush(oldEsp, w);
    for (let i: i32 = <i32>nparm - 1; i >= 0; i--) stkPush(parmRead((oldSp + <u32>i * w) & m, w), w);
    stkPush(retCs, w);
    stkPush(retIp, w);
    segSet(SEG_SS, ssSel, dBase(ssLo, ssHi), dLimit(ssLo, ssHi), dAttr(ssHi) | 1);
    store<u32>(S, newEsp, 16);
    stkCommitEsp();
    loadCS(csel, clo, chi, dpl);
    updateMode();
  } else {
    stkUseCurrent();
    stkCheck(2, w, 0);
    if (goff > dLimit(clo, chi)) raise(EXC_GP, 0);
    setAccessed(caddr, chi);
    stkPush(retCs, w);
    stkPush(retIp, w);
    stkCommitEsp();
    loadCS(csel, clo, chi, curCpl);
  }
  st.ip = segBase(SEG_CS) + goff;
  st.head = true;
}

function parmRead(off: u32, w: u32): u32 {
  const lin = linR(SEG_SS, off, w);
  return w == 4 ? lrd32(lin) : lrd16(lin);
}

// ---- RET far ------------------------------------------------------------------------------------
function popAt(k: u32, w: u32): u32 {
  const lin = linR(SEG_SS, spAdd(k), w);
  return w == 4 ? lrd32(lin) : lrd16(lin);
}

// Checks the code segment a RETF/IRET returns to (#GP/#NP with its selector); leaves it in dlo/dhi.
function checkReturnCS(csel: u32, curCpl: u32): void {
  if ((csel & 0xfffc) == 0) raise(EXC_GP, 0);
  readDesc(csel, EXC_GP, 0);
  const err = csel & 0xfffc;
  const rpl = csel & 3;
  if (!dCode(dhi) || rpl < curCpl) raise(EXC_GP, err);
  if (dConforming(dhi) ? dDpl(dhi) > rpl : dDpl(dhi) != rpl) raise(EXC_GP, err);
  if (!dPresent(dhi)) raise(EXC_NP, err);
}

// the stack segment of a return to an outer ring (#GP/#SS with its selector)
function checkReturnSS(ssel: u32, rpl: u32): void {
  if ((ssel & 0xfffc) == 0) raise(EXC_GP, 0);
  readDesc(ssel, EXC_GP, 0);
  const err = ssel & 0xfffc;
  if ((ssel & 3) != rpl || !dData(dhi) || !dRW(dhi) || dDpl(dhi) != rpl) raise(EXC_GP, err);
  if (!dPresent(dhi)) raise(EXC_SS, err);
}

function outerDataSegs(newCpl: u32): void {
  nullInaccessible(SEG_ES, newCpl);
  nullInaccessible(SEG_DS, newCpl);
  nullInaccessible(SEG_FS, newCpl);
  nullInaccessible(SEG_GS, newCpl);
}

export function farRet(size: u32, imm: u32): void {
  const w = size;
  const eip = popAt(0, w);
  const csel = popAt(w, w) & 0xffff;
  if (!pe() || vm()) {
    if (eip > segLimit(SEG_CS)) raise(EXC_GP, 0);
    if (vm()) segLoadV86(SEG_CS, csel); else segLoadReal(SEG_CS, csel);
    setSp(spAdd(2 * w + imm));
    st.ip = segBase(SEG_CS) + eip;
    st.head = true;
    return;
  }
  const curCpl = cpl();
  checkReturnCS(csel, curCpl);
  const clo = dlo, chi = dhi, caddr = daddr;
  const rpl = csel & 3;
  if (rpl == curCpl) {
    if (eip > dLimit(clo, chi)) raise(EXC_GP, 0);
    setAccessed(caddr, chi);
    loadCS(csel, clo, chi, curCpl);
    setSp(spAdd(2 * w + imm));
    st.ip = segBase(SEG_CS) + eip;
    st.head = true;
    return;
  }
  const nesp = popAt(2 * w + imm, w);
  const nss = popAt(3 * w + imm, w) & 0xffff;
  checkReturnSS(nss, rpl);
  const slo = dlo, shi = dhi, saddr = daddr;
  if (eip > dLimit(clo, chi)) raise(EXC_GP, 0);
  setAccessed(caddr, chi);
  setAccessed(saddr, shi);
  loadCS(csel, clo, chi, rpl);
  segSet(SEG_SS, nss, dBase(slo, shi), dLimit(slo, shi), dAttr(shi) | 1);
  if (st.ss32) store<u32>(S, w == 4 ? nesp + imm : (nesp + imm) & 0xffff, 16);
  else store<u16>(S, <u16>(nesp + imm), 16);
  outerDataSegs(rpl);
  updateMode();
  st.ip = segBase(SEG_CS) + eip;
  st.head = true;
}

// ---- IRET ---------------------------------------------------------------------------------------
export function iretFar(size: u32): void {
  const w = size;
  if (!pe()) {
    const eip = popAt(0, w);
    const csel = popAt(w, w) & 0xffff;
    const fl = popAt(2 * w, w);
    if (eip > segLimit(SEG_CS)) raise(EXC_GP, 0);
    segLoadReal(SEG_CS, csel);
    setSp(spAdd(3 * w));
    if (w == 4) writeFlags(fl, 0x257fd5); else writeFlags(fl, 0xffff);
    st.ip = segBase(SEG_CS) + eip;
    st.head = true;
    return;
  }
  if (vm()) { iretInV86(w); return; }
  if ((load<u32>(S, S_FLAGS) & F_NT) != 0) { iretTask(); return; }
  const curCpl = cpl();
  const eip = popAt(0, w);
  const csel = popAt(w, w) & 0xffff;
  const fl = popAt(2 * w, w);
  if (w == 4 && (fl & F_VM) != 0 && curCpl == 0) { iretToV86(eip, csel, fl); return; }
  checkReturnCS(csel, curCpl);
  const clo = dlo, chi = dhi, caddr = daddr;
  const rpl = csel & 3;
  // which EFLAGS bits the popped image may change, by the privilege before the return
  let mask: u32 = 0x00ff_ffff & ~(F_IF | F_IOPL | F_VM | F_VIF | F_VIP) & ~0x28 & ~0x2; // CF..NT, RF, AC, ID
  if (curCpl <= ((load<u32>(S, S_FLAGS) & F_IOPL) >> 12)) mask |= F_IF;
  if (curCpl == 0) mask |= F_IOPL | F_VIF | F_VIP;
  if (w == 2) mask &= 0xffff;
  if (rpl == curCpl) {
    if (eip > dLimit(clo, chi)) raise(EXC_GP, 0);
    setAccessed(caddr, chi);
    loadCS(csel, clo, chi, curCpl);
    setSp(spAdd(3 * w));
    writeFlags(fl, mask);
    st.ip = segBase(SEG_CS) + eip;
    st.head = true;
    return;
  }
  const nesp = popAt(3 * w, w);
  const nss = popAt(4 * w, w) & 0xffff;
  checkReturnSS(nss, rpl);
  const slo = dlo, shi = dhi, saddr = daddr;
  if (eip > dLimit(clo, chi)) raise(EXC_GP, 0);
  setAccessed(caddr, chi);
  setAccessed(saddr, shi);
  loadCS(csel, clo, chi, rpl);
  segSet(SEG_SS, nss, dBase(slo, shi), dLimit(slo, shi), dAttr(shi) | 1);
  if (w == 4) store<u32>(S, nesp, 16); else store<u16>(S, <u16>nesp, 16);
  writeFlags(fl, mask);
  outerDataSegs(rpl);
  updateMode();
  st.ip = segBase(SEG_CS) + eip;
  st.head = true;
}

// IRET inside virtual-8086 mode: at IOPL 3 a real-mode IRET that leaves VM and IOPL (and VIF/VIP)
// alone; below IOPL 3 #GP(0) to the monitor
function iretInV86(w: u32): void {
  if ((load<u32>(S, S_FLAGS) & F_IOPL) != F_IOPL) raise(EXC_GP, 0);
  const eip = popAt(0, w);
  const csel = popAt(w, w) & 0xffff;
  const fl = popAt(2 * w, w);
  if (eip > 0xffff) raise(EXC_GP, 0);
  segLoadV86(SEG_CS, csel);
  setSp(spAdd(3 * w));
  writeFlags(fl, w == 4 ? 0x3f7fd5 & ~(F_VM | F_IOPL | F_VIF | F_VIP) : 0xffff & ~F_IOPL);
  st.ip = segBase(SEG_CS) + eip;
  st.head = true;
}

// IRET at CPL 0 with VM=1 in the popped EFLAGS (32-bit operand size): the rest of the frame is
// ESP, SS, ES, DS, FS, GS (each a dword, selectors in the low word); all of it is read before
// anything changes. The new EFLAGS is taken whole (VM, IOPL, IF, VIF, VIP included); CPL becomes 3.
function iretToV86(eip: u32, csel: u32, fl: u32): void {
  const nesp = popAt(12, 4);
  const nss = popAt(16, 4) & 0xffff;
  const nes = popAt(20, 4) & 0xffff;
  const nds = popAt(24, 4) & 0xffff;
  const nfs = popAt(28, 4) & 0xffff;
  const ngs = popAt(32, 4) & 0xffff;
  if (eip > 0xffff) raise(EXC_GP, 0);
  writeFlags(fl, 0x3f7fd5);
  segLoadV86(SEG_CS, csel);
  segLoadV86(SEG_SS, nss);
  segLoadV86(SEG_ES, nes);
  segLoadV86(SEG_DS, nds);
  segLoadV86(SEG_FS, nfs);
  segLoadV86(SEG_GS, ngs);
  store<u32>(S, nesp, 16);
  store<u32>(S, 3, S_CPL);
  updateMode();
  st.ip = segBase(SEG_CS) + eip;
  st.head = true;
}

// IRET with NT set: return to the task named by the back link of the current TSS
function iretTask(): void {
  const link = srd16(segBase(SEG_TR)) & 0xffff;
  readGdtDesc(link, EXC_TS, 0);
  const t = dType(dhi);
  if (!dSys(dhi) || (t != 3 && t != 0xb)) raise(EXC_TS, link & 0xfffc);
  if (!dPresent(dhi)) raise(EXC_NP, link & 0xfffc);
  taskSwitch(link, dlo, dhi, daddr, TS_IRET, 0);
}
