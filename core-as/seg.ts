// Segment descriptor caches and the per-access segment check. Each cached segment keeps a read
// window and a write window of valid offsets; an access inside its window costs two compares,
// everything else (limit violations, expand-down edges, null or unusable segments) goes to
// segSlow, which decides exactly and raises #GP(0) or #SS(0).
import { S, ip, fpageReset } from "./state";
import {
  S_SEG, SEG_SIZE, SG_SEL, SG_BASE, SG_LIMIT, SG_ATTR, SG_RLO, SG_RHI, SG_WLO, SG_WHI, SEG_CS, SEG_SS, EXC_GP,
  EXC_SS, S_CR0, CR0_PE,
} from "./layout";
import { raise } from "./fault";
import * as st from "./state";

// Bit s set: segment s is flat for reads / writes (base 0, every offset inside the window), so an
// access needs no check and its linear address is the offset. Per-instance caches of the
// segment registers in the state block, kept by segWindows / segLoadReal / segFlatAll.
export let flatR: u32 = 0;
export let flatW: u32 = 0;

const EMPTY_LO: u32 = 0xffffffff;
const EMPTY_HI: u32 = 0x80000000; // with EMPTY_LO this window rejects every offset for every length

@inline export function segp(seg: u32): u32 { return S + S_SEG + seg * SEG_SIZE; }
@inline export function segBase(seg: u32): u32 { return load<u32>(segp(seg), SG_BASE); }
// EIP of the next byte to fetch (ip is linear)
@inline export function curEip(): u32 { return ip - segBase(SEG_CS); }
@inline export function segSel(seg: u32): u32 { return load<u32>(segp(seg), SG_SEL); }
@inline export function segLimit(seg: u32): u32 { return load<u32>(segp(seg), SG_LIMIT); }
@inline export function segAttr(seg: u32): u32 { return load<u32>(segp(seg), SG_ATTR); }

// attr bit 7 = present; a cached segment with attr 0 is unusable (null selector in protected mode)
export function segSet(seg: u32, sel: u32, base: u32, limit: u32, attr: u32): void {
  const p = segp(seg);
  store<u32>(p, sel, SG_SEL);
  store<u32>(p, base, SG_BASE);
  store<u32>(p, limit, SG_LIMIT);
  store<u32>(p, attr, SG_ATTR);
  segWindows(seg);
  if (seg == SEG_CS) { st.cs32 = (attr & 0x4000) != 0; st.dirty = true; fpageReset(); }
  if (seg == SEG_SS) st.ss32 = (attr & 0x4000) != 0;
}

function segWindows(seg: u32): void {
  const p = segp(seg);
  const attr = load<u32>(p, SG_ATTR);
  const limit = load<u32>(p, SG_LIMIT);
  let lo: u32 = 0, hi: u32 = limit;
  let readable = true, writable = true;
  if ((attr & 0x80) == 0 || (attr & 0x10) == 0) {
    readable = false; writable = false; // unusable, or a system segment
  } else if ((attr & 8) != 0) {
    writable = false; // code
    readable = (attr & 2) != 0;
  } else {
    writable = (attr & 2) != 0;
    if ((attr & 4) != 0) { // expand-down: valid offsets are limit+1 .. top
      lo = limit + 1;
      hi = (attr & 0x4000) != 0 ? 0xffffffff : 0xffff;
      if (lo == 0) { readable = false; writable = false; } // limit 4 GiB - 1: no offset is valid
    }
  }
  // tiny windows are left to the slow path, where the length is known exactly
  const ok = hi >= lo && hi - lo >= 3;
  store<u32>(p, readable && ok ? lo : EMPTY_LO, SG_RLO);
  store<u32>(p, readable && ok ? hi : EMPTY_HI, SG_RHI);
  store<u32>(p, writable && ok ? lo : EMPTY_LO, SG_WLO);
  store<u32>(p, writable && ok ? hi : EMPTY_HI, SG_WHI);
  segFlat(seg);
}

function segFlat(seg: u32): void {
  if (seg > 5) return;
  const p = segp(seg);
  const b: u32 = 1 << seg;
  const base0 = load<u32>(p, SG_BASE) == 0;
  const r = base0 && load<u32>(p, SG_RLO) == 0 && load<u32>(p, SG_RHI) == 0xffffffff;
  const w = base0 && load<u32>(p, SG_WLO) == 0 && load<u32>(p, SG_WHI) == 0xffffffff;
  flatR = r ? flatR | b : flatR & ~b;
  flatW = w ? flatW | b : flatW & ~b;
}
// after the host edited the state block
export function segFlatAll(): void {
  for (let s: u32 = 0; s < 6; s++) segFlat(s);
}

// The exact check: returns the linear address or raises.
export function segSlow(seg: u32, off: u32, len: u32, write: bool): u32 {
  const p = segp(seg);
  const attr = load<u32>(p, SG_ATTR);
  const limit = load<u32>(p, SG_LIMIT);
  // Real mode checks limits only: the type and present bits a protected-mode load left in the
  // cache do not apply (a write through CS after a far jump back to real mode works, as on
  // hardware: SYSLINUX's real-mode code stores through CS overrides after its PM trips).
  let bad = false;
  if ((load<u32>(S, S_CR0) & CR0_PE) != 0) {
    bad = (attr & 0x80) == 0 || (attr & 0x10) == 0;
    if (!bad) {
      if ((attr & 8) != 0) bad = write || (attr & 2) == 0;
      else bad = write && (attr & 2) == 0;
    }
  }
  if (!bad) {
    const end = <u64>off + <u64>(len - 1);
    if ((attr & 8) == 0 && (attr & 4) != 0) {
      const top: u64 = (attr & 0x4000) != 0 ? 0xffffffff : 0xffff;
      bad = off <= limit || end > top;
    } else {
      bad = limit != 0xffffffff && end > <u64>limit;
    }
  }
  if (bad) raise(seg == SEG_SS ? EXC_SS : EXC_GP, 0);
  return load<u32>(p, SG_BASE) + off;
}

// linear address of a read / write of len bytes at seg:off
@inline export function linR(seg: u32, off: u32, len: u32): u32 {
  if ((flatR >> seg) & 1) return off;
  const p = segp(seg);
  if (off < load<u32>(p, SG_RLO) || off > load<u32>(p, SG_RHI) - (len - 1)) return segSlow(seg, off, len, false);
  return load<u32>(p, SG_BASE) + off;
}
@inline export function linW(seg: u32, off: u32, len: u32): u32 {
  if ((flatW >> seg) & 1) return off;
  const p = segp(seg);
  if (off < load<u32>(p, SG_WLO) || off > load<u32>(p, SG_WHI) - (len - 1)) return segSlow(seg, off, len, true);
  return load<u32>(p, SG_BASE) + off;
}

// real mode (and the real-mode half of loads): only selector and base change; the cached limit
// and attributes stay, as on hardware ("unreal mode" works)
// Virtual-8086 mode: every segment register is a 64 KiB read/write data segment at sel << 4 with
// DPL 3 (CS too: writes through a CS override work as in real mode), whatever was cached before.
export function segLoadV86(seg: u32, sel: u32): void {
  sel &= 0xffff;
  segSet(seg, sel, sel << 4, 0xffff, 0xf3);
}

export function segLoadReal(seg: u32, sel: u32): void {
  const p = segp(seg);
  sel &= 0xffff;
  store<u32>(p, sel, SG_SEL);
  store<u32>(p, sel << 4, SG_BASE);
  segFlat(seg);
  if (seg == SEG_CS) fpageReset();
}
