// The module's exports: what the host (runtime/vcpu/core.ts) calls. Every function works on the
// state block selected by setup(), so one instance serves one vCPU thread.
import { S } from "./state";
import * as st from "./state";
import {
  S_EIP, S_FLAGS, S_CR0, S_ATTN, S_PEND_VEC, S_EXC_STATE, S_INTR_VEC,
  S_LF_OP, S_APIC_ID, S_IDTR_LIMIT, S_GDTR_LIMIT, S_DR, S_CPU_INDEX, S_FPU, FP_CW, FP_TAG,
  SEG_CS, SEG_SS, SEG_LDTR, SEG_TR, MACHINE, CR0_ET, S_MXCSR, MXCSR_RESET,
} from "./layout";
import { segSet, segFlatAll } from "./seg";
import { tlbFlushAll, updateMode } from "./mmu";
import { LF_NONE } from "./flags";
export { run, resume, deliver, retired } from "./cpu";
import { noteTrace } from "./eflags";
// EFLAGS with the lazy arithmetic flags folded in (host-side inspection, differential tests)
export { getFlags } from "./flags";

// Bind this instance to vCPU `cpu`'s state block.
export function setup(cpu: u32): void {
  st.setBase(cpu);
  store<u32>(S, cpu, S_CPU_INDEX);
  memory.fill(MACHINE + 0x1000, 0xff, 0x1000); // open-bus page for fetches from MMIO
  resyncFromState();
}

export function stateBase(): u32 { return S; }

// Power-on / INIT state (SDM vol. 3, 9.1.1): real mode at F000:FFF0.
export function reset(): void {
  const cpu = load<u32>(S, S_CPU_INDEX);
  // everything but the attention word, which other threads may be setting bits in right now
  memory.fill(S, 0, S_ATTN);
  memory.fill(S + S_ATTN + 4, 0, 0x1000 - S_ATTN - 4);
  store<u32>(S, cpu, S_CPU_INDEX);
  store<u32>(S, cpu, S_APIC_ID);
  store<u32>(S, 0xfff0, S_EIP);
  store<u32>(S, 2, S_FLAGS);
  store<u32>(S, LF_NONE, S_LF_OP);
  store<u32>(S, CR0_ET | 0x60000000, S_CR0);
  store<u32>(S, 0x3ff, S_IDTR_LIMIT);
  store<u32>(S, 0xffff, S_GDTR_LIMIT);
  store<i32>(S, -1, S_PEND_VEC);
  store<i32>(S, -1, S_EXC_STATE);
  store<i32>(S, -1, S_INTR_VEC);
  store<u32>(S, 0xffff0ff0, S_DR + 24);
  store<u32>(S, 0x400, S_DR + 28);
  store<u32>(S + S_FPU, 0x37f, FP_CW);
  store<u32>(S + S_FPU, 0xffff, FP_TAG);
  store<u32>(S, MXCSR_RESET, S_MXCSR);
  // real-mode caches: every segment a 64 KiB read/write data segment
  for (let s: u32 = 0; s < 6; s++) segSet(s, 0, 0, 0xffff, 0x93);
  segSet(SEG_CS, 0xf000, 0xffff0000, 0xffff, 0x93);
  segSet(SEG_LDTR, 0, 0, 0xffff, 0x82);
  segSet(SEG_TR, 0, 0, 0xffff, 0x8b);
  resyncFromState();
}

// After the host edits the state block directly (loaders, tests), refresh what this instance
// caches: TLB set, code-page cache, default sizes.
export function resyncFromState(): void {
  const cs = load<u32>(S + 128 + SEG_CS * 32, 12);
  const ss = load<u32>(S + 128 + SEG_SS * 32, 12);
  st.cs32 = (cs & 0x4000) != 0;
  st.ss32 = (ss & 0x4000) != 0;
  st.dirty = true;
  segFlatAll();
  tlbFlushAll();
  updateMode();
  noteTrace();
}

// segment cache set by the host (boot loaders start the CPU in protected mode)
export function setSeg(seg: u32, sel: u32, base: u32, limit: u32, attr: u32): void {
  segSet(seg, sel, base, limit, attr);
}

// ---- for the compiled blocks of the block compiler (runtime/jit/) -------------------------------
export { jitStep, jitRd8, jitRd16, jitRd32, jitWr8, jitWr16, jitWr32, jitRdW, jitCond, jitSetCO, jitSetCF, jitSegLin, jitFlags } from "./jit";
export { ip, ip0, head, TLB } from "./state";
export { budget, interpRetired, blockEntries } from "./cpu";
