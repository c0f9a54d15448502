// System instructions (SDM vol. 2 / vol. 3 ch. 2.8): descriptor-table registers, LDTR/TR,
// LAR/LSL/VERR/VERW/ARPL, control and debug registers, HLT, CLI/STI, MSRs, the time-stamp
// counter, CPUID and SYSENTER/SYSEXIT.
import { S, ip, o32, r16, r32, w16, w32 } from "../state";
import * as st from "../state";
import {
  S_CPL, S_CR0, S_CR2, S_CR3, S_CR4, S_DR, S_FLAGS, S_HALTED, S_GDTR_BASE, S_GDTR_LIMIT, S_IDTR_BASE,
  S_IDTR_LIMIT, S_TSC_OFF, S_APIC_BASE, S_APIC_ID, S_MISC_ENABLE, S_MSR_SYSENTER_CS, S_MSR_SYSENTER_ESP,
  S_MSR_SYSENTER_EIP, SEG_CS, SEG_SS, SEG_LDTR, SEG_TR,
  CR0_PE, CR0_MP, CR0_EM, CR0_TS, CR0_ET, CR0_NE, CR0_WP, CR0_AM, CR0_PG, CR4_TSD, CR4_DE, CR4_PSE, CR4_PGE,
  CR4_PCE, CR4_OSFXSR, CR4_OSXMMEXCPT, F_IF, F_IOPL, F_VM, F_RF, F_ZF, EXC_GP, EXC_NP, EXC_DB, EXIT_HLT, EXIT_HLT_CLI,
} from "../layout";
import { modrm, mmem, mseg, moff, mreg, mrmi, fetch8 } from "../fetch";
import { rmRd16 } from "../operand";
import { linR, linW, segBase, segSel, segSet, segp } from "../seg";
import { lrd16, lrd32, lwr16, lwr32, lprobeW, tlbFlushAll, tlbFlushPage, updateMode } from "../mmu";
import { raise, gp, ud } from "../fault";
import { materialize } from "../flags";
import { clock_ns } from "../env";
import { MACHINE, M_TSC_LAST } from "../layout";
import {
  dlo, dhi, daddr, readGdtDesc, tryDesc, dBase, dLimit, dAttr, dType, dSys, dDpl, dPresent, dCode, dData,
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
// CR4 bits this CPU has: TSD, DE, PSE, PGE, PCE (no VME/PVI, PAE, MCE, OSFXSR)
const CR4_BITS: u32 = CR4_TSD | CR4_DE | CR4_PSE | CR4_PGE | CR4_PCE;
// FXSAVE-aware OS, #XM handler (core-as/sse/)
const CR4_SSE: u32 = CR4_OSFXSR | CR4_OSXMMEXCPT;

export function writeCr0(v: u32): void {
  v = (v & CR0_BITS) | CR0_ET;
  if ((v & CR0_PG) != 0 && (v & CR0_PE) == 0) gp(0);
  if ((v & CR0_NW) != 0 && (v & CR0_CD) == 0) gp(0);
  const old = load<u32>(S, S_CR0);
  store<u32>(S, v, S_CR0);
  const d = old ^ v;
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
  else if (c == 3) { store<u32>(S, v & 0xfffff018, S_CR3); tlbFlushAll(); }
  else {
    if ((v & ~(CR4_BITS | CR4_SSE)) != 0) gp(0);
    const old = load<u32>(S, S_CR4);
    store<u32>(S, v, S_CR4);
    if (((old ^ v) & (CR4_PSE | CR4_PGE)) != 0) tlbFlushAll();
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

// ---- time-stamp counter ------------------------------------------------------------------------
// The TSC runs at a fixed 1 GHz from the host's monotonic clock, plus a per-CPU offset that WRMSR
// 0x10 sets; lastTsc keeps it strictly increasing between writes on this vCPU.
export const TSC_HZ: u64 = 1_000_000_000;
// Every vCPU thread converts its own clock origin to the machine's epoch with a wall-clock double
// (about 240 ns resolution), so raw host times can disagree between threads by that much, enough
// for Linux's TSC-warp check between CPUs to see time go backwards. A machine-wide latest value
// makes the raw TSC monotonic across vCPUs: a reading that comes after another is never smaller.
let lastTsc: u64 = 0;
function hostTsc(): u64 {
  let t = <u64>clock_ns();
  const p = MACHINE + M_TSC_LAST;
  let last = atomic.load<u64>(p);
  for (;;) {
    if (t <= last) t = last + 1;
    const seen = atomic.cmpxchg<u64>(p, last, t);
    if (seen == last) break;
    last = seen;
  }
  return t;
}
export function readTsc(): u64 {
  let t = hostTsc() + load<u64>(S, S_TSC_OFF);
  if (t <= lastTsc) t = lastTsc + 1;
  lastTsc = t;
  return t;
}
function writeTsc(v: u64): void {
  store<u64>(S, v - hostTsc(), S_TSC_OFF);
  lastTsc = 0;
}

export function rdtsc(): void {
  if ((load<u32>(S, S_CR4) & CR4_TSD) != 0 && cpl() != 0) gp(0);
  const t = readTsc();
  w32(0, <u32>t);
  w32(2, <u32>(t >> 32));
}

// no performance counters are modelled: allowed reads of PMC0/1 return 0
export function rdpmc(): void {
  if ((load<u32>(S, S_CR4) & CR4_PCE) == 0 && cpl() != 0) gp(0);
  if (r32(1) > 1) gp(0);
  w32(0, 0);
  w32(2, 0);
}

// ---- MSRs ------------------------------------------------------------------------------------
// IA32_APIC_BASE: default 0xFEE00000 enabled, BSP on CPU 0, until the guest writes it
function apicBase(): u32 {
  const v = load<u32>(S, S_APIC_BASE);
  if (v != 0) return v;
  return 0xfee00800 | (load<u32>(S, S_APIC_ID) == 0 ? 0x100 : 0);
}

export function rdmsr(): void {
  needCpl0();
  const m = r32(1);
  let lo: u32 = 0, hi: u32 = 0;
  switch (m) {
    case 0x10: { const t = readTsc(); lo = <u32>t; hi = <u32>(t >> 32); break; }
    case 0x17: break; // IA32_PLATFORM_ID: platform 0
    case 0x1b: lo = apicBase(); break;
    case 0x8b: break; // IA32_BIOS_SIGN_ID: no microcode loaded
    case 0x174: lo = load<u32>(S, S_MSR_SYSENTER_CS); break;
    case 0x175: lo = load<u32>(S, S_MSR_SYSENTER_ESP); break;
    case 0x176: lo = load<u32>(S, S_MSR_SYSENTER_EIP); break;
    case 0x1a0: lo = load<u32>(S, S_MISC_ENABLE); break;
    default: gp(0);
  }
  w32(0, lo);
  w32(2, hi);
}

export function wrmsr(): void {
  needCpl0();
  const m = r32(1);
  const lo = r32(0), hi = r32(2);
  switch (m) {
    case 0x10: writeTsc((<u64>hi << 32) | <u64>lo); return;
    case 0x1b: {
      if (hi != 0 || (lo & 0x6ff) != 0) gp(0);
      // the BSP flag is read-only
      store<u32>(S, (lo & 0xfffff800) | (apicBase() & 0x100), S_APIC_BASE);
      return;
    }
    case 0x8b: return; // writing 0 before CPUID is how the microcode revision is read
    case 0x174: store<u32>(S, lo & 0xffff, S_MSR_SYSENTER_CS); return;
    case 0x175: store<u32>(S, lo, S_MSR_SYSENTER_ESP); return;
    case 0x176: store<u32>(S, lo, S_MSR_SYSENTER_EIP); return;
    case 0x1a0: store<u32>(S, lo, S_MISC_ENABLE); return;
    default: gp(0);
  }
}

// ---- CPUID -------------------------------------------------------------------------------------
// GenuineIntel family 6 model 8 stepping 3; features: fpu pse tsc msr cx8 apic sep pge cmov.
const CPUID_SIG: u32 = 0x683;
const FEAT_EDX: u32 = 0x0001 | 0x0008 | 0x0010 | 0x0020 | 0x0100 | 0x0200 | 0x0800 | 0x2000 | 0x8000;
const FEAT_APIC: u32 = 0x0200;

function brand(i: u32): u32 {
  // "ring3 virtual P6 CPU" padded with NULs, 48 bytes over leaves 0x80000002..4
  switch (i) {
    case 0: return 0x676e6972; case 1: return 0x69762033; case 2: return 0x61757472; case 3: return 0x3650206c;
    case 4: return 0x55504320; default: return 0;
  }
}

export function cpuid(): void {
  let leaf = r32(0);
  let a: u32 = 0, b: u32 = 0, c: u32 = 0, d: u32 = 0;
  if (leaf >= 0x80000000) {
    if (leaf > 0x80000004) leaf = 1; // beyond the maximum: the highest basic leaf's data
  } else if (leaf > 1) leaf = 1;
  if (leaf == 0) { a = 1; b = 0x756e6547; d = 0x49656e69; c = 0x6c65746e; }
  else if (leaf == 1) {
    a = CPUID_SIG;
    b = load<u32>(S, S_APIC_ID) << 24;
    d = FEAT_EDX;
    if ((apicBase() & 0x800) == 0) d &= ~FEAT_APIC;
  } else if (leaf == 0x80000000) a = 0x80000004;
  else if (leaf >= 0x80000002) {
    const k = (leaf - 0x80000002) * 4;
    a = brand(k); b = brand(k + 1); c = brand(k + 2); d = brand(k + 3);
  }
  w32(0, a); w32(3, b); w32(1, c); w32(2, d);
}

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
