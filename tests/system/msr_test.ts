// The Core Duo's MSRs (core-as/ops/msr.ts) and CPUID leaves (core-as/ops/cpuid.ts): values
// that read back, reserved bits and types that raise #GP(0), MSRs a Core Duo lacks (#GP),
// counters that count, and IA32_MISC_ENABLE's XD-disable bit hiding CPUID's NX and locking
// EFER.NXE.
import assert from "node:assert/strict";
import { exc, runImage } from "./lib.ts";

// RDMSR ecx=%1 and print EDX:EAX
const BODY = `
%macro RD 1
  mov ecx, %1
  rdmsr
  PUTHEX edx
  PUTHEX eax
  PRINT " "
%endmacro
%macro WR 3
  mov ecx, %1
  mov edx, %2
  mov eax, %3
  wrmsr
%endmacro
  RD 0xfe                      ; MTRRcap
  RD 0x2ff                     ; MTRRdefType after reset
  RD 0x277                     ; PAT after reset
  RD 0x179                     ; MCG_CAP
  RD 0x1a0                     ; MISC_ENABLE after reset
  PRINT 10
  WR 0x200, 0, 0xe0000000
  WR 0x201, 0xf, 0xe0000800
  WR 0x2ff, 0, 0xc06
  WR 0x26f, 0x05050505, 0x04040404
  WR 0x277, 0x00070106, 0x00070406
  WR 0x400, 0xffffffff, 0xffffffff
  RD 0x200
  RD 0x201
  RD 0x2ff
  RD 0x26f
  RD 0x277
  RD 0x400
  PRINT 10
  RESUME ok1
g1: WR 0x200, 0, 0x100       ; PHYSBASE bits 11:8 reserved
ok1:
  RESUME ok2
g2: WR 0x201, 0x10, 0x800    ; bit 36 of PHYSMASK: beyond 36 physical bits
ok2:
  RESUME ok3
g3: WR 0x250, 0, 2           ; memory type 2 is reserved
ok3:
  RESUME ok4
g4: WR 0x277, 0, 3           ; PAT type 3 is reserved
ok4:
  RESUME ok5
g5: WR 0xc0000080, 0, 0x100  ; EFER.LME: no long mode
ok5:
  RESUME ok6
g6: WR 0x401, 0, 1           ; MC0_STATUS accepts only 0
ok6:
  RESUME ok7
g7: RD 0x17b                 ; MCG_CTL: not present (MCG_CAP bit 8 clear)
ok7:
  RESUME ok8
g8: RD 0x414                 ; MC5_CTL: only 5 banks
ok8:
  RESUME ok9
g9: RD 0x1d9                 ; DEBUGCTL: not modelled
ok9:
  WR 0x401, 0, 0
  WR 0x17a, 0, 0
  ; performance counters: write, read back (bits 31:0 sign-extended to 40), count instructions
  WR 0xc1, 0, 0x80000000
  RD 0xc1
  WR 0xc1, 0, 0
  WR 0x186, 0, 0x4300c0      ; instructions retired, USR|OS|EN
  mov ecx, 100
.loop:
  dec ecx
  jnz .loop
  WR 0x186, 0, 0             ; stop
  mov ecx, 0xc1
  rdmsr
  cmp eax, 200               ; at least the loop's 200 instructions, not wildly more
  setae bl
  cmp eax, 300
  setb bh
  and bl, bh
  movzx eax, bl
  PUTHEX eax
  PRINT " "
  xor ecx, ecx
  rdpmc
  PUTHEX eax
  PRINT 10
  ; XD disable: CPUID stops offering NX, EFER.NXE cannot be set
  mov eax, 0x80000001
  cpuid
  PUTHEX edx
  PRINT " "
  mov ecx, 0x1a0
  rdmsr
  or edx, 4
  wrmsr
  mov eax, 0x80000001
  cpuid
  PUTHEX edx
  PRINT 10
  RESUME ok10
g10: WR 0xc0000080, 0, 0x800
ok10:
  mov ecx, 0x1a0
  rdmsr
  and edx, ~4
  wrmsr
  WR 0xc0000080, 0, 0x800
  RD 0xc0000080
  PRINT 10
  ; CPUID: leaf 0xA, leaf 4 subleaf 2 (L2), brand string start, address sizes
  mov eax, 0xa
  cpuid
  PUTHEX eax
  PRINT " "
  PUTHEX ebx
  PRINT " "
  mov eax, 4
  mov ecx, 2
  cpuid
  PUTHEX eax
  PRINT " "
  PUTHEX ecx
  PRINT " "
  mov eax, 0x80000002
  cpuid
  mov [buf], eax
  mov [buf + 4], ebx
  mov byte [buf + 8], 0
  mov esi, buf
  call puts
  PRINT " "
  mov eax, 0x80000008
  cpuid
  PUTHEX eax
  PRINT 10
  EXIT 0x31
buf: times 16 db 0
`;

Deno.test("MSRs and CPUID of the Core Duo: values, reserved bits, #GP for absent MSRs, counters, XD disable", async () => {
  const r = await runImage(BODY);
  assert.equal(r.exit, "done", r.out);
  assert.equal(r.code, 0x31, r.out);
  const s = r.sym;
  // the fault is at the WRMSR (after three 5-byte MOVs) or RDMSR (after one) of the macro
  const gp = (at: string) => exc(13, 0, s(at) + (["g7", "g8", "g9"].includes(at) ? 5 : 15), 8);
  assert.deepEqual(
    r.lines,
    [
      "0000000000000508 0000000000000000 0007040600070406 0000000000000005 0000000000001881 ",
      "00000000e0000000 0000000fe0000800 0000000000000c06 0505050504040404 0007010600070406 ffffffffffffffff ",
      gp("g1"),
      gp("g2"),
      gp("g3"),
      gp("g4"),
      gp("g5"),
      gp("g6"),
      gp("g7"),
      gp("g8"),
      gp("g9"),
      "000000ff80000000 00000001 " + "00000000", // rdpmc after the stop reads the frozen count (checked below)
      "00100000 00000000",
      gp("g10"),
      "0000000000000800 ",
      "07280201 00000078 00000143 00000fff ring3 vi 00002024",
    ].map((l, i) => i === 11 ? r.lines[11] : l),
  );
  // the frozen counter: RDPMC reads what RDMSR read
  const m = /^000000ff80000000 00000001 ([0-9a-f]{8})$/.exec(r.lines[11]);
  assert.ok(m, r.lines[11]);
  const n = parseInt(m[1], 16);
  assert.ok(n >= 200 && n < 300, `counted ${n}`);
});
