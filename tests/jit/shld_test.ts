// SHLD and SHRD of 32-bit operands by an immediate and by CL compiled inline
// (runtime/jit/ops/shift.ts): register and memory destinations (one across a page boundary: the
// slow path), counts 0 (flags kept), 1, 31, 32 and 33 (masked to 0 and 1) in CL, immediates; each
// followed by all 16 conditions (SETcc reads the instruction's own flags from the block's locals,
// or from memory after a count of 0) and by ADC/SBB that read CF; compared with the interpreter.
import { FOLD_CC, matchesInterpreter, SET_ALL_CC } from "./lib.ts";

// before each form: operands from the round's table entries, CL the round's count, and flags
// that differ from what the form would set (so a count of 0 that wrongly wrote them shows)
const load = `  mov ebx, [valB]\n  mov edx, [valC]\n  mov [memD], ebx\n  mov [edgeD], ebx\n` +
  `  mov ecx, [count]\n  mov eax, ebx\n  add eax, edx\n`;

const FORMS = ["shld", "shrd"].flatMap((m) => [
  `${m} ebx, edx, cl`,
  `${m} dword [memD], edx, cl`,
  `${m} dword [edgeD], edx, cl`,
  `${m} ebx, edx, 1`,
  `${m} ebx, edx, 7`,
  `${m} ebx, edx, 31`,
  `${m} dword [memD], edx, 13`,
  `${m} dword [edgeD], edx, 30`,
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
  mov eax, ebp
  and eax, 7
  mov eax, [counts + eax * 4]
  mov [count], eax
${
  FORMS.map((f) =>
    `${load}  ${f}\n${SET_ALL_CC}\n  adc eax, ebx\n  sbb esi, edx\n  xor esi, [memD]\n  add esi, [edgeD]\n${FOLD_CC}\n`
  ).join("")
}
  add esi, edi
  add esi, ebx
  rol esi, 5
  dec ebp
  jnz .round
  PUTHEX esi
  PUTHEX edi
  EXIT 7
align 4096 ; (data on pages of their own: a store to a code page ends the block)
edges: dd 0, 1, 0xffffffff, 0x80000000, 0x7fffffff, 0x40000001, 0xdeadbeef, 0x0000ffff
counts: dd 0, 1, 31, 32, 33, 16, 5, 63
cc: times 16 db 0
valB: dd 0
valC: dd 0
memD: dd 0
count: dd 0
  times (0x6000 - 2) - ($ - $$) db 0
edgeD: dd 0 ; across the page boundary at 0x...6000
`;

matchesInterpreter(
  "jit: SHLD/SHRD by an immediate and by CL compiled inline match the interpreter (flags, count 0, page ends)",
  () => body,
);
