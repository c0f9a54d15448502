// Console output for bare-metal test programs (port 0xE9): puts prints the NUL-terminated string
// at ESI, puthex EAX as 8 hex digits; both keep every register.
export const OUTPUT_ASM = `
puts:
  push eax
  push esi
.l:
  mov al, [esi]
  inc esi
  test al, al
  jz .d
  out 0xe9, al
  jmp .l
.d:
  pop esi
  pop eax
  ret
puthex:
  pushad
  mov ebx, eax
  mov ecx, 8
.l:
  rol ebx, 4
  mov eax, ebx
  and eax, 0xf
  mov al, [hexd + eax]
  out 0xe9, al
  dec ecx
  jnz .l
  popad
  ret
hexd: db "0123456789abcdef"
`;

// ... and the macros that use them: PRINT "text", PUTHEX value, EXIT code (port 0xF4 ends the run)
export const OUTPUT_MACROS = `
%macro PRINT 1
  jmp %%go
%%s: db %1, 0
%%go:
  push esi
  mov esi, %%s
  call puts
  pop esi
%endmacro
%macro PUTHEX 1
  push eax
  mov eax, %1
  call puthex
  pop eax
%endmacro
%macro EXIT 1
  mov al, %1
  out 0xf4, al
  cli
  hlt
%endmacro
`;

// Descriptor-table entries: DESC base, limit, access byte, flags nibble (a GDT/LDT segment);
// GATE selector, offset, type/attr byte, param count (an IDT/GDT gate)
export const TABLE_MACROS = `
%macro DESC 4
  dw (%2) & 0xffff
  dw (%1) & 0xffff
  db ((%1) >> 16) & 0xff
  db %3
  db (((%2) >> 16) & 0x0f) | ((%4) << 4)
  db ((%1) >> 24) & 0xff
%endmacro
%macro GATE 4
  dw (%2) & 0xffff
  dw %1
  db %4
  db %3
  dw ((%2) >> 16) & 0xffff
%endmacro
`;
