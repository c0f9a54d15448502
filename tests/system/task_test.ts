// Hardware task switches: through an IDT task gate (INT), a GDT task gate (CALL), a TSS
// descriptor (JMP), and back with IRET through the back link; NT, busy bits, CR0.TS, saved
// registers.
import assert from "node:assert/strict";
import { exc, runImage } from "./lib.ts";

Deno.test("task switches: INT task gate, CALL task gate, JMP TSS, IRET back link", async () => {
  const r = await runImage(`
  mov ebx, 0x12345678
  mov esi, 0x0badf00d
  int 0x22                   ; IDT task gate -> TSS 0x38 (nested)
  PRINT "B "
  PUTHEX ebx
  PRINT " "
  xor eax, eax
  str ax
  PUTHEX eax
  PRINT " "
  mov eax, cr0
  and eax, 8                 ; TS set by the switch
  PUTHEX eax
  PRINT " "
  clts
  mov ax, 0x38
  lar eax, ax                ; IRET cleared the busy bit of TSS 0x38
  PUTHEX eax
  PRINT " "
  mov ax, 0x28
  lar eax, ax                ; this task's TSS is busy
  PUTHEX eax
  PRINT 10
  call 0x40:0                ; GDT task gate
  PRINT "C "
  PUTHEX esi
  PRINT 10
  jmp 0x38:0                 ; TSS descriptor, not nested: task 2 jumps back
  PRINT "J "
  pushfd
  pop eax
  and eax, 0x4000
  PUTHEX eax
  PRINT 10
  RESUME r_busy
f_busy: jmp 0x28:0           ; a busy TSS: #GP(selector)
r_busy:
  EXIT 0x41
`);
  assert.equal(r.exit, "done", r.out);
  assert.equal(r.code, 0x41);
  assert.deepEqual(r.lines, [
    "T2 00000028 00004000 00000038",
    "B 12345678 00000028 00000008 00008900 00008b00",
    "T2 00000028 00004000 00000038",
    "C 0badf00d",
    "T2 00000028 00000000 00000038",
    "J 00000000",
    exc(0x0d, 0x28, r.sym("f_busy"), 8),
  ]);
});
