// Direct links between compiled blocks (runtime/jit/block.ts, linkExit): an exit to a known address
// remembers the block it found there and later enters it without the hash lookup. A link must be
// dropped as soon as the lookup would find something else: the target's page was written (its
// generation changed), or its linear page now maps to another physical page. Each program is run
// by the interpreter alone and with every block compiled; everything observable must match.
import assert from "node:assert/strict";
import { both, ORG, PAGE_TABLES, program, sameCount } from "./lib.ts";
import { HAVE_NASM } from "../lib/tools.ts";

// Target on the linking block's own page, written by the linking instruction itself: in iteration
// 150 the CALL's push lands in the imm32 of the target's `mov eax, imm32` (ESP points just past
// it), so the target must run with the return address as its immediate.
const SAME_PAGE = program(`
  mov ebp, esp
  xor esi, esi
  mov ecx, 300
.loop:
  mov ebx, ebp
  cmp ecx, 150
  jne .normal
  mov ebx, target + 5
  jmp .normal                ; (so that .normal starts the same block as in the other iterations)
.normal:
  mov esp, ebx
  call target
..@back:
  mov esp, ebp
  add esi, eax
  rol esi, 1
  dec ecx
  jnz .loop
  PUTHEX esi
  EXIT 0x42
target:
  mov eax, 0x11111111
  jmp ..@back
`);

// Target on another page: first patched through a store (its generation changes), later its
// linear page is remapped to another physical page with another routine at the same offset.
const ROUTINES = ORG + 0x3000;
const otherPage = (call: string) =>
  program(`
  MAP_4M
  PAGING_ON
  jmp .paged
.paged:
  xor esi, esi
  mov ecx, 300
.loop:
  ${call}
  add esi, eax
  rol esi, 3
  cmp ecx, 200
  jne .unpatched
  mov dword [routine + 1], 0x22222222
.unpatched:
  cmp ecx, 100
  jne .unmapped
  PAGE_MAP ${ROUTINES}, alt
.unmapped:
  dec ecx
  jnz .loop
  PUTHEX esi
  EXIT 0x42
times 0x3000 - ($ - $$) db 0x90
routine:
  mov eax, 0x11111111
  ret
align 4096
alt:
  mov eax, 0x33333333
  ret
${PAGE_TABLES}
`);

// what the programs print, computed here: the guest's sum of the values its routine returned
const rol = (v: number, n: number) => ((v << n) | (v >>> (32 - n))) >>> 0;
const hex = (v: number) => v.toString(16).padStart(8, "0");

Deno.test({
  name: "jit: a link to a block on the same page is not followed after the linking CALL wrote that block",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(SAME_PAGE);
    // from ecx = 150 on the immediate is the return address (.back), which nasm placed: find the
    // address near ORG for which the model's sum is what the interpreter printed
    const want = r.off.out;
    const sumWith = (ret: number) => {
      let esi = 0;
      for (let ecx = 300; ecx > 0; ecx--) esi = rol((esi + (ecx <= 150 ? ret : 0x11111111)) >>> 0, 1);
      return hex(esi);
    };
    const ret = ORG + [...Array(0x4000).keys()].find((o) => sumWith(ORG + o) === want)!;
    assert.ok(ret > ORG, `the interpreter's sum fits a return address near ${hex(ORG)}: ${want}`);
    assert.notEqual(want, sumWith(0x11111111), "the push did change the target");
    sameCount(r);
  },
});

Deno.test({
  name: "jit: a link to a block on another page is not followed after that page is patched or remapped",
  ignore: !HAVE_NASM,
  fn: async () => {
    let esi = 0;
    for (let ecx = 300; ecx > 0; ecx--) {
      const v = ecx >= 200 ? 0x11111111 : ecx >= 100 ? 0x22222222 : 0x33333333;
      esi = rol((esi + v) >>> 0, 3);
    }
    // a CALL to a known address, and through a register (a link that also keeps the address)
    for (const call of ["call routine", "mov edx, routine\n  call edx"]) {
      const r = await both(otherPage(call), { memEnd: 0x20000 });
      assert.equal(r.off.out, hex(esi), "the interpreter saw the patch and the new mapping");
      sameCount(r);
    }
  },
});
