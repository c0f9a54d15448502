// ENTER checks the final stack pointer before it changes anything: a write at SS:final-ESP that
// would fault (a not-present or, from ring 3, a supervisor-only page; beyond the SS limit) raises
// #PF/#SS with EBP, ESP and the stack untouched (SDM ENTER: "#PF if a write using the final value
// of the stack pointer would cause a page fault"). Nested levels copy frame pointers from [EBP].
import assert from "node:assert/strict";
import { exc, runImage } from "./lib.ts";

const TABLES = `
align 4096
pd:
  dd pt + 7
  times 1023 dd 0
pt:
%assign i 0
%rep 1024
%if i == 0x200
  dd 0                       ; not present
%elif i == 0x201
  dd (i << 12) | 3           ; supervisor, writable
%else
  dd (i << 12) | 7           ; user, writable
%endif
%assign i i+1
%endrep
`;

Deno.test("ENTER: #PF for the final stack pointer (not present, supervisor-only from ring 3) leaves EBP, ESP and memory unchanged", async () => {
  const r = await runImage(`
  mov eax, pd
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  TO_RING3 user, 0x2
user:
  mov esp, 0x202010
  mov ebp, 0x12345678
  mov dword [0x20200c], 0x5a5a5a5a
  RESUME u1
f1: enter 0x20, 0            ; pushes at 0x20200c, final ESP 0x201fec: supervisor page
u1:
  mov [0x205000], esp        ; (printing needs stack room: report from another stack)
  mov [0x205004], ebp
  mov esp, 0x80000
  PUTHEX [0x205000]
  PRINT " "
  PUTHEX [0x205004]
  PRINT " "
  PUTHEX [0x20200c]
  PRINT 10
  mov esp, 0x202010
  mov ebp, 0x12345678
  RESUME u2
f2: enter 0x1020, 0          ; final ESP 0x200fec: not present
u2:
  mov [0x205000], esp        ; (printing needs stack room: report from another stack)
  mov [0x205004], ebp
  mov esp, 0x80000
  PUTHEX [0x205000]
  PRINT " "
  PUTHEX [0x205004]
  PRINT " "
  PUTHEX [0x20200c]
  PRINT 10
  ; level 3 with a good final ESP: EBP pushed, two frame pointers copied from [EBP-4], [EBP-8],
  ; then the new frame pointer; EBP = frame, ESP = frame - 12 - alloc
  mov ebp, 0x203100
  mov dword [0x2030fc], 0x11111111
  mov dword [0x2030f8], 0x22222222
  mov esp, 0x203800
  enter 0x10, 3
  mov [0x205000], esp
  mov [0x205004], ebp
  mov esp, 0x80000
  PUTHEX [0x205000]
  PRINT " "
  PUTHEX [0x205004]
  PRINT " "
  PUTHEX [0x2037fc]
  PRINT " "
  PUTHEX [0x2037f8]
  PRINT " "
  PUTHEX [0x2037f4]
  PRINT " "
  PUTHEX [0x2037f0]
  PRINT 10
  EXIT3 0x31
${TABLES}
`);
  assert.equal(r.exit, "done", r.out);
  assert.equal(r.code, 0x31, r.out);
  const s = r.sym;
  const pf = (err: number, at: string, cr2: number) =>
    exc(14, err, s(at), 0x1b) + ` cr2=${cr2.toString(16).padStart(8, "0")}`;
  assert.deepEqual(r.lines, [
    pf(7, "f1", 0x201fec),
    "00202010 12345678 5a5a5a5a",
    pf(6, "f2", 0x200fec),
    "00202010 12345678 5a5a5a5a",
    "002037e0 002037fc 00203100 11111111 22222222 002037fc",
  ]);
});
