// LEAVE (runtime/jit/ops/stack.ts) and RET imm16 (ops/branch.ts) compiled inline, as V8's ia32
// code and frame-pointer C use them: a stdcall-style callee with a frame (push ebp; mov ebp, esp;
// locals), LEAVE and RET 8/12 popping its arguments, called from a loop; ESP, EBP and the results
// compared with the interpreter alone after every round (a wrong ESP adjustment or frame restore
// changes the sum).
import { both, program, sameCount } from "./lib.ts";
import { HAVE_NASM } from "../lib/tools.ts";

const src = program(`
  mov esp, 0x80000
  xor esi, esi
  mov ecx, 400
.loop:
  mov ebp, 0x1234
  push ecx
  push 7
  call f2                       ; ret 8
  add esi, eax
  push ecx
  push esi
  push 3
  call f3                       ; ret 12
  xor esi, eax
  add esi, ebp
  add esi, esp
  rol esi, 3
  dec ecx
  jnz .loop
  PUTHEX esi
  EXIT 0x42
f2:
  push ebp
  mov ebp, esp
  sub esp, 8
  mov eax, [ebp + 8]
  imul eax, [ebp + 12]
  mov [ebp - 4], eax
  add eax, [ebp - 4]
  leave
  ret 8
f3:
  push ebp
  mov ebp, esp
  push ebx
  mov eax, [ebp + 8]
  add eax, [ebp + 12]
  sub eax, [ebp + 16]
  mov ebx, eax
  lea eax, [ebx + ebx * 2]
  pop ebx
  leave
  ret 12
`);

Deno.test({
  name: "jit: LEAVE and RET imm16 inline keep ESP and EBP as the interpreter does",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(src);
    sameCount(r);
  },
});
