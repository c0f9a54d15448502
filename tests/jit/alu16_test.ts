// 16-bit (66-prefixed) ALU instructions compiled inline (runtime/jit/ops/alu.ts): every operation
// in its register, memory, accumulator and group-1 forms, each followed by every condition the
// block computes from the flags in its locals (SETcc of all 16) and by ADC/SBB that read CF, with
// operands chosen to carry, borrow and overflow in 16 bits but not in 32; memory operands at a page
// end (a word across two pages goes through the slow path). Compared with the interpreter alone.
import { edgeRounds, matchesInterpreter } from "./lib.ts";

const OPS = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"];

// each form starts from the round's edge values: bx, cx, ax = bx ^ cx (bits above them set too)
const load =
  `  mov ebx, [valB]\n  mov ecx, [valC]\n  mov eax, ebx\n  xor eax, ecx\n  mov [wordA], cx\n  mov [wordB], bx\n`;

// register forms (Ev,Gv and Gv,Ev), accumulator with imm16, group 1 with imm16 and imm8, memory
const forms = (op: string) => [
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
];
const body = (ops: string[]) =>
  edgeRounds({
    pick: "div7",
    edges: [0xdead0000, 0x12340001, 0xffff7fff, 0x00008000, 0x5555ffff, 0xaaaafffe, 0x80008001],
    pre: "  mov word [wordA], 0x7ffe\n  mov word [wordB], 0x8001\n",
    forms: ops.flatMap(forms),
    load,
    after: "  adc eax, ebx\n  sbb ecx, edi\n",
    sums: `  test bx, 0x8000
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
`,
    vars: "wordA: dw 0\nwordB: dw 0\n",
    edge: { label: "edgeW", size: 2, init: 0x1234 },
  });

// one program per operation (kept small: its blocks then hold each instruction and the SETccs
// after it together, so the conditions come from the block's locals, not from memory)
for (const op of OPS) {
  matchesInterpreter(
    `jit: 16-bit ${op.toUpperCase()} compiled inline matches the interpreter (flags, memory, page ends)`,
    () => body([op]),
  );
}
