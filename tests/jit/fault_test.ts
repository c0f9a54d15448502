// A page fault in the middle of a compiled block is as precise as in the interpreter
// (tests/jit/lib.ts runs the programs).
import assert from "node:assert/strict";
import { both, hex, PAGE_TABLES, program, sameCount } from "./lib.ts";
import { HAVE_NASM } from "../lib/tools.ts";

// ---- 3. a page fault in the middle of a compiled block ---------------------------------------
// Paging with identity-mapped 4 MiB; every 64th iteration the loop unmaps the data page and
// enters the hot block through a jump, so the block (compiled long before) faults at FAULT, in
// its middle. The #PF handler reports CR2, the error code, the pushed EIP and EFLAGS and the
// registers the instructions before FAULT wrote (they retired), maps the page back and returns:
// the instruction runs again and the program finishes. `before` is what runs between the flag
// setter and FAULT; the flags it leaves must be in the pushed EFLAGS exactly as the interpreter
// has them.
const DP = 0x200000; // the data page that comes and goes
function faultProgram(before: string, fault: string): string {
  return program(
    `
  MAP_4M
  PAGING_ON
  jmp .paged
.paged:
  ; the data page: a pattern
  mov edi, ${DP}
  mov eax, 0x01010101
  mov ecx, 1024
.fill:
  mov [edi], eax
  add eax, 0x01020304
  add edi, 4
  dec ecx
  jnz .fill
  PRINT "fault at "
  PUTHEX ..@fault
  PRINT " in the block at "
  PUTHEX ..@hot
  PRINT 10
  mov ecx, 400
  xor esi, esi
  xor edx, edx
.loop:
  test ecx, 63
  jnz .hot
  PAGE_OFF ${DP}
  jmp .hot
.hot:
..@hot:
  mov eax, ecx
  add eax, 0x1000
  mov ebx, 0xfffffff0
  lea ebp, [eax + ecx]
  cmp eax, ebx
${before}
  mov edi, eax
..@fault:
  ${fault}
  add ebp, eax
  add esi, ebp
  rol esi, 1
  dec ecx
  jnz .loop
  ; the data page's checksum (the faulting instruction may be a store)
  mov ecx, 1024
.sum:
  add esi, [${DP} + ecx*4 - 4]
  rol esi, 1
  dec ecx
  jnz .sum
  PUTHEX esi
  EXIT 0x42

pf_handler:
  mov [saved], eax
  mov [saved + 4], ecx
  mov [saved + 8], edx
  mov [saved + 12], ebx
  mov [saved + 16], ebp
  mov [saved + 20], esi
  mov [saved + 24], edi
  mov eax, [esp]
  mov [saved + 28], eax
  PRINT "#PF cr2="
  mov eax, cr2
  PUTHEX eax
  PRINT " err="
  PUTHEX [saved + 28]
  PRINT " eip="
  mov eax, [esp + 4]
  PUTHEX eax
  PRINT " eflags="
  mov eax, [esp + 12]
  PUTHEX eax
  PRINT " eax="
  PUTHEX [saved]
  PRINT " ecx="
  PUTHEX [saved + 4]
  PRINT " edx="
  PUTHEX [saved + 8]
  PRINT " ebx="
  PUTHEX [saved + 12]
  PRINT " ebp="
  PUTHEX [saved + 16]
  PRINT " esi="
  PUTHEX [saved + 20]
  PRINT " edi="
  PUTHEX [saved + 24]
  PRINT 10
  PAGE_ON ${DP}
  mov eax, [saved]
  add esp, 4
  iret
align 4096
saved: times 8 dd 0
${PAGE_TABLES}
`,
    true,
  );
}

const FAULT_CASES: { name: string; before: string; fault: string; err: number }[] = [
  { name: "load, flags of a compare", before: "", fault: "mov ebp, [${DP} + ecx*4]", err: 0 },
  { name: "load, after an interpreted instruction", before: "  adc edx, 0", fault: "add ebp, [${DP} + ecx*4]", err: 0 },
  // INC keeps CF: the compare's carry must survive into the pushed EFLAGS
  { name: "load, flags of an INC after a compare", before: "  inc edx", fault: "mov ebp, [${DP} + ecx*4]", err: 0 },
  { name: "load, flags of a DEC after a compare", before: "  dec edx", fault: "mov ebp, [${DP} + ecx*4]", err: 0 },
  { name: "store", before: "  sub edx, ecx", fault: "mov [${DP} + ecx*4], ebp", err: 2 },
  { name: "read-modify-write", before: "  and edx, ecx", fault: "add [${DP} + ecx*4], eax", err: 2 },
  { name: "8-bit load", before: "  add dl, cl", fault: "movzx ebp, byte [${DP} + ecx*4 + 1]", err: 0 },
  { name: "16-bit load", before: "  xor edx, ecx", fault: "movsx ebp, word [${DP} + ecx*4 + 2]", err: 0 },
  { name: "compare with memory", before: "  or edx, ebx", fault: "cmp [${DP} + ecx*4], eax", err: 0 },
  { name: "an interpreted instruction", before: "  sub edx, 1", fault: "imul ebp, [${DP} + ecx*4], 3", err: 0 },
  // a uniprocessor kernel's atomics (LOCK patched into DS): read-modify-writes that fault
  { name: "DS-prefixed CMPXCHG", before: "  sub edx, ecx", fault: "ds cmpxchg [${DP} + ecx*4], ebp", err: 2 },
  { name: "DS-prefixed BTS m, imm", before: "  add edx, ecx", fault: "ds bts dword [${DP} + ecx*4], 9", err: 2 },
  { name: "BTR m, imm", before: "  and edx, ecx", fault: "btr dword [${DP} + ecx*4], 31", err: 2 },
  { name: "DS-prefixed XADD", before: "  sub edx, 7", fault: "ds xadd [${DP} + ecx*4], ebp", err: 2 },
];

Deno.test({
  name: "jit: a page fault in the middle of a compiled block",
  ignore: !HAVE_NASM,
  fn: async (t) => {
    for (const c of FAULT_CASES) {
      await t.step(c.name, async () => {
        const src = faultProgram(c.before.replaceAll("${DP}", String(DP)), c.fault.replaceAll("${DP}", String(DP)));
        // (regions: false: the evidence is the faulting block's own entries; both() runs regions too)
        const r = await both(src, { memEnd: 0x20000, regions: false });
        const lines = r.off.out.trim().split("\n");
        const [, at, hot] = lines[0].match(/^fault at ([0-9a-f]{8}) in the block at ([0-9a-f]{8})$/)!;
        const runs = r.on.entries.get(parseInt(hot, 16)) ?? 0;
        assert.ok(runs > 300, `the faulting block ran compiled ${runs} times`);
        const faults = lines.filter((l) => l.startsWith("#PF"));
        assert.equal(faults.length, 6, r.off.out);
        for (const f of faults) {
          assert.match(f, new RegExp(`err=${hex(c.err)} eip=${at} `), "the interpreter's fault report");
        }
        sameCount(r);
      });
    }
  },
});
