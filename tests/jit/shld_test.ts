// SHLD and SHRD of 32-bit operands by an immediate and by CL compiled inline
// (runtime/jit/ops/shift.ts): register and memory destinations (one across a page boundary: the
// slow path), counts 0 (flags kept), 1, 31, 32 and 33 (masked to 0 and 1) in CL, immediates; each
// followed by all 16 conditions (SETcc reads the instruction's own flags from the block's locals,
// or from memory after a count of 0) and by ADC/SBB that read CF; compared with the interpreter.
import { edgeRounds, matchesInterpreter } from "./lib.ts";

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

const body = edgeRounds({
  pick: "bits",
  edges: [0, 1, 0xffffffff, 0x80000000, 0x7fffffff, 0x40000001, 0xdeadbeef, 0x0000ffff],
  perRound: "  mov eax, ebp\n  and eax, 7\n  mov eax, [counts + eax * 4]\n  mov [count], eax\n",
  forms: FORMS,
  load,
  after: "  adc eax, ebx\n  sbb esi, edx\n  xor esi, [memD]\n  add esi, [edgeD]\n",
  sums: "  add esi, edi\n  add esi, ebx\n",
  vars: "memD: dd 0\ncount: dd 0\ncounts: dd 0, 1, 31, 32, 33, 16, 5, 63\n",
  edge: { label: "edgeD", size: 4 },
});

matchesInterpreter(
  "jit: SHLD/SHRD by an immediate and by CL compiled inline match the interpreter (flags, count 0, page ends)",
  () => body,
);
