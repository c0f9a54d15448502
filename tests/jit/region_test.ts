// Regions (runtime/jit/compile.ts): the blocks at the same-page targets of a block's Jcc's are
// compiled into the same wasm function as units, and a transition between them is a branch to
// the function's dispatcher. Each program runs with the interpreter alone and with every block
// compiled at its first visit (tests/jit/lib.ts), and everything observable must match.
import assert from "node:assert/strict";
import { both, hex, PAGE_TABLES, program, runImage, sameCount } from "./lib.ts";
import { HAVE_NASM, nasm } from "../lib/tools.ts";
import { MAX_INSNS } from "../../runtime/jit/compile.ts";

const entries = (m: Map<number, number>) => [...m.values()].reduce((x, y) => x + y, 0);

// if/else chains and a nested loop whose back-edge goes to a unit that is not the entry
const BRANCHY = `
  mov ecx, 300
  xor esi, esi
  xor edi, edi
.loop:
  mov eax, ecx
  and eax, 3
  jz .zero
  cmp eax, 2
  je .two
  add esi, eax
  jmp .next
.zero:
  rol esi, 3
  jmp .next
.two:
  sub edi, esi
  mov edx, 5
.inner:                 ; a back-edge to a unit in the middle of the region
  add edi, edx
  rol edi, 1
  dec edx
  jnz .inner
.next:
  xor edi, ecx
  dec ecx
  jnz .loop
  PUTHEX esi
  PUTHEX edi
  EXIT 9
`;

function branchyModel(): string {
  let esi = 0, edi = 0;
  const rol = (v: number, n: number) => ((v << n) | (v >>> (32 - n))) >>> 0;
  for (let ecx = 300; ecx > 0; ecx--) {
    const eax = ecx & 3;
    if (eax === 0) esi = rol(esi, 3);
    else if (eax === 2) {
      edi = (edi - esi) >>> 0;
      for (let edx = 5; edx > 0; edx--) edi = rol((edi + edx) >>> 0, 1);
    } else esi = (esi + eax) >>> 0;
    edi = (edi ^ ecx) >>> 0;
  }
  return hex(esi) + hex(edi);
}

Deno.test({
  name: "jit regions: branches and back-edges inside one region run as the interpreter, without leaving it",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(program(BRANCHY));
    assert.equal(r.off.out, branchyModel(), "the interpreter (the model is wrong)");
    sameCount(r);
    // 300 rounds of 3-5 transitions each: inside the region they are branches, not block entries
    assert.ok(entries(r.on.entries) < 40, `blocks were entered ${entries(r.on.entries)} times`);
  },
});

// A region checks the budget at each transition between its units: it stops at most one unit
// past the budget, with its state exactly the interpreter's after as many instructions.
Deno.test({
  name: "jit regions: the budget runs out in the middle of a region at a unit's end, exactly counted",
  ignore: !HAVE_NASM,
  fn: async (t) => {
    const image = await nasm(program(BRANCHY));
    for (const budget of [801, 1234, 2000, 2567]) {
      await t.step(`budget ${budget}`, async () => {
        const on = await runImage(image, 1, { budget });
        assert.equal(on.exit, "budget");
        assert.ok(on.icount >= BigInt(budget) && on.icount < BigInt(budget + MAX_INSNS), `${on.icount} retired`);
        const off = await runImage(image, 0, { budget: Number(on.icount) });
        assert.equal(off.icount, on.icount);
        assert.deepEqual(on.regs.map(hex), off.regs.map(hex), "registers");
        assert.equal(hex(on.eip), hex(off.eip), "EIP");
        assert.equal(hex(on.flags), hex(off.flags), "EFLAGS");
      });
    }
  },
});

// A Jcc out of the region to another page, where the flags it left are read (PUSHF): the exit
// mid-region spills the lazy flags
const EXIT_MID = `
  mov ecx, 200
  xor esi, esi
loop:
  mov eax, ecx
  sub eax, 100
  jz far_side           ; leaves the region (another page)
  test ecx, 1
  jnz .odd
  add esi, eax
  jmp next
.odd:
  cmp eax, 0x30
  jb far_page           ; CF set: leaves with the compare's flags
back:
  xor esi, eax
next:
  dec ecx
  jnz loop
  PUTHEX esi
  EXIT 5
far_side:
  jmp far_page2
align 4096
far_page:
  pushf
  pop edx
  and edx, 0x8d5
  add esi, edx
  jmp back
far_page2:
  pushf
  pop edx
  and edx, 0x8d5
  xor esi, edx
  jmp next
`;

Deno.test({
  name: "jit regions: exits in the middle of a region leave the flags and registers exact",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(program(EXIT_MID));
    sameCount(r);
    assert.equal(r.on.code, 5);
  },
});

// A unit that is not the region's entry is patched while the region is hot: the store ends the
// region (its page's generation changed) and the next entry compiles it again.
const SMC = `
  mov ecx, 300
  xor esi, esi
.loop:
  test ecx, 1
  jnz .odd
  add esi, ecx
  jmp .next
.odd:
.patch:
  mov eax, 0x11111111
  add esi, eax
  rol esi, 3
  mov edx, ecx
  imul edx, edx, 0x01000193
  mov [.patch + 1], edx     ; the next odd round sees the new immediate
.next:
  dec ecx
  jnz .loop
  PUTHEX esi
  EXIT 6
`;

function smcModel(): string {
  let esi = 0, imm = 0x11111111;
  for (let ecx = 300; ecx > 0; ecx--) {
    if ((ecx & 1) === 0) esi = (esi + ecx) >>> 0;
    else {
      esi = (esi + imm) >>> 0;
      esi = ((esi << 3) | (esi >>> 29)) >>> 0;
      imm = Math.imul(ecx, 0x01000193) >>> 0;
    }
  }
  return hex(esi);
}

Deno.test({
  name: "jit regions: code patched in a unit of a hot region is seen at once",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(program(SMC));
    assert.equal(r.off.out, smcModel(), "the interpreter (the model is wrong)");
    sameCount(r);
  },
});

// A page fault in a unit reached by a taken Jcc: the handler sees the faulting instruction's EIP
// and the flags the compare before it left; it maps the page back and the loop goes on.
const DP = 0x200000;
const FAULT = program(
  `
  MAP_4M
  PAGING_ON
  jmp .paged
.paged:
  mov ecx, 256
  xor esi, esi
.loop:
  test ecx, 63
  jnz .mapped
  PAGE_OFF ${DP}
.mapped:
  mov eax, ecx
  test ecx, 2
  jnz .unit
  add esi, eax
  jmp .next
.unit:
  cmp eax, 0x80
  inc edx
..@fault:
  add esi, [${DP} + ecx*4]
.next:
  rol esi, 1
  dec ecx
  jnz .loop
  PRINT "fault at "
  PUTHEX ..@fault
  PRINT 10
  PUTHEX esi
  EXIT 0x42

pf_handler:
  PRINT "#PF eip="
  push eax
  mov eax, [esp + 8]
  PUTHEX eax
  PRINT " eflags="
  mov eax, [esp + 16]
  PUTHEX eax
  PRINT " eax="
  pop eax
  PUTHEX eax
  PRINT 10
  PAGE_ON ${DP}
  add esp, 4
  iret
${PAGE_TABLES}
`,
  true,
);

Deno.test({
  name: "jit regions: a page fault in a unit reports the interpreter's EIP and EFLAGS",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(FAULT, { memEnd: 0x20000 });
    const lines = r.off.out.trim().split("\n");
    const at = lines.find((l) => l.startsWith("fault at "))!.slice(9);
    const faults = lines.filter((l) => l.startsWith("#PF"));
    assert.ok(faults.length >= 2, r.off.out);
    for (const f of faults) assert.match(f, new RegExp(`eip=${at} `));
    sameCount(r);
  },
});

// Every unit of a region (a loop's blocks) is an entry of its module: code that comes into the
// page at a unit (here an indirect JMP from another page, in turn to each unit) runs the region
// from there.
const ENTRIES = `
  PRINT "units "
  PUTHEX ..@ua
  PUTC ' '
  PUTHEX ..@uj
  PRINT 10
  mov ecx, 200
  xor esi, esi
  jmp outer
align 4096
outer:
  mov eax, ecx
  and eax, 3
  mov edx, 2
  jmp [targets + eax*4]
back:
  dec ecx
  jnz outer
  PUTHEX esi
  EXIT 8
targets: dd region, ..@ua, ..@uj, region
align 4096
region:
  mov edx, 2
.inner:
  test ecx, 1
  jnz .a
  add esi, ecx
  jmp .join
.a:
..@ua:
  xor esi, 0x55
  cmp ecx, 100
  jb .join
  add esi, 7
.join:
..@uj:
  rol esi, 3
  dec edx
  jnz .inner
  jmp back
`;

Deno.test({
  name: "jit regions: a region is entered at any of its units",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(program(ENTRIES));
    sameCount(r);
    const [, ua, uj] = r.off.out.match(/^units ([0-9a-f]{8}) ([0-9a-f]{8})/)!;
    for (const u of [ua, uj]) {
      const n = r.on.units.get(parseInt(u, 16)) ?? 0;
      assert.ok(n >= 40, `the unit at ${u} was entered ${n} times through the region's module`);
    }
  },
});

// The return address of a CALL to another page is a unit of the caller's region: the callee's
// RET comes back into the region there.
const CALLS = `
  PRINT "after "
  PUTHEX ..@after
  PRINT 10
  mov ecx, 150
  xor esi, esi
.loop:
  mov eax, ecx
  call far_fn
..@after:
  add esi, eax
  test ecx, 4
  jz .skip
  rol esi, 5
.skip:
  dec ecx
  jnz .loop
  PUTHEX esi
  EXIT 3
align 4096
far_fn:
  imul eax, eax, 0x9e3779b1
  xor eax, ecx
  ret
`;

Deno.test({
  name: "jit regions: a CALL's return address is a unit the callee's RET comes back to",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(program(CALLS));
    sameCount(r);
    const at = parseInt(r.off.out.match(/^after ([0-9a-f]{8})/)![1], 16);
    const n = r.on.units.get(at) ?? 0;
    assert.ok(n >= 100, `the return address was entered ${n} times through the region's module`);
  },
});
