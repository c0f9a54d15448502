// MUL and IMUL Ev (F7 /4, /5: EDX:EAX = EAX * Ev, 32-bit) compiled inline (runtime/jit/ops/mul.ts):
// register operands (EAX and EDX among them: EDX is a source and a destination), memory operands
// and one across a page boundary (the slow path), on operands at the edges of the signed and
// unsigned ranges; each followed by all 16 conditions (SETcc reads the instruction's own flags from
// the block's locals) and by ADC/SBB that read CF; compared with the interpreter alone.
import { FOLD_CC, matchesInterpreter, SET_ALL_CC } from "./lib.ts";

const load = `  mov ebx, [valB]\n  mov ecx, [valC]\n  mov eax, ebx\n  xor eax, ecx\n  mov edx, ecx\n`;

const FORMS = ["mul", "imul"].flatMap((m) => [
  `${m} ebx`,
  `${m} ecx`,
  `${m} eax`,
  `${m} edx`,
  `${m} dword [valB]`,
  `${m} dword [valC]`,
  `${m} dword [edgeD]`,
]);

const body = `
  mov ebp, 64
  mov esi, 0x9e3779b9
.round:
  mov eax, ebp
  and eax, 7
  mov ebx, ebp
  shr ebx, 3
  mov eax, [edges + eax * 4]
  mov ebx, [edges + ebx * 4]
  mov [valB], eax
  mov [valC], ebx
  mov [edgeD], ebx
${
  FORMS.map((f) =>
    `${load}  ${f}\n${SET_ALL_CC}\n  adc eax, ebx\n  sbb ecx, edx\n  xor esi, eax\n  add esi, edx\n${FOLD_CC}\n`
  )
    .join("")
}
  add esi, edi
  rol esi, 5
  dec ebp
  jnz .round
  PUTHEX esi
  PUTHEX edi
  EXIT 7
align 4096 ; (data on pages of their own: a store to a code page ends the block)
edges: dd 0, 1, 0xffffffff, 0x80000000, 0x7fffffff, 0x00010000, 0xdeadbeef, 0x0000ffff
cc: times 16 db 0
valB: dd 0
valC: dd 0
  times (0x6000 - 2) - ($ - $$) db 0
edgeD: dd 0 ; across the page boundary at 0x...6000
`;

matchesInterpreter(
  "jit: MUL/IMUL Ev (EDX:EAX = EAX * Ev) compiled inline matches the interpreter (flags, EDX, page ends)",
  () => body,
);
