// 8- and 16-bit INC/DEC and SHL/SHR/SAR by 1 and by an immediate compiled inline
// (runtime/jit/ops/unary.ts, shift.ts): register and memory operands, counts past the operand's
// width, each followed by all 16 conditions (SETcc leaves the flags alone, so each reads the
// instruction's own flags from the block's locals) and by ADC/SBB that read CF; compared with
// the interpreter alone. One program per operation, so that its blocks hold an instruction and
// the SETccs after it together.
import { edgeRounds, matchesInterpreter } from "./lib.ts";

const load =
  `  mov ebx, [valB]\n  mov ecx, [valC]\n  mov eax, ebx\n  xor eax, ecx\n  mov [wordA], cx\n  mov [byteA], bl\n`;

const GROUPS: Record<string, string[]> = {
  "INC/DEC": [
    "inc bl",
    "dec bh",
    "inc cx",
    "dec bx",
    "inc byte [byteA]",
    "dec byte [byteA]",
    "inc word [wordA]",
    "dec word [wordA]",
    "inc word [edgeW]",
  ],
  SHL: [1, 3, 7, 8, 9, 15, 16, 17, 31].flatMap((
    n,
  ) => [`shl bl, ${n}`, `shl cx, ${n}`, `shl byte [byteA], ${n}`, `shl word [wordA], ${n}`]).concat([
    "shl bh, 1",
    "sal dx, 1",
    "shl word [edgeW], 1",
  ]),
  SHR: [1, 3, 7, 8, 9, 15, 16, 17, 31].flatMap((
    n,
  ) => [`shr bl, ${n}`, `shr cx, ${n}`, `shr byte [byteA], ${n}`, `shr word [wordA], ${n}`]).concat([
    "shr ch, 1",
    "shr word [edgeW], 4",
  ]),
  SAR: [1, 3, 7, 8, 9, 15, 16, 17, 31].flatMap((
    n,
  ) => [`sar bl, ${n}`, `sar cx, ${n}`, `sar byte [byteA], ${n}`, `sar word [wordA], ${n}`]).concat([
    "sar bh, 1",
    "sar word [edgeW], 2",
  ]),
};

const body = (forms: string[]) =>
  edgeRounds({
    pick: "div7",
    edges: [0xdead0000, 0x12340001, 0xffff7fff, 0x00008080, 0x5555ffff, 0xaaaafffe, 0x80008001, 0x7f7f0180],
    forms,
    load,
    after: "  adc eax, ebx\n  sbb ecx, edi\n",
    sums: `  add esi, eax
  add esi, ebx
  add esi, ecx
  add esi, edx
  add esi, edi
  movzx eax, word [wordA]
  add esi, eax
  movzx eax, byte [byteA]
  add esi, eax
  movzx eax, word [edgeW]
  add esi, eax
`,
    vars: "wordA: dw 0\nbyteA: db 0\n",
    edge: { label: "edgeW", size: 2, init: 0x1234 },
  });

for (const [name, forms] of Object.entries(GROUPS)) {
  matchesInterpreter(
    `jit: 8/16-bit ${name} compiled inline matches the interpreter (flags, memory, page ends)`,
    () => body(forms),
  );
}
