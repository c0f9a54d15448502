// The block compiler's inline x87 moves (runtime/jit/ops/x87.ts: FLD m64, FST/FSTP m64 and
// st(i)) against the interpreter: a hot loop loads, copies and stores every class of double
// (normal, zero, infinity, quiet and signalling NaN, denormal), overflows and underflows the
// register stack, stores values with an exact 80-bit image (after FILD m64), and saves the whole
// FPU state (FNSAVE: registers, tags, TOP, status word, FIP/FCS/FOP/FDP/FDS) each round into
// memory, which must match byte for byte. Then the faults: an unmasked invalid operation
// (#MF at the next instruction) and CR0.TS (#NM), raised from inside compiled blocks.
import assert from "node:assert/strict";
import { both, hex, program, sameCount } from "./lib.ts";
import { HAVE_NASM } from "../lib/tools.ts";

const VALUES = `
align 8
vals:
  dq 1.5, -0.0, 0x7ff0000000000000, 0x7ff8000000000001, 0x7ff0000000000001, 0x000fffffffffffff, 1.0e300, -3.25
ints:
  dq 0x0123456789abcdef
`;

const ROUNDS = 200;
const MIXED = program(`
  fninit
  mov ecx, ${ROUNDS}
  mov edi, saves
.loop:
  mov esi, ecx
  and esi, 7
  fld qword [vals + esi*8]
  fld st0
  fst qword [outs + esi*8]
  fstp st1
  fst st1
  fstp qword [outs + 64 + esi*8]
  fstp qword [outs + 128 + esi*8]     ; the stack is empty now: underflow, the indefinite
  test ecx, 15
  jnz .no_overflow
  mov edx, 9
.push:                                  ; nine loads: the ninth overflows the stack
  fld qword [vals + esi*8]
  dec edx
  jnz .push
  fninit
.no_overflow:
  test ecx, 31
  jnz .no_image
  fldcw [chop]
  fild qword [ints]                     ; an exact 80-bit image: FST m64 must round it (by RC)
  fstp qword [outs + 192]
  fldcw [nearest]
.no_image:
  ; C1: FXAM of a negative ST0 sets it; each inline instruction must clear it
  fld qword [vals + 7*8]
  fxam
  fst qword [outs + 200]
  fnstsw [sws]
  fxam
  fld qword [vals]
  fnstsw [sws + 2]
  fld qword [vals + 7*8]
  fxam
  fstp st1
  fnstsw [sws + 4]
  fxam
  fstp st0
  fnstsw [sws + 6]
  fninit
  fnsave [edi]
  frstor [edi]
  fnclex
  add edi, 108
  cmp edi, saves + 108 * 16
  jb .kept
  mov edi, saves
.kept:
  dec ecx
  jnz .loop
  EXIT 0x42
${VALUES}
align 4096
outs: times 208 db 0
sws: times 8 db 0
saves: times 108 * 16 db 0
chop: dw 0x0f7f
nearest: dw 0x037f
`);

// After the loop's block is hot: unmask IE, then load a signalling NaN; the invalid operation is
// pending (the load does nothing) and the next waiting x87 instruction (the block's FSTP) raises
// #MF (vector 16).
const UNMASKED = program(`
  fninit
  fld1                      ; ST(1) stays valid: after the failed load the FSTP has an operand
  mov ecx, 100
.loop:
  mov esi, ecx
  and esi, 3                ; normal, -0, infinity, quiet NaN
  cmp ecx, 1
  jne .go
  fldcw [cw]
  mov esi, 4                ; the signalling NaN
  jmp .go                   ; (the interpreter ran the lines above; .go's compiled block runs)
.go:
  fld qword [vals + esi*8]
  fstp qword [outs + esi*8]
  dec ecx
  jnz .loop
  EXIT 0x42
cw: dw 0x037e               ; IM clear
${VALUES}
align 4096
outs: times 64 db 0
`);

// CR0.TS set while the block is hot: its FLD raises #NM (vector 7), right after an ADD whose
// flags only the exception frame sees
const TASK_SWITCHED = program(`
  fninit
  mov ecx, 100
.loop:
  cmp ecx, 1
  jne .go
  mov eax, cr0
  or eax, 8
  mov cr0, eax
  jmp .go
.go:
  add ebx, ecx               ; flags nobody reads (TEST replaces them): the #NM frame holds them
  fld qword [vals]
  fstp qword [outs]
  test ebx, ebx
  dec ecx
  jnz .loop
  EXIT 0x42
${VALUES}
align 4096
outs: times 64 db 0
`);

Deno.test({
  name: "jit: inline x87 loads and stores match the interpreter (every class of double, stack faults, FNSAVE)",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(MIXED, { memEnd: 0x20000 });
    assert.deepEqual([r.off.exit, r.off.code], ["done", 0x42]);
    sameCount(r);
  },
});

Deno.test({
  name: "jit: #MF and #NM from inline x87 instructions in a hot block",
  ignore: !HAVE_NASM,
  fn: async (t) => {
    for (const [name, src, vector] of [["#MF", UNMASKED, 16], ["#NM", TASK_SWITCHED, 7]] as const) {
      await t.step(name, async () => {
        // (up to the stack at 0x90000: the exception frame's EIP and EFLAGS are compared too)
        const r = await both(src, { memEnd: 0x90000 });
        assert.match(r.off.out, new RegExp(`!${hex(vector)}`), "the interpreter's exception");
        sameCount(r);
      });
    }
  },
});
