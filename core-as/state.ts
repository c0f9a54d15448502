// deno-lint-ignore-file prefer-const -- these are per-instance wasm globals that other modules assign (st.ip = ...), which lint cannot see
// Per-instance (per-thread) handles on the shared state block, plus the transient decode state of
// the instruction being executed. Wasm globals are private to each instance, so every vCPU worker
// has its own; everything architectural lives in memory at the offsets of layout.ts.
import { CPU_BASE, CPU_STRIDE, S_TLB, TLB_SET_SIZE, JIT_HASH, JIT_HASH_STRIDE } from "./layout";

// base of this vCPU's state block; set once by setup()
export let S: u32 = 0;
// current TLB set base (supervisor or user, or the always-empty set while #AC checking is on)
export let TLB: u32 = 0;

// instruction pointer kept as a linear address while running: ip = next byte to fetch,
// ip0 = first byte of the current instruction (faults restart from it)
export let ip: u32 = 0;
export let ip0: u32 = 0;
// fetch cache: linear page currently mapped for instruction fetch and its host delta
export let fpage: u32 = 1;
export let fdelta: u32 = 0;

// decode state of the current instruction (modules assign these directly)
export let o32: bool = false; // operand size is 32
export let a32: bool = false; // address size is 32
export let segovr: i32 = -1; // segment override prefix, -1 none
export let rep: u32 = 0; // 0, 0xf2 or 0xf3
export let lock: bool = false;
// set by prefixes and CS changes: the decode state must be reset before the next instruction
export let dirty: bool = true;
// set by every control transfer: the next instruction may start a compiled block (core-as/jit.ts)
export let head: bool = false;
// defaults from the CS and SS descriptors
export let cs32: bool = false;
export let ss32: bool = false;

// this vCPU's block-entry hash (core-as/jit.ts)
export let JH: u32 = 0;

export function setBase(cpu: u32): void {
  S = CPU_BASE + cpu * CPU_STRIDE;
  JH = JIT_HASH + cpu * JIT_HASH_STRIDE;
}
export function setTlbSetDirect(set: u32): void {
  TLB = S + S_TLB + set * TLB_SET_SIZE;
}
// forget the cached code page (after a TLB flush, CS change or CPL change)
export function fpageReset(): void { fpage = 1; }
// ---- general registers ----------------------------------------------------------------------
@inline export function r32(r: u32): u32 { return load<u32>(S + (r << 2)); }
@inline export function w32(r: u32, v: u32): void { store<u32>(S + (r << 2), v); }
@inline export function r16(r: u32): u32 { return load<u16>(S + (r << 2)); }
@inline export function w16(r: u32, v: u32): void { store<u16>(S + (r << 2), <u16>v); }
// 8-bit registers: al cl dl bl ah ch dh bh
@inline export function r8(r: u32): u32 { return load<u8>(S + ((r & 3) << 2) + (r >> 2)); }
@inline export function w8(r: u32, v: u32): void { store<u8>(S + ((r & 3) << 2) + (r >> 2), <u8>v); }
// operand-size generic (size in bytes: 1, 2, 4)
@inline export function rN(r: u32, size: u32): u32 {
  return size == 4 ? r32(r) : size == 2 ? r16(r) : r8(r);
}
@inline export function wN(r: u32, v: u32, size: u32): void {
  if (size == 4) w32(r, v); else if (size == 2) w16(r, v); else w8(r, v);
}
@inline export function osize(): u32 { return o32 ? 4 : 2; }
