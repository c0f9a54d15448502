// Exceptions delivered through the IDT in protected mode: vector, error code and the saved EIP
// (faults: the faulting instruction; traps: the next one) as the SDM defines them; #DF and
// the triple fault.
import assert from "node:assert/strict";
import { exc, runImage } from "./lib.ts";

Deno.test("faults and traps report SDM vector, error code and EIP", async () => {
  const r = await runImage(`
  RESUME r_de
  mov eax, 1
  xor ecx, ecx
  xor edx, edx
f_de: div ecx
r_de:
  RESUME r_ud
f_ud: ud2
r_ud:
  RESUME r_bp
f_bp: int3
a_bp:
r_bp:
  RESUME r_gp1
  mov ax, 0x7b
f_gp1: mov ds, ax          ; beyond the GDT limit: #GP(selector)
r_gp1:
  RESUME r_np
  mov ax, 0x48
f_np: mov es, ax           ; not present: #NP(selector)
r_np:
  RESUME r_gp2
  mov ax, 0x28
f_gp2: mov ds, ax          ; a TSS is not a data segment
r_gp2:
  RESUME r_gp3
  xor eax, eax
f_gp3: mov ss, ax          ; null SS: #GP(0)
r_gp3:
  RESUME r_gp4
f_gp4: int 0x40            ; beyond the IDT limit: #GP(vector*8+2)
r_gp4:
  RESUME r_cs
f_cs: db 0x8e, 0xc8        ; mov cs, ax: #UD
r_cs:
  RESUME r_db
  pushfd
  or dword [esp], 0x100
  popfd                    ; TF is set: the trap follows the next instruction
f_db: nop
a_db: nop
r_db:
  RESUME r_cr4
  mov eax, 0x1             ; CR4.VME is not supported
f_cr4: mov cr4, eax
r_cr4:
  RESUME r_pg
  mov eax, 0x80000000      ; PG without PE
f_pg: mov cr0, eax
r_pg:
  EXIT 0x11
`);
  assert.equal(r.exit, "done", r.out);
  assert.equal(r.code, 0x11);
  const s = r.sym;
  assert.deepEqual(r.lines, [
    exc(0x00, -1, s("f_de"), 8),
    exc(0x06, -1, s("f_ud"), 8),
    exc(0x03, -1, s("a_bp"), 8),
    exc(0x0d, 0x78, s("f_gp1"), 8),
    exc(0x0b, 0x48, s("f_np"), 8),
    exc(0x0d, 0x28, s("f_gp2"), 8),
    exc(0x0d, 0, s("f_gp3"), 8),
    exc(0x0d, 0x40 * 8 + 2, s("f_gp4"), 8),
    exc(0x06, -1, s("f_cs"), 8),
    exc(0x01, -1, s("a_db"), 8) + " dr6=ffff4ff0",
    exc(0x0d, 0, s("f_cr4"), 8),
    exc(0x0d, 0, s("f_pg"), 8),
  ]);
});

Deno.test("faults push EFLAGS with RF set, traps without", async () => {
  const r = await runImage(`
  SETGATE 6, show_flags
  SETGATE 3, show_flags
  ud2
  int3
  EXIT 0x12
show_flags:
  mov eax, [esp + 8]
  and eax, 0x10000
  PUTHEX eax
  PRINT 10
  add dword [esp], 2       ; past ud2 (int3 returns past itself already, +2 lands on EXIT's mov)
  iret
`);
  // ud2 -> RF=1; int3 is a trap -> RF=0; its handler skips 2 bytes, landing inside EXIT's code,
  // so only check the first two reports
  assert.deepEqual(r.lines.slice(0, 2), ["00010000", "00000000"]);
});

Deno.test("a contributory fault while delivering one raises #DF", async () => {
  const r = await runImage(`
  lidt [small_idtr]
  mov ax, 0x48
f_np: mov es, ax           ; #NP, vector 11 is beyond the IDT -> #GP(11*8+2+EXT) -> #DF(0)
  EXIT 0x13
small_idtr: dw 9 * 8 - 1
  dd idt
`);
  assert.equal(r.lines[0], exc(0x08, 0, r.sym("f_np"), 8));
});

Deno.test("a triple fault shuts the machine down", async () => {
  const r = await runImage(`
  lidt [empty_idtr]
  ud2
  EXIT 0x14
empty_idtr: dw 0
  dd 0
`);
  assert.equal(r.exit, "shutdown");
  assert.equal(r.out, "");
});

// The STI / MOV SS shadow covers exactly one instruction. A shadow left standing by an STI long
// before once made the next TF trap come one instruction late (Linux's `sti; sysexit` return
// path, then a user program's single-step check).
Deno.test("single-step: an old STI shadow does not delay the trap; MOV SS delays it by one", async () => {
  const r = await runImage(`
  cli
  sti
  mov ecx, 3
spin: loop spin
  RESUME r_a
  pushfd
  or dword [esp], 0x100
  popfd
f_a: nop
a_a: nop
r_a:
  RESUME r_b
  mov ax, ss
  pushfd
  or dword [esp], 0x100
  popfd
f_b: mov ss, ax            ; the trap after MOV SS waits for the next instruction
  nop
a_b: nop
r_b:
  cli
  EXIT 0x15
`);
  assert.equal(r.exit, "done", r.out);
  const s = r.sym;
  assert.deepEqual(r.lines, [
    exc(0x01, -1, s("a_a"), 8) + " dr6=ffff4ff0",
    exc(0x01, -1, s("a_b"), 8) + " dr6=ffff4ff0",
  ]);
});
