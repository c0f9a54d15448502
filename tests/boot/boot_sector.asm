; A boot sector for the firmware-boot tests (tests/boot/seabios_disk_test.ts): loaded by SeaBIOS
; from an MBR disk (at 0:7C00) or as an El Torito no-emulation image (at 07C0:0000, -DCDROM), it
; prints a line on COM1, then reads one sector through INT 13h's extended read (AH=42h) from the
; boot drive in DL: the disk's sector 1 (a message the test put there) or the CD's sector 16 (the
; ISO 9660 primary volume descriptor: "CD001" at offset 1), prints what it found, and halts.
bits 16
%ifdef CDROM
org 0
%else
org 0x7c00
%endif
start:
  cli
  xor ax, ax
  mov ss, ax
  mov sp, 0x7000
%ifdef CDROM
  mov ax, 0x07c0
%endif
  mov ds, ax
  mov es, ax
  sti
  mov [drive], dl
  mov si, hello
  call print
  ; INT 13h AH=42h: DS:SI -> disk address packet
  mov si, dap
  mov dl, [drive]
  mov ah, 0x42
  int 0x13
  jc .fail
  mov si, buffer
%ifdef CDROM
  inc si                    ; "CD001" at offset 1 of the volume descriptor
  mov byte [si + 5], 0
%endif
  call print
  mov si, newline
  call print
  jmp .halt
.fail:
  mov si, failed
  call print
.halt:
  cli
  hlt
  jmp .halt

; print the zero-terminated string at DS:SI on COM1 (polling the line status register)
print:
  lodsb
  test al, al
  jz .done
  mov ah, al
  mov dx, 0x3fd
.wait:
  in al, dx
  test al, 0x20
  jz .wait
  mov dx, 0x3f8
  mov al, ah
  out dx, al
  jmp print
.done:
  ret

align 4
dap:
  db 16, 0
  dw 1                      ; one sector
%ifdef CDROM
  dw buffer, 0x07c0         ; buffer offset, segment
  dq 16                     ; the primary volume descriptor
%else
  dw buffer, 0
  dq 1
%endif
drive: db 0
%ifdef CDROM
hello: db "ring3 El Torito boot: running from the CD", 13, 10, "CD sector 16: ", 0
%else
hello: db "ring3 MBR boot: running from the disk", 13, 10, "disk sector 1: ", 0
%endif
failed: db "INT 13h read failed", 13, 10, 0
newline: db 13, 10, 0

%ifdef CDROM
  times 2048 - ($ - $$) db 0
buffer:
%else
  times 446 - ($ - $$) db 0
  ; one partition entry, so the disk looks partitioned to anyone who asks
  db 0x80, 0, 2, 0, 0x83, 0, 0x3f, 0
  dd 1, 2047
  times 510 - ($ - $$) db 0
  dw 0xaa55
buffer equ 0x8000
%endif
