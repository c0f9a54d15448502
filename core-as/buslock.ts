// The bus lock: a LOCK-prefixed read-modify-write (or XCHG with memory) whose operand no single
// wasm atomic covers — misaligned, split across a cache line or a page, or CMPXCHG8B on a value
// that is only 4-byte aligned, as the i386 ABI lays out `long long` in structs — is done as
// separate loads and stores while this machine-wide lock is held, so no two such accesses on any
// vCPUs interleave and no update is lost. (Aligned locked accesses stay single wasm atomics and do
// not take the lock; software does not mix both on the same bytes.) The caller probes every page
// of the operand for writing before it locks, so nothing faults while the lock is held; raise()
// still drops it, should anything.
import { MACHINE, M_BUSLOCK } from "./layout";

let held = false;

export function busLock(): void {
  // another vCPU holds it for a few loads and stores: spin
  while (atomic.cmpxchg<u32>(MACHINE + M_BUSLOCK, 0, 1) != 0) {
    // spin
  }
  held = true;
}

export function busUnlock(): void {
  held = false;
  atomic.store<u32>(MACHINE + M_BUSLOCK, 0);
}

// on an exception (fault.ts): never leave the lock held
@inline export function busRelease(): void {
  if (held) busUnlock();
}
