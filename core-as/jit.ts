// The interpreter's side of the block compiler (runtime/jit/). At the target of every control
// transfer the dispatch loop calls jitEnter(): a compiled block for that address runs as one
// call_indirect; otherwise the address's visit count goes up, and when it reaches the threshold
// the host compiles the block (env.jit_compile) into this instance's function table.
// Compiled blocks see exactly the interpreter's state: registers, lazy flags and TLBs in memory,
// ip/ip0/budget/head in this instance's globals (exported to the blocks), and they call back into
// the helpers below for everything they do not emit inline.
import { S, ip, cs32, ss32 } from "./state";
import { refill } from "./fetch";
import * as st from "./state";
import * as cpu from "./cpu";
import { exec } from "./generated/dispatch";
import { flatR, flatW, linR, linW } from "./seg";
import {
  S_FLAGS, F_CF, F_OF, JIT_ENTRIES, PAGEGEN, RAM_BASE, MACHINE, M_JIT, SEG_ES, SEG_CS, SEG_SS, SEG_DS, S_JIT_COUNT,
  JIT_COUNTERS,
} from "./layout";
import { markCode } from "./codemap";
import { jit_compile } from "./env";
import { lrd8, lrd16, lrd32, lwr8, lwr16, lwr32, lprobeW } from "./mmu";
import { cond, getFlags, materialize, setCF } from "./flags";

// blocks are compiled for flat 32-bit code: CS, DS, ES and SS with base 0 and 4 GiB limits
const FLAT_R: u32 = (1 << SEG_ES) | (1 << SEG_CS) | (1 << SEG_SS) | (1 << SEG_DS);
const FLAT_W: u32 = (1 << SEG_ES) | (1 << SEG_SS) | (1 << SEG_DS);

// Two-way: an address may live in either slot of its pair, so two hot entries that hash alike
// do not evict each other's compiled blocks (and reset each other's visit counts) for ever.
@inline function hashPair(h: u32): u32 {
  return st.JH + (((h * 0x9e3779b1) >>> (32 - 12)) & (JIT_ENTRIES / 2 - 1)) * 32;
}

// Returns true when a compiled block ran (it advanced ip and budget itself).
export function jitEnter(): bool {
  st.head = false;
  const hot = load<u32>(MACHINE, M_JIT);
  if (hot == 0 || !cs32 || !ss32 || (flatR & FLAT_R) != FLAT_R || (flatW & FLAT_W) != FLAT_W) return false;
  const a = ip;
  if ((a & 0xfffff000) != st.fpage) {
    st.ip0 = a; // a fault mapping the page is the fetch fault of the instruction there
    refill(a);
  }
  const h = a + st.fdelta;
  if (h < <u32>RAM_BASE) return false; // ROM or open bus
  const s0 = hashPair(h);
  const s1 = s0 + 16;
  // a compiled entry also keeps its linear address (word 3): its code has linear addresses in it
  // (fall-through, branch targets, return addresses), so another alias of the page is another block
  const slot: u32 = load<u32>(s0) == h && load<u32>(s0, 12) == a && load<u32>(s0, 4) != 0 ? s0
    : load<u32>(s1) == h && load<u32>(s1, 12) == a && load<u32>(s1, 4) != 0 ? s1 : 0;
  const gen = load<u32>(PAGEGEN + ((h - RAM_BASE) >>> 12) * 4);
  if (slot != 0) {
    if (load<u32>(slot, 8) == gen) {
      cpu.blockEntries++;
      call_indirect<void>(load<u32>(slot, 4));
      return true;
    }
    store<u32>(slot, 0, 4); // the page was written since: compile again when it is hot again
  }
  // Not compiled: count the visit. The counters are apart from the entry hash (addresses that
  // hash alike share one, which only makes them hot a little sooner), so the many entries that
  // never get hot cannot evict compiled blocks or each other's counts.
  const ctr = S + S_JIT_COUNT + (((h * 0x85ebca6b) >>> (32 - 13)) & (JIT_COUNTERS - 1)) * 4;
  const n = load<u32>(ctr) + 1;
  if (n < hot) {
    store<u32>(ctr, n);
    return false;
  }
  store<u32>(ctr, 0);
  // A page with compiled blocks must be marked as code, so that every store to it takes the
  // slow path and bumps its generation; the fetch cache may not have marked it again since the
  // last store.
  markCode((h - RAM_BASE) >>> 12);
  const f = jit_compile(h, a);
  if (f != 0) {
    // a free way, else way 0 moves down and the older entry (way 1) goes
    let to = s0;
    if (load<u32>(s0, 4) == 0) to = s0;
    else if (load<u32>(s1, 4) == 0) to = s1;
    else memory.copy(s1, s0, 16);
    store<u32>(to, h);
    store<u32>(to, f, 4);
    store<u32>(to, gen, 8);
    store<u32>(to, a, 12);
  }
  return false;
}

// ---- helpers the compiled blocks call ----------------------------------------------------------
// `at` is the linear address of the block's instruction, `done` how many of the block's
// instructions retired before it: a fault then restarts exactly there with the right count.

// one instruction through the interpreter
export function jitStep(at: u32, done: i32): void {
  cpu.budget -= done;
  st.ip = at;
  exec(true);
  cpu.budget += done;
}

export function jitRd8(lin: u32, at: u32, done: i32): u32 { st.ip0 = at; cpu.budget -= done; const v = lrd8(lin); cpu.budget += done; return v; }
export function jitRd16(lin: u32, at: u32, done: i32): u32 { st.ip0 = at; cpu.budget -= done; const v = lrd16(lin); cpu.budget += done; return v; }
export function jitRd32(lin: u32, at: u32, done: i32): u32 { st.ip0 = at; cpu.budget -= done; const v = lrd32(lin); cpu.budget += done; return v; }
export function jitWr8(lin: u32, v: u32, at: u32, done: i32): void { st.ip0 = at; cpu.budget -= done; lwr8(lin, v); cpu.budget += done; }
export function jitWr16(lin: u32, v: u32, at: u32, done: i32): void { st.ip0 = at; cpu.budget -= done; lwr16(lin, v); cpu.budget += done; }
export function jitWr32(lin: u32, v: u32, at: u32, done: i32): void { st.ip0 = at; cpu.budget -= done; lwr32(lin, v); cpu.budget += done; }
// read of a read-modify-write destination: faults are reported as writes
export function jitRdW(lin: u32, size: u32, at: u32, done: i32): u32 {
  st.ip0 = at;
  cpu.budget -= done;
  lprobeW(lin, size);
  const v = size == 4 ? lrd32(lin) : size == 2 ? lrd16(lin) : lrd8(lin);
  cpu.budget += done;
  return v;
}
export function jitCond(cc: u32): u32 { return cond(cc) ? 1 : 0; }
// PUSHF: EFLAGS as the interpreter's getFlags() has them (the block spilled its lazy flags first)
export function jitFlags(): u32 { return getFlags(); }
// ROL/ROR: CF and OF change, the other arithmetic flags stay
export function jitSetCO(cf: u32, ovf: u32): void {
  materialize();
  store<u32>(S, (load<u32>(S, S_FLAGS) & ~(F_CF | F_OF)) | (cf & 1) | ((ovf & 1) << 11), S_FLAGS);
}
// BT family: CF changes, the other arithmetic flags stay
export function jitSetCF(cf: u32): void {
  setCF(cf != 0);
}
// A memory operand through a segment that is not flat (FS, GS): its linear address, or the fault
// (lenw = length | write << 8)
export function jitSegLin(seg: u32, off: u32, lenw: u32, at: u32, done: i32): u32 {
  const len = lenw & 0xff;
  if ((lenw >> 8) == 0 && ((flatR >> seg) & 1) != 0) return off;
  if ((lenw >> 8) != 0 && ((flatW >> seg) & 1) != 0) return off;
  st.ip0 = at;
  cpu.budget -= done;
  const lin = (lenw >> 8) != 0 ? linW(seg, off, len) : linR(seg, off, len);
  cpu.budget += done;
  return lin;
}
