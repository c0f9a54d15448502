// Registers the benches for one freestanding C program: ring3 running its gcc -m32 build beside
// the native x86-64 build of the same source. Runs up front print the MIPS figures (cold and warm)
// and check that ring3 computed the same result as the native program.
import { Bare } from "../../tests/lib/bare.ts";
import { buildProgram, runNative } from "./guestprog.ts";
import { JIT_DEFAULT, jitThreshold } from "../../runtime/vcpu/core.ts";
import * as L from "../../core-as/layout.ts";

export async function programBench(name: string, rounds: number, group: string): Promise<void> {
  const prog = await buildProgram(name, rounds);
  const [nativeResult, nativeNs] = await runNative(prog, rounds);

  // jit: the block compiler's threshold for this run (0 = the interpreter alone)
  async function once(jit = 0): Promise<{ ms: number; icount: bigint; code: number }> {
    const b = await Bare.create({ ramBytes: 4 << 20 });
    new DataView(b.memory.buffer).setUint32(L.MACHINE + L.M_JIT, jit, true);
    b.load(0x100000, prog.flat);
    b.startFlat32(prog.entry, 0x3ff000);
    const t0 = performance.now();
    const r = b.run(4_000_000_000);
    const ms = performance.now() - t0;
    if (r.exit !== "done") throw new Error(`${name}.c did not finish: ${r.exit} at EIP ${b.core.eip.toString(16)}`);
    return { ms, icount: r.icount, code: r.code >>> 0 };
  }

  const first = await once();
  if (first.code !== nativeResult >>> 0) {
    throw new Error(`${name}.c: ring3 computed ${first.code.toString(16)}, native ${nativeResult.toString(16)}`);
  }
  // the first run includes V8 compiling the large dispatch function in the background while it
  // already runs on baseline code; the warm figure (best of three more) is the interpreter's speed
  const mips = (ms: number) => Number(first.icount) / ms / 1000;
  let warm = Infinity;
  for (let i = 0; i < 3; i++) warm = Math.min(warm, (await once()).ms);
  // the same with the block compiler (its default threshold; compiling is inside the timing)
  const jit = jitThreshold() || JIT_DEFAULT;
  const jfirst = await once(jit);
  if (jfirst.code !== first.code || jfirst.icount !== first.icount) {
    throw new Error(
      `${name}.c with the block compiler: result ${jfirst.code.toString(16)}, ${jfirst.icount} instructions`,
    );
  }
  let jwarm = Infinity;
  for (let i = 0; i < 3; i++) jwarm = Math.min(jwarm, (await once(jit)).ms);
  console.log(
    `${group}: ${name}.c x${rounds}: block compiler (threshold ${jit}): warm ${jwarm.toFixed(0)} ms = ` +
      `${mips(jwarm).toFixed(1)} MIPS (first run ${jfirst.ms.toFixed(0)} ms = ${mips(jfirst.ms).toFixed(1)} MIPS)`,
  );
  console.log(
    `${group}: ${name}.c x${rounds}: ${first.icount} guest instructions: interpreter warm ${warm.toFixed(0)} ms = ` +
      `${mips(warm).toFixed(1)} MIPS (cold first run ${first.ms.toFixed(0)} ms = ${mips(first.ms).toFixed(1)} MIPS); ` +
      `native x86-64 ${(nativeNs / 1e6).toFixed(1)} ms (${(warm / (nativeNs / 1e6)).toFixed(0)}x slower warm)`,
  );

  Deno.bench(
    { name: `interpreter: ${name}.c x${rounds} (gcc -m32 -O2)`, group, baseline: true, n: 5, warmup: 1 },
    async () => {
      await once();
    },
  );
  Deno.bench({ name: `block compiler: ${name}.c x${rounds}`, group, n: 5, warmup: 1 }, async () => {
    await once(jit);
  });
  Deno.bench({ name: `native x86-64: ${name}.c x${rounds}`, group, n: 5, warmup: 1 }, async () => {
    await runNative(prog, rounds);
  });
}
