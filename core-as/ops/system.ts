// System instructions (SDM vol. 2 / vol. 3 ch. 2.8): descriptor-table registers, LDTR/TR,
// LAR/LSL/VERR/VERW/ARPL, control and debug registers, HLT, CLI/STI and SYSENTER/SYSEXIT.
// MSRs, the time-stamp counter and RDPMC are in msr.ts, CPUID in cpuid.ts.
import { S, o32, r16, r32, w16, w32 } from "../state";
import * as st from "../state";
import {
  S_CPL, S_CR0, S_CR2, S_CR3, S_CR4, S_DR, S_FLAGS, S_HALTED, S_GDTR_BASE, S_GDTR_LIMIT, S_IDTR_BASE,
  S_IDTR_LIMIT, S_MSR_SYSENTER_CS, S_MSR_SYSENTER_ESP, S_MSR_SYSENTER_EIP, SEG_CS, SEG_SS, SEG_LDTR, SEG_TR,
  CR0_PE, CR0_MP, CR0_EM, CR0_TS, CR0_ET, CR0_NE, CR0_WP, CR0_AM, CR0_PG, CR4_TSD, CR4_DE, CR4_PSE, CR4_PGE,
  CR4_PAE, CR4_MCE,
  CR4_PCE, CR4_OSFXSR, CR4_OSXMMEXCPT, F_IF, F_IOPL, F_VM, F_RF, F_ZF, EXC_GP, EXC_NP, EXC_DB, EXIT_HLT, EXIT_HLT_CLI,
} from "../layout";
import { modrm, mmem, mseg, moff, mreg, mrmi, fetch8 } from "../fetch";
import { rmRd16 } from "../operand";
import { linR, linW, segBase, segSel, segSet } from "../seg";
import { lrd16, lrd32, lwr16, lwr32, lprobeW, tlbFlushAll, tlbFlushPage, updateMode, loadPdptes, setCr3 } from "../mmu";
import { raise, gp, ud } from "../fault";
import { materialize } from "../flags";
import {
  dlo, dhi, daddr, readGdtDesc, tryDesc, dBase, dLimit, dAttr, dType, dSys, dDpl, dPresent, dData,
  dRW, dConforming, setBusy, cpl, protMode,
} from "../descriptor";
import * as cpu from "../cpu";

@inline function pe(): bool { return (load<u32>(S, S_CR0) & CR0_PE) != 0; }
@inline function needCpl0(): void { if (cpl() != 0) gp(0); }
@inline function needProt(): void { if (!protMode()) ud(); }

function setZF(on: bool): void {
  materialize();
  const f = load<u32>(S, S_FLAGS);
  store<u32>(S, on ? f | F_ZF : f & ~F_ZF, S_FLAGS);
}

// a 16-bit system value to Ew; a register destination with o32 is zero-extended
function storeEw(v: u32): void {
  if (mmem) lwr16(linW(mseg, moff, 2), v);
  else if (o32) w32(mrmi, v & 0xffff);
  else w16(mrmi, v);
}

// ---- 0F 00: SLDT STR LLDT LTR VERR VERW ------------------------------------------------------
export function grp6(): void {
  modrm();
  needProt();
  switch (mreg) {
    case 0: storeEw(segSel(SEG_LDTR)); return;
    case 1: storeEw(segSel(SEG_TR)); return;
    case 2: lldt(rmRd16()); return;
    case 3: ltr(rmRd16()); return;
    case 4: verrw(rmRd16(), false); return;
    case 5: verrw(rmRd16(), true); return;
    default: ud();
  }
}

function lldt(sel: u32): void {
  needCpl0();
  if ((sel & 0xfffc) == 0) { segSet(SEG_LDTR, sel, 0, 0, 0); return; }
  readGdtDesc(sel, EXC_GP, 0);
  const err = sel & 0xfffc;
  if (!dSys(dhi) || dType(dhi) != 2) gp(err);
  if (!dPresent(dhi)) raise(EXC_NP, err);
  segSet(SEG_LDTR, sel, dBase(dlo, dhi), dLimit(dlo, dhi), dAttr(dhi));
}

function ltr(sel: u32): void {
  needCpl0();
  if ((sel & 0xfffc) == 0) gp(0);
  readGdtDesc(sel, EXC_GP, 0);
  const err = sel & 0xfffc;
  const t = dType(dhi);
  if (!dSys(dhi) || (t != 1 && t != 9)) gp(err);
  if (!dPresent(dhi)) raise(EXC_NP, err);
  const lo = dlo, hi = dhi;
  setBusy(daddr, true);
  segSet(SEG_TR, sel, dBase(lo, hi), dLimit(lo, hi), dAttr(hi) | 2);
}

// may the current CPL use the segment `sel` names (non-conforming: DPL >= CPL and >= RPL)
@inline function privOk(sel: u32, hi: u32): bool {
  return dConforming(hi) || (dDpl(hi) >= cpl() && dDpl(hi) >= (sel & 3));
}

function verrw(sel: u32, write: bool): void {
  let ok = false;
  if ((sel & 0xfffc) != 0 && tryDesc(sel) && !dSys(dhi)) {
    if (write) ok = dData(dhi) && dRW(dhi) && privOk(sel, dhi);
    else ok = (dData(dhi) || dRW(dhi)) && privOk(sel, dhi);
  }
  setZF(ok);
}

// ---- LAR / LSL / ARPL ------------------------------------------------------------------------
function larLslValid(sel: u32, lsl: bool): bool {
  if ((sel & 0xfffc) == 0 || !tryDesc(sel)) return false;
  if (dSys(dhi)) {
    const t = dType(dhi);
    const ok = t == 1 || t == 2 || t == 3 || t == 9 || t == 0xb || (!lsl && (t == 4 || t == 5 || t == 0xc));
    if (!ok) return false;
    return dDpl(dhi) >= cpl() && dDpl(dhi) >= (sel & 3);
  }
  return privOk(sel, dhi);
}

@inline export function lar(size: u32): void {
  modrm();
  needProt();
  const sel = rmRd16();
  if (!larLslValid(sel, false)) { setZF(false); return; }
  // bits 19:16 are "undefined" in the SDM; hardware returns the limit bits there
  const v = dhi & (size == 4 ? 0x00ffff00 : 0xff00);
  setZF(true);
  if (size == 4) w32(mreg, v); else w16(mreg, v);
}

@inline export function lsl(size: u32): void {
  modrm();
  needProt();
  const sel = rmRd16();
  if (!larLslValid(sel, true)) { setZF(false); return; }
  const v = dLimit(dlo, dhi);
  setZF(true);
  if (size == 4) w32(mreg, v); else w16(mreg, v);
}

export function arpl(): void {
  needProt();
  modrm();
  const d = mmem ? lrd16(linW(mseg, moff, 2)) : r16(mrmi);
  if (mmem) lprobeW(linW(mseg, moff, 2), 2);
  const s = r16(mreg);
  if ((d & 3) < (s & 3)) {
    const v = (d & 0xfffc) | (s & 3);
    if (mmem) lwr16(linW(mseg, moff, 2), v); else w16(mrmi, v);
    setZF(true);
  } else setZF(false);
}

// ---- 0F 01: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG ---------------------------------------------
export function grp7(): void {
  modrm();
  const r = mreg;
  if (r == 4) { // SMSW
    const c = load<u32>(S, S_CR0);
    if (mmem) lwr16(linW(mseg, moff, 2), c);
    else if (o32) w32(mrmi, c);
    else w16(mrmi, c);
    return;
  }
  if (r == 6) { // LMSW: PE can be set, never cleared
    needCpl0();
    const v = rmRd16();
    const c = load<u32>(S, S_CR0);
    writeCr0((c & ~<u32>(CR0_MP | CR0_EM | CR0_TS)) | (v & 0xf) | (c & CR0_PE));
    return;
  }
  if (!mmem || r == 5) ud();
  if (r == 0 || r == 1) {
    const lin = linW(mseg, moff, 6);
    lprobeW(lin, 6);
    const lim = load<u32>(S + (r == 0 ? S_GDTR_LIMIT : S_IDTR_LIMIT));
    let base = load<u32>(S + (r == 0 ? S_GDTR_BASE : S_IDTR_BASE));
    if (!o32) base &= 0xffffff;
    lwr16(linW(mseg, moff, 2), lim);
    lwr32(linW(mseg, (moff + 2) & (st.a32 ? 0xffffffff : 0xffff), 4), base);
    return;
  }
  if (r == 2 || r == 3) {
    needCpl0();
    const lim = lrd16(linR(mseg, moff, 2));
    let base = lrd32(linR(mseg, (moff + 2) & (st.a32 ? 0xffffffff : 0xffff), 4));
    if (!o32) base &= 0xffffff;
    store<u32>(S + (r == 2 ? S_GDTR_BASE : S_IDTR_BASE), base);
    store<u32>(S + (r == 2 ? S_GDTR_LIMIT : S_IDTR_LIMIT), lim);
    return;
  }
  // INVLPG: no limit check and no fault, the linear address is just dropped from the TLB
  needCpl0();
  tlbFlushPage(segBase(mseg) + moff);
}

// ---- control registers -----------------------------------------------------------------------
const CR0_BITS: u32 = CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | 0x60000000 | CR0_PG;
const CR0_NW: u32 = 0x20000000;
const CR0_CD: u32 = 0x40000000;
// CR4 bits this CPU has: TSD, DE, PSE, PAE, MCE (no machine check is ever raised), PGE, PCE.
// No VME/PVI: CPUID does not offer VME (virtual-8086 mode extensions are not modelled).
const CR4_BITS: u32 = CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE | CR4_PGE | CR4_PCE;
// FXSAVE-aware OS, #XM handler (core-as/sse/)
const CR4_SSE: u32 = CR4_OSFXSR | CR4_OSXMMEXCPT;

export function writeCr0(v: u32): void {
  v = (v & CR0_BITS) | CR0_ET;
  if ((v & CR0_PG) != 0 && (v & CR0_PE) == 0) gp(0);
  if ((v & CR0_NW) != 0 && (v & CR0_CD) == 0) gp(0);
  const old = load<u32>(S, S_CR0);
  const d = old ^ v;
  // PAE paging turned on, or its caching bits changed: the PDPTEs load first (#GP changes nothing)
  if ((v & CR0_PG) != 0 && (load<u32>(S, S_CR4) & CR4_PAE) != 0 && (d & (CR0_PG | CR0_CD | CR0_NW)) != 0) {
    loadPdptes(load<u32>(S, S_CR3));
  }
  store<u32>(S, v, S_CR0);
  if ((d & (CR0_PG | CR0_WP | CR0_PE)) != 0) tlbFlushAll();
  if ((d & (CR0_AM | CR0_PE)) != 0) updateMode();
}

// 0F 20 / 0F 22: the ModR/M mod bits are ignored, the operand is always a register
export function mov_RdCd(): void {
  const b = fetch8();
  const c = (b >> 3) & 7, r = b & 7;
  if (c == 1 || c > 4) ud();
  needCpl0();
  const v = c == 0 ? load<u32>(S, S_CR0) : c == 2 ? load<u32>(S, S_CR2) : c == 3 ? load<u32>(S, S_CR3) : load<u32>(S, S_CR4);
  w32(r, v);
}

export function mov_CdRd(): void {
  const b = fetch8();
  const c = (b >> 3) & 7;
  const v = r32(b & 7);
  if (c == 1 || c > 4) ud();
  needCpl0();
  if (c == 0) writeCr0(v);
  else if (c == 2) store<u32>(S, v, S_CR2);
  else if (c == 3) setCr3(v);
  else {
    if ((v & ~(CR4_BITS | CR4_SSE)) != 0) gp(0);
    const old = load<u32>(S, S_CR4);
    const d = old ^ v;
    const paging = (load<u32>(S, S_CR0) & CR0_PG) != 0;
    if (paging && (v & CR4_PAE) != 0 && (d & (CR4_PAE | CR4_PSE | CR4_PGE)) != 0) loadPdptes(load<u32>(S, S_CR3));
    store<u32>(S, v, S_CR4);
    if ((d & (CR4_PSE | CR4_PGE | CR4_PAE)) != 0) tlbFlushAll();
  }
}

// ---- debug registers ---------------------------------------------------------------------------
// DR4/DR5 are DR6/DR7 unless CR4.DE; DR7.GD turns the next access into a #DB fault with DR6.BD
function drIndex(d: u32): u32 {
  if (d == 4 || d == 5) {
    if ((load<u32>(S, S_CR4) & CR4_DE) != 0) ud();
    d += 2;
  }
  needCpl0();
  const dr7 = load<u32>(S, S_DR + 28);
  if ((dr7 & 0x2000) != 0) {
    store<u32>(S, dr7 & ~0x2000, S_DR + 28);
    store<u32>(S, load<u32>(S, S_DR + 24) | 0x2000, S_DR + 24);
    raise(EXC_DB, -1);
  }
  return d;
}

export function mov_RdDd(): void {
  const b = fetch8();
  const d = drIndex((b >> 3) & 7);
  w32(b & 7, load<u32>(S + S_DR + d * 4));
}

export function mov_DdRd(): void {
  const b = fetch8();
  const d = drIndex((b >> 3) & 7);
  let v = r32(b & 7);
  if (d == 6) v = (v & 0xe00f) | 0xffff0ff0;
  else if (d == 7) v = (v & 0xffff23ff) | 0x400;
  store<u32>(S + S_DR + d * 4, v);
}

// ---- HLT, CLI/STI, CLTS, caches ------------------------------------------------------------
export function hlt(): void {
  needCpl0();
  store<u32>(S, 1, S_HALTED);
  cpu.exitLoop((load<u32>(S, S_FLAGS) & F_IF) != 0 ? EXIT_HLT : EXIT_HLT_CLI);
}

// IF may change in real mode, at CPL <= IOPL, and in VM86 with IOPL 3 (no VME/PVI)
function ifAllowed(): void {
  if (!pe()) return;
  const f = load<u32>(S, S_FLAGS);
  const iopl = (f & F_IOPL) >> 12;
  if ((f & F_VM) != 0 ? iopl != 3 : cpl() > iopl) gp(0);
}
export function cli(): void {
  ifAllowed();
  store<u32>(S, load<u32>(S, S_FLAGS) & ~F_IF, S_FLAGS);
}
export function sti(): void {
  ifAllowed();
  const f = load<u32>(S, S_FLAGS);
  if ((f & F_IF) == 0) {
    store<u32>(S, f | F_IF, S_FLAGS);
    cpu.setShadow(cpu.SHADOW_STI);
  }
}

export function clts(): void {
  needCpl0();
  store<u32>(S, load<u32>(S, S_CR0) & ~CR0_TS, S_CR0);
}
export function invd(): void { needCpl0(); }
export function wbinvd(): void { needCpl0(); }
export function ud2(): void { ud(); }

// ---- SYSENTER / SYSEXIT -----------------------------------------------------------------------
// flat segments made from IA32_SYSENTER_CS, as the SDM defines them (no descriptor reads)
export function sysenter(): void {
  const cs = load<u32>(S, S_MSR_SYSENTER_CS);
  if (!pe() || (cs & 0xfffc) == 0) gp(0);
  store<u32>(S, load<u32>(S, S_FLAGS) & ~(F_VM | F_IF | F_RF), S_FLAGS);
  segSet(SEG_CS, cs & 0xfffc, 0, 0xffffffff, 0xc09b);
  segSet(SEG_SS, (cs + 8) & 0xfffc, 0, 0xffffffff, 0xc093);
  store<u32>(S, 0, S_CPL);
  updateMode();
  w32(4, load<u32>(S, S_MSR_SYSENTER_ESP));
  st.ip = load<u32>(S, S_MSR_SYSENTER_EIP);
  st.head = true;
}

export function sysexit(): void {
  const cs = load<u32>(S, S_MSR_SYSENTER_CS);
  if (!pe() || (load<u32>(S, S_FLAGS) & F_VM) != 0 || cpl() != 0 || (cs & 0xfffc) == 0) gp(0);
  segSet(SEG_CS, ((cs + 16) & 0xfffc) | 3, 0, 0xffffffff, 0xc0fb);
  segSet(SEG_SS, ((cs + 24) & 0xfffc) | 3, 0, 0xffffffff, 0xc0f3);
  store<u32>(S, 3, S_CPL);
  updateMode();
  w32(4, r32(1));
  st.ip = r32(2);
  st.head = true;
}
