// The block compiler and code that changes or moves: self-modifying code (page generations) and
// one physical page reached through two linear addresses (tests/jit/lib.ts runs the programs).
import assert from "node:assert/strict";
import { both, hex, ORG, PAGE_TABLES, program, runImage, sameCount } from "./lib.ts";
import { HAVE_NASM, nasm } from "../lib/tools.ts";

// ---- 2. self-modifying code -------------------------------------------------------------------
// A routine that is compiled and run, then patched (the imm32 of its `mov eax, imm32`) through
// a guest store, and run again: the patched value must be seen. Each case checks the sum of all
// values seen against the model here, and the JIT run against the interpreter. The patched
// instruction sits at a fixed address (ROUTINE) and is a block entry, so the test can tell its
// block did run compiled.
const ITER = 300;
const patchValue = (ecx: number) => Math.imul(ecx, 0x01000193) >>> 0;
const rol3 = (v: number) => ((v << 3) | (v >>> 29)) >>> 0;
const rol5 = (v: number) => ((v << 5) | (v >>> 27)) >>> 0;

// The routine runs twice between patches: the first call after a patch finds its block stale and
// compiles it again, the second runs the new block. \`check\` reports the first time the patched
// instruction produced something else than the bytes in memory say.
const SMC_LOOP = `
  mov ecx, ${ITER}
  xor esi, esi
  mov edi, 0x11111111        ; the routine's immediate as it is in memory
.loop:
  call routine
  call check
  add esi, eax
  rol esi, 5
  call routine
  call check
  add esi, eax
  rol esi, 3
  mov edi, ecx
  imul edi, edi, 0x01000193
  mov [routine + 3], edi
  dec ecx
  jnz .loop
  PUTHEX esi
  EXIT 0x42
`;
const SMC_CHECK = `
check:
  cmp eax, edi
  je .r
  cmp byte [reported], 0
  jne .r
  mov byte [reported], 1
  PRINT " stale code ran: ecx="
  PUTHEX ecx
  PRINT " eax="
  PUTHEX eax
  PRINT ", the bytes in memory say "
  PUTHEX edi
  PRINT 10
.r:
  ret
reported: db 0
`;
function smcLoopExpected(): string {
  let esi = 0, imm = 0x11111111;
  for (let ecx = ITER; ecx > 0; ecx--) {
    esi = rol3((rol5((esi + imm) >>> 0) + imm) >>> 0);
    imm = patchValue(ecx);
  }
  return hex(esi);
}
// the routine: a jump first, so that its second instruction is a branch target (a block entry)
// as well (the block at the routine may follow the jump and hold it too)
const ROUTINE_AT = (off: number) => `
times ${off} - ($ - $$) db 0x90
routine:
  jmp short .in
.in:
  mov eax, 0x11111111
  ret
`;

const SMC_CASES: { name: string; src: string; entry: number; want: string }[] = [
  {
    name: "a routine on another page",
    src: program(SMC_LOOP + SMC_CHECK + ROUTINE_AT(0x3000)),
    entry: ORG + 0x3002,
    want: smcLoopExpected(),
  },
  {
    name: "a routine on the same page as the patching loop",
    src: program(SMC_LOOP + SMC_CHECK + ROUTINE_AT(0xc00)),
    entry: ORG + 0xc02,
    want: smcLoopExpected(),
  },
  {
    // No branch between the store and the patched instruction: the interpreter (and every CPU
    // since the Pentium, which snoops stores against prefetched code) runs the new bytes. The
    // block stores to a data page on most iterations, so it is compiled and runs; every 16th
    // iteration the same store hits the block's own later instruction. \`check\` is on another
    // page: coming back refetches the loop's page, so each patch is the first store to a code
    // page (the case above is not involved).
    name: "an instruction later in the running block",
    src: program(`
  mov ecx, ${ITER}
  xor esi, esi
  jmp .loop
times 0xc00 - ($ - $$) db 0x90
.loop:
  mov edi, ecx
  imul edi, edi, 0x01000193
  mov ebx, scratch
  mov edx, .p + 1
  test ecx, 15
  cmovz ebx, edx
  mov [ebx], edi
.p:
  mov eax, 0x11111111
  mov edi, [.p + 1]
  call check
  add esi, eax
  rol esi, 3
  dec ecx
  jnz .loop
  PUTHEX esi
  EXIT 0x42
times 0x2000 - ($ - $$) db 0x90
${SMC_CHECK}
align 4096
scratch: dd 0
`),
    entry: ORG + 0xc00,
    want: (() => {
      let esi = 0, imm = 0x11111111;
      for (let ecx = ITER; ecx > 0; ecx--) {
        if (ecx % 16 === 0) imm = patchValue(ecx);
        esi = rol3((esi + imm) >>> 0);
      }
      return hex(esi);
    })(),
  },
];

Deno.test({
  name: "jit: self-modifying code is seen (page generations)",
  ignore: !HAVE_NASM,
  fn: async (t) => {
    for (const c of SMC_CASES) {
      await t.step(c.name, async () => {
        const image = await nasm(c.src);
        const off = await runImage(image, 0);
        assert.equal(off.out, c.want, "interpreter (the model of the program is wrong)");
        const r = await both(c.src, { regions: false }); // (evidence of blocks alone; both() runs regions too)
        // (the routine's JMP may be followed: its block then starts at the routine, 2 bytes earlier)
        const runs = (r.on.entries.get(c.entry) ?? 0) + (r.on.entries.get(c.entry - 2) ?? 0);
        assert.ok(
          runs > 100,
          `the patched block ran compiled ${runs} times`,
        );
        sameCount(r);
      });
    }
  },
});

// ---- 6. one physical page at two linear addresses ---------------------------------------------
// Blocks are found by the host address of their entry, i.e. by physical page, but their code
// has linear addresses built in (the next EIP, branch targets, pushed return addresses). Shared
// code mapped at different addresses (a library in two processes, a kernel's identity and high
// mappings) must still run at the address it was reached by. The routine reports where it runs
// (call/pop); it is run through one alias until its blocks are compiled and hot, then through
// the other.
const ALIAS = 0x200000; // linear page mapped to the routine's physical page (ORG + 0x3000)
const ALIASES = program(`
  MAP_4M
  mov dword [pt + (${ALIAS} >> 12) * 4], routine + 3
  PAGING_ON
  jmp .paged
.paged:
  mov ecx, 100
.warm:
  call routine
  dec ecx
  jnz .warm
  PRINT "direct "
  PUTHEX eax
  mov ecx, 100
.alias:
  mov eax, ${ALIAS}
  call eax
  dec ecx
  jnz .alias
  PRINT " alias "
  PUTHEX eax
  mov eax, routine
  call eax
  PRINT " direct again "
  PUTHEX eax
  EXIT 0x42
times 0x3000 - ($ - $$) db 0x90
routine:
  jmp short .in              ; so that .in is a block entry whichever page the call came from
.in:
  call .here
.here:
  pop eax
  ret
${PAGE_TABLES}
`);

Deno.test({
  name: "jit: code reached through two linear aliases of one physical page runs at the right address",
  ignore: !HAVE_NASM,
  fn: async () => {
    const image = await nasm(ALIASES);
    const off = await runImage(image, 0, { memEnd: 0x20000 });
    const here = (base: number) => hex(base + 7); // .here: after the 2-byte jmp and the 5-byte call
    assert.equal(off.out, `direct ${here(ORG + 0x3000)} alias ${here(ALIAS)} direct again ${here(ORG + 0x3000)}`);
    const r = await both(ALIASES, { memEnd: 0x20000 });
    const runs = (r.on.entries.get(ORG + 0x3002) ?? 0) + (r.on.entries.get(ORG + 0x3000) ?? 0);
    assert.ok(runs > 50, `the routine's block ran compiled (${runs} times)`);
    sameCount(r);
  },
});

// Blocks keep 32-bit registers in wasm locals; 8- and 16-bit accesses go through memory after the
// full register is written back. Every register as a 16-bit and (eax..ebx) 8-bit operand right
