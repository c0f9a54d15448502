// GuestRam (runtime/memory.ts): every access bounds-checked with no wrap (bulk operations answer
// null/false and touch nothing, typed accessors throw), little-endian typed accessors, and writes
// that retire code pages (CODEMAP byte cleared, PAGEGEN word bumped) and leave data pages alone.
import assert from "node:assert/strict";
import * as L from "../../core-as/layout.ts";
import { createMemory } from "../../runtime/vcpu/core.ts";
import { GuestRam } from "../../runtime/memory.ts";

const SIZE = 4 << 20;

function machineRam() {
  const memory = createMemory(SIZE);
  const ram = GuestRam.ofMemory(memory, SIZE);
  const codemap = new Uint8Array(memory.buffer, L.CODEMAP, SIZE >> 12);
  const gen = new Uint32Array(memory.buffer, L.PAGEGEN, SIZE >> 12);
  return { memory, ram, codemap, gen };
}

Deno.test("GuestRam: out-of-range bulk accesses answer null/false and touch nothing; no wrap", () => {
  const ram = GuestRam.detached(0x10000);
  ram.fill(0, 0x10000, 0xaa);
  const bad: [number, number][] = [
    [0x10000, 1], // one past the end
    [0xffff, 2], // straddles the end
    [-1, 2], // negative
    [0x1000, -1],
    [0x100000000 - 4, 8], // would wrap at 32 bits
    [4096.5, 4], // not an integer
    [Number.MAX_SAFE_INTEGER, 1],
    [0, 0x10001],
  ];
  for (const [a, n] of bad) {
    const what = `0x${a.toString(16)}+${n}`;
    assert.equal(ram.contains(a, n), false, what);
    assert.equal(ram.view(a, n), null, what);
    assert.equal(ram.read(a, n), null, what);
    assert.equal(ram.fill(a, n, 0), false, what);
    if (n >= 0) assert.equal(ram.write(a, new Uint8Array(n)), false, what);
    assert.equal(ram.copy(a, 0, n), false, what);
    assert.equal(ram.copy(0, a, n), false, what);
  }
  assert.ok(ram.view(0, 0x10000)!.every((b) => b === 0xaa), "nothing written");
  assert.ok(ram.contains(0x10000, 0), "an empty range at the end is inside");
  assert.ok(ram.write(0xfffe, [1, 2]));
  assert.deepEqual([...ram.read(0xfffe, 2)!], [1, 2]);
});

Deno.test("GuestRam: typed little-endian accessors; out of range throws a RangeError naming the address", () => {
  const ram = GuestRam.detached(0x1000);
  ram.writeU32(0x10, 0x11223344);
  assert.deepEqual([...ram.view(0x10, 4)!], [0x44, 0x33, 0x22, 0x11]);
  assert.equal(ram.readU16(0x11), 0x2233);
  assert.equal(ram.readU8(0x13), 0x11);
  ram.writeU64(0x20, 0x0102030405060708n);
  assert.equal(ram.readU64(0x20), 0x0102030405060708n);
  assert.equal(ram.readU32(0x24), 0x01020304);
  ram.writeU32(0x30, -1);
  assert.equal(ram.readU32(0x30), 0xffffffff);
  assert.throws(() => ram.readU32(0xffd), /guest RAM access 0xffd\+4 outside 0\.\.0x1000/);
  assert.throws(() => ram.writeU16(0xfff, 0), RangeError);
  assert.throws(() => ram.writeU8(-1, 0), RangeError);
  assert.throws(() => ram.readU64(0xff9), RangeError);
  ram.copy(0x40, 0x10, 8); // overlapping-safe memmove
  assert.equal(ram.readU32(0x40), 0x11223344);
});

Deno.test("GuestRam over a machine's memory: writes retire code pages, leave data pages alone", () => {
  const { ram, codemap, gen } = machineRam();
  codemap[3] = 1; // the CPU fetched code from page 3
  codemap[5] = 1;
  ram.writeU8(0x2fff, 1); // page 2: data
  assert.equal(gen[2], 0);
  assert.equal(codemap[3], 1);
  ram.writeU16(0x3fff, 0xffff); // straddles pages 3 and 4
  assert.equal(codemap[3], 0, "page 3 is data until fetched again");
  assert.equal(gen[3], 1, "blocks compiled from page 3 are stale");
  assert.equal(gen[4], 0);
  ram.write(0x3000, [0x90]); // page 3 is no longer code: no second bump
  assert.equal(gen[3], 1);
  codemap[3] = 1;
  ram.fill(0x2000, 0x4000, 0); // pages 2..5
  assert.deepEqual([gen[3], gen[5], codemap[3], codemap[5]], [2, 1, 0, 0]);
  codemap[7] = 1;
  ram.copy(0x7000, 0x100, 4);
  assert.equal(gen[7], 1);
  codemap[100] = 1;
  ram.clear();
  assert.equal(gen[100], 1, "clearing RAM retires every code page");
  // an out-of-range write touches no page
  codemap[(SIZE >> 12) - 1] = 1;
  assert.equal(ram.write(SIZE - 2, [1, 2, 3]), false);
  assert.equal(codemap[(SIZE >> 12) - 1], 1);
});
