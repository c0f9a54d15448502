// Model-specific registers (RDMSR/WRMSR), the time-stamp counter (RDTSC, MSR 0x10) and RDPMC.
import { S, r32, w32 } from "../state";
import {
  S_CR4, S_TSC_OFF, S_APIC_BASE, S_APIC_ID, S_MISC_ENABLE, S_MSR_SYSENTER_CS, S_MSR_SYSENTER_ESP,
  S_MSR_SYSENTER_EIP, CR4_TSD, CR4_PCE, MACHINE, M_TSC_LAST,
} from "../layout";
import { gp } from "../fault";
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

// no performance counters are modelled: allowed reads of PMC0/1 return 0
export function rdpmc(): void {
  if ((load<u32>(S, S_CR4) & CR4_PCE) == 0 && cpl() != 0) gp(0);
  if (r32(1) > 1) gp(0);
  w32(0, 0);
  w32(2, 0);
}

// ---- MSRs ------------------------------------------------------------------------------------
// IA32_APIC_BASE: default 0xFEE00000 enabled, BSP on CPU 0, until the guest writes it
export function apicBase(): u32 {
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
