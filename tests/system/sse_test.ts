// MMX/SSE system behaviour on a bare machine, delivered through the IDT: the CR4.OSFXSR gate
// (#UD without it, FXSAVE still allowed), CR0.EM (#UD for MMX/SSE, #NM for FXSAVE), CR0.TS (#NM
// for all of them, CLTS clears it), #GP(0) for misaligned MOVAPS-class and packed operands (none
// for MOVUPS/MOVDQU/LDDQU), for a misaligned FXSAVE/FXRSTOR area and for reserved MXCSR bits
// (LDMXCSR, FXRSTOR), #UD for LOCK and for a memory operand where only a register is allowed, #MF
// for an MMX instruction with an unmasked x87 exception pending; MXCSR after reset, and the
// instructions at ring 3.
import assert from "node:assert/strict";
import { exc, runImage } from "./lib.ts";

Deno.test("SSE/MMX gates: CR4.OSFXSR, CR0.EM, CR0.TS, alignment, MXCSR, LOCK", async () => {
  const r = await runImage(`
  jmp code
  align 16
area: times 1024 db 0
code:
  ; ---- CR4.OSFXSR = 0: SSE is #UD, MMX runs, FXSAVE runs
  RESUME ra1
fa1: movaps xmm0, xmm1
ra1:
  RESUME ra2
fa2: ldmxcsr [area + 1000]
ra2:
  paddb mm0, mm1
  emms
  fxsave [area]
  mov eax, cr4
  or eax, 0x600               ; OSFXSR | OSXMMEXCPT
  mov cr4, eax
  stmxcsr [area + 1000]       ; MXCSR after reset
  mov eax, [area + 1000]
  PUTHEX eax
  PRINT 10
  movaps xmm0, xmm1
  ; ---- CR0.TS: #NM for SSE, MMX, FXSAVE; CLTS
  mov eax, cr0
  or eax, 8
  mov cr0, eax
  RESUME ra3
fa3: paddd xmm2, xmm3
ra3:
  RESUME ra4
fa4: movq mm0, mm1
ra4:
  RESUME ra5
fa5: fxsave [area]
ra5:
  RESUME ra5b
fa5b: emms
ra5b:
  clts
  movaps xmm0, xmm1
  ; ---- CR0.EM: #UD for SSE and MMX, #NM for FXSAVE
  mov eax, cr0
  or eax, 4
  mov cr0, eax
  RESUME ra6
fa6: pxor xmm0, xmm0
ra6:
  RESUME ra7
fa7: pxor mm0, mm0
ra7:
  RESUME ra8
fa8: fxrstor [area]
ra8:
  mov eax, cr0
  and eax, ~4
  mov cr0, eax
  ; ---- alignment
  RESUME ra9
fa9: movaps xmm1, [area + 8]
ra9:
  RESUME ra10
fa10: movdqa [area + 4], xmm1
ra10:
  RESUME ra11
fa11: paddb xmm1, [area + 12]
ra11:
  movups xmm1, [area + 3]
  movdqu [area + 5], xmm1
  lddqu xmm2, [area + 7]
  movq xmm3, [area + 9]
  movsd xmm4, [area + 11]
  RESUME ra12
fa12: fxsave [area + 8]
ra12:
  ; ---- MXCSR reserved bits
  mov dword [area + 1000], 0x80001f80    ; bit 31: reserved
  RESUME ra13
fa13: ldmxcsr [area + 1000]
ra13:
  mov dword [area + 1000], 0x10000
  RESUME ra14
fa14: ldmxcsr [area + 1000]
ra14:
  fxsave [area]
  mov dword [area + 24], 0x12345
  RESUME ra15
fa15: fxrstor [area]
ra15:
  mov dword [area + 24], 0x1f80 | 0x2000   ; round down: valid
  fxrstor [area]
  stmxcsr [area + 1000]
  mov eax, [area + 1000]
  PUTHEX eax
  PRINT 10
  ; ---- LOCK, register-only operands
  RESUME ra16
fa16: lock movaps xmm0, [area]
ra16:
  RESUME ra17
fa17: db 0x66, 0x0f, 0xd7, 0x00           ; pmovmskb eax, [eax]
ra17:
  RESUME ra18
fa18: db 0x0f, 0x2b, 0xc1                 ; movntps xmm0, xmm1 (register destination)
ra18:
  ; ---- #MF: an MMX instruction with an unmasked x87 exception pending
  fninit
  mov word [area + 1000], 0x037b          ; ZE unmasked
  fldcw [area + 1000]
  fld1
  fldz
  fdivp st1
  RESUME ra19
fa19: movd mm0, eax
ra19:
  fninit
  ; ---- ring 3
  TO_RING3 user, 0x202
user:
  movdqa xmm5, [area]
  paddq mm1, mm2
  emms
  stmxcsr [area + 1000]
  EXIT3 0x11
`);
  assert.equal(r.exit, "done", r.out);
  assert.equal(r.code, 0x11, r.out);
  const s = r.sym;
  assert.deepEqual(r.lines, [
    exc(0x06, -1, s("fa1"), 8),
    exc(0x06, -1, s("fa2"), 8),
    "00001f80",
    exc(0x07, -1, s("fa3"), 8),
    exc(0x07, -1, s("fa4"), 8),
    exc(0x07, -1, s("fa5"), 8),
    exc(0x07, -1, s("fa5b"), 8),
    exc(0x06, -1, s("fa6"), 8),
    exc(0x06, -1, s("fa7"), 8),
    exc(0x07, -1, s("fa8"), 8),
    exc(0x0d, 0, s("fa9"), 8),
    exc(0x0d, 0, s("fa10"), 8),
    exc(0x0d, 0, s("fa11"), 8),
    exc(0x0d, 0, s("fa12"), 8),
    exc(0x0d, 0, s("fa13"), 8),
    exc(0x0d, 0, s("fa14"), 8),
    exc(0x0d, 0, s("fa15"), 8),
    "00003f80",
    exc(0x06, -1, s("fa16"), 8),
    exc(0x06, -1, s("fa17"), 8),
    exc(0x06, -1, s("fa18"), 8),
    exc(0x10, -1, s("fa19"), 8),
  ]);
});
