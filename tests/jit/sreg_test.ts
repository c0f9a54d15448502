// Segment-register loads inside compiled blocks (core-as/gen/table.ts: MOV Sw,Ew to ES/DS and
// POP ES/DS are stepped in place with end "flat"; MOV to FS/GS and PUSH of any segment register are
// stepped in place): a block goes on after a load of ES or DS only while that segment is still flat,
// the mode blocks are compiled for. A loop reloads DS and ES between a flat selector, one with base
// 0x30000 and a 4 GiB limit, one with base 0x30000 and a 4 KiB limit, and one with base 0 and a
// 128 KiB limit (the last round reads past that limit: #GP), and reads and writes
// through them right after each load; the same with FS and GS, and through PUSH DS / POP ES.
// Compared with the interpreter alone: a block that went on with the flat addressing it was
// compiled for after DS stopped being flat would read and write the wrong bytes.
import assert from "node:assert/strict";
import { both, program, sameCount } from "./lib.ts";
import { HAVE_NASM } from "../lib/tools.ts";

const src = program(`
  lgdt [gdtr2]
  mov dword [0x100], 0x11111111
  mov dword [0x30100], 0x22222222
  xor esi, esi
  mov ecx, 400
.loop:
  mov ax, 0x18                  ; base 0x30000, 4 GiB: not flat
  mov ds, ax
  mov eax, [0x100]
  add esi, eax
  mov [0x104], esi
  mov ax, 0x10                  ; flat again
  mov ds, ax
  add esi, [0x100]
  rol esi, 3
  mov ax, 0x20                  ; base 0x30000, limit 0xfff
  mov es, ax
  add esi, [es:0x104]
  mov [es:0x108], ecx
  push ds                       ; flat DS into ES through the stack
  pop es
  xor esi, [es:0x100]
  mov ax, 0x18
  push eax
  pop ds                        ; POP DS of the based selector
  add esi, [0x108]
  push ss
  pop ds
  mov ax, 0x18
  mov fs, ax
  mov gs, ax
  add esi, [fs:0x100]
  mov [gs:0x10c], esi
  mov ax, 0x10
  mov fs, ax
  xor esi, [fs:0x100]
  mov es, ax
  mov edx, ecx
  shl edx, 2
  cmp ecx, 1
  jne .in
  mov edx, 0x20000              ; the last round reads past the limit: #GP(0)
.in:
  mov ax, 0x28                  ; base 0, limit 0x1ffff: not flat either
  mov ds, ax
  add esi, [edx]
  mov ax, 0x10
  mov ds, ax
  dec ecx
  jnz .loop
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  add esi, [0x3010c]
  PUTHEX esi
  EXIT 0x42
align 8
gdt2:
  dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
  dq 0x00cf9203_0000ffff, 0x00409203_00000fff, 0x00419200_0000ffff
gdtr2:
  dw 47
  dd gdt2
`);

Deno.test({
  name: "jit: loads of DS, ES, FS and GS inside blocks (flat, based, limited), read and written right after",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(src, { memEnd: 0x32000 });
    assert.match(r.off.out, /!0000000d/, "the interpreter's #GP past DS's limit");
    sameCount(r);
  },
});

// a block that loads DS with base 0 and a 128 KiB limit and reads through it at once: base 0 alone
// is not flat (the last round's read past the limit is the interpreter's #GP in both tiers)
const limited = program(`
  lgdt [gdtr2]
  xor esi, esi
  mov ecx, 400
.loop:
  mov edx, ecx
  shl edx, 2
  cmp ecx, 1
  jne .in
  mov edx, 0x20000
.in:
  mov ax, 0x18
  mov ds, ax
  add esi, [edx]
  mov ax, 0x10
  mov ds, ax
  dec ecx
  jnz .loop
  PUTHEX esi
  EXIT 0x42
align 8
gdt2:
  dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff, 0x00419200_0000ffff
gdtr2:
  dw 31
  dd gdt2
`);

Deno.test({
  name: "jit: a DS with base 0 but a limit is not flat: the block leaves after loading it",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(limited, { memEnd: 0x32000 });
    assert.match(r.off.out, /!0000000d/, "the interpreter's #GP past DS's limit");
    sameCount(r);
  },
});
