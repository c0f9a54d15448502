// SIMD floating-point exceptions delivered to the guest: an unmasked exception raises #XM (vector
// 19, no error code, EIP of the faulting instruction) when CR4.OSXMMEXCPT = 1 and #UD when it is
// 0; either way MXCSR gets the flags and the destination (XMM register, general register,
// EFLAGS) keeps its old value. Masked, the same operation writes its result.
import assert from "node:assert/strict";
import { exc, runImage } from "./lib.ts";

Deno.test("SSE floating point: unmasked exceptions raise #XM or #UD and write nothing", async () => {
  const r = await runImage(`
  mov eax, cr4
  or eax, 0x600            ; OSFXSR | OSXMMEXCPT
  mov cr4, eax
  movups xmm0, [va]
  movups xmm1, [vb]
  ldmxcsr [mx_ze]          ; divide-by-zero unmasked
  RESUME r_xm
f_xm: divps xmm0, xmm1     ; lane 1: 2 / 0
r_xm:
  call show                ; MXCSR has ZE; xmm0 unchanged
  mov eax, cr4
  and eax, ~0x400          ; no OSXMMEXCPT: the same exception is #UD
  mov cr4, eax
  ldmxcsr [mx_ze]
  RESUME r_ud
f_ud: divps xmm0, xmm1
r_ud:
  call show
  ldmxcsr [mx_def]         ; all masked: the quotient is written, lane 1 is +inf
  divps xmm0, xmm1
  call show
  mov eax, cr4
  or eax, 0x400
  mov cr4, eax
  ldmxcsr [mx_ie]          ; invalid unmasked: CVTTSS2SI of a NaN leaves EAX alone
  mov eax, 0x12345678
  RESUME r_cvt
f_cvt: cvttss2si eax, [nan]
r_cvt:
  PUTHEX eax
  PRINT 10
  stmxcsr [mx]
  PUTHEX [mx]
  PRINT 10
  ldmxcsr [mx_ie]          ; COMISS with a QNaN: #XM, EFLAGS unchanged (ZF was set by the xor)
  xor ecx, ecx
  RESUME r_comi
f_comi: comiss xmm0, [nan]
r_comi:
  pushfd
  pop eax
  and eax, 0x8c5            ; (AF is undefined after XOR)
  PUTHEX eax
  PRINT 10
  ldmxcsr [mx_pe]          ; precision unmasked, a masked invalid in another lane: the
  movups xmm2, [vc]        ; post-computation PE is unmasked -> #XM, with both flags
  RESUME r_pe
f_pe: addps xmm2, [vd]
r_pe:
  stmxcsr [mx]
  PUTHEX [mx]
  PRINT 10
  EXIT 0x19

show:
  stmxcsr [mx]
  PUTHEX [mx]
  PRINT " "
  movups [buf], xmm0
  PUTHEX [buf]
  PRINT " "
  PUTHEX [buf + 4]
  PRINT " "
  PUTHEX [buf + 8]
  PRINT 10
  ret

align 16
va: dd 1.0, 2.0, 3.0, 8.0
vb: dd 4.0, 0.0, 2.0, -1.0
vc: dd 1.0, 0x7f800000, 1.0, 0
vd: dd 0x33800000, 0xff800000, 1.0, 0
nan: dd 0x7fc00000
mx_def: dd 0x1f80
mx_ze: dd 0x1f80 & ~0x200
mx_ie: dd 0x1f80 & ~0x80
mx_pe: dd 0x1f80 & ~0x1000
mx: dd 0
align 16
buf: times 16 db 0
`);
  assert.equal(r.exit, "done", r.out);
  assert.equal(r.code, 0x19);
  const s = r.sym;
  assert.deepEqual(r.lines, [
    exc(0x13, -1, s("f_xm"), 8),
    "00001d84 3f800000 40000000 40400000", // ZE; xmm0 unchanged
    exc(0x06, -1, s("f_ud"), 8),
    "00001d84 3f800000 40000000 40400000",
    "00001f84 3e800000 7f800000 3fc00000", // 1/4, +inf, 3/2
    exc(0x13, -1, s("f_cvt"), 8),
    "12345678",
    "00001f01", // IE
    exc(0x13, -1, s("f_comi"), 8),
    "00000044", // ZF PF from the xor, not the comparison's unordered 0x45
    exc(0x13, -1, s("f_pe"), 8),
    "00000fa1", // IE and PE: 1 + 2^-24 is inexact
  ]);
});
