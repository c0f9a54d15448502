// PAE paging and NX (SDM vol. 3A 4.4, 4.7): 3-level walks with 64-bit entries, 2 MiB pages, the
// PDPTE registers (loaded by MOV CR3, #GP(0) for reserved bits, not re-read from memory until
// then), reserved-bit #PF (error code bit 3), A/D bits, INVLPG of a 2 MiB page, an entry pointing
// above 4 GiB (open bus, never aliasing RAM), and the XD bit: reserved while EFER.NXE is 0, an
// instruction-fetch #PF (error code bit 4) once it is set, for the interpreter's fetch path and
// for compiled blocks whose page became XD after they ran (tests/jit reruns this file with every
// block compiled).
import assert from "node:assert/strict";
import { exc, runImage } from "./lib.ts";

const XD = "0x8000000000000000";
const TABLES = `
align 32
pdpt:
  dq pd + 1
  times 3 dq 0
align 32
pdpt_bad:
  dq pd + 1 + 2                ; bit 1 of a present PDPTE is reserved
  times 3 dq 0
align 4096
pd:
  dq pt + 7                    ; 0-2 MiB: 4 KiB pages
  dq 0x200000 | 0x87           ; 2-4 MiB: a 2 MiB page, identity
  dq 0x200000 | 0x87           ; 4-6 MiB: the same 2 MiB of physical memory
  dq 0x600000 | 0x87 | 0x2000  ; 6-8 MiB: bit 13 of a 2 MiB PDE is reserved
  dq 0x800000 | 0x87 | ${XD}   ; 8-10 MiB: execute-disabled 2 MiB page
  times 507 dq 0
pd2:
  dq 0x83                      ; 1 GiB: a 2 MiB page at physical 0
  times 511 dq 0
pt:
%assign i 0
%rep 512
%if i == 0x100
  dq 0                         ; not present
%elif i == 0x101
  dq (i << 12) | 7 | (1 << 40) ; reserved bit 40
%elif i == 0x102
  dq (i << 12) | 7 | ${XD}     ; execute-disabled
%elif i == 0x103
  dq 0x100000000 | 7           ; physical 4 GiB: beyond RAM and 32 bits
%else
  dq (i << 12) | 7
%endif
%assign i i+1
%endrep
`;

const BODY = `
  mov eax, cr4
  or eax, 0x20               ; PAE
  mov cr4, eax
  mov eax, pdpt
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  mov dword [0x201234], 0xabcd
  PUTHEX [0x401234]          ; two linear 2 MiB pages, one physical
  PRINT " "
  PUTHEX [pd + 8]            ; written: A and D
  PRINT " "
  PUTHEX [pd + 16]           ; read only: A
  PRINT 10
  RESUME ok1
f1: mov eax, [0x100000]      ; not present
ok1:
  RESUME ok2
f2: mov dword [0x100004], 1
ok2:
  RESUME ok3
f3: mov eax, [0x101000]      ; reserved bit in the PTE
ok3:
  RESUME ok4
f4: mov [0x101008], eax
ok4:
  RESUME ok5
f5: mov eax, [0x600010]      ; reserved bit in a 2 MiB PDE
ok5:
  RESUME ok6
f6: mov eax, [0x102000]      ; XD while EFER.NXE = 0: reserved
ok6:
  RESUME ok7
f7: mov eax, [0xc0000000]    ; PDPTE 3 not present
ok7:
  ; 64-bit A/D bits
  PUTHEX [pt + 0x104 * 8]
  PRINT " "
  mov eax, [0x104000]
  PUTHEX [pt + 0x104 * 8]
  PRINT " "
  mov dword [0x104000], 1
  PUTHEX [pt + 0x104 * 8]
  PRINT " "
  PUTHEX [pt + 0x104 * 8 + 4]
  PRINT 10
  ; above 4 GiB: reads open bus, writes go nowhere (not to physical 0)
  mov dword [0], 0x11111111
  PUTHEX [0x103000]
  PRINT " "
  mov dword [0x103000], 0x12345678
  PUTHEX [0x103000]
  PRINT " "
  PUTHEX [0]
  PRINT 10
  ; the PDPTE registers: memory changes need a CR3 load
  mov dword [pdpt + 8], pd2 + 1
  RESUME ok8
f8: mov eax, [0x40000000]
ok8:
  mov eax, cr3
  mov cr3, eax
  PUTHEX [0x40000000]        ; physical 0 through the new PDPTE
  PRINT 10
  mov ebx, pdpt_bad
  RESUME ok9
g1: mov cr3, ebx             ; reserved PDPTE bits: #GP(0), CR3 unchanged
ok9:
  mov eax, cr3
  PUTHEX eax
  PRINT 10
  ; INVLPG of one address of a 2 MiB page drops the whole page
  mov dword [0x1ff000], 0x1f1f1f1f
  mov dword [0x3ff000], 0x3f3f3f3f
  PUTHEX [0x5ff000]
  PRINT " "
  mov eax, [0x400000]
  mov dword [pd + 16], 0x87  ; 4-6 MiB -> physical 0-2 MiB
  invlpg [0x400000]
  PUTHEX [0x5ff000]
  PRINT 10
  ; EFER.NXE: XD pages can be read and written, not executed
  mov ecx, 0xc0000080
  rdmsr
  or eax, 0x800
  wrmsr
  rdmsr
  PUTHEX eax
  PRINT " "
  mov byte [0x102000], 0xc3  ; RET
  PUTHEX [0x102000]
  PRINT 10
  RESUME ok10
f10: call 0x102000
ok10:
  RESUME ok11
f11: call 0x100000           ; not present, fetch
ok11:
  RESUME ok12
f12: jmp 0x101000            ; reserved bit, fetch
ok12:
  RESUME ok13
f13: jmp 0x800000            ; XD 2 MiB page
ok13:
  ; a compiled block calls into a page that then becomes XD: the call must fault
  ; (no store to a code page inside the loop: that would make its blocks stale, not linked)
  RESUME ok14
  xor edi, edi
again:
  mov eax, [xfn]             ; a read of the page installs its TLB entry (for reads only once XD)
f14: call xfn
  inc edi
  cmp edi, 5
  jne .same
  mov eax, xfn
  shr eax, 12
  or dword [pt + eax * 8 + 4], 0x80000000
  invlpg [xfn]
.same:
  cmp edi, 8
  jb again
ok14:
  PUTHEX edi
  PRINT 10
  ; code that makes its own page XD faults at its next instruction
  mov esi, 0
  RESUME ok15
  jmp selfx
ok15:
  PUTHEX esi
  PRINT 10
  TO_RING3 user, 0x2
user:
  RESUME u1
f16: call 0x102000           ; user fetch from an XD page
u1:
  EXIT3 0x31

align 4096
xfn:
  add esi, 1
  ret
align 4096
selfx:
  mov esi, 1
  mov eax, selfx
  shr eax, 12
  or dword [pt + eax * 8 + 4], 0x80000000
  invlpg [selfx]
selfx_next:
  mov esi, 2
  jmp ok15
${TABLES}
`;

Deno.test("PAE: 3-level walks, 2 MiB pages, PDPTEs, reserved bits, A/D, >4 GiB, INVLPG, NX faults", async () => {
  const r = await runImage(BODY, 4_000_000, {}, undefined);
  assert.equal(r.exit, "done", r.out);
  assert.equal(r.code, 0x31, r.out);
  const s = r.sym;
  const pf = (err: number, at: number, cr2: number, cs = 8) =>
    exc(14, err, at, cs) + ` cr2=${cr2.toString(16).padStart(8, "0")}`;
  const h = (v: number) => (v >>> 0).toString(16).padStart(8, "0");
  assert.deepEqual(r.lines, [
    "0000abcd 002000e7 002000a7",
    pf(0, s("f1"), 0x100000),
    pf(2, s("f2"), 0x100004),
    pf(9, s("f3"), 0x101000),
    pf(11, s("f4"), 0x101008),
    pf(9, s("f5"), 0x600010),
    pf(9, s("f6"), 0x102000),
    pf(0, s("f7"), 0xc0000000),
    "00104007 00104027 00104067 00000000",
    "ffffffff ffffffff 11111111",
    pf(0, s("f8"), 0x40000000),
    "11111111",
    exc(13, 0, s("g1"), 8),
    h(s("pdpt")),
    "3f3f3f3f 1f1f1f1f",
    "00000800 000000c3",
    pf(0x11, 0x102000, 0x102000),
    pf(0x10, 0x100000, 0x100000),
    pf(0x19, 0x101000, 0x101000),
    pf(0x11, 0x800000, 0x800000),
    pf(0x11, s("xfn"), s("xfn")),
    "00000005",
    pf(0x11, s("selfx_next"), s("selfx_next")),
    "00000001",
    pf(0x15, 0x102000, 0x102000, 0x1b),
  ]);
});
