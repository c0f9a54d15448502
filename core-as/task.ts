// The TSS: the inner-ring stack a privilege change switches to (call gates in fartransfer.ts,
// interrupt gates in pmintr.ts) and hardware task switches (SDM vol. 3, 7.3: 32-bit and 16-bit
// TSS) for JMP/CALL/IRET far and IDT task gates. Below both of its callers.
import { S } from "./state";
import * as st from "./state";
import {
  S_CR0, S_CPL, S_DR, S_GDTR_BASE, S_FLAGS, CR0_TS, SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR,
  SG_SEL, F_NT, F_RF, F_VM, EXC_GP, EXC_NP, EXC_SS, EXC_TS, EXC_DB,
} from "./layout";
import { getFlags, materialize } from "./flags";
import { noteTrace } from "./eflags";
import { srd16, srd32, swr16, swr32, translate, updateMode, setCr3 } from "./mmu";
import { raise } from "./fault";
import { segp, segBase, segSel, segLimit, segAttr, segSet, segLoadV86, curEip } from "./seg";
import {
  dlo, dhi, daddr, readDesc, dBase, dLimit, dAttr, dType, dSys, dDpl, dPresent, dCode, dData, dRW, dConforming,
  setAccessed, setBusy, loadCS, loadSegPm,
} from "./descriptor";

// how a task switch was started
export const TS_JMP: u32 = 0;
export const TS_CALL: u32 = 1; // CALL and interrupts: nested, back link
export const TS_IRET: u32 = 2;

// New SS:ESP for ring `dpl` from the current TSS; sets nsSel/nsEsp. #TS(TR selector) when the
// TSS is too short for the entry.
export let nsSel: u32 = 0;
export let nsEsp: u32 = 0;
export function tssStack(dpl: u32, ext: u32): void {
  const a = segAttr(SEG_TR);
  const base = segBase(SEG_TR), limit = segLimit(SEG_TR);
  const trErr = (segSel(SEG_TR) & 0xfffc) | ext;
  if ((a & 8) != 0) { // 32-bit TSS
    if (dpl * 8 + 11 > limit) raise(EXC_TS, trErr);
    nsEsp = srd32(base + 4 + dpl * 8);
    nsSel = srd16(base + 8 + dpl * 8);
  } else {
    if (dpl * 4 + 5 > limit) raise(EXC_TS, trErr);
    nsEsp = srd16(base + 2 + dpl * 4);
    nsSel = srd16(base + 4 + dpl * 4);
  }
}

// Check the inner-ring stack segment named by the TSS (#TS / #SS with its selector) and leave
// its descriptor in nsLo/nsHi/nsAddr.
export let nsLo: u32 = 0;
export let nsHi: u32 = 0;
export let nsAddr: u32 = 0;
export function checkNewSS(sel: u32, dpl: u32, ext: u32): void {
  if ((sel & 0xfffc) == 0) raise(EXC_TS, ext);
  readDesc(sel, EXC_TS, ext);
  const err = (sel & 0xfffc) | ext;
  if ((sel & 3) != dpl || dDpl(dhi) != dpl || !dData(dhi) || !dRW(dhi)) raise(EXC_TS, err);
  if (!dPresent(dhi)) raise(EXC_SS, err);
  nsLo = dlo; nsHi = dhi; nsAddr = daddr;
}

// ---- task switch (SDM vol. 3, 7.3) -----------------------------------------------------------
// The caller checked the descriptor's type, DPL and presence. Everything that can fault before the
// switch (TSS limits, reads of the new TSS, writability of the old one) is checked first; faults
// while loading the new task's segments are reported in the new task's context, as the SDM says.
export function taskSwitch(sel: u32, lo: u32, hi: u32, addr: u32, how: u32, ext: u32): void {
  const err = (sel & 0xfffc) | ext;
  const new32 = (dType(hi) & 8) != 0;
  const nbase = dBase(lo, hi), nlimit = dLimit(lo, hi);
  const nmin: u32 = new32 ? 0x67 : 0x2b;
  if (nlimit < nmin) raise(EXC_TS, err);
  const busy = (dType(hi) & 2) != 0;
  if (how == TS_IRET) { if (!busy) raise(EXC_TS, err); }
  else if (busy) raise(EXC_GP, err);

  // read the whole new state first
  let nEip: u32, nFl: u32, nCr3: u32 = 0, nLdt: u32;
  let nEs: u32, nCs: u32, nSs: u32, nDs: u32, nFs: u32 = 0, nGs: u32 = 0, tbit = false;
  let r0: u32, r1: u32, r2: u32, r3: u32, r4: u32, r5: u32, r6: u32, r7: u32;
  if (new32) {
    nCr3 = srd32(nbase + 0x1c);
    nEip = srd32(nbase + 0x20);
    nFl = srd32(nbase + 0x24);
    r0 = srd32(nbase + 0x28); r1 = srd32(nbase + 0x2c); r2 = srd32(nbase + 0x30); r3 = srd32(nbase + 0x34);
    r4 = srd32(nbase + 0x38); r5 = srd32(nbase + 0x3c); r6 = srd32(nbase + 0x40); r7 = srd32(nbase + 0x44);
    nEs = srd16(nbase + 0x48); nCs = srd16(nbase + 0x4c); nSs = srd16(nbase + 0x50);
    nDs = srd16(nbase + 0x54); nFs = srd16(nbase + 0x58); nGs = srd16(nbase + 0x5c);
    nLdt = srd16(nbase + 0x60);
    tbit = (srd16(nbase + 0x64) & 1) != 0;
  } else {
    nEip = srd16(nbase + 0x0e);
    nFl = srd16(nbase + 0x10);
    // 16-bit TSS: the upper halves of the registers are not part of the state; they are zeroed
    r0 = srd16(nbase + 0x12); r1 = srd16(nbase + 0x14); r2 = srd16(nbase + 0x16); r3 = srd16(nbase + 0x18);
    r4 = srd16(nbase + 0x1a); r5 = srd16(nbase + 0x1c); r6 = srd16(nbase + 0x1e); r7 = srd16(nbase + 0x20);
    nEs = srd16(nbase + 0x22); nCs = srd16(nbase + 0x24); nSs = srd16(nbase + 0x26); nDs = srd16(nbase + 0x28);
    nLdt = srd16(nbase + 0x2a);
  }

  // the old TSS must take the saved state
  const oldSel = segSel(SEG_TR);
  const obase = segBase(SEG_TR), olimit = segLimit(SEG_TR);
  const old32 = (segAttr(SEG_TR) & 8) != 0;
  const omin: u32 = old32 ? 0x5f : 0x29;
  if (olimit < omin) raise(EXC_TS, (oldSel & 0xfffc) | ext);
  if (old32) { translate(obase + 0x20, true, false); translate(obase + 0x5f, true, false); }
  else { translate(obase + 0x0e, true, false); translate(obase + 0x29, true, false); }
  if (how == TS_CALL) translate(nbase, true, false);
  const oldAddr = load<u32>(S, S_GDTR_BASE) + (oldSel & 0xfff8);

  // ---- commit: save the outgoing task
  let oFl = getFlags() & ~F_RF;
  if (how == TS_IRET) oFl &= ~F_NT;
  const oEip = curEip();
  if (how == TS_JMP || how == TS_IRET) setBusy(oldAddr, false);
  if (old32) {
    swr32(obase + 0x20, oEip);
    swr32(obase + 0x24, oFl);
    for (let r: u32 = 0; r < 8; r++) swr32(obase + 0x28 + r * 4, load<u32>(S + r * 4));
    for (let s: u32 = 0; s < 6; s++) swr16(obase + 0x48 + s * 4, segSel(s));
  } else {
    swr16(obase + 0x0e, oEip);
    swr16(obase + 0x10, oFl);
    for (let r: u32 = 0; r < 8; r++) swr16(obase + 0x12 + r * 2, load<u32>(S + r * 4));
    for (let s: u32 = 0; s < 4; s++) swr16(obase + 0x22 + s * 2, segSel(s));
  }
  if (how == TS_CALL) {
    swr16(nbase, oldSel);
    nFl |= F_NT;
  }
  if (how != TS_IRET) setBusy(addr, true);

  // ---- load the incoming task
  segSet(SEG_TR, sel, nbase, nlimit, dAttr(hi) | 0x2);
  store<u32>(S, load<u32>(S, S_CR0) | CR0_TS, S_CR0);
  if (new32) {
    setCr3(nCr3); // with PAE paging the PDPTEs load too (#GP(0) if reserved bits are set)
  } else {
    nFl &= 0xffff;
  }
  store<u32>(S, r0, 0); store<u32>(S, r1, 4); store<u32>(S, r2, 8); store<u32>(S, r3, 12);
  store<u32>(S, r4, 16); store<u32>(S, r5, 20); store<u32>(S, r6, 24); store<u32>(S, r7, 28);
  // only a 32-bit TSS can hold a virtual-8086 task (a 16-bit one has no VM bit)
  materialize();
  store<u32>(S, ((nFl | 2) & ~(F_RF | 0xffc0_8028)), S_FLAGS);
  const toV86 = (nFl & F_VM) != 0;
  noteTrace();
  // selectors first: a fault below is taken in the new task, with these selectors visible
  for (let s: u32 = 0; s < 6; s++) {
    const v = s == 0 ? nEs : s == 1 ? nCs : s == 2 ? nSs : s == 3 ? nDs : s == 4 ? nFs : nGs;
    store<u32>(segp(s), v & 0xffff, SG_SEL);
  }
  store<u32>(segp(SEG_LDTR), nLdt & 0xffff, SG_SEL);
  st.ip0 = segBase(SEG_CS) + nEip;
  st.ip = st.ip0;
  st.fpage = 1;

  // LDT
  const lerr = nLdt & 0xfffc;
  if ((nLdt & 0xfffc) == 0) segSet(SEG_LDTR, nLdt, 0, 0, 0);
  else {
    if ((nLdt & 4) != 0) raise(EXC_TS, lerr);
    readDesc(nLdt, EXC_TS, 0);
    if (!dSys(dhi) || dType(dhi) != 2 || !dPresent(dhi)) raise(EXC_TS, lerr);
    segSet(SEG_LDTR, nLdt, dBase(dlo, dhi), dLimit(dlo, dhi), dAttr(dhi));
  }
  if (toV86) {
    // virtual-8086 task: segments real-mode style, no descriptors; CPL 3
    segLoadV86(SEG_CS, nCs);
    store<u32>(S, 3, S_CPL);
    updateMode();
    segLoadV86(SEG_SS, nSs);
    segLoadV86(SEG_DS, nDs);
    segLoadV86(SEG_ES, nEs);
    segLoadV86(SEG_FS, nFs);
    segLoadV86(SEG_GS, nGs);
    st.ip0 = segBase(SEG_CS) + nEip;
    st.ip = st.ip0;
    if (nEip > 0xffff) raise(EXC_GP, 0);
    if (tbit) {
      store<u32>(S, load<u32>(S, S_DR + 24) | 0x8000, S_DR + 24);
      raise(EXC_DB, -1);
    }
    return;
  }
  // CS: its RPL is the new CPL
  const newCpl = nCs & 3;
  const cerr = nCs & 0xfffc;
  if ((nCs & 0xfffc) == 0) raise(EXC_TS, 0);
  readDesc(nCs, EXC_TS, 0);
  if (!dCode(dhi)) raise(EXC_TS, cerr);
  if (dConforming(dhi) ? dDpl(dhi) > newCpl : dDpl(dhi) != newCpl) raise(EXC_TS, cerr);
  if (!dPresent(dhi)) raise(EXC_NP, cerr);
  setAccessed(daddr, dhi);
  loadCS(nCs, dlo, dhi, newCpl);
  updateMode();
  st.ip0 = segBase(SEG_CS) + nEip;
  st.ip = st.ip0;
  loadSegPm(SEG_SS, nSs, newCpl, EXC_TS, 0);
  loadSegPm(SEG_DS, nDs, newCpl, EXC_TS, 0);
  loadSegPm(SEG_ES, nEs, newCpl, EXC_TS, 0);
  if (new32) {
    loadSegPm(SEG_FS, nFs, newCpl, EXC_TS, 0);
    loadSegPm(SEG_GS, nGs, newCpl, EXC_TS, 0);
  }
  if (nEip > segLimit(SEG_CS)) raise(EXC_GP, 0);
  if (tbit) {
    // debug trap on entry to the task: #DB before its first instruction
    store<u32>(S, load<u32>(S, S_DR + 24) | 0x8000, S_DR + 24);
    raise(EXC_DB, -1);
  }
}
