// Writing EFLAGS as a whole (POPF, IRET, task switches). Callers pass the bits they are allowed
// to change; the reserved bits are forced here so no path can set them: bit 1 reads as 1,
// bits 3, 5, 15 and 22..31 as 0. VM is set only by IRET at CPL 0 and by a task switch (never by
// POPF); CR4.VME/PVI do not exist here, so the virtual-interrupt rules do not apply.
import { S } from "./state";
import {
  S_FLAGS, S_LF_OP, S_CPL, S_CR0, CR0_PE, S_ATTN, ATTN_TRACE,
  F_AC, F_RF, F_IF, F_IOPL, F_ID, F_NT, F_TF, F_DF, F_ARITH,
} from "./layout";
import { getFlags, LF_NONE } from "./flags";
import { updateMode } from "./mmu";

// bits that exist and can ever be written (everything else reserved)
const EFLAGS_DEFINED: u32 = 0x003f7fd5;

// Replace the bits selected by `mask` with those of `value`; the result is stored with the
// lazy arithmetic state folded in. Re-selects the TLB set when AC changed (alignment checking).
export function writeEflags(value: u32, mask: u32): void {
  const old = getFlags();
  let f = (old & ~mask) | (value & mask);
  f = (f & EFLAGS_DEFINED) | 2;
  store<u32>(S, f, S_FLAGS);
  store<u32>(S, LF_NONE, S_LF_OP);
  if (((old ^ f) & F_AC) != 0) updateMode();
  noteTrace();
}

// The run loop checks TF only when the attention word says it may be set (cpu.ts).
export function noteTrace(): void {
  if ((load<u32>(S, S_FLAGS) & F_TF) != 0) atomic.or<u32>(S + S_ATTN, ATTN_TRACE);
}

// The bits POPF may change at the current privilege (SDM POPF): real mode behaves as CPL 0,
// virtual-8086 mode (reached only at IOPL 3) as CPL 3: IF, not IOPL.
// IOPL only at CPL 0; IF only when CPL <= IOPL; AC and ID only with a 32-bit operand; RF is in
// the mask so that a 32-bit POPF clears it (the caller passes the value with RF clear).
export function popfMask(size: u32): u32 {
  let m: u32 = F_ARITH | F_TF | F_DF | F_NT;
  const pm = (load<u32>(S, S_CR0) & CR0_PE) != 0;
  const cpl: u32 = pm ? load<u32>(S, S_CPL) : 0;
  if (cpl == 0) m |= F_IOPL;
  if (cpl <= ((load<u32>(S, S_FLAGS) >> 12) & 3)) m |= F_IF;
  if (size == 4) m |= F_AC | F_ID | F_RF;
  return m;
}
