// The operands a decoded ModR/M byte names (fetch.ts sets mmem/mseg/moff/mrmi): a register or
// memory through the segment, read, written or read for a read-modify-write. Plus the host-address
// fast path the read-modify-write handlers take when the operand's page is in the write TLB.
import { TLB, r8, r16, r32, w8, w16, w32, rN } from "./state";
import { TLB_ENTRIES, TLB_TAG_W, TLB_DELTA } from "./layout";
import { lrd8, lrd16, lrd32, lwr8, lwr16, lwr32, lprobeW } from "./mmu";
import { linR, linW } from "./seg";
import { mmem, mrmi, mseg, moff } from "./fetch";

@inline export function rmRd8(): u32 { return mmem ? lrd8(linR(mseg, moff, 1)) : r8(mrmi); }
@inline export function rmRd16(): u32 { return mmem ? lrd16(linR(mseg, moff, 2)) : r16(mrmi); }
@inline export function rmRd32(): u32 { return mmem ? lrd32(linR(mseg, moff, 4)) : r32(mrmi); }
@inline export function rmWr8(v: u32): void { if (mmem) lwr8(linW(mseg, moff, 1), v); else w8(mrmi, v); }
@inline export function rmWr16(v: u32): void { if (mmem) lwr16(linW(mseg, moff, 2), v); else w16(mrmi, v); }
@inline export function rmWr32(v: u32): void { if (mmem) lwr32(linW(mseg, moff, 4), v); else w32(mrmi, v); }
// by operand size (1, 2, 4): specialized per size after inlining
@inline export function rmRdN(size: u32): u32 {
  if (!mmem) return rN(mrmi, size);
  const lin = linR(mseg, moff, size);
  return size == 4 ? lrd32(lin) : size == 2 ? lrd16(lin) : lrd8(lin);
}
@inline export function rmWrN(v: u32, size: u32): void { if (size == 4) rmWr32(v); else if (size == 2) rmWr16(v); else rmWr8(v); }
// read of a read-modify-write destination: a fault is reported as a write fault
@inline export function rmRdW(size: u32): u32 {
  if (!mmem) return size == 4 ? r32(mrmi) : size == 2 ? r16(mrmi) : r8(mrmi);
  const lin = linW(mseg, moff, size);
  lprobeW(lin, size);
  return size == 4 ? lrd32(lin) : size == 2 ? lrd16(lin) : lrd8(lin);
}

// ---- host-address fast path for read-modify-write memory operands ----------------------------
// host address of a page-internal operand whose page is in the write TLB (RAM, not code), else 0
@inline export function wHost(lin: u32, size: u32): u32 {
  const e = TLB + (((lin >>> 12) & (TLB_ENTRIES - 1)) << 2);
  if (load<u32>(e, TLB_TAG_W) == (lin & 0xfffff000) && (lin & 0xfff) <= 0x1000 - size) return lin + load<u32>(e, TLB_DELTA);
  return 0;
}
@inline export function hostLd(h: u32, size: u32): u32 {
  return size == 4 ? load<u32>(h) : size == 2 ? <u32>load<u16>(h) : <u32>load<u8>(h);
}
@inline export function hostSt(h: u32, v: u32, size: u32): void {
  if (size == 4) store<u32>(h, v); else if (size == 2) store<u16>(h, <u16>v); else store<u8>(h, <u8>v);
}
