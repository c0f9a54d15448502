// The seeded random-number generator of the test suites (splitmix32): the same seed gives the
// same sequence on every run and host, so a failing fuzz or random-operand case can be replayed.
// Also operand values where flag and carry logic has its corner cases, for instruction tests.

// FNV-1a of a name: mixed into a base seed, it gives every named case generator its own stream
export function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

// operand values where flag and carry logic has its corner cases
export const EDGE32 = [
  0,
  1,
  2,
  0xffffffff,
  0xfffffffe,
  0x7f,
  0x80,
  0x81,
  0xff,
  0x100,
  0x7fff,
  0x8000,
  0x8001,
  0xffff,
  0x10000,
  0x7fffffff,
  0x80000000,
  0x80000001,
  0xffffff80,
  0xffff8000,
  0x0f,
  0x10,
  0x55555555,
  0xaaaaaaaa,
];
export const EDGE8 = [0, 1, 2, 0x0f, 0x10, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x99, 0x9a, 0x09, 0x0a, 0x66, 0xf9];
export const EDGE16 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff];
export const COUNTS = [0, 1, 2, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 63, 64, 255];

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  // splitmix32
  u32(): number {
    let z = (this.s = (this.s + 0x9e3779b9) >>> 0);
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
  below(n: number): number {
    return Math.floor(this.float() * n);
  }
  // uniform in [0, 1)
  float(): number {
    return this.u32() / 4294967296;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.below(a.length)];
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  // a register value: edges of every operand width, small numbers (counts) and plain random
  val(): number {
    const k = this.below(100);
    if (k < 22) return this.pick(EDGE32) >>> 0;
    if (k < 36) return ((this.u32() & 0xffffff00) | this.pick(EDGE8)) >>> 0;
    if (k < 46) return ((this.u32() & 0xffff0000) | this.pick(EDGE16)) >>> 0;
    if (k < 56) return ((this.u32() & 0xffffff00) | this.pick(COUNTS)) >>> 0;
    if (k < 62) return this.below(70);
    return this.u32();
  }
}
