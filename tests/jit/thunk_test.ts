// The block compiler inlines a CALL to a PIC thunk (`mov reg, [esp]; ret`) and goes on at the
// return address (runtime/jit/compile.ts, thunkAt). Thunks on the block's page and on another
// page; then the other page is patched (its generation changes) and later remapped to a page with
// different thunks (its TLB delta changes). Each change must be seen at the next call, exactly as
// the interpreter sees it, with the same instruction count.
import assert from "node:assert/strict";
import { both, ORG, PAGE_TABLES, program, sameCount } from "./lib.ts";
import { HAVE_NASM } from "../lib/tools.ts";

const THUNKS = ORG + 0x3000; // linear page of the thunks, mapped to `thunks` and later to `alt`
const THUNK_PROGRAM = program(`
  MAP_4M
  PAGING_ON
  jmp .paged
.paged:
  mov ecx, 5                 ; the thunk page runs first: it is known code when the loop compiles
.warm:
  call t_ebx
  dec ecx
  jnz .warm
  xor ebp, ebp
  xor esi, esi
  mov ecx, 300
.loop:
  call t_eax
  add ebp, eax
  call t_ebx
  add ebp, ebx
  call t_edx
  add ebp, edx
  call t_same
  add ebp, edi
  add ebp, esi
  rol ebp, 3
  cmp ecx, 200
  jne .unpatched
  mov byte [t_edx + 1], 0x34 ; mov edx, [esp] -> mov esi, [esp]
.unpatched:
  cmp ecx, 100
  jne .unmapped
  PAGE_MAP ${THUNKS}, alt
.unmapped:
  dec ecx
  jnz .loop
  PUTHEX ebp
  PRINT " "
  PUTHEX esi
  EXIT 0x42
t_same:
  mov edi, [esp]
  ret
times 0x3000 - ($ - $$) db 0x90
thunks:
t_eax:
  mov eax, [esp]
  ret
align 16
t_ebx:
  mov ebx, [esp]
  ret
align 16
t_edx:
  mov edx, [esp]
  ret
align 4096
alt:                         ; the same offsets, other registers
  mov eax, [esp]
  ret
align 16
  mov esi, [esp]
  ret
align 16
  mov edi, [esp]
  ret
${PAGE_TABLES}
`);

Deno.test({
  name: "jit: calls to PIC thunks run inline; a patched or remapped thunk page is seen at once",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(THUNK_PROGRAM, { memEnd: 0x20000, regions: false }); // (both() runs regions too)
    assert.match(r.off.out, /^[0-9a-f]{8} [0-9a-f]{8}$/);
    assert.notEqual(r.off.out.split(" ")[1], "00000000", "the patched thunk ran");
    // 300 iterations call t_eax; before the patch (the first 100) the call is inlined and the
    // thunk's own block is not entered; after it the loop's block leaves at the call
    const tEax = r.on.entries.get(THUNKS) ?? 0;
    assert.ok(tEax > 150 && tEax <= 200, `t_eax entered ${tEax} times of 300 calls`);
    sameCount(r);
  },
});
