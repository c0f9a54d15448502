// Paging: 4 KiB pages through a page table and 4 MiB PSE pages, #PF error codes and CR2 for
// not-present, read-only (CR0.WP off and on) and supervisor-only pages, accessed/dirty bits,
// and INVLPG.
import assert from "node:assert/strict";
import { exc, runImage } from "./lib.ts";

const TABLES = `
align 4096
pd:
  dd pt + 7                  ; 0-4 MiB through the page table
  dd 0x00400000 | 0x87       ; 4-8 MiB: a 4 MiB page, identity
  dd 0x00400000 | 0x87       ; 8-12 MiB: the same 4 MiB of physical memory
  times 1021 dd 0
pt:
%assign i 0
%rep 1024
%if i == 0x200
  dd 0                       ; not present
%elif i == 0x201
  dd (i << 12) | 1           ; supervisor, read-only
%else
  dd (i << 12) | 7           ; user, writable, A and D clear
%endif
%assign i i+1
%endrep
`;

Deno.test("page faults, WP, A/D bits, 4 MiB pages, INVLPG, user/supervisor", async () => {
  const r = await runImage(`
  mov eax, pd
  mov cr3, eax
  mov eax, cr4
  or eax, 0x10               ; PSE
  mov cr4, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  RESUME r1
f1: mov eax, [0x200000]      ; not present, read
r1:
  RESUME r2
f2: mov dword [0x200010], 1  ; not present, write
r2:
  mov dword [0x201000], 0x55 ; read-only page, supervisor write with WP=0: allowed
  PUTHEX [0x201000]
  PRINT 10
  mov eax, cr0
  or eax, 0x10000            ; WP
  mov cr0, eax
  RESUME r3
f3: mov dword [0x201004], 1  ; now a protection fault
r3:
  PUTHEX [pt + 0x202 * 4]
  PRINT " "
  mov eax, [0x202000]
  PUTHEX [pt + 0x202 * 4]    ; accessed
  PRINT " "
  mov dword [0x202000], 1
  PUTHEX [pt + 0x202 * 4]    ; dirty
  PRINT 10
  mov dword [0x801234], 0xabcd
  PUTHEX [0x401234]          ; two linear 4 MiB pages, one physical
  PRINT " "
  PUTHEX [pd + 4]            ; read only: A
  PRINT " "
  PUTHEX [pd + 8]            ; written: A and D
  PRINT 10
  ; INVLPG: remap 0x203000 to 0x204000's frame
  mov dword [0x204000], 0x4444
  mov dword [0x203000], 0x3333
  mov eax, [0x203000]
  mov dword [pt + 0x203 * 4], 0x204007
  invlpg [0x203000]
  PUTHEX [0x203000]
  PRINT 10
  TO_RING3 user, 0x2
user:
  RESUME u1
g1: mov eax, [0x201000]      ; user read of a supervisor page
u1:
  RESUME u2
g2: mov [0x201008], eax      ; user write of a supervisor page
u2:
  RESUME u3
g3: mov [0x200020], eax      ; user write, not present
u3:
  EXIT3 0x31
${TABLES}
`);
  assert.equal(r.exit, "done", r.out);
  assert.equal(r.code, 0x31);
  const s = r.sym;
  const pf = (err: number, at: string, cr2: number, cs = 8) =>
    exc(14, err, s(at), cs) + ` cr2=${cr2.toString(16).padStart(8, "0")}`;
  assert.deepEqual(r.lines, [
    pf(0, "f1", 0x200000),
    pf(2, "f2", 0x200010),
    "00000055",
    pf(3, "f3", 0x201004),
    "00202007 00202027 00202067",
    "0000abcd 004000a7 004000e7",
    "00004444",
    pf(5, "g1", 0x201000, 0x1b),
    pf(7, "g2", 0x201008, 0x1b),
    pf(6, "g3", 0x200020, 0x1b),
  ]);
});
