// 16-bit (66-prefixed) ALU instructions compiled inline (runtime/jit/ops/alu.ts): every operation
// in its register, memory, accumulator and group-1 forms, each followed by every condition the
// block computes from the flags in its locals (SETcc of all 16) and by ADC/SBB that read CF, with
// operands chosen to carry, borrow and overflow in 16 bits but not in 32; memory operands at a page
// end (a word across two pages goes through the slow path). Compared with the interpreter alone.
import { FOLD_CC, matchesInterpreter, SET_ALL_CC } from "./lib.ts";

const OPS = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"];

// each form starts from the round's edge values: bx, cx, ax = bx ^ cx (bits above them set too)
const load =
  `  mov ebx, [valB]\n  mov ecx, [valC]\n  mov eax, ebx\n  xor eax, ecx\n  mov [wordA], cx\n  mov [wordB], bx\n`;

function body(ops: string[]): string {
  let s = `
  mov ebp, 49
  mov esi, 0x9e3779b9
  mov word [wordA], 0x7ffe
  mov word [wordB], 0x8001
.round:
  ; bx, cx and ax from the edge values (every pair once), with other bits above them
  mov eax, ebp
  xor edx, edx
  mov ecx, 7
  div ecx
  mov ebx, [edges + edx * 4]
  mov ecx, [edges + eax * 4]
  mov [valB], ebx
  mov [valC], ecx
  xor edx, edx
`;
  for (const op of ops) {
    // register forms (Ev,Gv and Gv,Ev), accumulator with imm16, group 1 with imm16 and imm8
    for (
      const form of [
        `${op} bx, cx`,
        `${op} cx, bx`,
        `${op} ax, 0x8001`,
        `${op} bx, 0x7fff`,
        `${op} cx, -2`,
        `${op} word [wordA], bx`,
        `${op} bx, word [wordB]`,
        `${op} word [wordB], 0x4001`,
        `${op} word [wordA], -1`,
        `${op} word [edgeW], cx`,
      ]
    ) {
      s += `${load}  ${form}\n${SET_ALL_CC}\n  adc eax, ebx\n  sbb ecx, edi\n${FOLD_CC}\n`;
    }
  }
  s += `
  test bx, 0x8000
  setnz al
  test ax, cx
  sets dl
  add esi, eax
  add esi, ecx
  add esi, edi
  movzx eax, word [wordA]
  add esi, eax
  movzx eax, word [wordB]
  add esi, eax
  movzx eax, word [edgeW]
  add esi, eax
  rol esi, 5
  dec ebp
  jnz .round
  PUTHEX esi
  PUTHEX edi
  EXIT 7
align 4096 ; (data on pages of their own: a store to a code page ends the block)
edges: dd 0xdead0000, 0x12340001, 0xffff7fff, 0x00008000, 0x5555ffff, 0xaaaafffe, 0x80008001
cc: times 16 db 0
valB: dd 0
valC: dd 0
wordA: dw 0
wordB: dw 0
  times (0x6000 - 1) - ($ - $$) db 0
edgeW: dw 0x1234 ; across the page boundary at 0x...6000
`;
  return s;
}

// one program per operation (kept small: its blocks then hold each instruction and the SETccs
// after it together, so the conditions come from the block's locals, not from memory)
for (const op of OPS) {
  matchesInterpreter(
    `jit: 16-bit ${op.toUpperCase()} compiled inline matches the interpreter (flags, memory, page ends)`,
    () => body([op]),
  );
}
