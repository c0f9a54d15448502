// Host memory calls for snapshots (Linux, through Deno's FFI, which `-A` and the boot task allow;
// elsewhere, or without FFI, the callers take the plain path):
//
// - Which pages of guest RAM the host has ever backed. Reading a page of the machine's shared
//   memory that nobody touched makes the host allocate it, so scanning all RAM for zero pages
//   would cost a snapshot seconds and the process the whole guest RAM in resident memory.
//   mincore(2) says which pages are resident without touching them; pages that are not hold zeros.
// - Huge pages for a restore: the saved pages are first writes into fresh memory, and a fault per
//   4 KiB page costs ~13 us on a virtual machine host (45 ms for a booted default guest's 13 MiB,
//   measured); madvise(MADV_HUGEPAGE) on the 2 MiB stretches the snapshot mostly fills makes
//   that one fault per 2 MiB (~10 ms). Sparse stretches keep small pages (no RAM for nothing).
import { host, type PointerValue } from "../platform/mod.ts";

interface Libc {
  mincore(addr: PointerValue, len: bigint, vec: Uint8Array): number;
  madvise(addr: PointerValue, len: bigint, advice: number): number;
}
let libc: Libc | null | undefined;

function load(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (host.build.os !== "linux") return null;
  try {
    const lib = host.dlopen("libc.so.6", {
      mincore: { parameters: ["pointer", "usize", "buffer"], result: "i32" },
      madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
    });
    libc = {
      mincore: (a, l, v) => lib.symbols.mincore(a, l, v) as number,
      madvise: (a, l, advice) => lib.symbols.madvise(a, l, advice) as number,
    };
  } catch {
    libc = null; // no FFI permission, or no such libc
  }
  return libc;
}

// One byte per 4 KiB page of `view` (page-aligned in host memory): bit 0 set = resident. null:
// unknown (treat every page as possibly nonzero).
export function residentPages(view: Uint8Array): Uint8Array | null {
  const f = load();
  if (!f) return null;
  try {
    const ptr = host.UnsafePointer.of(view as unknown as BufferSource);
    if (ptr === null || host.UnsafePointer.value(ptr) % 4096n !== 0n) return null;
    const vec = new Uint8Array(Math.ceil(view.length / 4096));
    return f.mincore(ptr, BigInt(view.length), vec) === 0 ? vec : null;
  } catch {
    return null;
  }
}

const HUGE = 2 * 1024 * 1024;
const MADV_HUGEPAGE = 14;

// Ask for huge pages where `isSaved` (by 4 KiB page of `view`) covers at least half of an aligned
// 2 MiB stretch of host memory, before those pages are written. Only advice: any failure (no FFI,
// no transparent huge pages) leaves the memory as it was. Returns the number of stretches advised.
export function adviseHugePages(view: Uint8Array, isSaved: (page: number) => boolean): number {
  const f = load();
  if (!f) return 0;
  try {
    const ptr = host.UnsafePointer.of(view as unknown as BufferSource);
    if (ptr === null) return 0;
    const base = host.UnsafePointer.value(ptr);
    if (base % 4096n !== 0n) return 0;
    const pages = view.length >> 12;
    const first = Number((BigInt(HUGE) - base % BigInt(HUGE)) % BigInt(HUGE)) >> 12;
    let advised = 0;
    for (let c = first; c + 512 <= pages; c += 512) {
      let n = 0;
      for (let p = c; p < c + 512 && n < 256; p++) if (isSaved(p)) n++;
      if (n < 256) continue;
      const at = host.UnsafePointer.create(base + BigInt(c) * 4096n);
      if (f.madvise(at, BigInt(HUGE), MADV_HUGEPAGE) === 0) advised++;
    }
    return advised;
  } catch {
    return 0;
  }
}
