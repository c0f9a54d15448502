// The two tiers against each other on random code (tests/diff/lib/tiers.ts): 10^4 seeded streams
// from the opcode table, half of them mostly MMX/SSE/SSE2, in ring 0 and ring 3, flat, with FS/GS
// at non-zero bases and limits, and in a 16-bit code segment, paging off and on; each runs once in
// the interpreter and once with every block compiled, and every observable must be equal.
// RING3_TIERS_STREAMS changes the count, RING3_DIFF_SEED the streams; `deno task bench:fuzz` runs
// millions. A failure lists the stream (seed, index, machine), its instructions shrunk to those
// that still diverge, and the first differences.
import assert from "node:assert/strict";
import { BASE_SEED } from "../diff/lib/seed.ts";
import { fuzz, type Mode, type SegMode } from "../diff/lib/tiers.ts";

const STREAMS = Number(Deno.env.get("RING3_TIERS_STREAMS") ?? 10_000);
// the 16-bit code segment is there to show the compiler stays out of it (it compiles flat 32-bit
// code only), so it gets a smaller share
const SHARE: Record<SegMode, number> = { flat: 0.55, fsgs: 0.35, code16: 0.1 };

for (const seg of ["flat", "fsgs", "code16"] as const) {
  for (const ring of [0, 3] as const) {
    for (const paging of [false, true]) {
      const count = Math.max(1, Math.round((STREAMS * SHARE[seg]) / 4));
      const force: Partial<Mode> = { ring, seg, paging };
      const name = `tiers: ${count} random streams, ring ${ring}, ${seg}, paging ${paging ? "on" : "off"}`;
      Deno.test(name, async () => {
        const seed = (BASE_SEED ^ (ring * 0x1111) ^ (paging ? 0x2222 : 0) ^ (seg.length * 0x10101)) >>> 0;
        const st = await fuzz(seed, 0, count, force);
        const msg = st.divergences.slice(0, 5).map((d) =>
          `  stream ${d.index} (${d.mode}): ${d.bytes}\n    ${d.diffs.join("\n    ")}`
        ).join("\n");
        assert.equal(
          st.divergences.length,
          0,
          `${st.divergences.length} of ${count} streams diverge (seed 0x${seed.toString(16)}):\n${msg}`,
        );
        // most streams end in an exception; loops that run out of budget are not compared
        assert.ok(st.compared >= count * 0.8, `only ${st.compared} of ${count} streams compared`);
        // the compiled side really compiled (outside the 16-bit code segment)
        if (seg !== "code16") assert.ok(st.blocks >= count * 0.5, `only ${st.blocks} blocks compiled`);
      });
    }
  }
}
