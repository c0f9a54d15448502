// The interpreter on x87-bound code (awk-like parsing, arithmetic, compares and (int)
// conversions, gcc -m32 -O2), in millions of guest instructions per second, beside the native
// time of the same C program (x86-64, SSE).
import { Bare } from "../tests/lib/bare.ts";
import { buildProgram, runNative } from "./lib/guestprog.ts";

const ROUNDS = 4;
const prog = await buildProgram("fp", ROUNDS);
const [nativeResult, nativeNs] = await runNative(prog, ROUNDS);

async function once(): Promise<{ ms: number; icount: bigint; code: number }> {
  const b = await Bare.create({ ramBytes: 4 << 20 });
  b.load(0x100000, prog.flat);
  b.startFlat32(prog.entry, 0x3ff000);
  const t0 = performance.now();
  const r = b.run(4_000_000_000);
  const ms = performance.now() - t0;
  if (r.exit !== "done") throw new Error(`bench program did not finish: ${r.exit} at EIP ${b.core.eip.toString(16)}`);
  return { ms, icount: r.icount, code: r.code >>> 0 };
}

// one measured run up front for the MIPS figure (Deno.bench reports time per run)
const first = await once();
if (first.code !== nativeResult >>> 0) {
  throw new Error(`ring3 computed ${first.code.toString(16)}, native ${nativeResult.toString(16)}`);
}
const mips = Number(first.icount) / first.ms / 1000;
console.log(
  `x87: fp.c x${ROUNDS}: ${first.icount} guest instructions in ${first.ms.toFixed(0)} ms = ${mips.toFixed(1)} MIPS; ` +
    `native x86-64 ${(nativeNs / 1e6).toFixed(1)} ms (${(first.ms / (nativeNs / 1e6)).toFixed(0)}x slower)`,
);

Deno.bench({ name: `interpreter: fp.c x${ROUNDS} (gcc -m32 -O2)`, group: "x87", baseline: true, n: 5, warmup: 1 }, async () => {
  await once();
});
Deno.bench({ name: `native x86-64: fp.c x${ROUNDS}`, group: "x87", n: 5, warmup: 1 }, async () => {
  await runNative(prog, ROUNDS);
});
