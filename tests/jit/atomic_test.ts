// Inline CMPXCHG r/m32, r32 (runtime/jit/ops/atomic.ts) against the interpreter: a lock word taken
// and released (success and failure alternate), a Jcc and a SETcc on the flags right after it,
// EAX after a failure, an unaligned destination and one on a page that is not mapped for a while
// (both through the interpreter's path, the #PF from the same instruction with the same state),
// and one that rewrites an instruction later in its own block.
import assert from "node:assert/strict";
import { both, PAGE_TABLES, program, sameCount } from "./lib.ts";
import { HAVE_NASM } from "../lib/tools.ts";

const DP = 0x30000; // data page, unmapped every 64th round
const CMPXCHG = program(
  `
  MAP_4M
  PAGING_ON
  jmp .paged
.paged:
  xor esi, esi
  xor edi, edi
  mov ecx, 300
.loop:
  test ecx, 63
  jnz .mapped
  PAGE_OFF ${DP}
  jmp .mapped
.mapped:
  mov eax, ecx
  and eax, 1                   ; the lock word is 0 or 1: success every other round
  mov edx, ecx
  lock cmpxchg [${DP}], edx
  pushf                        ; every arithmetic flag of CMP EAX, [m]
  pop ebx
  and ebx, 0x8d5
  add edi, ebx
  jne .failed
  add esi, eax
  jmp .next
.failed:
  add edi, eax                 ; EAX: the word found
.next:
  sete bl
  movzx ebx, bl
  add esi, ebx
  rol esi, 3
  mov eax, [${DP}]
  cmpxchg [${DP} + 0x101], ecx ; unaligned (and not locked)
  setz bl
  add edi, ebx
  add edi, eax
  and dword [${DP}], 1
  mov eax, [.patched + 1]
  lea edx, [ecx + 0x1000]
  cmp ecx, 5
  jne .patched
  lock cmpxchg [.patched + 1], edx ; code of this very block: the block must see the new bytes
.patched:
  mov ebx, 0x11111111
  add esi, ebx
  dec ecx
  jnz .loop
  PUTHEX esi
  PRINT " "
  PUTHEX edi
  EXIT 0x42
pf_handler:
  PRINT "#PF "
  mov eax, cr2
  PUTHEX eax
  PRINT " "
  PUTHEX [esp + 4]
  PRINT 10
  PAGE_ON ${DP}
  add esp, 4
  iret
${PAGE_TABLES}
`,
  true,
);

Deno.test({
  name: "jit: inline CMPXCHG matches the interpreter (flags, EAX, unaligned, #PF)",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(CMPXCHG, { memEnd: DP + 0x1000 });
    assert.equal(r.off.out.split("\n").filter((l) => l.startsWith("#PF")).length, 4, r.off.out);
    sameCount(r);
  },
});
