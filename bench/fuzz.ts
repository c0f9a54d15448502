// Long differential fuzzing of the two tiers (tests/diff/lib/tiers.ts): `deno task bench:fuzz
// [--count N] [--seed S] [--from I] [--ring 0|3] [--seg flat|fsgs|code16] [--paging on|off]
// [--sse on|off]`. Streams are numbered: stream I of seed S is always the same, so a divergence
// is replayed with --seed S --from I --count 1. Prints progress, throughput and every divergence
// (shrunk); exits 1 when there was one.
import { parseArgs } from "node:util";
import { fuzz, type Mode } from "../tests/diff/lib/tiers.ts";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    count: { type: "string", default: "1000000" },
    seed: { type: "string", default: "0x52494e47" },
    from: { type: "string", default: "0" },
    ring: { type: "string" },
    seg: { type: "string" },
    paging: { type: "string" },
    sse: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (a.help) {
  console.log("deno task bench:fuzz [--count N] [--seed S] [--from I] [--ring 0|3] [--seg flat|fsgs|code16]");
  console.log("                     [--paging on|off] [--sse on|off]");
  Deno.exit(0);
}
const count = Number(a.count), seed = Number(a.seed) >>> 0, from = Number(a.from);
const force: Partial<Mode> = {};
if (a.ring !== undefined) force.ring = Number(a.ring) === 3 ? 3 : 0;
if (a.seg !== undefined) {
  if (!["flat", "fsgs", "code16"].includes(a.seg)) throw new Error(`--seg flat|fsgs|code16, not ${a.seg}`);
  force.seg = a.seg as Mode["seg"];
}
if (a.paging !== undefined) force.paging = a.paging === "on";
if (a.sse !== undefined) force.sse = a.sse === "on";
if (!(count > 0) || !Number.isInteger(from) || from < 0) throw new Error("--count and --from must be numbers");

const t0 = performance.now();
let shown = 0;
const st = await fuzz(seed, from, count, force, (done, s) => {
  for (; shown < s.divergences.length; shown++) {
    const d = s.divergences[shown];
    console.log(`DIVERGENCE stream ${d.index} (${d.mode}): ${d.bytes}\n  ${d.diffs.join("\n  ")}`);
  }
  if (done % 10000 === 0) {
    const sec = (performance.now() - t0) / 1000;
    console.log(`${done} streams, ${(done / sec).toFixed(0)}/s, ${s.divergences.length} divergences`);
  }
});
const sec = (performance.now() - t0) / 1000;
console.log(
  `seed 0x${seed.toString(16)} streams ${from}..${from + count - 1}: ${st.compared} compared, ${st.budget} out of ` +
    `budget, ${st.blocks} blocks compiled, ${st.divergences.length} divergences; ${sec.toFixed(1)} s, ` +
    `${(count / sec).toFixed(0)} streams/s`,
);
console.log(`ends: ${JSON.stringify(st.exits)}`);
if (st.divergences.length) Deno.exit(1);
