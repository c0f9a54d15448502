// Operands for the MMX/SSE differential tests: 16-byte chunks of the data window filled with
// random bits or with lane patterns that hit the corner cases (saturation bounds, sign bits,
// equal lanes, zero, all ones), lane size chosen per chunk.
import type { Rng } from "../../lib/rng.ts";

const SPECIAL: Record<number, bigint[]> = {
  1: [0n, 1n, 0x7fn, 0x80n, 0x81n, 0xfen, 0xffn],
  2: [0n, 1n, 0x7fn, 0xffn, 0x100n, 0x7fffn, 0x8000n, 0x8001n, 0xfffen, 0xffffn],
  4: [0n, 1n, 0x7fffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn],
  8: [0n, 1n, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, 0xffffffffn],
};

function put(m: Uint8Array, at: number, size: number, v: bigint): void {
  for (let i = 0; i < size; i++) m[at + i] = Number((v >> BigInt(8 * i)) & 0xffn);
}

// fill m[from, to) (to - from a multiple of 8)
export function fillSimd(r: Rng, m: Uint8Array, from: number, to: number): void {
  for (let c = from; c < to; c += 16) {
    const end = Math.min(to, c + 16);
    if (r.chance(0.4)) continue; // keep the random bits
    const size = r.pick([1, 2, 4, 8]);
    for (let at = c; at + size <= end; at += size) {
      if (r.chance(0.7)) put(m, at, size, r.pick(SPECIAL[size]));
    }
  }
  // now and then a chunk equal to the first one (compares, min/max)
  if (to - from >= 32 && r.chance(0.1)) m.copyWithin(from + 16, from, from + 16);
}
