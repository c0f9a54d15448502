// MUL and IMUL Ev (F7 /4, /5: EDX:EAX = EAX * Ev, 32-bit) compiled inline (runtime/jit/ops/mul.ts):
// register operands (EAX and EDX among them: EDX is a source and a destination), memory operands
// and one across a page boundary (the slow path), on operands at the edges of the signed and
// unsigned ranges; each followed by all 16 conditions (SETcc reads the instruction's own flags from
// the block's locals) and by ADC/SBB that read CF; compared with the interpreter alone.
import { edgeRounds, matchesInterpreter } from "./lib.ts";

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

const body = edgeRounds({
  pick: "bits",
  edges: [0, 1, 0xffffffff, 0x80000000, 0x7fffffff, 0x00010000, 0xdeadbeef, 0x0000ffff],
  perRound: "  mov [edgeD], ebx\n",
  forms: FORMS,
  load,
  after: "  adc eax, ebx\n  sbb ecx, edx\n  xor esi, eax\n  add esi, edx\n",
  sums: "  add esi, edi\n",
  edge: { label: "edgeD", size: 4 },
});

matchesInterpreter(
  "jit: MUL/IMUL Ev (EDX:EAX = EAX * Ev) compiled inline matches the interpreter (flags, EDX, page ends)",
  () => body,
);
