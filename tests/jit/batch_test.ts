// Blocks share modules (runtime/jit/jit.ts batched): at a threshold of 100 an entry that gets hot
// waits until jitOptions.batch entries wait, or until it gets hot again, and then they are
// compiled into one module. The outcome is the interpreter's; an entry whose page was written
// while it waited is not compiled from what it held then.
import assert from "node:assert/strict";
import { hex, program, REGS, runImage } from "./lib.ts";
import { HAVE_NASM, nasm } from "../lib/tools.ts";

// `n` blocks on pages of their own, run `rounds` times in a ring; each adds to, rotates and stores
// a running sum
const ring = (n: number, rounds: number, before = "", after = "") => {
  let blocks = "";
  for (let i = 0; i < n; i++) {
    blocks += `align 4096\nrb${i}:\n  add eax, [sum]\n  rol eax, ${(i % 7) + 1}\n  xor eax, ${i * 977 + 1}\n` +
      `  mov [sum], eax\n  jmp ${i + 1 < n ? `rb${i + 1}` : "ring_back"}\n`;
  }
  return `
  xor eax, eax
${before}
  mov ecx, ${rounds}
ring_round:
  jmp rb0
ring_back:
  dec ecx
  jnz ring_round
${after}
  PUTHEX eax
  EXIT 7
${blocks}
align 4096
sum: dd 0x1234567
`;
};

Deno.test({
  name: "jit: blocks compiled 8 to a module run as the interpreter does (registers, memory, count)",
  ignore: !HAVE_NASM,
  fn: async () => {
    const image = await nasm(program(ring(20, 400)));
    const off = await runImage(image, 0, { regions: false });
    const on = await runImage(image, 100, { regions: false, batch: 8 });
    const alone = await runImage(image, 100, { regions: false, batch: 1 });
    for (const [r, how] of [[on, "8 a module"], [alone, "alone"]] as const) {
      assert.equal(r.out, off.out, how);
      assert.equal(r.icount, off.icount, `instructions retired (${how})`);
      assert.deepEqual(r.regs.map(hex), off.regs.map(hex), `${REGS.join(" ")} (${how})`);
      assert.deepEqual(r.mem, off.mem, `memory (${how})`);
    }
    // the 20 ring blocks and the loop's: every one compiled, in modules of several
    assert.ok(on.blocks >= 20, `blocks compiled: ${on.blocks}`);
    assert.ok(on.packs >= 2 && on.packs <= Math.ceil(on.blocks / 2), `modules: ${on.packs} for ${on.blocks} blocks`);
    assert.equal(alone.packs, 0);
    assert.ok(on.runs > 0, "compiled blocks ran");
  },
});

// `patched` (alone on its page) gets hot and waits; code on another page then writes it, which
// unmarks the page as code, and nothing runs there until the ring's blocks fill the batch. Then
// it is written again: a store to a page not marked as code bumps no generation, so had the
// batch compiled `patched` from the first write's bytes, the second would go unseen and the
// final call would still see 2.
Deno.test({
  name: "jit: an entry whose page is written while it waits for its batch is not compiled from it",
  ignore: !HAVE_NASM,
  fn: async () => {
    const src = program(
      ring(
        12,
        150,
        `
  mov ecx, 150
.hot:
  call patched
  dec ecx
  jnz .hot
  mov byte [patched + 1], 2`,
        `
  mov byte [patched + 1], 3
  call patched`,
      ) + `
align 4096
patched:
  mov eax, 1
  ret
`,
    );
    const image = await nasm(src);
    const off = await runImage(image, 0, { regions: false });
    assert.equal(off.out.trim(), "00000003", "the interpreter sees the second write");
    const on = await runImage(image, 100, { regions: false, batch: 8 });
    assert.equal(on.out, off.out);
    assert.equal(on.icount, off.icount);
    assert.ok(on.packs >= 1, `modules of several blocks: ${on.packs}`);
  },
});
