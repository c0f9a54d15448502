// Protected-mode interrupt and exception delivery through the IDT (SDM vol. 3, 6.10-6.14 and the
// INT n pseudocode in vol. 2): interrupt, trap and task gates, 16- and 32-bit gates, the stack
// switch through the TSS on a change to an inner ring. Every check and every page of the new
// frame is verified before any register changes, so a fault during delivery is precise and
// deliver() in cpu.ts can escalate it to #DF. From virtual-8086 mode (CPL 3) the gate must lead
// to ring 0, and the frame also holds GS, FS, DS and ES, which are then null.
import { S } from "./state";
import * as st from "./state";
import {
  S_IDTR_BASE, S_IDTR_LIMIT, S_FLAGS, SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_TR, F_IF, F_TF, F_NT, F_RF, F_VM, EXC_GP, EXC_NP, EXC_DB,
} from "./layout";
import { getFlags, materialize } from "./flags";
import { srd32, updateMode } from "./mmu";
import { raise } from "./fault";
import { segBase, segSel, segAttr, segSet, curEip } from "./seg";
import {
  dlo, dhi, daddr, readDesc, dBase, dLimit, dAttr, dType, dSys, dDpl, dPresent, dCode, dConforming, setAccessed,
  loadCS, cpl, stkUse, stkUseCurrent, stkCheck, stkPush, stkCommitEsp, readGdtDesc,
} from "./descriptor";
import { tssStack, checkNewSS, nsSel, nsEsp, nsLo, nsHi, nsAddr, taskSwitch, TS_CALL } from "./task";
import { push16, push32 } from "./stack";

// what is being delivered (intr.ts re-exports these for the callers of interrupt())
export const INT_EXC: u32 = 0; // exception raised by the CPU
export const INT_SOFT: u32 = 1; // INT n / INT3 / INTO: IDT gate DPL is checked
export const INT_EXT: u32 = 2; // external interrupt or NMI

export function pmInterrupt(vec: u32, err: i32, kind: u32): void {
  const ext: u32 = kind == INT_SOFT ? 0 : 1;
  const idtErr = vec * 8 + 2 + ext;
  if (vec * 8 + 7 > load<u32>(S, S_IDTR_LIMIT)) raise(EXC_GP, idtErr);
  const ga = load<u32>(S, S_IDTR_BASE) + vec * 8;
  const glo = srd32(ga), ghi = srd32(ga + 4);
  const gtype = (ghi >>> 8) & 0x1f; // includes the S bit, which must be 0
  if (gtype != 5 && gtype != 6 && gtype != 7 && gtype != 0xe && gtype != 0xf) raise(EXC_GP, idtErr);
  const curCpl = cpl();
  if (kind == INT_SOFT && dDpl(ghi) < curCpl) raise(EXC_GP, vec * 8 + 2);
  if (!dPresent(ghi)) raise(EXC_NP, idtErr);

  if (gtype == 5) { taskGateInterrupt(glo >>> 16, err, ext); return; }

  const g32 = (gtype & 8) != 0;
  const w: u32 = g32 ? 4 : 2;
  const csSel = glo >>> 16;
  const off = g32 ? (ghi & 0xffff0000) | (glo & 0xffff) : glo & 0xffff;
  if ((csSel & 0xfffc) == 0) raise(EXC_GP, ext);
  readDesc(csSel, EXC_GP, ext);
  const clo = dlo, chi = dhi, caddr = daddr;
  const csErr = (csSel & 0xfffc) | ext;
  const dpl = dDpl(chi);
  if (!dCode(chi) || dpl > curCpl) raise(EXC_GP, csErr);
  if (!dPresent(chi)) raise(EXC_NP, csErr);
  const fromV86 = (load<u32>(S, S_FLAGS) & F_VM) != 0;
  // from virtual-8086 mode only to a ring-0 non-conforming code segment
  if (fromV86 && (dConforming(chi) || dpl != 0)) raise(EXC_GP, csErr);
  if (off > dLimit(clo, chi)) raise(EXC_GP, ext);

  const flags = getFlags();
  const pushedFlags = kind == INT_EXC && vec != EXC_DB ? flags | F_RF : flags;
  const retEip = curEip();
  const retCs = segSel(SEG_CS);
  const nItems: u32 = err >= 0 ? 1 : 0;
  const newCpl = !dConforming(chi) && dpl < curCpl ? dpl : curCpl;

  if (newCpl < curCpl) {
    tssStack(dpl, ext);
    checkNewSS(nsSel, dpl, ext);
    const ssLo = nsLo, ssHi = nsHi, ssAddr = nsAddr, ssSel = nsSel;
    stkUse(dBase(ssLo, ssHi), dLimit(ssLo, ssHi), dAttr(ssHi) | 1, nsEsp, newCpl);
    stkCheck((fromV86 ? 9 : 5) + nItems, w, (ssSel & 0xfffc) | ext);
    setAccessed(ssAddr, ssHi);
    setAccessed(caddr, chi);
    // commit
    if (fromV86) {
      // the virtual-8086 data segments go on the stack and are left null (SDM vol. 3, 20.3.1.1)
      stkPush(segSel(SEG_GS), w);
      stkPush(segSel(SEG_FS), w);
      stkPush(segSel(SEG_DS), w);
      stkPush(segSel(SEG_ES), w);
      segSet(SEG_GS, 0, 0, 0, 0);
      segSet(SEG_FS, 0, 0, 0, 0);
      segSet(SEG_DS, 0, 0, 0, 0);
      segSet(SEG_ES, 0, 0, 0, 0);
    }
    const oldSs = segSel(SEG_SS), oldEsp = load<u32>(S, 16);
    stkPush(oldSs, w);
    stkPush(oldEsp, w);
    stkPush(pushedFlags, w);
    stkPush(retCs, w);
    stkPush(retEip, w);
    if (err >= 0) stkPush(<u32>err, w);
    segSet(SEG_SS, ssSel, dBase(ssLo, ssHi), dLimit(ssLo, ssHi), dAttr(ssHi) | 1);
    store<u32>(S, nsEsp, 16);
    stkCommitEsp();
  } else {
    stkUseCurrent();
    stkCheck(3 + nItems, w, ext);
    setAccessed(caddr, chi);
    stkPush(pushedFlags, w);
    stkPush(retCs, w);
    stkPush(retEip, w);
    if (err >= 0) stkPush(<u32>err, w);
    stkCommitEsp();
  }
  loadCS(csSel, clo, chi, newCpl);
  materialize();
  let f = load<u32>(S, S_FLAGS) & ~(F_TF | F_NT | F_RF | F_VM);
  if ((gtype & 1) == 0) f &= ~F_IF; // interrupt gate
  store<u32>(S, f, S_FLAGS);
  updateMode();
  st.ip = segBase(SEG_CS) + off;
  st.head = true;
}

// IDT task gate: switch tasks as a CALL would (nested, busy), then push the error code on the
// new task's stack.
function taskGateInterrupt(tssSel: u32, err: i32, ext: u32): void {
  readGdtDesc(tssSel, EXC_GP, ext);
  const t = dType(dhi);
  const tErr = (tssSel & 0xfffc) | ext;
  if (!dSys(dhi) || (t != 1 && t != 9)) raise(EXC_GP, tErr);
  if (!dPresent(dhi)) raise(EXC_NP, tErr);
  taskSwitch(tssSel, dlo, dhi, daddr, TS_CALL, ext);
  if (err >= 0) {
    // the new task's TSS size decides the width of the error code
    const w: u32 = (segAttr(SEG_TR) & 8) != 0 ? 4 : 2;
    stkUseCurrent();
    stkCheck(1, w, ext);
    if (w == 4) push32(<u32>err); else push16(<u32>err);
  }
}
