// What a transition between compiled blocks costs as the number of hot blocks grows: a ring of N
// blocks, each on a page of its own (add from memory, compare, store, jump to the next), run
// forever on a bare machine with every block compiled; one bench iteration runs 50 laps. Blocks
// alone (RING3_JIT_BATCH=1's way) against blocks compiled 8 to a module (the default): a
// transition far from the last in the host's memory costs more the more blocks there are
// (ARCHITECTURE.md, "Blocks share modules"). Per-transition time = the bench's time / (50 N).
import { nasm } from "../tests/lib/tools.ts";
import { ORG, program } from "../tests/jit/lib.ts";
import { Bare } from "../tests/lib/bare.ts";
import { jitOptions } from "../runtime/jit/compile.ts";
import * as L from "../core-as/layout.ts";

const LAPS = 50;
const INSNS = 6; // per block and lap (the JE is not taken)

async function ring(n: number, batch: number): Promise<Bare> {
  let blocks = "";
  for (let i = 0; i < n; i++) {
    blocks += `align 4096\nrb${i}:\n  add eax, [esi]\n  cmp eax, ebx\n  je rs${i}\n  mov [esi], eax\nrs${i}:\n` +
      `  inc ecx\n  jmp rb${(i + 1) % n}\n`;
  }
  const image = await nasm(program(`
  mov esi, data
  xor eax, eax
  mov ebx, -1
  jmp rb0
${blocks}
align 4096
data: dd 1
`));
  const bare = await Bare.create({ ramBytes: 16 << 20 });
  new DataView(bare.memory.buffer).setUint32(L.MACHINE + L.M_JIT, 100, true);
  bare.load(ORG, image);
  bare.startFlat32(ORG, 0x90000);
  const was = { ...jitOptions };
  Object.assign(jitOptions, { batch, regions: false, waitShort: false });
  try {
    // warm: every block compiled, and run long enough for V8 to tier the hot code up
    bare.run(INSNS * n * Math.max(2000, 4_000_000 / n));
  } finally {
    Object.assign(jitOptions, was);
  }
  return bare;
}

for (const n of [16, 256, 1024]) {
  for (const batch of [1, 8]) {
    const bare = await ring(n, batch);
    Deno.bench({
      name: `ring of ${n} blocks, ${batch === 1 ? "each alone" : `${batch} a module`}: ${LAPS} laps`,
      group: `ring${n}`,
      baseline: batch === 1,
      fn: () => {
        bare.run(INSNS * n * LAPS);
      },
    });
  }
}
