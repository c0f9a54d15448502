// PUSH Sreg and PUSHFD compiled inline (runtime/jit/ops/stack.ts). PUSH of a segment register
// writes only the selector's 16 bits into its 32-bit slot (the upper half keeps what was there,
// as core-as/ops/segload.ts does); PUSHFD pushes EFLAGS with the arithmetic flags of the
// instruction just before it (still in the block's locals) and without VM/RF. Each is read back
// with a POP into a register. Compared with the interpreter alone.
import { both, program, sameCount } from "./lib.ts";
import { HAVE_NASM } from "../lib/tools.ts";

const src = program(`
  mov ax, 0x10
  mov fs, ax
  mov gs, ax
  xor esi, esi
  mov ecx, 300
.loop:
  push 0xdeadbeef
  pop eax
  push es
  pop eax                       ; 0xdead0010: the upper half is the old slot's
  add esi, eax
  push 0x12345678
  pop eax
  push cs
  pop eax
  xor esi, eax
  push 0x9abcdef0
  pop eax
  push ss
  pop eax
  add esi, eax
  push 0x0badf00d
  pop eax
  push ds
  pop eax
  xor esi, eax
  push 0x55aa55aa
  pop eax
  push fs
  pop eax
  add esi, eax
  push 0xaa55aa55
  pop eax
  push gs
  pop eax
  xor esi, eax
  mov eax, ecx
  imul eax, eax, 0x9e3779b9
  add eax, ecx                  ; CF/OF/SF/ZF/PF/AF vary
  pushfd
  pop edx
  add esi, edx
  sub eax, 0x40000000
  pushfd
  pop edx
  xor esi, edx
  rol esi, 7
  dec ecx
  jnz .loop
  PUTHEX esi
  EXIT 0x42
`);

Deno.test({
  name: "jit: PUSH Sreg writes 16 bits of its slot, PUSHFD has the block's flags",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(src);
    sameCount(r);
  },
});
