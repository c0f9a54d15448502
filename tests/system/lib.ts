// Bare-metal system images: a nasm prelude that goes from real mode to flat 32-bit protected
// mode and installs a GDT (ring 0/3 code and data, two TSSs, a call gate, a task gate), an IDT
// whose every vector reports "X vv eeeeeeee iiiiiiii cccc" (vector, error code, faulting EIP, CS;
// plus cr2= for #PF and dr6= for #DB) to port 0xE9, a TSS with an I/O bitmap, and page tables.
// Test bodies are 32-bit code at label `body`; they print with PRINT/PUTHEX and end with EXIT.
// A handler resumes at [resume] when it is nonzero (and clears it), else the run ends.
import { Bare, type BareOptions, type BareResult } from "../lib/bare.ts";
import { OUTPUT_ASM, OUTPUT_MACROS, TABLE_MACROS } from "../lib/guest_asm.ts";
import { nasm } from "../lib/tools.ts";

export const ORG = 0x8000;

// selectors
export const SEL = {
  code0: 0x08,
  data0: 0x10,
  code3: 0x1b,
  data3: 0x23,
  tss: 0x28,
  gate3: 0x33,
  tss2: 0x38,
  taskgate: 0x40,
  data0np: 0x48,
  code16: 0x50,
  gate0: 0x58,
};

const PRELUDE = `
%define ABS(x) ((x) - $$ + ${ORG})
${TABLE_MACROS}${OUTPUT_MACROS}; exit from ring 3 (port 0xf4 is open in the I/O bitmap; CLI/HLT would fault there)
%macro EXIT3 1
  mov al, %1
  out 0xf4, al
  jmp $
%endmacro
%macro RESUME 1
  mov dword [resume], %1
%endmacro
; enter ring 3 at %1 with ESP 0x80000 and EFLAGS %2; DS/FS/GS = ring-3 data, ES keeps ring 0's
%macro TO_RING3 2
  mov ax, 0x23
  mov ds, ax
  mov fs, ax
  mov gs, ax
  mov ax, 0x10
  mov es, ax
  push dword 0x23
  push dword 0x80000
  push dword %2
  push dword 0x1b
  push dword %1
  iret
%endmacro
; point IDT vector %1 at %2 (keeps the gate's type and DPL)
%macro SETGATE 2
  mov eax, %2
  mov [idt + (%1) * 8], ax
  shr eax, 16
  mov [idt + (%1) * 8 + 6], ax
%endmacro

org ${ORG}
bits 16
start:
  cli
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x7000
  o32 lgdt [gdtr]
  mov eax, cr0
  or al, 1
  mov cr0, eax
  jmp 0x08:pm32
bits 32
pm32:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov fs, ax
  mov gs, ax
  mov ss, ax
  mov esp, 0x90000
  lidt [idtr]
  mov ax, 0x28
  ltr ax
  jmp body

; ---- output ------------------------------------------------------------------------------------
${OUTPUT_ASM}resume: dd 0

; ---- exception / interrupt reporting ------------------------------------------------------------
%assign i 0
%rep 48
stub %+ i:
%if i == 8 || (i >= 10 && i <= 14) || i == 17
%else
  push dword 0xffffffff
%endif
  push dword i
  jmp exc_common
%assign i i+1
%endrep

exc_common:
  push ds
  push es
  pushad
  mov ebp, esp
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  PRINT "X "
  mov eax, [ebp + 40]
  shr eax, 4
  mov al, [hexd + eax]
  out 0xe9, al
  mov eax, [ebp + 40]
  and eax, 15
  mov al, [hexd + eax]
  out 0xe9, al
  PRINT " "
  PUTHEX [ebp + 44]
  PRINT " "
  PUTHEX [ebp + 48]
  PRINT " "
  mov eax, [ebp + 52]
  shl eax, 16
  mov ecx, 4
.cs:
  rol eax, 4
  push eax
  and eax, 15
  mov al, [hexd + eax]
  out 0xe9, al
  pop eax
  dec ecx
  jnz .cs
  cmp dword [ebp + 40], 14
  jne .notpf
  PRINT " cr2="
  mov eax, cr2
  PUTHEX eax
.notpf:
  cmp dword [ebp + 40], 1
  jne .notdb
  PRINT " dr6="
  mov eax, dr6
  PUTHEX eax
  xor eax, eax
  mov dr6, eax
  and dword [ebp + 56], ~0x100
.notdb:
  PRINT 10
  mov eax, [resume]
  test eax, eax
  jz .stop
  mov dword [resume], 0
  mov [ebp + 48], eax
  popad
  pop es
  pop ds
  add esp, 8
  iret
.stop:
  EXIT 0xee

; ---- call gate target (ring 0): reports CS, SS, the caller's SS:ESP and both parameters ----------
gate_target:
  mov ebx, esp
  PRINT "G "
  mov eax, cs
  PUTHEX eax
  PRINT " "
  mov eax, ss
  PUTHEX eax
  PRINT " "
  PUTHEX [ebx]        ; return EIP
  PRINT " "
  PUTHEX [ebx + 4]    ; return CS
  PRINT " "
  PUTHEX [ebx + 8]    ; parameter (pushed last by the caller)
  PRINT " "
  PUTHEX [ebx + 12]   ; parameter (pushed first)
  PRINT " "
  PUTHEX [ebx + 16]   ; caller ESP
  PRINT " "
  PUTHEX [ebx + 20]   ; caller SS
  PRINT 10
  retf 8

; ---- second task: reports its back link and NT, returns with IRET ----------------------------------
task2:
  PRINT "T2 "
  PUTHEX [tss2]       ; back link
  PRINT " "
  pushfd
  pop eax
  and eax, 0x4000     ; NT
  PUTHEX eax
  PRINT " "
  xor eax, eax
  str ax
  PUTHEX eax
  PRINT 10
  pushfd
  pop eax
  test eax, 0x4000
  jz .jmpback
  iret
  jmp task2
.jmpback:
  jmp 0x28:0
  jmp task2

; ---- tables ---------------------------------------------------------------------------------------
align 8
gdt:
  dq 0
  DESC 0, 0xfffff, 0x9b, 0xc        ; 08 code ring 0
  DESC 0, 0xfffff, 0x93, 0xc        ; 10 data ring 0
  DESC 0, 0xfffff, 0xfb, 0xc        ; 18 code ring 3
  DESC 0, 0xfffff, 0xf3, 0xc        ; 20 data ring 3
  DESC ABS(tss), tss_end - tss - 1, 0x89, 0   ; 28 TSS (available)
  GATE 0x08, ABS(gate_target), 0xec, 2       ; 30 call gate, DPL 3, 2 dword parameters
  DESC ABS(tss2), 0x67, 0x89, 0      ; 38 second TSS
  GATE 0x38, 0, 0xe5, 0              ; 40 task gate -> tss2, DPL 3
  DESC 0, 0xfffff, 0x13, 0xc         ; 48 data ring 0, not present
  DESC 0, 0xffff, 0x9b, 0x0          ; 50 16-bit code ring 0
  GATE 0x08, ABS(gate_target), 0x8c, 0       ; 58 call gate, DPL 0
gdt_end:
gdtr: dw gdt_end - gdt - 1
  dd ABS(gdt)

align 8
idt:
%assign i 0
%rep 48
%if i == 3 || i == 4 || i == 0x20
  GATE 0x08, ABS(stub %+ i), 0xee, 0   ; DPL 3 interrupt gates: int3, into, int 0x20
%elif i == 0x21
  GATE 0x08, ABS(stub %+ i), 0xef, 0   ; DPL 3 trap gate
%elif i == 0x22
  GATE 0x38, 0, 0xe5, 0                ; DPL 3 task gate -> tss2
%else
  GATE 0x08, ABS(stub %+ i), 0x8e, 0
%endif
%assign i i+1
%endrep
idt_end:
idtr: dw idt_end - idt - 1
  dd ABS(idt)

align 16
tss:
  dd 0                ; back link
  dd 0x88000, 0x10    ; esp0, ss0
  dd 0, 0, 0, 0
  dd 0                ; cr3
  times 16 dd 0       ; eip .. gs
  dd 0                ; ldt
  dw 0
  dw iomap - tss
iomap:
  times 0x1d db 0xff  ; ports 0x00-0xe7 denied
  db 0xfd             ; 0xe8 denied, 0xe9 allowed, 0xea-0xef denied
  db 0xef             ; 0xf4 allowed
  times 2 db 0xff
  db 0xff             ; the byte after the bitmap
tss_end:

align 16
tss2:
  dd 0
  dd 0x87000, 0x10
  dd 0, 0, 0, 0
  dd 0                ; cr3 (paging off in the task test)
  dd ABS(task2)       ; eip
  dd 0x2              ; eflags
  dd 0, 0, 0, 0, 0x86000, 0, 0, 0  ; eax.. edi (esp = 0x86000)
  dd 0x10, 0x08, 0x10, 0x10, 0x10, 0x10 ; es cs ss ds fs gs
  dd 0                ; ldt
  dw 0
  dw 0x68

bits 32
`;

export function image(body: string): string {
  return PRELUDE + "\nbody:\n" + body + "\n";
}

export interface RunOut extends BareResult {
  lines: string[];
  bare: Bare;
  sym: (name: string) => number; // address of a label in the image
}

// `opts` adds device hooks; `setup` sees the machine before it runs (tests that poke the core)
export async function runImage(
  body: string,
  budget = 2_000_000,
  opts: BareOptions = {},
  setup?: (b: Bare) => void,
): Promise<RunOut> {
  const b = await Bare.create(opts);
  setup?.(b);
  const map = await Deno.makeTempFile({ prefix: "ring3-map-" });
  let bin: Uint8Array, sym: Map<string, number>;
  try {
    bin = await nasm(`[map symbols ${map}]\n` + image(body));
    sym = new Map();
    for (const m of (await Deno.readTextFile(map)).matchAll(/^\s+([0-9a-f]+)\s+[0-9a-f]+\s+(\S+)$/gim)) {
      sym.set(m[2], parseInt(m[1], 16));
    }
  } finally {
    await Deno.remove(map);
  }
  b.load(ORG, bin);
  b.startReal(0, ORG);
  const r = b.run(budget);
  const sy = (name: string) => {
    const v = sym.get(name);
    if (v === undefined) throw new Error(`no symbol ${name}`);
    return v;
  };
  return { ...r, lines: r.out.split("\n").filter((l) => l.length > 0), bare: b, sym: sy };
}

// hex helpers for expected lines
export const h8 = (v: number) => (v >>> 0).toString(16).padStart(8, "0");
export const h4 = (v: number) => (v & 0xffff).toString(16).padStart(4, "0");
export const h2 = (v: number) => (v & 0xff).toString(16).padStart(2, "0");
export function exc(vec: number, err: number, eip: number, cs: number): string {
  return `X ${h2(vec)} ${h8(err)} ${h8(eip)} ${h4(cs)}`;
}
