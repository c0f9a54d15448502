// Divergences between the interpreter and the block compiler that the tier fuzzer found
// (tests/diff/lib/tiers.ts, `deno task bench:fuzz`), each kept as its shrunk stream: run once in
// the interpreter and twice with every block compiled (compile, then enter), everything equal.
import assert from "node:assert/strict";
import { Machine, makeStream, type Mode, runBoth, type Stream } from "../diff/lib/tiers.ts";

interface Case {
  name: string;
  mode: Mode;
  code: string; // instructions, space-separated hex
  base: [number, number]; // the registers, data and MXCSR of this stream (seed, index) of the fuzzer
  loops?: number; // rounds of the stream (default 1)
  edit?: (s: Stream) => void; // registers, MXCSR... that the case needs
}

const flat0: Mode = { ring: 0, seg: "flat", paging: false, sse: false };
const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((x) => parseInt(x, 16)));

export const CASES: Case[] = [
  {
    // the block followed a prefixed JMP to its target (decodeUnit's JMP following ignored
    // prefixes): LOCK JMP is #UD
    name: "LOCK JMP rel32 raises #UD instead of being followed",
    mode: { ...flat0, paging: true },
    code: "f20f5a7e60 f0e91f000000 0f487527 660ffdc8 0fb484ebf0ffffff 0f008750000000 0fc9 0fbff0 0fcc 18db",
    base: [11, 27092],
  },
  {
    // the same with an operand-size prefix: JMP rel8 with o16 goes to (EIP + rel8) & 0xFFFF
    name: "66 JMP rel8 is not followed (its target is truncated to 16 bits)",
    mode: { ring: 3, seg: "flat", paging: true, sse: false }, // (0x0003 is a supervisor page: #PF)
    code: "66eb00 b801000000 bb02000000 0f0b",
    base: [52, 3220],
  },
];

for (const k of CASES) {
  Deno.test(`tiers regression: ${k.name}`, async () => {
    const interp = await Machine.create(false), jit = await Machine.create(true);
    const s = makeStream(k.base[0], k.base[1], k.mode);
    s.insns = k.code.split(" ").map(hex);
    s.loops = k.loops ?? 1;
    k.edit?.(s);
    for (const regions of [false, true]) {
      const d = runBoth(interp, jit, s, regions);
      assert.ok(d !== null, "the stream must end before the budget");
      assert.deepEqual(d, [], `regions ${regions}`);
    }
  });
}
