; A 64 KiB "BIOS" for QEMU that does only what a 32-bit boot protocol loader does last: load the
; GDT the loader left at 0x1000, enter flat protected mode with CS=0x10 and DS=ES=SS=0x18, set
; ESI to the zero page at 0x10000, clear EBX/EBP/EDI and jump to the kernel's 32-bit entry. The
; memory image itself comes from runtime/boot/bzimage.ts (QEMU's -device loader puts it in RAM),
; so QEMU booting Linux with it checks the loader's zero page, e820 map and placement.
bits 16
org 0

start:
    cli
    cld
    o32 lgdt [cs:gdtr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword 0x10:(0xffff0000 + pm)

bits 32
pm:
    mov ax, 0x18
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    mov esp, 0x8000
    xor eax, eax
    xor ebx, ebx
    xor ecx, ecx
    xor edx, edx
    xor ebp, ebp
    xor edi, edi
    mov esi, 0x10000
    mov eax, 0x100000
    jmp eax

gdtr:
    dw 31
    dd 0x1000

    times 0xfff0 - ($ - $$) db 0
bits 16
reset:
    jmp 0xf000:start        ; real-mode alias of this ROM at 0xf0000 (CS base 0xf0000)
    times 0x10000 - ($ - $$) db 0
