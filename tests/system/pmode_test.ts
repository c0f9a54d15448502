// Real -> protected mode (the prelude's LGDT, CR0.PE, far JMP), descriptor-table and selector
// instructions (SGDT/SIDT/STR/SLDT/LAR/LSL/VERR/VERW/ARPL), CPUID, MSRs, the TSC, debug
// registers, and the way back to real mode through a 16-bit code segment.
import assert from "node:assert/strict";
import * as L from "../../core-as/layout.ts";
import { exc, h8, runImage } from "./lib.ts";
import { Bare } from "../lib/bare.ts";
import { nasm } from "../lib/tools.ts";

Deno.test("protected mode entry, system registers, CPUID/MSR/TSC, return to real mode", async () => {
  const r = await runImage(`
  mov eax, cs
  PUTHEX eax
  PRINT " "
  mov eax, cr0
  PUTHEX eax
  PRINT " "
  sgdt [buf]
  movzx eax, word [buf]
  PUTHEX eax
  PRINT " "
  PUTHEX [buf + 2]
  PRINT " "
  sidt [buf]
  movzx eax, word [buf]
  PUTHEX eax
  PRINT " "
  mov eax, 0xffffffff
  str eax
  PUTHEX eax
  PRINT " "
  sldt eax
  PUTHEX eax
  PRINT 10
  ; LAR / LSL / VERR / VERW: result and ZF
; print "eax/ZF " with ZF as the instruction left it
%macro ZF 0
  setz bl
  PUTHEX eax
  PRINT "/"
  movzx ebx, bl
  PUTHEX ebx
  PRINT " "
%endmacro
  mov cx, 0x1b
  xor eax, eax
  lar eax, cx
  ZF
  mov cx, 0x48
  xor eax, eax
  lar eax, cx                ; not present is fine for LAR
  ZF
  mov cx, 0
  xor eax, eax
  lar eax, cx
  ZF
  mov cx, 0x28
  xor eax, eax
  lsl eax, cx
  ZF
  mov cx, 0x10
  xor eax, eax
  lsl eax, cx
  ZF
  mov cx, 0x30
  xor eax, eax
  lsl eax, cx                ; gates have no limit
  ZF
  mov cx, 0x08
  xor eax, eax
  verr cx
  ZF
  xor eax, eax
  verw cx
  ZF
  mov cx, 0x10
  xor eax, eax
  verw cx
  ZF
  mov cx, 0x28
  xor eax, eax
  verr cx
  ZF
  mov eax, 0x10
  mov cx, 0x3
  arpl ax, cx
  ZF
  PRINT 10
  ; CPUID
  xor eax, eax
  cpuid
  PUTHEX eax
  PRINT " "
  mov [buf], ebx
  mov [buf + 4], edx
  mov [buf + 8], ecx
  mov byte [buf + 12], 0
  mov esi, buf
  call puts
  PRINT " "
  mov eax, 1
  cpuid
  PUTHEX eax
  PRINT " "
  PUTHEX edx
  PRINT " "
  PUTHEX ecx
  PRINT 10
  ; MSRs and the TSC
  mov ecx, 0x1b
  rdmsr
  PUTHEX eax
  PRINT " "
  rdtsc
  mov esi, eax
  mov edi, edx
  rdtsc
  sub eax, esi
  sbb edx, edi
  PUTHEX edx                 ; the second read is later
  PRINT " "
  mov ecx, 0x10
  xor eax, eax
  mov edx, 5
  wrmsr
  rdtsc
  PUTHEX edx                 ; TSC written to 5 << 32 a moment ago
  PRINT " "
  mov eax, dr6
  PUTHEX eax
  PRINT " "
  mov eax, dr4               ; DR4 is DR6 while CR4.DE is clear
  PUTHEX eax
  PRINT " "
  mov eax, dr7
  PUTHEX eax
  PRINT 10
  RESUME r_msr
  mov ecx, 0x12345
f_msr: rdmsr
r_msr:
  mov eax, cr4
  or eax, 8                  ; CR4.DE: DR4 is now reserved
  mov cr4, eax
  RESUME r_dr4
f_dr4: mov eax, dr4
r_dr4:
  ; back to real mode: 16-bit protected-mode code, clear PE, far jump
  jmp 0x50:pm16
bits 16
pm16:
  mov eax, cr0
  and al, 0xfe
  mov cr0, eax
  jmp 0:rm
rm:
  mov al, 'R'
  out 0xe9, al
  mov ax, cs
  add al, 'a'
  out 0xe9, al
  mov al, 10
  out 0xe9, al
  EXIT 0x51
bits 32
align 4
buf: times 16 db 0
`);
  assert.equal(r.exit, "done", r.out);
  assert.equal(r.code, 0x51);
  const s = r.sym;
  assert.deepEqual(r.lines, [
    `00000008 60000011 0000005f ${h8(s("gdt"))} 0000017f 00000028 00000000`,
    [
      "00cffb00/00000001",
      "00cf1300/00000001",
      "00000000/00000000",
      `${h8(s("tss_end") - s("tss") - 1)}/00000001`,
      "ffffffff/00000001",
      "00000000/00000000",
      "00000000/00000001",
      "00000000/00000000",
      "00000000/00000001",
      "00000000/00000000",
      "00000013/00000001",
    ].join(" ") + " ",
    "0000000a GenuineIntel 000006e8 0789fbfd 00000001", // Core Duo: max leaf 0xA, family 6 model 14 stepping 8, SSE3 (ops/cpuid.ts)
    "fee00900 00000000 00000005 ffff0ff0 ffff0ff0 00000400",
    exc(0x0d, 0, s("f_msr"), 8),
    exc(0x06, -1, s("f_dr4"), 8),
    "Ra",
  ]);
  const c = r.bare.core;
  assert.equal(c.get(L.S_CR0) & L.CR0_PE, 0);
  assert.equal(c.get(L.S_CR4), L.CR4_DE);
});

Deno.test("real mode: far CALL/RETF/JMP, INT/IRET through the IVT, LDS", async () => {
  const b = await Bare.create();
  b.load(
    0x7c00,
    await nasm(`
org 0x7c00
bits 16
RES equ 0x600
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7000
  mov word [0x80 * 4], isr
  mov word [0x80 * 4 + 2], 0
  pushf
  pop cx
  or cx, 0x0800              ; OF set before INT: IRET restores it
  push cx
  popf
  int 0x80
  pushf
  pop ax
  and ax, 0x0b00             ; OF, IF, TF
  mov [RES], ax
  call 0x0000:farfn
  mov [RES + 2], bx
  jmp 0x07c0:(tail - 0x7c00)
farfn:
  mov bx, 0x1234
  retf
isr:
  pushf
  pop dx
  and dx, 0x0b00
  mov [RES + 4], dx
  mov [RES + 12], sp         ; 3 words below 0x7000
  iret
tail:
  mov ax, cs
  mov [RES + 6], ax
  lds si, [cs:farp - 0x7c00]
  mov [ss:RES + 8], ds
  mov [ss:RES + 10], si
  mov al, 1
  out 0xf4, al
  cli
  hlt
farp: dw 0x5678, 0x9abc
`),
  );
  b.startReal(0, 0x7c00);
  const r = b.run(10000);
  assert.equal(r.exit, "done", r.out);
  const words = Array.from({ length: 7 }, (_, i) => b.ram.readU16(0x600 + i * 2));
  assert.deepEqual(words, [0x0800, 0x1234, 0x0800, 0x07c0, 0x9abc, 0x5678, 0x7000 - 6]);
});
