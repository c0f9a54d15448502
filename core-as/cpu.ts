// The run loop: fetch, prefixes, dispatch through the generated table, single-step traps,
// external interrupts and the attention word other threads use to reach this vCPU.
import { S, ip, ip0, cs32 } from "./state";
import * as st from "./state";
import {
  S_EIP, S_FLAGS, S_ATTN, S_HALTED, S_EXIT, S_PEND_VEC, S_PEND_ERR, S_EXC_STATE, S_DR, ATTN_IRQ, ATTN_FLUSH_TLB,
  ATTN_STOP, ATTN_EXIT, ATTN_TRACE, ATTN_SHADOW, ATTN_NMI, ATTN_EXCL, S_NMI, NMI_BLOCKED, NMI_PENDING, EXC_NMI, SEG_CS, F_IF,
  F_TF, EXIT_BUDGET, EXIT_HLT, EXIT_SHUTDOWN, EXIT_STOP, EXIT_PAUSE, EXC_DB, EXC_DF, EXC_PF, EXC_DE, EXC_TS, EXC_GP,
} from "./layout";
import { exec } from "./generated/dispatch";
import { segBase, curEip } from "./seg";
import { interrupt, INT_EXC, INT_EXT } from "./intr";
import { tlbFlushAll } from "./mmu";
import { intr_ack } from "./env";
import { fetch8 } from "./fetch";
import { xEnter, xLeave, xPark } from "./buslock";

// Instruction accounting: run(n) sets `budget`; each retired instruction decrements it, so the
// count survives a fault's trap out of the loop (retired() = base + start - budget).
export let budget: i32 = 0;
// Where instructions run, for the block compiler's statistics (RING3_JIT_STATS, `stats`): those
// the dispatch loop retired itself (not in a compiled block, not stepped for one), and how many
// times it entered a compiled block (each then chains on without it as far as it can).
// (both are incremented through the module namespace, cpu.x++, which deno lint does not see)
// deno-lint-ignore prefer-const
export let interpRetired: u32 = 0;
// deno-lint-ignore prefer-const
export let blockEntries: u32 = 0;
let runStart: i32 = 0;
let retiredBase: u64 = 0;
// One-instruction shadow after STI (external interrupts wait) and MOV SS / POP SS (interrupts and
// debug traps wait). It lives for exactly the next instruction: ATTN_SHADOW sends that one through
// the slow path, which clears it.
export const SHADOW_STI: u32 = 1;
export const SHADOW_SS: u32 = 2;
export let shadow: u32 = 0;
export function setShadow(kind: u32): void {
  shadow = kind;
  atomic.or<u32>(S + S_ATTN, ATTN_SHADOW);
}
@inline function clearShadow(): void {
  if (shadow != 0) {
    shadow = 0;
    atomic.and<u32>(S + S_ATTN, ~ATTN_SHADOW);
  }
}
export let exitReason: u32 = EXIT_BUDGET;

export function retired(): u64 { return retiredBase + <u64>(runStart - budget); }

// decode state back to the CS defaults; only needed after a prefix or a CS change (st.dirty)
function resetDecode(): void {
  st.o32 = cs32;
  st.a32 = cs32;
  st.segovr = -1;
  st.rep = 0;
  st.lock = false;
  st.dirty = false;
}

// start of every instruction (inlined into the dispatch loop): returns the opcode for dispatch
@inline export function startInsn(): u32 {
  if (st.dirty) resetDecode();
  st.ip0 = ip;
  return fetchOp();
}
@inline function step(): void { exec(true); }

@inline function fetchOp(): u32 {
  const a = ip;
  if ((a & 0xfffff000) != st.fpage) return fetchOpSlow();
  st.ip = a + 1;
  return <u32>load<u8>(a + st.fdelta) | (cs32 ? 0x100 : 0);
}
function fetchOpSlow(): u32 {
  return fetch8() | (cs32 ? 0x100 : 0);
}

// PAUSE (F3 90) is what a guest spin-wait executes each time round (Linux's cpu_relax: spinlocks,
// waiting for another CPU to answer an IPI or a TLB shootdown). A vCPU whose host thread spins
// while the vCPU it waits for is descheduled (more vCPUs than host cores, a loaded host) wastes
// its whole host time slice; so, like VMX's pause-loop exiting, PAUSE_SPIN PAUSEs within one
// run() leave the loop with EXIT_PAUSE, and the vCPU's thread sleeps briefly on its attention word
// (runtime/vcpu/worker.ts; the single-thread machine goes on with the next vCPU).
const PAUSE_SPIN: u32 = 2048;
let pauses: u32 = 0;
export function pause(): void {
  if (++pauses >= PAUSE_SPIN) {
    pauses = 0;
    exitLoop(EXIT_PAUSE);
  }
}

// Enter the loop with `n` instructions of budget. Returns EXIT_*.
export function run(n: i32): u32 {
  pauses = 0;
  retiredBase += <u64>(runStart - budget);
  runStart = n;
  budget = n;
  return resume();
}

// Continue after the host delivered a fault (deliver()) or woke a halted CPU.
// The inner loop runs while the attention word is zero; everything rare (interrupts, TLB-flush
// requests, single-step, HLT, stop requests) sets a bit there and is handled outside it.
export function resume(): u32 {
  st.ip = segBase(SEG_CS) + load<u32>(S, S_EIP);
  resetDecode();
  st.head = true;
  exitReason = EXIT_BUDGET;
  xEnter();
  if (load<u32>(S, S_HALTED) != 0) {
    st.ip0 = ip;
    // an NMI wakes HLT whatever IF says; attention() below delivers it
    if ((atomic.load<u32>(S, S_ATTN) & ATTN_NMI) == 0 && !pollInterrupts()) { return saveExit(EXIT_HLT); }
  }
  while (budget > 0) {
    if (load<u32>(S, S_ATTN) != 0) {
      if (shadow != 0) {
        // the instruction after STI / MOV SS runs before any interrupt; it is still single-stepped
        const tf = (load<u32>(S, S_FLAGS) & F_TF) != 0;
        clearShadow();
        step();
        budget--;
        if (tf) {
          st.ip0 = ip;
          singleStepTrap();
        }
        continue;
      }
      st.ip0 = ip;
      if (attention()) break;
      if ((load<u32>(S, S_ATTN) & ATTN_TRACE) != 0) {
        if ((load<u32>(S, S_FLAGS) & F_TF) == 0) {
          atomic.and<u32>(S + S_ATTN, ~ATTN_TRACE);
        } else {
          step();
          budget--;
          // after MOV SS / POP SS the trap waits for the end of the next instruction
          if (shadow == SHADOW_SS) continue;
          st.ip0 = ip;
          singleStepTrap();
          continue;
        }
      }
      if (load<u32>(S, S_ATTN) != 0) {
        // bits still set that need no action now (an IRQ masked by IF): one plain step
        step();
        budget--;
        continue;
      }
    }
    exec(false);
  }
  return saveExit(exitReason);
}

@inline function saveExit(r: u32): u32 {
  xLeave();
  store<u32>(S, curEip(), S_EIP);
  store<u32>(S, r, S_EXIT);
  return r;
}

// handlers call this to leave the loop after the current instruction (HLT)
export function exitLoop(reason: u32): void {
  exitReason = reason;
  atomic.or<u32>(S + S_ATTN, ATTN_EXIT);
}

function singleStepTrap(): void {
  clearShadow(); // an exception ends the shadow
  // DR6.BS, then #DB as a trap: EIP already points at the next instruction
  store<u32>(S, load<u32>(S, S_DR + 24) | 0x4000, S_DR + 24);
  interrupt(EXC_DB, -1, INT_EXC);
}

// handle the attention bits; true when the loop must return
function attention(): bool {
  const a = atomic.load<u32>(S, S_ATTN);
  if ((a & ATTN_EXCL) != 0) xPark(); // another vCPU's split lock (buslock.ts)
  if ((a & ATTN_EXIT) != 0) {
    atomic.and<u32>(S + S_ATTN, ~ATTN_EXIT);
    return true;
  }
  if ((a & ATTN_FLUSH_TLB) != 0) {
    atomic.and<u32>(S + S_ATTN, ~ATTN_FLUSH_TLB);
    tlbFlushAll();
  }
  if ((a & ATTN_STOP) != 0) {
    atomic.and<u32>(S + S_ATTN, ~ATTN_STOP);
    exitReason = EXIT_STOP;
    return true;
  }
  if ((a & ATTN_NMI) != 0) {
    atomic.and<u32>(S + S_ATTN, ~ATTN_NMI);
    nmi();
  }
  if ((a & ATTN_IRQ) != 0) pollInterrupts();
  return false;
}

// NMI (from the APIC bus): delivered whatever IF says, then blocked until the next IRET; one
// more that arrives meanwhile is held and delivered after it.
function nmi(): void {
  const s = load<u32>(S, S_NMI);
  if ((s & NMI_BLOCKED) != 0) {
    store<u32>(S, s | NMI_PENDING, S_NMI);
    return;
  }
  store<u32>(S, NMI_BLOCKED, S_NMI);
  store<u32>(S, 0, S_HALTED);
  interrupt(EXC_NMI, -1, INT_EXT);
}

export function nmiUnblock(): void {
  const s = load<u32>(S, S_NMI);
  store<u32>(S, 0, S_NMI);
  if ((s & NMI_PENDING) != 0) atomic.or<u32>(S + S_ATTN, ATTN_NMI);
}

// deliver one external interrupt if IF allows; true if one was delivered
function pollInterrupts(): bool {
  if ((load<u32>(S, S_FLAGS) & F_IF) == 0) return false;
  const v = intr_ack();
  if (v < 0) {
    atomic.and<u32>(S + S_ATTN, ~ATTN_IRQ);
    return false;
  }
  store<u32>(S, 0, S_HALTED);
  interrupt(<u32>v, -1, INT_EXT);
  return true;
}

// ---- exception delivery after a trap unwound run() -------------------------------------------
@inline function contributory(v: u32): bool { return v == <u32>EXC_DE || (v >= <u32>EXC_TS && v <= <u32>EXC_GP); }

// Called by the host after run()/resume() trapped with S_PEND_VEC set. Restarts the faulting
// instruction's delivery; nested faults escalate to #DF and then shutdown as the SDM's table says.
// Returns EXIT_SHUTDOWN on a triple fault, else EXIT_BUDGET.
export function deliver(): u32 {
  const vec = load<i32>(S, S_PEND_VEC);
  const err = load<i32>(S, S_PEND_ERR);
  store<i32>(S, -1, S_PEND_VEC);
  st.ip = ip0; // faults restart the instruction
  budget--; // a delivery costs budget, so a handler that faults at once cannot spin the host forever
  clearShadow();
  const prev = load<i32>(S, S_EXC_STATE); // vector being delivered when this one happened, or -1
  let v: u32 = <u32>vec;
  let e: i32 = err;
  if (prev >= 0) {
    const p = <u32>prev;
    if (p == EXC_DF) {
      store<i32>(S, -1, S_EXC_STATE);
      store<u32>(S, curEip(), S_EIP);
      return EXIT_SHUTDOWN;
    }
    if ((contributory(p) && contributory(v)) || (p == EXC_PF && (contributory(v) || v == EXC_PF))) {
      v = EXC_DF; e = 0;
    }
  }
  store<i32>(S, v, S_EXC_STATE);
  if (v != EXC_DB) { /* RF is set in the pushed EFLAGS of faults by pmInterrupt */ }
  interrupt(v, e, INT_EXC);
  store<i32>(S, -1, S_EXC_STATE);
  store<u32>(S, curEip(), S_EIP);
  return EXIT_BUDGET;
}
