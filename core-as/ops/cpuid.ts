// CPUID (SDM vol. 2A "CPUID"): what this CPU says it is and what it can do.
import { S, r32, w32 } from "../state";
import { S_APIC_ID } from "../layout";
import { apicBase } from "./msr";

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
