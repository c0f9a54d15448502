; A 64 KiB firmware ROM for `deno task boot --bios`: what a CPU test ROM does on a real PC. It
; starts at the reset vector, checks the reset state (CS = F000 with base FFFF0000, so the first
; fetches come from the read-only ROM below 4 GiB; CR0; EDX = CPU signature), programs the 8259A
; and the PIT and counts 10 timer interrupts against the ACPI PM timer, reads the date from the
; RTC, enters flat protected mode and touches RAM above 1 MiB, then reads one command byte from
; COM1:  p = power off through ACPI PM1a_CNT,  r = reset through the i8042 (a CMOS byte, which a
; reset keeps, tells the next boot it is a warm one, and that boot halts with interrupts off).
; Everything it reports goes to COM1 as "key value" lines that tests/boot/bios_test.ts reads; one
; line also goes to the debug console at port 0x402.
bits 16
org 0                           ; offsets in segment F000 = offsets in the image

COM1      equ 0x3f8
PM1A_CNT  equ 0x604             ; runtime/devices/acpi.ts
PM_TMR    equ 0x608
SLP_S5    equ (5 << 10) | (1 << 13)
WARM      equ 0x5a              ; in CMOS 0x0F (shutdown status): "the next boot is a warm one"
TICKS     equ 0x500             ; IRQ0 counter in low RAM
ROMLIN    equ 0xf0000           ; linear address of this image's low copy
DEBUGCON  equ 0x402             ; QEMU's isa-debugcon (deno task boot --debugcon)

; ---- output, assembled once per operand size ---------------------------------------------------
%macro OUTPUT 1
putc%1:                         ; al
    push dx
    push ax
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20               ; transmitter holding register empty
    jz .wait
    pop ax
    mov dx, COM1
    out dx, al
    pop dx
    ret
puts%1:                         ; ds:(e)si, NUL-terminated
    push ax
.next:
    lodsb
    test al, al
    jz .done
    call putc%1
    jmp .next
.done:
    pop ax
    ret
hex%1:                          ; eax as 8 hex digits
    push ecx
    push eax
    mov ecx, 8
.digit:
    rol eax, 4
    push eax
    and al, 15
    add al, '0'
    cmp al, '9'
    jbe .put
    add al, 'a' - '0' - 10
.put:
    call putc%1
    pop eax
    loop .digit
    pop eax
    pop ecx
    ret
hex2%1:                         ; al as 2 hex digits (BCD prints as decimal)
    push ecx
    push eax
    shl eax, 24
    mov ecx, 2
    jmp hex%1.digit
%endmacro

%macro PUTS 2                   ; size, string
    jmp %%over
%%s: db %2, 0
%%over:
%if %1 == 16
    mov si, %%s
%else
    mov esi, ROMLIN + %%s
%endif
    call puts%1
%endmacro

OUTPUT 16

cmos:                           ; al = index -> al = value
    out 0x70, al
    in al, 0x71
    ret

irq0:
    push ds
    push word 0
    pop ds
    inc dword [TICKS]
    pop ds
    push ax
    mov al, 0x20
    out 0x20, al
    pop ax
    iret

cold:
    ; registers saved at the reset vector: ebx = CS, ecx = CR0, esi = EDX at reset
    mov edi, esi
    mov ax, 0xf000
    mov ds, ax
    xor ax, ax
    mov ss, ax
    mov sp, 0x7000
    PUTS 16, {13, 10, "rom: cs "}
    mov eax, ebx
    call hex16
    PUTS 16, {13, 10, "rom: cr0 "}
    mov eax, ecx
    call hex16
    PUTS 16, {13, 10, "rom: edx "}
    mov eax, edi
    call hex16
    PUTS 16, {13, 10, "rom: probe "}
    mov al, [probe]             ; 0x55 unless the reset-vector write reached RAM
    call hex216
    PUTS 16, {13, 10, "rom: debugcon "}
    mov dx, DEBUGCON
    in al, dx                   ; 0xE9 when the console is there
    call hex216
    mov si, hello
.hello:
    lodsb
    test al, al
    jz .said
    out dx, al
    jmp .hello
.said:

    mov al, 0x0f
    call cmos
    cmp al, WARM
    jne .cold
    mov al, 0x0f
    out 0x70, al
    xor al, al
    out 0x71, al
    PUTS 16, {13, 10, "rom: warm boot, halting", 13, 10}
    cli
    hlt
    jmp $

.cold:
    ; IRQ0 -> vector 8 in the IVT, 8259A pair initialized, only IRQ0 unmasked
    mov word [ss:8 * 4], irq0
    mov word [ss:8 * 4 + 2], 0xf000
    mov dword [ss:TICKS], 0
    mov al, 0x11
    out 0x20, al
    out 0xa0, al
    mov al, 0x08
    out 0x21, al
    mov al, 0x70
    out 0xa1, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x02
    out 0xa1, al
    mov al, 0x01
    out 0x21, al
    out 0xa1, al
    mov al, 0xfe
    out 0x21, al
    mov al, 0xff
    out 0xa1, al
    ; PIT channel 0, mode 2, 100 Hz
    mov al, 0x34
    out 0x43, al
    mov ax, 11932
    out 0x40, al
    mov al, ah
    out 0x40, al
    sti
    mov ebx, 1
    call waitTick               ; measure whole periods: start at a tick
    mov dx, PM_TMR
    in eax, dx
    mov edi, eax
    mov ebx, 11
    call waitTick
    in eax, dx
    cli
    sub eax, edi
    PUTS 16, {13, 10, "rom: pmtimer per 10 ticks "}
    call hex16

    ; the RTC: wait for the end of an update cycle, then read the BCD date and time
.uip:
    mov al, 0x0a
    call cmos
    test al, 0x80
    jnz .uip
    PUTS 16, {13, 10, "rom: rtc "}
    mov al, 0x32
    call cmos
    call hex216
    mov al, 0x09
    call cmos
    call hex216
    mov bl, '-'
    mov al, 0x08
    call .field
    mov al, 0x07
    call .field
    mov bl, 'T'
    mov al, 0x04
    call .field
    mov bl, ':'
    mov al, 0x02
    call .field
    mov al, 0x00
    call .field
    jmp pmode
.field:                         ; separator bl, then CMOS register al
    push ax
    mov al, bl
    call putc16
    pop ax
    call cmos
    jmp hex216

waitTick:                       ; until the tick counter reaches ebx
    hlt
    cmp [ss:TICKS], ebx
    jb waitTick
    ret

pmode:
    cli
    o32 lgdt [cs:gdtr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword 0x08:(ROMLIN + pm32)

gdtr:
    dw gdt.end - gdt - 1
    dd ROMLIN + gdt
gdt:
    dq 0
    dq 0x00cf9b000000ffff       ; 0x08 flat code
    dq 0x00cf93000000ffff       ; 0x10 flat data
.end:

bits 32
OUTPUT 32

pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x7000
    cld
    PUTS 32, {13, 10, "rom: protected mode, cr0 "}
    mov eax, cr0
    call hex32
    mov dword [0x300000], 0x600dbeef  ; RAM above 1 MiB
    PUTS 32, {13, 10, "rom: above 1 MiB "}
    mov eax, [0x300000]
    call hex32
    PUTS 32, {13, 10, "rom: high alias "}
    mov eax, [0xfffffff0]       ; the reset vector's bytes, read through the 4 GiB alias
    call hex32
    PUTS 32, {13, 10, "rom: command? "}
    mov dx, COM1 + 5
.poll:
    in al, dx
    test al, 1                  ; data ready
    jz .poll
    mov dx, COM1
    in al, dx
    call putc32
    cmp al, 'r'
    je .reset
    cmp al, 'p'
    jne .poll
    PUTS 32, {13, 10, "rom: power off", 13, 10}
    mov dx, PM1A_CNT
    mov ax, SLP_S5
    out dx, ax
    PUTS 32, {"rom: still running after S5", 13, 10}
    cli
    hlt
.reset:
    PUTS 32, {13, 10, "rom: reset", 13, 10}
    mov al, 0x0f
    out 0x70, al
    mov al, WARM
    out 0x71, al
    mov al, 0xfe                ; pulse the CPU reset line
    out 0x64, al
    PUTS 32, {"rom: still running after reset", 13, 10}
    cli
    hlt

bits 16
probe: db 0x55
hello: db "reset rom on the debug console", 10, 0

    times 0xffc0 - ($ - $$) db 0xff
afterReset:                     ; still CS base FFFF0000: fetched from the copy below 4 GiB
    mov byte [cs:probe], 0xaa   ; ROM: the write goes nowhere
    xor ebx, ebx
    mov bx, cs
    mov ecx, cr0
    mov esi, edx
    jmp 0xf000:cold             ; now CS base F0000, the copy below 1 MiB
    times 0xfff0 - ($ - $$) db 0xff
reset:                          ; F000:FFF0
    jmp afterReset
    times 0x10000 - ($ - $$) db 0xff
