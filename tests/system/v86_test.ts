// Virtual-8086 mode (SDM vol. 3, ch. 20) under a small ring-0 monitor: entry by IRET from CPL 0
// (the nine-dword frame) and by a task switch to a TSS whose EFLAGS has VM; real-mode addressing
// (base = selector << 4) under paging; CLI, STI, PUSHF, POPF, INT n and IRET trap to the monitor
// with #GP(0) at IOPL 0 and run at IOPL 3 (where POPF/IRET still cannot change IOPL or VM); INT3
// is not IOPL-sensitive; IN/OUT obey the TSS I/O bitmap whatever IOPL is; MOV CR0 is #GP(0) and
// STR #UD; #PF from virtual-8086 mode reports a user access. Every interrupt and exception from
// virtual-8086 mode switches to the ring-0 stack of the TSS and pushes GS, FS, DS, ES, SS, ESP,
// EFLAGS, CS, EIP (and the error code), and the handler finds DS, ES, FS and GS null. POPF in ring
// 0 and IRET from ring 3 cannot set VM. A virtual-8086 task whose TSS has no I/O bitmap cannot
// use any port. Expected values are the SDM's; the monitor prints each
// frame it receives.
import assert from "node:assert/strict";
import { h8, runImage } from "./lib.ts";

const TABLES = `
align 4096
pd:
  dd pt + 7
  times 1023 dd 0
pt:
%assign i 0
%rep 1024
%if i == 0x50
  dd 0                       ; not present
%elif i == 0x51
  dd (i << 12) | 3           ; supervisor, writable
%else
  dd (i << 12) | 7           ; user, writable
%endif
%assign i i+1
%endrep
`;

// Virtual-8086 code runs with CS = DS = SS = 0x0800 (base 0x8000 = the image's origin), so the
// offset of a label there is label - $$. R86 tells the monitor where to resume after the fault
// the next instruction raises.
const MONITOR = `
%macro R86 1
  mov word [resume86 - $$], %1 - $$
%endmacro
; enter virtual-8086 mode at %1 with EFLAGS %2: ES 0x1000, DS 0x0800, FS 0x2000, GS 0x3000,
; SS:SP 0x0800:0xf000
%macro TO_V86 2
  push dword 0x3000
  push dword 0x2000
  push dword 0x0800
  push dword 0x1000
  push dword 0x0800
  push dword 0xf000
  push dword %2
  push dword 0x0800
  push dword %1 - $$
  iretd
%endmacro
  mov eax, pd
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  SETGATE 3, mon_03
  SETGATE 6, mon_06
  SETGATE 13, mon_0d
  SETGATE 14, mon_0e
  SETGATE 0x20, mon_20        ; DPL 3 interrupt gate
  SETGATE 0x21, mon_21        ; DPL 3 trap gate
  ; POPF in ring 0 cannot set VM
  pushfd
  or dword [esp], 0x20000
  popfd
  pushfd
  pop eax
  and eax, 0x20000
  PRINT "P "
  PUTHEX eax
  PRINT 10
  ; IRET from ring 3 with VM set in the image stays in protected mode
  mov dword [next], stage1
  TO_RING3 r3, 0x2
r3:
  push dword 0x20002
  push dword 0x1b
  push dword r3b
  iretd
r3b:
  pushfd
  pop eax
  mov [r3fl], eax
  hlt                         ; #GP(0) back to the monitor

stage1:
  PRINT "R "
  PUTHEX [r3fl]
  PRINT 10
  mov dword [next], stage2
  TO_V86 v1, 0x00020002       ; IOPL 0

stage2:
  mov dword [next], stage3
  TO_V86 v2, 0x00023002       ; IOPL 3

stage3:
  PRINT "S "
  movzx eax, word [st_a]
  PUTHEX eax
  PRINT " "
  movzx eax, word [st_b]
  PUTHEX eax
  PRINT " "
  PUTHEX [st_c]
  PRINT " "
  movzx eax, word [st_d]
  PUTHEX eax
  PRINT 10
  ; a task switch into virtual-8086 mode: the second TSS holds VM=1 and real-mode selectors
  mov eax, cr3
  mov [tss2 + 0x1c], eax
  mov dword [tss2 + 0x20], v3 - $$
  mov dword [tss2 + 0x24], 0x00020002
  mov dword [tss2 + 0x38], 0xe000
  mov dword [tss2 + 0x48], 0x1100   ; es
  mov dword [tss2 + 0x4c], 0x0800   ; cs
  mov dword [tss2 + 0x50], 0x0800   ; ss
  mov dword [tss2 + 0x54], 0x0800   ; ds
  mov dword [tss2 + 0x58], 0x2100   ; fs
  mov dword [tss2 + 0x5c], 0x3100   ; gs
  mov dword [next], stage4
  jmp 0x38:0

stage4:
  PRINT "T "
  xor eax, eax
  str ax
  PUTHEX eax
  PRINT 10
  EXIT 0x31

; ---- the monitor's handlers: "V vec err | eip cs eflags esp ss es ds fs gs | ds es fs gs IF"
mon_03: push dword 0xffffffff
  push dword 3
  jmp mon
mon_06: push dword 0xffffffff
  push dword 6
  jmp mon
mon_0d: push dword 13
  jmp mon
mon_0e: push dword 14
  jmp mon
mon_20: push dword 0xffffffff
  push dword 0x20
  jmp mon
mon_21: push dword 0xffffffff
  push dword 0x21
  jmp mon
mon:
  pushad
  mov ebp, esp                ; +32 vec, +36 err, +40 eip, +44 cs, +48 eflags, +52 esp, +56 ss ...
  mov eax, ds                 ; the data segments the handler found (null after virtual-8086 mode)
  mov [ss:live], eax
  mov eax, es
  mov [ss:live + 4], eax
  mov eax, fs
  mov [ss:live + 8], eax
  mov eax, gs
  mov [ss:live + 12], eax
  pushfd
  pop eax
  and eax, 0x200
  mov [ss:live + 16], eax
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  test dword [ebp + 48], 0x20000
  jnz .v86
  ; from protected mode (ring 3 only here): HLT ends the stage
  mov eax, [ebp + 40]
  cmp byte [eax], 0xf4
  jne .stop
  mov esp, 0x90000
  jmp [next]
.v86:
  PRINT "V "
  PUTHEX [ebp + 32]
  PRINT " "
  PUTHEX [ebp + 36]
  PRINT " |"
  mov ecx, 0
.frame:
  PRINT " "
  mov eax, [ebp + 40 + ecx * 4]
  cmp ecx, 1
  je .sel
  cmp ecx, 4
  jb .word
.sel:
  and eax, 0xffff
.word:
  PUTHEX eax
  inc ecx
  cmp ecx, 9
  jb .frame
  PRINT " |"
  mov ecx, 0
.live:
  PRINT " "
  PUTHEX [live + ecx * 4]
  inc ecx
  cmp ecx, 5
  jb .live
  cmp dword [ebp + 32], 14
  jne .notpf
  PRINT " cr2="
  mov eax, cr2
  PUTHEX eax
.notpf:
  PRINT 10
  ; HLT in virtual-8086 mode ends the stage
  movzx eax, word [ebp + 44]
  shl eax, 4
  movzx ecx, word [ebp + 40]
  cmp byte [eax + ecx], 0xf4
  jne .resume
  mov esp, 0x90000
  jmp [next]
.resume:
  mov eax, [resume86]
  test eax, eax
  jz .back                    ; a trap: return after the instruction
  mov [ebp + 40], eax
  mov dword [resume86], 0
.back:
  popad
  add esp, 8
  iretd
.stop:
  EXIT 0xe2

align 4
next: dd 0
resume86: dd 0
r3fl: dd 0
live: times 5 dd 0
st_a: dw 0
st_b: dw 0
st_c: dd 0
st_d: dw 0

bits 16
; ---- IOPL 0: every sensitive instruction traps; the bitmap decides I/O ----------------------------
v1:
  mov al, 'a'
  out 0xe9, al                ; allowed by the bitmap although IOPL < CPL
  mov al, 10
  out 0xe9, al
  R86 v1a
g1: cli
v1a: R86 v1b
g2: sti
v1b: R86 v1c
g3: pushf
v1c: R86 v1d
g4: popf
v1d: R86 v1e
g5: int 0x21
v1e: R86 v1f
g6: iret
v1f: R86 v1g
g7: in al, 0x80               ; denied by the bitmap
v1g: R86 v1h
g8: mov eax, cr0
v1h: R86 v1i
g9: str ax
v1i:
g10: int3                     ; not IOPL-sensitive: through IDT gate 3 (DPL 3)
  mov ax, 0x5000
  mov es, ax
  R86 v1j
p1: mov ax, [es:0x10]         ; not present: #PF(user, read)
v1j:
  mov ax, 0x5100
  mov es, ax
  R86 v1k
p2: mov word [es:0x20], 1     ; supervisor page: #PF(user, write, protection)
v1k:
h1: hlt

; ---- IOPL 3: the sensitive instructions run ------------------------------------------------------
v2:
  cli
  sti
  pushf
  pop ax
  mov [st_a - $$], ax         ; IOPL 3, IF
  push word 0x0002
  popf                        ; clears IF; IOPL stays 3
  pushf
  pop ax
  mov [st_b - $$], ax
  pushfd                      ; VM and RF read as 0 in the image
  pop eax
  mov [st_c - $$], eax
  push dword 0x00000202       ; VM clear in the image: stays in virtual-8086 mode
  popfd
  push word 0x00c3            ; IRET: IOPL 0 in the image does not change IOPL
  push cs
  push word v2b - $$
  iret
v2b:
  pushf
  pop ax
  mov [st_d - $$], ax
  sti
i20: int 0x20                 ; interrupt gate: IF clear in the handler
i21: int 0x21                 ; trap gate: IF kept
  R86 v2c
g11: in al, 0x80              ; the bitmap denies it at IOPL 3 too
v2c:
  mov al, 'b'
  out 0xe9, al
  mov al, 10
  out 0xe9, al
h2: hlt

; ---- entered by a task switch ---------------------------------------------------------------------
v3:
  R86 v3a
g12: out 0xe9, al             ; the second TSS has no I/O bitmap: #GP(0) whatever IOPL
v3a:
h3: hlt
bits 32
${TABLES}
`;

const hx = (v: number) => h8(v);

Deno.test("virtual-8086 mode: IRET and task-switch entry, IOPL-sensitive instructions, the I/O bitmap, the monitor's frames", async () => {
  const r = await runImage(MONITOR, 5_000_000);
  if (Deno.env.get("V86_SHOW")) console.log(r.out);
  assert.equal(r.exit, "done", r.out);
  assert.equal(r.code, 0x31, r.out);
  const off = (l: string) => r.sym(l) - 0x8000;
  // vec err | eip cs eflags esp ss es ds fs gs | live ds es fs gs IF
  const v = (
    vec: number,
    err: number,
    eip: number,
    fl: number,
    segs: [number, number, number, number] = [0x1000, 0x0800, 0x2000, 0x3000],
    sp = 0xf000,
    liveIf = 0,
  ) =>
    `V ${hx(vec)} ${hx(err)} | ${hx(eip)} ${hx(0x0800)} ${hx(fl)} ${hx(sp)} ${hx(0x0800)} ` +
    segs.map(hx).join(" ") + ` | 00000000 00000000 00000000 00000000 ${hx(liveIf)}`;
  const VM = 0x20000, RF = 0x10000;
  const gp0 = (at: string, fl: number) => v(13, 0, off(at), fl | RF);
  const segsPf = (es: number): [number, number, number, number] => [es, 0x0800, 0x2000, 0x3000];
  assert.deepEqual(r.lines, [
    "P 00000000",
    "R 00000002",
    "a",
    gp0("g1", VM | 2),
    gp0("g2", VM | 2),
    gp0("g3", VM | 2),
    gp0("g4", VM | 2),
    gp0("g5", VM | 2),
    gp0("g6", VM | 2),
    gp0("g7", VM | 2),
    gp0("g8", VM | 2),
    v(6, 0xffffffff, off("g9"), VM | RF | 2),
    v(3, 0xffffffff, off("g10") + 1, VM | 2),
    v(14, 4, off("p1"), VM | RF | 2, segsPf(0x5000)) + " cr2=00050010",
    v(14, 7, off("p2"), VM | RF | 2, segsPf(0x5100)) + " cr2=00051020",
    v(13, 0, off("h1"), VM | RF | 2, segsPf(0x5100)),
    // IOPL 3: the frame's EFLAGS has the flags IRET restored (0xc3 with IOPL kept) and IF from STI
    v(0x20, 0xffffffff, off("i21"), VM | 0x32c3),
    v(0x21, 0xffffffff, off("i21") + 2, VM | 0x32c3, undefined, 0xf000, 0x200),
    gp0("g11", VM | 0x32c3),
    "b",
    gp0("h2", VM | 0x32c3),
    "S 00003202 00003002 00003002 000030c3",
    v(13, 0, off("g12"), VM | RF | 2, [0x1100, 0x0800, 0x2100, 0x3100], 0xe000),
    v(13, 0, off("h3"), VM | RF | 2, [0x1100, 0x0800, 0x2100, 0x3100], 0xe000),
    "T 00000038",
  ]);
});
