// A compiled block keeps the flags its instructions set in locals and stores them only where
// something may read EFLAGS from memory (runtime/jit/block.ts setFlags): every exit, the loop
// back to its entry, slow paths, the interpreter. Each program here reads the flags right after
// such a point through an instruction the block compiler steps (PUSHF, ADC at a block's top),
// compared with the interpreter alone.
import assert from "node:assert/strict";
import { both, program, sameCount } from "./lib.ts";
import { HAVE_NASM } from "../lib/tools.ts";

const cases: { name: string; body: string; runs: number }[] = [
  {
    // a Jcc leaves the block in its middle; the block there starts with PUSHF
    name: "a taken Jcc in the middle of a block",
    body: `
  mov ecx, 60
  xor esi, esi
.loop:
  mov eax, ecx
  sub eax, 7
  jz .seven
  add eax, 0x7ffffff0
  jo .ovf
  xor edx, edx
  jmp .next
.seven:
  pushf
  pop edx
  jmp .next
.ovf:
  pushf
  pop edx
.next:
  add esi, edx
  rol esi, 3
  dec ecx
  jnz .loop
  PUTHEX esi
  EXIT 4
`,
    runs: 50,
  },
  {
    // a Jcc back to the entry loops inside the block; ADC at the top reads the CF that the ADD
    // of the round before left (DEC keeps it)
    name: "the loop back to the block's entry",
    body: `
  mov ecx, 80
  xor eax, eax
  mov ebx, 0x12345678
  clc
.top:
  adc eax, ecx
  add ebx, 0x2f000000
  dec ecx
  jnz .top
  PUTHEX eax
  EXIT 5
`,
    runs: 1, // (the rounds run inside one entry of the block)
  },
  {
    // the block falls out before an instruction that crosses the page end; that one (ADC, run by
    // the interpreter) reads the carry of the compare
    name: "falling out of a block",
    body: `
  mov ecx, 40
  xor esi, esi
  jmp .loop
  times (0x3000 - 12) - ($ - $$) nop
.loop:
  mov eax, ecx
  shl eax, 27
  cmp eax, 0x80000000
  adc esi, 0x01020304   ; 6 bytes from 0x...2ffe
  rol esi, 1
  dec ecx
  jnz .loop
  PUTHEX esi
  EXIT 6
`,
    runs: 50,
  },
];

for (const k of cases) {
  Deno.test({
    name: `jit: the flags are in memory after ${k.name}`,
    ignore: !HAVE_NASM,
    fn: async () => {
      // (evidence of blocks alone; both() runs regions too, where a taken Jcc is a transition)
      const r = await both(program(k.body), { regions: false });
      sameCount(r);
      assert.ok(r.on.runs >= k.runs, `compiled blocks ran ${r.on.runs} times`);
    },
  });
}
