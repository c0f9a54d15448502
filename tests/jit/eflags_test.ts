// CLD, STD and CLI compiled inline (runtime/jit/ops/eflags.ts): the bit changes in the EFLAGS word
// while the block's lazy arithmetic flags stay where they are; each is followed by what reads
// it (PUSHFD, and SETcc that reads the arithmetic flags set before it; catches CLD, STD or CLI
// changing the wrong bit). Ring 0 (CLI always allowed there); ring 3 with IOPL 0, where CLI raises #GP, is in
// the tier fuzzer's streams (tests/jit/tiers_test.ts). Compared with the interpreter alone.
import { both, program, sameCount } from "./lib.ts";
import { HAVE_NASM } from "../lib/tools.ts";

const src = program(`
  xor esi, esi
  mov ecx, 300
.loop:
  mov eax, ecx
  add eax, 0x7ffffff0           ; OF/SF/CF vary with ecx
  std
  pushfd
  pop edx
  add esi, edx
  cli                           ; (IF is clear already: it must leave DF alone)
  pushfd
  pop edx
  add esi, edx
  seto bl                       ; the ADD's flags, still in the block's locals
  movzx ebx, bl
  add esi, ebx
  cld
  pushfd
  pop edx
  add esi, edx
  setc bl
  add esi, ebx
  rol esi, 5
  dec ecx
  jnz .loop
  PUTHEX esi
  EXIT 0x42
`);

Deno.test({
  name: "jit: CLD, STD, CLI inline change DF and IF and nothing else",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(src);
    sameCount(r);
  },
});
