// Model-specific registers (RDMSR/WRMSR), the time-stamp counter (RDTSC, MSR 0x10) and RDPMC.
// The set is a Core Duo's (SDM vol. 4, "MSRs in Intel Core Solo and Core Duo processors") as far
// as Linux and firmware use it; an address not listed here raises #GP(0), as on hardware.
import { S, r32, w32 } from "../state";
import {
  S_CR4, S_TSC_OFF, S_APIC_BASE, S_APIC_ID, S_MISC_ENABLE, S_MSR_SYSENTER_CS, S_MSR_SYSENTER_ESP,
  S_MSR_SYSENTER_EIP, CR4_TSD, CR4_PCE, MACHINE, M_TSC_LAST, S_MSR_PAT_LO, S_EFER, EFER_NXE, S_MTRR_DEF,
  S_MTRR_FIX, S_MTRR_VAR, S_PERF, S_MC_CTL,
} from "../layout";
import { gp } from "../fault";
import { tlbFlushAll } from "../mmu";
import * as cpu from "../cpu";
import { clock_ns } from "../env";
import { cpl } from "../descriptor";

@inline function needCpl0(): void { if (cpl() != 0) gp(0); }

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

// ---- MSRs ------------------------------------------------------------------------------------
// IA32_APIC_BASE: default 0xFEE00000 enabled, BSP on CPU 0, until the guest writes it
export function apicBase(): u32 {
  const v = load<u32>(S, S_APIC_BASE);
  if (v != 0) return v;
  return 0xfee00800 | (load<u32>(S, S_APIC_ID) == 0 ? 0x100 : 0);
}

// ---- IA32_MISC_ENABLE (0x1A0) ------------------------------------------------------------------
// Kept as the XOR with its reset value (so the zeroed state block is the reset state): fast
// strings on (bit 0), performance monitoring available (7), BTS and PEBS unavailable (11, 12).
// Writable: fast strings, limit CPUID maxval (22) and XD bit disable (34: hides CPUID's NX and
// makes EFER.NXE unwritable); writes to the other bits are ignored.
const MISC_RESET_LO: u32 = 0x1881;
const MISC_WRITABLE_LO: u32 = 0x400001;
export const MISC_LIMIT_CPUID: u32 = 0x400000;
export const MISC_XD_DISABLE_HI: u32 = 0x4;
export function miscEnableLo(): u32 { return load<u32>(S, S_MISC_ENABLE) ^ MISC_RESET_LO; }
export function miscEnableHi(): u32 { return load<u32>(S, S_MISC_ENABLE + 4); }

// ---- MTRRs and PAT ---------------------------------------------------------------------------------
// Stored and checked as the SDM defines them; memory types change nothing in an emulator.
// MTRRcap: 8 variable ranges, fixed ranges, write-combining
const MTRR_CAP: u32 = 0x508;
@inline function mtrrTypeOk(t: u32): bool { return t == 0 || t == 1 || t == 4 || t == 5 || t == 6; }
// PAT entries may also be UC- (7)
@inline function patTypeOk(t: u32): bool { return t == 0 || t == 1 || (t >= 4 && t <= 7); }
const PAT_RESET: u64 = 0x0007040600070406;
// 36 physical address bits: bits 63:36 of a range base or mask are reserved
const ADDR_HI_RSVD: u32 = 0xfffffff0;

// the fixed-range MTRR index of an MSR (0x250, 0x258, 0x259, 0x268..0x26F), or -1
function fixedIndex(m: u32): i32 {
  if (m == 0x250) return 0;
  if (m == 0x258) return 1;
  if (m == 0x259) return 2;
  if (m >= 0x268 && m <= 0x26f) return <i32>(m - 0x268 + 3);
  return -1;
}

// ---- machine check architecture ------------------------------------------------------------------
// MCG_CAP: 5 banks (MC0..MC4 at 0x400..0x413), no MCG_CTL, no extended registers. Nothing is
// ever reported: the status registers read 0 and only accept 0.
const MC_BANKS: u32 = 5;

// ---- performance counters ---------------------------------------------------------------------------
// Architectural performance monitoring version 1 (CPUID leaf 0xA): IA32_PERFEVTSEL0/1 (0x186,
// 0x187) and IA32_PMC0/1 (0xC1, 0xC2), 40 bits wide. An enabled counter counts
//   0x3C/00 unhalted core cycles, 0x3C/01 reference cycles: TSC ticks (1 GHz; halted time too)
//   0xC0/00 instructions retired: the core's exact count
// The other architectural events (cache references and misses, branches and branch misses) are
// marked unavailable in leaf 0xA EBX: ring3 has nothing exact to count for them, and they count
// nothing, as do the model-specific events. The OS/USR filters are not applied, and no overflow
// interrupt is raised. WRMSR to a counter writes bits 31:0 sign-extended, as on CPUs without
// full-width writes.
const PMC_MASK: u64 = 0xffffffffff;
const EVTSEL_EN: u64 = 1 << 22;
@inline function perf(i: u32): u32 { return S + S_PERF + i * 32; } // evtsel, base, snapshot
function perfSource(sel: u64): u64 {
  if ((sel & EVTSEL_EN) == 0) return 0;
  switch (<u32>sel & 0xffff) {
    case 0x003c: case 0x013c: return readTsc();
    case 0x00c0: return cpu.retired();
    default: return 0;
  }
}
function pmcRead(i: u32): u64 {
  const p = perf(i);
  const sel = load<u64>(p);
  const src = perfSource(sel);
  const base = load<u64>(p, 8);
  return (src == 0 ? base : base + (src - load<u64>(p, 16))) & PMC_MASK;
}
function pmcSet(i: u32, v: u64): void {
  const p = perf(i);
  store<u64>(p, v & PMC_MASK, 8);
  store<u64>(p, perfSource(load<u64>(p)), 16);
}
function evtselWrite(i: u32, v: u64): void {
  const now = pmcRead(i);
  store<u64>(perf(i), v);
  pmcSet(i, now);
}

// RDPMC: counters 0 and 1; CR4.PCE lets ring 3 read them
export function rdpmc(): void {
  if ((load<u32>(S, S_CR4) & CR4_PCE) == 0 && cpl() != 0) gp(0);
  const c = r32(1);
  if (c > 1) gp(0);
  const v = pmcRead(c);
  w32(0, <u32>v);
  w32(2, <u32>(v >> 32));
}

// ---- RDMSR / WRMSR ---------------------------------------------------------------------------------
export function rdmsr(): void {
  needCpl0();
  const m = r32(1);
  let v: u64 = 0;
  if (m >= 0x200 && m <= 0x20f) v = load<u64>(S + S_MTRR_VAR + (m - 0x200) * 8);
  else if (fixedIndex(m) >= 0) v = load<u64>(S + S_MTRR_FIX + <u32>fixedIndex(m) * 8);
  else if (m >= 0x400 && m < 0x400 + MC_BANKS * 4) {
    if ((m & 3) == 0) v = load<u64>(S + S_MC_CTL + ((m - 0x400) >> 2) * 8);
    // STATUS, ADDR, MISC: no error is ever logged
  } else {
    switch (m) {
      case 0x10: v = readTsc(); break;
      case 0x17: break; // IA32_PLATFORM_ID: platform 0
      case 0x1b: v = apicBase(); break;
      case 0x8b: break; // IA32_BIOS_SIGN_ID: no microcode loaded
      case 0xc1: v = pmcRead(0); break;
      case 0xc2: v = pmcRead(1); break;
      case 0xfe: v = MTRR_CAP; break;
      case 0x174: v = load<u32>(S, S_MSR_SYSENTER_CS); break;
      case 0x175: v = load<u32>(S, S_MSR_SYSENTER_ESP); break;
      case 0x176: v = load<u32>(S, S_MSR_SYSENTER_EIP); break;
      case 0x179: v = MC_BANKS; break; // IA32_MCG_CAP
      case 0x17a: break; // IA32_MCG_STATUS: no machine check in progress
      case 0x186: v = load<u64>(perf(0)); break;
      case 0x187: v = load<u64>(perf(1)); break;
      case 0x1a0: v = (<u64>miscEnableHi() << 32) | miscEnableLo(); break;
      case 0x277: v = load<u64>(S, S_MSR_PAT_LO) ^ PAT_RESET; break;
      case 0x2ff: v = load<u64>(S, S_MTRR_DEF); break;
      case 0xc0000080: v = load<u32>(S, S_EFER); break; // IA32_EFER
      default: gp(0);
    }
  }
  w32(0, <u32>v);
  w32(2, <u32>(v >> 32));
}

export function wrmsr(): void {
  needCpl0();
  const m = r32(1);
  const lo = r32(0), hi = r32(2);
  const v = (<u64>hi << 32) | <u64>lo;
  if (m >= 0x200 && m <= 0x20f) {
    // PHYSBASEn: type in 7:0, 11:8 reserved; PHYSMASKn: valid bit 11, 10:0 reserved
    if ((hi & ADDR_HI_RSVD) != 0) gp(0);
    if ((m & 1) == 0 ? (lo & 0xf00) != 0 || !mtrrTypeOk(lo & 0xff) : (lo & 0x7ff) != 0) gp(0);
    store<u64>(S + S_MTRR_VAR + (m - 0x200) * 8, v);
    return;
  }
  const fi = fixedIndex(m);
  if (fi >= 0) {
    for (let k: u32 = 0; k < 64; k += 8) if (!mtrrTypeOk(<u32>(v >> k) & 0xff)) gp(0);
    store<u64>(S + S_MTRR_FIX + <u32>fi * 8, v);
    return;
  }
  if (m >= 0x400 && m < 0x400 + MC_BANKS * 4) {
    if ((m & 3) == 0) store<u64>(S + S_MC_CTL + ((m - 0x400) >> 2) * 8, v);
    else if (v != 0) gp(0); // STATUS/ADDR/MISC accept only 0
    return;
  }
  switch (m) {
    case 0x10: writeTsc(v); return;
    case 0x1b: {
      if (hi != 0 || (lo & 0x6ff) != 0) gp(0);
      // the BSP flag is read-only
      store<u32>(S, (lo & 0xfffff800) | (apicBase() & 0x100), S_APIC_BASE);
      return;
    }
    case 0x8b: return; // writing 0 before CPUID is how the microcode revision is read
    case 0xc1: pmcSet(0, <u64><i64><i32>lo); return;
    case 0xc2: pmcSet(1, <u64><i64><i32>lo); return;
    case 0x174: store<u32>(S, lo & 0xffff, S_MSR_SYSENTER_CS); return;
    case 0x175: store<u32>(S, lo, S_MSR_SYSENTER_ESP); return;
    case 0x176: store<u32>(S, lo, S_MSR_SYSENTER_EIP); return;
    case 0x17a: if (v != 0) gp(0); return;
    case 0x186: case 0x187: {
      if (hi != 0 || (lo & 0x200000) != 0) gp(0); // bit 21 and 63:32 are reserved
      evtselWrite(m - 0x186, v);
      return;
    }
    case 0x1a0: {
      store<u32>(S, ((miscEnableLo() & ~MISC_WRITABLE_LO) | (lo & MISC_WRITABLE_LO)) ^ MISC_RESET_LO, S_MISC_ENABLE);
      store<u32>(S, hi & MISC_XD_DISABLE_HI, S_MISC_ENABLE + 4);
      if ((hi & MISC_XD_DISABLE_HI) != 0 && (load<u32>(S, S_EFER) & EFER_NXE) != 0) {
        store<u32>(S, 0, S_EFER); // XD disabled: NXE reads and acts as 0
        tlbFlushAll();
      }
      return;
    }
    case 0x277: {
      for (let k: u32 = 0; k < 64; k += 8) if (((v >> k) & 0xf8) != 0 || !patTypeOk(<u32>(v >> k) & 7)) gp(0);
      store<u64>(S, v ^ PAT_RESET, S_MSR_PAT_LO);
      return;
    }
    case 0x2ff: {
      // type 7:0, FE 10, E 11; the rest reserved
      if (hi != 0 || (lo & 0xfffff300) != 0 || !mtrrTypeOk(lo & 0xff)) gp(0);
      store<u64>(S, v, S_MTRR_DEF);
      return;
    }
    case 0xc0000080: {
      // IA32_EFER of a 32-bit CPU with XD: only NXE, and only while XD is not disabled
      if (hi != 0 || (lo & ~EFER_NXE) != 0) gp(0);
      if ((lo & EFER_NXE) != 0 && (miscEnableHi() & MISC_XD_DISABLE_HI) != 0) gp(0);
      if (((load<u32>(S, S_EFER) ^ lo) & EFER_NXE) != 0) tlbFlushAll();
      store<u32>(S, lo, S_EFER);
      return;
    }
    default: gp(0);
  }
}
