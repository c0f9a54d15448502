// The bus lock: a LOCK-prefixed read-modify-write (or XCHG with memory) whose operand no single
// wasm atomic covers — misaligned, split across a cache line or a page, or CMPXCHG8B on a value
// that is only 4-byte aligned, as the i386 ABI lays out `long long` in structs — is done as
// separate loads and stores in an exclusive section: while this machine-wide lock is held, every
// other vCPU is stopped at an instruction boundary, so no access of any kind (a locked one, or a
// plain store such as a spinlock's release) lands between them, as on hardware, where a split
// lock holds the whole bus. (QEMU runs such instructions the same way, in its exclusive section.)
// Aligned locked accesses stay single wasm atomics and do not take the lock.
//
// Protocol: each vCPU's S_XACTIVE is 1 while it executes instructions (resume() to the exit of
// run(), raise()). The vCPU that locks leaves its own S_XACTIVE at 0 while it waits for the lock
// (so one already in its section never waits for it), takes the lock, sets ATTN_EXCL in every
// other executing vCPU and waits until none executes; each of those sees the bit at its next
// instruction boundary (the dispatch loop; a compiled block checks the attention word at its
// back-edges and exits) and parks: S_XACTIVE 0 until the lock is free. A vCPU entering run()
// sets S_XACTIVE and then checks the lock (the locker sets the lock and then checks S_XACTIVE,
// sequentially consistent: one of the two sees the other). Only the operand's loads and stores
// happen in the section (the caller probes every page of the operand first, so nothing faults
// there; raise() still drops it, should anything). Exception delivery after a trap (deliver())
// writes its frame with S_XACTIVE 0: a stack frame is not a locked operand.
import { MACHINE, M_BUSLOCK, CPU_BASE, CPU_STRIDE, MAX_CPUS, S_ATTN, S_XACTIVE, ATTN_EXCL } from "./layout";
import { S } from "./state";

let held = false;

// this vCPU starts executing instructions (resume()): wait out another vCPU's exclusive section
export function xEnter(): void {
  for (;;) {
    atomic.store<u32>(S + S_XACTIVE, 1);
    if (atomic.load<u32>(MACHINE + M_BUSLOCK) == 0) return;
    atomic.store<u32>(S + S_XACTIVE, 0);
    while (atomic.load<u32>(MACHINE + M_BUSLOCK) != 0) {
      // the section is a few loads and stores once every vCPU stopped
    }
  }
}

// this vCPU stops executing instructions (run() returns, an exception unwinds it)
@inline export function xLeave(): void {
  atomic.store<u32>(S + S_XACTIVE, 0);
}

// ATTN_EXCL at an instruction boundary: stay out of the way until the section is over
export function xPark(): void {
  atomic.and<u32>(S + S_ATTN, ~ATTN_EXCL);
  if (atomic.load<u32>(MACHINE + M_BUSLOCK) == 0) return;
  xLeave();
  xEnter();
}

export function busLock(): void {
  atomic.store<u32>(S + S_XACTIVE, 0);
  while (atomic.cmpxchg<u32>(MACHINE + M_BUSLOCK, 0, 1) != 0) {
    // another vCPU's section
  }
  held = true;
  for (let c: u32 = 0; c < <u32>MAX_CPUS; c++) {
    const b = CPU_BASE + c * CPU_STRIDE;
    if (b != S && atomic.load<u32>(b + S_XACTIVE) != 0) atomic.or<u32>(b + S_ATTN, ATTN_EXCL);
  }
  for (let c: u32 = 0; c < <u32>MAX_CPUS; c++) {
    const b = CPU_BASE + c * CPU_STRIDE;
    if (b == S) continue;
    while (atomic.load<u32>(b + S_XACTIVE) != 0) {
      // it stops at its next instruction boundary
    }
  }
  atomic.store<u32>(S + S_XACTIVE, 1);
}

export function busUnlock(): void {
  held = false;
  atomic.store<u32>(MACHINE + M_BUSLOCK, 0);
}

// on an exception (fault.ts): never leave the lock held; the vCPU leaves run()
@inline export function busRelease(): void {
  if (held) busUnlock();
  xLeave();
}
