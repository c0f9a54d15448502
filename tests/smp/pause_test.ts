// PAUSE (F3 90) in a spin-wait leaves the run loop after 2048 of them in one run() with
// EXIT_PAUSE, so a vCPU thread can step aside for the vCPU it waits for (core-as/cpu.ts pause);
// interpreted and in compiled blocks alike, with the retired count exact. A plain NOP loop is
// no spin-wait and runs its whole budget.
import assert from "node:assert/strict";
import { Bare } from "../lib/bare.ts";
import * as L from "../../core-as/layout.ts";

const AT = 0x10000;
const PAUSE_LOOP = [0xf3, 0x90, 0xeb, 0xfc]; // l: pause; jmp l
const NOP_LOOP = [0x90, 0xeb, 0xfd]; // l: nop; jmp l
const F2_LOOP = [0xf2, 0x90, 0xeb, 0xfc]; // l: repne nop; jmp l (not PAUSE)

async function rig(code: number[], jit: number): Promise<Bare> {
  const b = await Bare.create();
  new DataView(b.memory.buffer).setUint32(L.MACHINE + L.M_JIT, jit, true);
  b.load(AT, Uint8Array.from(code));
  b.startFlat32(AT);
  return b;
}

for (const [jit, label] of [[0, "interpreter"], [1, "every block compiled"]] as const) {
  Deno.test(`smp: PAUSE spin-wait exits with EXIT_PAUSE after 2048 PAUSEs (${label})`, async () => {
    const b = await rig(PAUSE_LOOP, jit);
    for (let round = 0; round < 4; round++) {
      const i0 = b.core.icount;
      const exit = b.core.run(1_000_000);
      assert.equal(exit, L.EXIT_PAUSE, `round ${round}`);
      // 2048 PAUSEs and the JMPs between them (and before the first, after round 0): it stops
      // right after the 2048th PAUSE, and the next round goes on at its JMP
      assert.equal(b.core.icount - i0, round === 0 ? 4095n : 4096n, `round ${round}`);
      assert.equal(b.core.eip, AT + 2, `round ${round}`);
    }
    if (jit) assert.ok(b.core.jit.stats.blocks > 0, "the loop was compiled");
  });

  Deno.test(`smp: NOP and F2 90 loops are no spin-wait: they run the whole budget (${label})`, async () => {
    for (const code of [NOP_LOOP, F2_LOOP]) {
      const b = await rig(code, jit);
      assert.equal(b.core.run(100_000), L.EXIT_BUDGET);
      assert.equal(b.core.icount, 100_000n);
    }
  });
}
