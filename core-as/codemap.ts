// The code-page map: one byte per physical RAM page (CODEMAP), set when code is fetched from the
// page, and one generation word per page (PAGEGEN) that every store to a code page bumps. The
// interpreter needs none of it; the block compiler (jit.ts) uses it to find stale compiled
// blocks. Below the MMU: the slow store path and the fetch path call in here.
import { S } from "./state";
import {
  MACHINE, M_JIT, M_NCPU, CODEMAP, PAGEGEN, S_TLB, TLB_SET_SIZE, TLB_TAG_W, TLB_ENTRIES, CPU_BASE, CPU_STRIDE,
  S_CPU_INDEX, S_ATTN, ATTN_FLUSH_TLB,
} from "./layout";

// A page becomes code (its CODEMAP byte goes 0 -> 1). No TLB may keep a fast write entry for it,
// or a store could change compiled code unseen: drop this vCPU's write entries and ask the others
// to flush. Only while the block compiler is on; the interpreter alone needs none of this.
export function codePageAdded(): void {
  if (load<u32>(MACHINE, M_JIT) == 0) return;
  for (let set: u32 = 0; set < 2; set++) memory.fill(S + S_TLB + set * TLB_SET_SIZE + TLB_TAG_W, 0xff, TLB_ENTRIES * 4);
  const me = load<u32>(S, S_CPU_INDEX);
  const n = load<u32>(MACHINE, M_NCPU);
  for (let c: u32 = 0; c < n; c++) {
    if (c != me) atomic.or<u32>(CPU_BASE + c * CPU_STRIDE + S_ATTN, ATTN_FLUSH_TLB);
  }
}

// physical page `pg` (of RAM) holds code: mark it (the fetch path and block compilation)
@inline export function markCode(pg: u32): void {
  if (load<u8>(CODEMAP + pg) == 0) {
    store<u8>(CODEMAP + pg, 1);
    codePageAdded();
  }
}

// A store to a page that held code: every compiled block of the page is stale.
@inline export function codePageWritten(phys: u32): void {
  atomic.add<u32>(PAGEGEN + (phys >>> 12) * 4, 1);
}

// A write to a page that holds code. The interpreter needs nothing; the block compiler's
// translations of the page become stale (their page generation no longer matches).
@inline export function codeWrite(phys: u32): void {
  if (load<u8>(CODEMAP + (phys >>> 12)) != 0) {
    store<u8>(CODEMAP + (phys >>> 12), 0);
    codePageWritten(phys);
  }
}
