// The SSE2 forms the block compiler runs inline (runtime/jit/ops/sse.ts), each in a stream of its
// own, against the interpreter: register and memory operands (ESI points at 16-byte aligned
// data), in their fast path (MXCSR 0x1FA0: default with PE set; plain doubles) and in their
// interpreter path (MXCSR 0x1F80 where an inexact result needs PE; CR0.TS: #NM; misaligned
// operands: #GP). Each instruction must be compiled inline (the block's count of inline
// instructions) and everything observable must equal the interpreter's.
import assert from "node:assert/strict";
import { DATA, Machine, makeStream, type Mode, runBoth } from "../diff/lib/tiers.ts";
import * as L from "../../core-as/layout.ts";
import { hasSimd } from "../../runtime/vcpu/simd.ts";

// Without WebAssembly SIMD (runtime/vcpu/simd.ts) only the scalar double forms compile inline; the
// rest step through the interpreter (and must still agree with it).
const scalarForm = (f: string) =>
  f.split(" ").every((i) => i === "9c" || /^(f20f5[189ce]|f20f2[ac]|660f2[ef])/.test(i));

const FORMS = [
  // moves
  "660f6fc1 660f6f06 f30f6f4601 0f28c2 0f2806 660f2806 0f10c3 0f104e03 660f1006",
  "660f7fc1 660f7f06 f30f7f4601 0f29c2 0f2906 0f11c3 0f114e03 660fe706 0f2b06",
  "f20f10c1 f20f1006 f20f11c1 f20f1106 f30f10c1 f30f1006 f30f11c1 f30f1106",
  "660f6ec1 660f6e06 660f7ec1 660f7e06 f30f7ec1 f30f7e06 660fd6c1 660fd606",
  // logic, compares, min/max, arithmetic, packs
  "660fefc1 660fef06 660fdbc1 660fdfc1 660febc1 0f57c1 0f54c1 0f55c1 0f56c1 660f5706",
  "660f74c1 660f7406 660f75c1 660f76c1 660f64c1 660f65c1 660f66c1 660fdac1 660fdec1 660feac1 660feec1",
  "660ffcc1 660ffdc1 660ffec1 660fd4c1 660ff8c1 660ff9c1 660ffac1 660ffbc1 660fecc1 660fedc1",
  "660fdcc1 660fddc1 660fe8c1 660fe9c1 660fd8c1 660fd9c1 660fe0c1 660fe3c1 660fd5c1 660f63c1 660f67c1 660f6bc1",
  // mask, shifts, shuffles, unpacks
  "660fd7c1 660f71d003 660f71e00f 660f71f011 660f72d01f 660f72e021 660f72f005 660f73d040 660f73d805 660f73f801 660f73f03f 660f73d811",
  "660f70c11b 660f700693 f20f70c1e4 f30f70c11b 660f60c1 660f61c1 660f62c1 660f6cc1 660f68c1 660f69c1 660f6ac1 660f6dc1 660f6006",
  // scalar double
  "f20f58c1 f20f5806 f20f5cc1 f20f59c1 f20f5ec1 f20f51c1 f20f5106 f20f2ac0 f20f2a06 f20f2cc1 f20f2c06",
  "660f2ec1 9c 660f2e06 9c 660f2fc1 9c 660f2f06 9c",
];

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((x) => parseInt(x, 16)));
const mode: Mode = { ring: 3, seg: "flat", paging: true, sse: true };

for (
  const [what, edit] of [
    ["fast paths", () => {}],
    ["MXCSR without PE", (s: ReturnType<typeof makeStream>) => (s.mxcsr = 0x1f80)],
    ["CR0.TS (#NM)", (s: ReturnType<typeof makeStream>) => (s.cr0 |= L.CR0_TS)],
    ["misaligned ESI (#GP)", (s: ReturnType<typeof makeStream>) => (s.regs[6] += 4)],
  ] as const
) {
  Deno.test(`jit sse: the inline SSE2 forms against the interpreter, ${what}`, async () => {
    const interp = await Machine.create(false), jit = await Machine.create(true);
    // each instruction alone (its result is what the state shows), then each line as one stream
    const streams = [...FORMS.flatMap((f) => f.split(" ").filter((i) => i !== "9c")), ...FORMS];
    for (const [n, form] of streams.entries()) {
      for (let seed = 0; seed < 2; seed++) {
        const s = makeStream(0x55e + seed, n, mode);
        s.insns = form.split(" ").map(hex);
        s.mxcsr = 0x1fa0;
        s.cr0 &= ~(L.CR0_TS | L.CR0_EM | L.CR0_AM);
        s.eflags &= ~0x40000; // (no alignment checks: the misaligned forms are #GP or plain loads)
        s.cr4 |= L.CR4_OSFXSR;
        for (let r = 0; r < 8; r++) if (r !== 4) s.regs[r] = DATA + 0x100 + r * 0x20;
        s.regs[0] = seed * 1000 - 3000; // (CVTSI2SD's source)
        const dv = new DataView(s.xmm.buffer);
        for (let i = 0; i < 128; i += 8) dv.setFloat64(i, (seed + 1) * (i - 60) / 7, true);
        dv.setFloat64(16, (seed + 1) * 2.75, true); // xmm1: a positive source (SQRTSD)
        edit(s);
        const before = jit.bare.core.jit.stats.inline;
        const d = runBoth(interp, jit, s, false);
        assert.ok(d !== null, `${form}: ran out of budget`);
        assert.deepEqual(d, [], `${form} (seed ${seed})`);
        // (the first seed compiles the form; the others enter those blocks)
        const inline = jit.bare.core.jit.stats.inline - before;
        if (seed === 0 && (hasSimd() || scalarForm(form))) assert.ok(inline >= 1, `${form}: nothing inline`);
      }
    }
  });
}
