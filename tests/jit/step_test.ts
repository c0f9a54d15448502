// Instructions the block compiler does not emit but steps through the interpreter inside a block
// (PUSHF/POPF, CLI/STI, IN/OUT), and entries whose first instruction it cannot decode (one
// crossing the page end), compared with the interpreter alone (tests/jit/lib.ts).
import assert from "node:assert/strict";
import { both, ORG, program, sameCount } from "./lib.ts";
import { HAVE_NASM } from "../lib/tools.ts";

// POPF sets TF on the last round: the single-step trap must come after the instruction that
// follows the POPF (EBX counted, EDX not yet), so a block must leave right after a stepped
// instruction that set the attention word instead of running on.
Deno.test({
  name: "jit: a stepped POPF that sets TF traps after the next instruction, as in the interpreter",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(
      program(`
  xor ebx, ebx
  xor edx, edx
  mov ecx, 40
.loop:
  pushf
  pop eax
  cmp ecx, 1
  jne .plain
  or eax, 0x100
.plain:
  cli
  push eax
  popf
  inc ebx
  inc edx
  in al, 0x80
  out 0x80, al
  dec ecx
  jnz .loop
  EXIT 1
`),
      { regions: false },
    ); // (evidence of blocks alone; both() runs regions too)
    sameCount(r);
    assert.match(r.on.out, /!00000001/, "the run must end in the #DB stub");
    assert.equal(r.on.regs[3], 40, "EBX: the instruction after POPF retired");
    assert.equal(r.on.regs[2], 39, "EDX: the trap came before the second one");
    assert.ok(r.on.runs > 20, `compiled blocks ran ${r.on.runs} times`);
  },
});

// A hot loop whose head is an instruction split across a page boundary: it becomes a one-step
// block; the loop runs as many instructions and computes the same.
Deno.test({
  name: "jit: an entry whose instruction crosses the page end runs as a stepped block",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(program(`
  mov ecx, 30
  xor eax, eax
  jmp .loop
  times (0x2000 - 3) - ($ - $$) nop
.loop:
  add eax, 0x12345678   ; 5 bytes from 0x...1ffd: crosses into the next page
  rol eax, 3
  dec ecx
  jnz .loop
  EXIT 2
`));
    sameCount(r);
    assert.equal(r.on.code, 2);
    const head = ORG + 0x2000 - 3;
    assert.ok((r.on.entries.get(head) ?? 0) >= 29, `the split instruction's block ran ${r.on.entries.get(head)} times`);
  },
});
