// Which pages of guest RAM the host has ever backed. Reading a page of the machine's shared
// memory that nobody touched makes the host allocate it, so scanning all RAM for zero pages would
// cost a snapshot seconds and the process the whole guest RAM in resident memory. mincore(2)
// says which pages are resident without touching them; pages that are not hold zeros. Linux
// only (through Deno's FFI, which `-A` allows); elsewhere, or without FFI, null: scan them all.
import { host, type PointerValue } from "../platform/mod.ts";
let mincore: ((addr: PointerValue, len: bigint, vec: Uint8Array) => number) | null | undefined;

function load(): typeof mincore {
  if (mincore !== undefined) return mincore;
  mincore = null;
  if (host.build.os !== "linux") return null;
  try {
    const lib = host.dlopen("libc.so.6", {
      mincore: { parameters: ["pointer", "usize", "buffer"], result: "i32" },
    });
    mincore = (a, l, v) => lib.symbols.mincore(a, l, v) as number;
  } catch {
    mincore = null; // no FFI permission, or no such libc
  }
  return mincore;
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
    return f(ptr, BigInt(view.length), vec) === 0 ? vec : null;
  } catch {
    return null;
  }
}
