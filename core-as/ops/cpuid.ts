// CPUID (SDM vol. 2A "CPUID"): a Core Duo, family 6 model 14 stepping 8 ("Yonah"), the last
// 32-bit-only Intel generation. Every bit advertised works exactly; the rest stay clear (below).
import { S, r32, w32 } from "../state";
import { S_APIC_ID } from "../layout";
import { apicBase, MISC_LIMIT_CPUID, MISC_XD_DISABLE_HI, miscEnableHi, miscEnableLo } from "./msr";

// Leaf 1 EAX (also EDX after reset, runtime/machine.ts): family 6, model 14, stepping 8
export const CPUID_SIG: u32 = 0x6e8;
const MAX_BASIC: u32 = 0xa;
const MAX_EXT: u32 = 0x80000008;

// Leaf 1 EDX, one feature a line. Left out on purpose:
//   vme (1)    virtual-8086 mode extensions (VIF/VIP, the redirection bitmap) are not modelled
//   pse36 (17) Yonah has none (4 MiB pages stay below 4 GiB); psn (18) none on Yonah either
//   ds (21), acpi (22), ss (27), tm (29), pbe (31): debug store, thermal monitor and clock
//              control are not modelled
//   htt (28)   every vCPU is a package of its own (leaf 4 says one core per package)
const F_FPU: u32 = 1 << 0;
const F_DE: u32 = 1 << 2; // CR4.DE, DR4/DR5 #UD
const F_PSE: u32 = 1 << 3;
const F_TSC: u32 = 1 << 4;
const F_MSR: u32 = 1 << 5;
const F_PAE: u32 = 1 << 6; // PAE paging (core-as/mmu.ts)
const F_MCE: u32 = 1 << 7; // CR4.MCE; no machine check is ever raised
const F_CX8: u32 = 1 << 8;
const F_APIC: u32 = 1 << 9; // cleared while IA32_APIC_BASE disables the local APIC
const F_SEP: u32 = 1 << 11;
const F_MTRR: u32 = 1 << 12; // MTRR MSRs (msr.ts); memory types have no effect on an emulator
const F_PGE: u32 = 1 << 13;
const F_MCA: u32 = 1 << 14; // MCG_CAP and the MC banks, which never report an error
const F_CMOV: u32 = 1 << 15;
const F_PAT: u32 = 1 << 16;
const F_CLFLUSH: u32 = 1 << 19; // CLFLUSH (core-as/sse/cache.ts); line size in leaf 1 EBX
const F_MMX: u32 = 1 << 23; // core-as/sse/mmx.ts, registers aliased on the x87's
const F_FXSR: u32 = 1 << 24; // FXSAVE/FXRSTOR, CR4.OSFXSR (core-as/sse/fxsave.ts)
const F_SSE: u32 = 1 << 25; // core-as/sse/: moves, logic, packed integer, fpmath/fpvec (MXCSR exact)
const F_SSE2: u32 = 1 << 26;
const FEAT_EDX: u32 = F_FPU | F_DE | F_PSE | F_TSC | F_MSR | F_PAE | F_MCE | F_CX8 | F_APIC | F_SEP | F_MTRR |
  F_PGE | F_MCA | F_CMOV | F_PAT | F_CLFLUSH | F_MMX | F_FXSR | F_SSE | F_SSE2;
// Leaf 1 ECX: sse3 (0: FISTTP, LDDQU, MOVDDUP/MOVSxDUP, ADDSUB, HADD/HSUB). Left out: monitor
// (3: MONITOR/MWAIT not modelled), vmx (5), est (7), tm2 (8), xtpr (14): not modelled.
const F_SSE3: u32 = 1 << 0;
const FEAT_ECX: u32 = F_SSE3;
const CLFLUSH_LINE: u32 = 8 << 8; // leaf 1 EBX 15:8: CLFLUSH line size in 8-byte units (64 bytes)
// Leaf 0x80000001 EDX: nx (20), execute disable with EFER.NXE (mmu.ts); hidden while
// IA32_MISC_ENABLE's XD-disable bit is set, as on hardware
const EXT_NX: u32 = 1 << 20;

// "Genuine Intel(R) CPU           T2400  @ 1.83GHz"-style brand string, 48 bytes with NULs
const BRAND = "ring3 virtual Core Duo (Yonah) CPU";

function brand(i: u32): u32 {
  let v: u32 = 0;
  for (let k: i32 = 3; k >= 0; k--) {
    const p = <i32>i * 4 + k;
    v = (v << 8) | (p < BRAND.length ? <u32>BRAND.charCodeAt(p) & 0xff : 0);
  }
  return v;
}

// Leaf 4: deterministic cache parameters, subleaf in ECX: L1D, L1I (32 KiB, 8-way, 64-byte lines),
// L2 (2 MiB, 8-way), then none. One core per package shares nothing.
function cache4(sub: u32): void {
  let a: u32 = 0, b: u32 = 0, c: u32 = 0;
  if (sub < 3) {
    const level: u32 = sub < 2 ? 1 : 2;
    const type: u32 = sub == 0 ? 1 : sub == 1 ? 2 : 3;
    a = type | (level << 5) | 0x100;
    b = (7 << 22) | 63; // 8 ways, 1 partition, 64-byte lines
    c = sub < 2 ? 63 : 4095; // sets - 1
  }
  w32(0, a); w32(3, b); w32(1, c); w32(2, 0);
}

export function cpuid(): void {
  let leaf = r32(0);
  let a: u32 = 0, b: u32 = 0, c: u32 = 0, d: u32 = 0;
  const limit = (miscEnableLo() & MISC_LIMIT_CPUID) != 0;
  const maxBasic: u32 = limit ? 2 : MAX_BASIC;
  // beyond the maximum (basic or extended): the highest basic leaf's data, as Intel CPUs do
  if (leaf >= 0x80000000) { if (leaf > MAX_EXT) leaf = maxBasic; }
  else if (leaf > maxBasic) leaf = maxBasic;
  switch (leaf) {
    case 0: a = maxBasic; b = 0x756e6547; d = 0x49656e69; c = 0x6c65746e; break; // GenuineIntel
    case 1:
      a = CPUID_SIG;
      b = (load<u32>(S, S_APIC_ID) << 24) | CLFLUSH_LINE;
      c = FEAT_ECX;
      d = FEAT_EDX;
      if ((apicBase() & 0x800) == 0) d &= ~F_APIC;
      break;
    case 2: a = 0x02b3b001; b = 0x000000f0; d = 0x2c04307d; break; // TLB and cache descriptors of Yonah
    case 4: cache4(r32(1)); return;
    // leaf 0xA: architectural performance monitoring version 1: 2 counters of 40 bits and a
    // 7-event mask, as a Core Duo T2600 (06_0EH stepping 8) reports, but with the events ring3
    // cannot count exactly marked unavailable (EBX bits 3-6: last-level cache references and
    // misses, branches and branch misses retired; ring3 has no cache or branch predictor, and
    // counting branches would cost every compiled block): Linux then offers cycles, reference
    // cycles and instructions retired, which msr.ts counts exactly
    case 0xa: a = 0x07280201; b = 0x78; break;
    case 0x80000000: a = MAX_EXT; break;
    case 0x80000001: if ((miscEnableHi() & MISC_XD_DISABLE_HI) == 0) d = EXT_NX; break;
    case 0x80000002: case 0x80000003: case 0x80000004: {
      const k = (leaf - 0x80000002) * 4;
      a = brand(k); b = brand(k + 1); c = brand(k + 2); d = brand(k + 3);
      break;
    }
    case 0x80000006: c = 0x08006040; break; // L2: 2048 KiB, 8-way (6), 64-byte lines
    case 0x80000008: a = 0x2024; break; // 36 physical address bits (PAE entries), 32 linear
    default: break; // leaves 3, 5..9, 0x80000005, 0x80000007: reserved or all zero on Yonah
  }
  w32(0, a); w32(3, b); w32(1, c); w32(2, d);
}
