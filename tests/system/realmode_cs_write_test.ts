// Real mode after protected mode: the CS cache still holds the 16-bit code segment's type
// (execute/read) after the far jump back, and real mode must ignore it. A store through a CS
// override (SYSLINUX's real-mode code does `mov byte [cs:x], 0xff` after each trip to protected
// mode) works; only the limit is checked, so a word at CS:FFFF still raises #GP, which real mode
// delivers through the IVT (vector 13).
import assert from "node:assert/strict";
import * as L from "../../core-as/layout.ts";
import { runImage } from "./lib.ts";

Deno.test("real mode: writes through a CS override after returning from protected mode", async () => {
  const r = await runImage(`
  jmp 0x50:pm16                ; the prelude's 16-bit code segment (execute/read)
bits 16
pm16:
  mov eax, cr0
  and al, 0xfe
  mov cr0, eax
  jmp 0:rm
rm:
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7000
  lidt [ivt]
  mov word [13 * 4], gp_rm      ; #GP -> gp_rm
  mov word [13 * 4 + 2], 0
  mov byte [cs:cell], 0x5a      ; the stores under test
  mov dword [cs:cell + 1], 0x12345678
  add word [cs:cell + 1], 0x0101 ; read-modify-write
  mov al, [cell]
  out 0xe9, al                  ; 'Z'
  mov al, 10
  out 0xe9, al
  mov word [cs:0xffff], ax      ; crosses the 64 KiB limit: #GP even in real mode
  mov al, 'N'
  out 0xe9, al
  EXIT 0x51
gp_rm:
  mov al, 'G'
  out 0xe9, al
  mov al, 10
  out 0xe9, al
  EXIT 0x52
ivt: dw 0x3ff
  dd 0
cell: times 8 db 0
bits 32
`);
  assert.equal(r.exit, "done", r.out);
  assert.deepEqual(r.lines, ["Z", "G"]);
  assert.equal(r.code, 0x52);
  const cell = r.sym("cell");
  assert.equal(r.bare.r8(cell), 0x5a);
  assert.equal(r.bare.r32(cell + 1), 0x12345779);
  assert.equal(r.bare.core.get(L.S_CR0) & L.CR0_PE, 0);
});
