// Privilege transitions: ring 0 -> 3 with IRET (data segments nulled), ring 3 -> 0 through
// interrupt and trap gates (stack switch from the TSS) and back, a call gate with parameter
// copying and RETF to the outer ring, SYSENTER/SYSEXIT, the I/O bitmap, IOPL-sensitive and
// privileged instructions at ring 3, and alignment checking.
import assert from "node:assert/strict";
import { exc, h8, runImage } from "./lib.ts";

Deno.test("ring 3 <-> ring 0: gates, call gate, I/O bitmap, #GP, #AC, SYSENTER", async () => {
  const r = await runImage(`
  SETGATE 0x20, r0_int
  SETGATE 0x21, r0_int
  mov eax, cr0
  or eax, 0x40000          ; CR0.AM
  mov cr0, eax
  ; SYSENTER: CS 0x08, SS 0x10; SYSEXIT: CS 0x1b, SS 0x23
  mov ecx, 0x174
  mov eax, 0x08
  xor edx, edx
  wrmsr
  mov ecx, 0x175
  mov eax, 0x84000
  wrmsr
  mov ecx, 0x176
  mov eax, r0_sysenter
  wrmsr
  ; at ring 0 with AC set, a misaligned access does not fault
  pushfd
  or dword [esp], 0x40000
  popfd
  mov eax, [abuf + 1]
  TO_RING3 user, 0x40202
user:
  pushfd
  and dword [esp], ~0x40000
  popfd
  PRINT "U "
  mov eax, cs
  PUTHEX eax
  PRINT " "
  mov eax, es              ; ES held a DPL 0 selector: IRET to ring 3 nulled it
  PUTHEX eax
  PRINT 10
  int 0x20                 ; interrupt gate: IF cleared
a_int20:
  int 0x21                 ; trap gate: IF kept
a_int21:
  push dword 0x2222
  push dword 0x1111
  call 0x33:0              ; call gate to ring 0, 2 parameters
a_call:
  PRINT "R "
  mov eax, esp
  PUTHEX eax
  PRINT " "
  mov eax, cs
  PUTHEX eax
  PRINT 10
  mov ecx, esp
  mov edx, a_sysexit
  sysenter
a_sysexit:
  PRINT "S "
  mov eax, cs
  PUTHEX eax
  PRINT " "
  mov eax, ss
  PUTHEX eax
  PRINT 10
  RESUME u1
f_io: out 0xe8, al         ; denied by the bitmap
u1:
  RESUME u2
f_cli: cli                 ; CPL 3 > IOPL 0
u2:
  RESUME u3
f_int: int 0x24            ; gate DPL 0 < CPL 3
u3:
  RESUME u4
f_hlt: hlt
u4:
  RESUME u5
f_cr: mov eax, cr0
u5:
  RESUME u6
f_gate0: call 0x58:0       ; call gate DPL 0 < CPL 3
u6:
  pushfd
  or dword [esp], 0x40000
  popfd
  RESUME u7
f_ac: mov eax, [abuf + 1]  ; CR0.AM, EFLAGS.AC, CPL 3: #AC(0)
u7:
  pushfd
  and dword [esp], ~0x40000
  popfd
  mov eax, [abuf + 1]      ; AC clear again: fine
  EXIT3 0x21

r_dummy:
r0_int:
  mov ebx, esp
  PRINT "I "
  PUTHEX ebx               ; ESP0 from the TSS minus the 20-byte frame
  PRINT " "
  PUTHEX [ebx]
  PRINT " "
  PUTHEX [ebx + 4]
  PRINT " "
  PUTHEX [ebx + 12]
  PRINT " "
  PUTHEX [ebx + 16]
  PRINT " "
  pushfd
  pop eax
  and eax, 0x200
  PUTHEX eax
  PRINT " "
  mov eax, [ebx + 8]
  and eax, 0x40200         ; the saved IF and AC
  PUTHEX eax
  PRINT 10
  iret
r0_sysenter:
  mov ebx, esp
  PRINT "E "
  mov eax, cs
  PUTHEX eax
  PRINT " "
  mov eax, ss
  PUTHEX eax
  PRINT " "
  PUTHEX ebx
  PRINT 10
  sysexit
align 4
abuf: dd 0, 0
`);
  assert.equal(r.exit, "done", r.out);
  assert.equal(r.code, 0x21);
  const s = r.sym;
  assert.deepEqual(r.lines, [
    "U 0000001b 00000000",
    `I 00087fec ${h8(s("a_int20"))} 0000001b 00080000 00000023 00000000 00000200`,
    `I 00087fec ${h8(s("a_int21"))} 0000001b 00080000 00000023 00000200 00000200`,
    `G 00000008 00000010 ${h8(s("a_call"))} 0000001b 00001111 00002222 0007fff8 00000023`,
    "R 00080000 0000001b",
    "E 00000008 00000010 00084000",
    "S 0000001b 00000023",
    exc(0x0d, 0, s("f_io"), 0x1b),
    exc(0x0d, 0, s("f_cli"), 0x1b),
    exc(0x0d, 0x24 * 8 + 2, s("f_int"), 0x1b),
    exc(0x0d, 0, s("f_hlt"), 0x1b),
    exc(0x0d, 0, s("f_cr"), 0x1b),
    exc(0x0d, 0x58, s("f_gate0"), 0x1b),
    exc(0x11, 0, s("f_ac"), 0x1b),
  ]);
  // the TSS stack and the state block agree with the last return to ring 3
  const c = r.bare.core;
  assert.equal(c.get(56 /* S_CPL */), 3);
});
