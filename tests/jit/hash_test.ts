// The block-entry hash holds compiled blocks only; entries that are not hot yet are counted apart
// (core-as/jit.ts jitEnter). Three entries that share one two-way hash pair: A and B hot, C
// visited now and then but never hot. C's visits must not evict B's compiled block (which would
// send B back to counting and the interpreter).
import assert from "node:assert/strict";
import * as L from "../../core-as/layout.ts";
import { HAVE_NASM, nasm } from "../lib/tools.ts";
import { ORG, program, runImage } from "./lib.ts";

const pair = (lin: number) => (Math.imul(L.RAM_BASE + lin, 0x9e3779b1) >>> 20) & (L.JIT_ENTRIES / 2 - 1);

Deno.test({
  name: "jit: an entry that is not hot never evicts a compiled block from its hash pair",
  ignore: !HAVE_NASM,
  fn: async () => {
    // three addresses in one pair, past the program's first 16 KiB
    const a = ORG + 0x4000;
    const same: number[] = [];
    for (let x = a + 16; same.length < 2; x++) if (pair(x) === pair(a)) same.push(x);
    const [b, c] = same;
    assert.ok(c < ORG + 0x70000, "colliding addresses nearby");
    const fn = (at: number, name: string, body: string) =>
      `  times ${at - ORG} - ($ - $$) db 0x90\n${name}:\n${body}\n  ret\n`;
    const src = program(`
  xor esi, esi
  xor edi, edi
  mov ecx, 300
.loop:
  call fa
  mov edx, fb           ; one indirect call site going to B and D in turn: its link misses every
  test ecx, 1           ; other time and the lookup goes through the hash
  jz .odd
  mov edx, fd
.odd:
  call edx
  test ecx, 15
  jnz .next
  call fc
.next:
  dec ecx
  jnz .loop
  EXIT 3
${fn(a, "fa", "  inc esi")}${fn(b, "fb", "  add edi, esi")}${fn(c, "fc", "  sub edi, 1")}${
      fn(c + 0x100, "fd", "  xor edi, 5")
    }`);
    const image = await nasm(src);
    const off = await runImage(image, 0, { memEnd: ORG + 0x10 });
    const on = await runImage(image, 100, { memEnd: ORG + 0x10 });
    assert.equal(on.code, 3);
    assert.deepEqual(on.regs, off.regs, "registers");
    assert.equal(on.icount, off.icount, "instructions retired");
    // B is compiled at its 100th visit and then runs compiled on every later one
    assert.ok((on.entries.get(b) ?? 0) >= 45, `B's block ran ${on.entries.get(b) ?? 0} of 150 times`);
    assert.equal(on.entries.get(c) ?? 0, 0, "C (19 visits) is never compiled");
  },
});
