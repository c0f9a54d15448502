// Memory operands with a segment override that is not flat (GS with base 0x30000 and a 4 KiB
// byte-granular limit, as a TLS segment; then an expand-down GS): compiled blocks add the base
// inline while the offset is inside the segment's fast-path window (core-as/seg.ts) and leave the
// limit checks to the interpreter's path otherwise, so the #GP outside the limit comes from the
// same instruction with the same state. Loads, stores and read-modify-writes, then one access
// across the limit.
import assert from "node:assert/strict";
import { both, program, sameCount } from "./lib.ts";
import { HAVE_NASM } from "../lib/tools.ts";

const GS_BASE = 0x30000;
// lo: the lowest valid offset; desc: the GS descriptor
const seg = (lo: number, desc: string) =>
  program(`
  lgdt [gdtr2]
  mov ax, 0x18
  mov gs, ax
  xor esi, esi
  mov ecx, 300
.loop:
  lea edx, [ecx * 4]
  and edx, 0xffc
  add edx, ${lo}
  mov eax, [gs:edx]
  add eax, ecx
  mov [gs:edx], eax
  add [gs:${lo} + 0x800], eax
  movzx ebx, byte [gs:edx + 3]
  add esi, ebx
  xor esi, [gs:${lo} + 0x800]
  rol esi, 1
  cmp ecx, 1
  jne .next
  mov edx, 0xffe                ; a dword at 0xffe crosses the limit: #GP(0)
  jmp .next
.next:
  add esi, [gs:edx]
  dec ecx
  jnz .loop
  PUTHEX esi
  EXIT 0x42
align 8
gdt2:
  dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
  dq ${desc}
gdtr2:
  dw 31
  dd gdt2
`);

Deno.test({
  name: "jit: GS-relative operands (base and limit) inline, and the #GP past the limit",
  ignore: !HAVE_NASM,
  fn: async () => {
    const cases: [string, number, string][] = [
      ["expand-up, limit 0xfff", 0, "0x0040920300000fff"],
      ["expand-down, limit 0xfff (offsets from 0x1000 on)", 0x1000, "0x0040960300000fff"],
    ];
    for (const [name, lo, desc] of cases) {
      const r = await both(seg(lo, desc), { memEnd: GS_BASE + 0x3000 });
      assert.match(r.off.out, /!0000000d/, `${name}: the interpreter's #GP`);
      sameCount(r);
    }
  },
});
