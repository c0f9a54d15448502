// Short blocks wait longer (runtime/jit/jit.ts worthIt): at a threshold of 100 a loop of two long
// blocks calls a two-instruction function on another page; the long blocks are compiled after
// 100 visits, the short one only after 100 x waitFactor(2) = 1600. The outcome is the
// interpreter's either way.
import assert from "node:assert/strict";
import { program, runImage } from "./lib.ts";
import { HAVE_NASM, nasm } from "../lib/tools.ts";
import { waitFactor } from "../../runtime/jit/jit.ts";

Deno.test("jit: waitFactor: 32 instructions and more at the threshold, up to 16 times later", () => {
  assert.deepEqual([1, 2, 4, 8, 16, 31, 32, 96].map(waitFactor), [16, 16, 8, 4, 2, 2, 1, 1]);
});

const filler = (k: number) =>
  Array.from({ length: 40 }, (_, i) => `  add ebx, ${k * 100 + i}\n  xor edx, ebx`).join("\n");
const loop = (n: number) =>
  program(`
  mov ecx, ${n}
  xor eax, eax
.loop:
${filler(1)}
  call tiny
${filler(2)}
  dec ecx
  jnz .loop
  PUTHEX eax
  PUTHEX edx
  EXIT 7
align 4096 ; (another page: the block at .loop does not go on into it)
tiny:
  inc eax
  ret
`);

Deno.test({
  name: "jit: at threshold 100 a two-instruction block is compiled after 1600 visits, long ones after 100",
  ignore: !HAVE_NASM,
  fn: async () => {
    const counts: number[] = [];
    for (const n of [1000, 2000]) {
      const image = await nasm(loop(n));
      const off = await runImage(image, 0, { regions: false });
      const on = await runImage(image, 100, { regions: false, waitShort: true });
      assert.equal(on.out, off.out);
      assert.equal(on.icount, off.icount);
      counts.push(on.blocks);
    }
    // 1000 rounds: the two long blocks (and no more); 2000: the short one too
    assert.equal(counts[0], 2, `blocks compiled after 1000 rounds: ${counts[0]}`);
    assert.equal(counts[1], 3, `blocks compiled after 2000 rounds: ${counts[1]}`);
  },
});
