// SSE/SSE2/SSE3 data movement against the host CPU: aligned and unaligned 16-byte loads and
// stores (#GP for a misaligned MOVAPS-class operand, none for MOVUPS/MOVDQU/LDDQU), scalar and
// half moves, MOVD/MOVQ between every pair of register files and memory, MOVQ2DQ/MOVDQ2Q, the
// duplicating moves, the non-temporal stores, MASKMOVQ/MASKMOVDQU, LDMXCSR/STMXCSR, and how the
// mandatory prefixes combine. Window: sources at +0 and +16, destinations from +32.
import { type Case, DATA, diffGroup, type Template } from "./lib/harness.ts";
import type { Rng } from "../lib/rng.ts";
import { fillSimd } from "./lib/simd.ts";

const MEM = 80;
const T: Template[] = [];
const fill = (r: Rng, c: Case) => fillSimd(r, c.mem, 0, MEM);
const t = (name: string, asm: string, extra: Partial<Template> = {}) =>
  T.push({ name, asm, mem: MEM, cases: 150, gen: fill, ...extra });
const LOAD2 = "movdqu xmm1, [DATA]\nmovdqu xmm2, [DATA+16]";
const SAVE1 = "movdqu [DATA+32], xmm1";

// ---- whole registers ---------------------------------------------------------------------------
for (const op of ["movups", "movupd", "movdqu", "lddqu"]) {
  t(`${op} xmm, m128 unaligned`, `${op} xmm1, [DATA+3]\n${SAVE1}`);
  if (op !== "lddqu") {
    t(`${op} m128 unaligned, xmm`, `movdqu xmm1, [DATA]\n${op} [DATA+37], xmm1`);
    t(`${op} xmm, xmm`, `${LOAD2}\n${op} xmm1, xmm2\n${SAVE1}`);
  }
}
for (const op of ["movaps", "movapd", "movdqa"]) {
  t(`${op} xmm, m128`, `${op} xmm1, [DATA+16]\n${SAVE1}`);
  t(`${op} xmm, m128 misaligned`, `${op} xmm1, [DATA+8]\n${SAVE1}`);
  t(`${op} m128, xmm`, `movdqu xmm1, [DATA]\n${op} [DATA+48], xmm1`);
  t(`${op} m128 misaligned, xmm`, `movdqu xmm1, [DATA]\n${op} [DATA+36], xmm1`);
  t(`${op} xmm, xmm`, `${LOAD2}\n${op} xmm1, xmm2\n${SAVE1}`);
}
// the store forms with a register destination (0F 11, 0F 29, 0F 7F ...: reg -> r/m)
t("movups xmm, xmm (0F 11)", `${LOAD2}\ndb 0x0f, 0x11, 0xd1\n${SAVE1}`);
t("movaps xmm, xmm (0F 29)", `${LOAD2}\ndb 0x0f, 0x29, 0xd1\n${SAVE1}`);
t("movdqa xmm, xmm (66 0F 7F)", `${LOAD2}\ndb 0x66, 0x0f, 0x7f, 0xd1\n${SAVE1}`);
t("movdqu xmm, xmm (F3 0F 7F)", `${LOAD2}\ndb 0xf3, 0x0f, 0x7f, 0xd1\n${SAVE1}`);

// ---- scalars and halves ------------------------------------------------------------------------
for (const [op, n] of [["movss", 4], ["movsd", 8]] as [string, number][]) {
  t(`${op} xmm, m${n * 8}`, `movdqu xmm1, [DATA]\n${op} xmm1, [DATA+17]\n${SAVE1}`);
  t(`${op} xmm, xmm`, `${LOAD2}\n${op} xmm1, xmm2\n${SAVE1}`);
  t(`${op} m${n * 8}, xmm`, `movdqu xmm2, [DATA+16]\n${op} [DATA+35], xmm2`);
  t(`${op} xmm, xmm (store form)`, `${LOAD2}\ndb 0x${n === 4 ? "f3" : "f2"}, 0x0f, 0x11, 0xd1\n${SAVE1}`);
}
for (const op of ["movlps", "movhps", "movlpd", "movhpd"]) {
  t(`${op} xmm, m64`, `movdqu xmm1, [DATA]\n${op} xmm1, [DATA+19]\n${SAVE1}`);
  t(`${op} m64, xmm`, `movdqu xmm2, [DATA+16]\n${op} [DATA+33], xmm2`);
}
t("movhlps xmm, xmm", `${LOAD2}\nmovhlps xmm1, xmm2\n${SAVE1}`);
t("movlhps xmm, xmm", `${LOAD2}\nmovlhps xmm1, xmm2\n${SAVE1}`);
for (const op of ["movsldup", "movshdup"]) {
  t(`${op} xmm, xmm`, `${LOAD2}\n${op} xmm1, xmm2\n${SAVE1}`);
  t(`${op} xmm, m128`, `movdqu xmm1, [DATA]\n${op} xmm1, [DATA+16]\n${SAVE1}`);
  t(`${op} xmm, m128 misaligned`, `movdqu xmm1, [DATA]\n${op} xmm1, [DATA+4]\n${SAVE1}`);
}
t("movddup xmm, xmm", `${LOAD2}\nmovddup xmm1, xmm2\n${SAVE1}`);
t("movddup xmm, m64 unaligned", `movdqu xmm1, [DATA]\nmovddup xmm1, [DATA+21]\n${SAVE1}`);

// ---- MOVD / MOVQ -------------------------------------------------------------------------------
t("movd xmm, r32", `movdqu xmm1, [DATA]\nmovd xmm1, ecx\n${SAVE1}`);
t("movd xmm, m32", `movdqu xmm1, [DATA]\nmovd xmm1, [DATA+18]\n${SAVE1}`);
t("movd r32, xmm", `movdqu xmm1, [DATA]\nmovd esi, xmm1`);
t("movd m32, xmm", `movdqu xmm1, [DATA]\nmovd [DATA+33], xmm1`);
t("movq xmm, xmm (F3 0F 7E)", `${LOAD2}\nmovq xmm1, xmm2\n${SAVE1}`);
t("movq xmm, m64", `movdqu xmm1, [DATA]\nmovq xmm1, [DATA+22]\n${SAVE1}`);
t("movq m64, xmm (66 0F D6)", `movdqu xmm1, [DATA]\nmovq [DATA+34], xmm1`);
t("movq xmm, xmm (66 0F D6)", `${LOAD2}\ndb 0x66, 0x0f, 0xd6, 0xd1\n${SAVE1}`);
t("movd mm, r32", `movq mm1, [DATA]\nmovd mm1, edx\nmovq [DATA+32], mm1\nemms`);
t("movd mm, m32", `movq mm1, [DATA]\nmovd mm1, [DATA+18]\nmovq [DATA+32], mm1\nemms`);
t("movd r32, mm", `movq mm1, [DATA]\nmovd ebp, mm1\nemms`);
t("movd m32, mm", `movq mm1, [DATA]\nmovd [DATA+33], mm1\nemms`);
t("movq mm, mm (0F 6F)", `movq mm1, [DATA]\nmovq mm2, [DATA+16]\nmovq mm1, mm2\nmovq [DATA+32], mm1\nemms`);
t("movq mm, mm (0F 7F)", `movq mm1, [DATA]\nmovq mm2, [DATA+16]\ndb 0x0f, 0x7f, 0xd1\nmovq [DATA+32], mm1\nemms`);
t("movq mm, m64 / m64, mm", `movq mm7, [DATA+3]\nmovq [DATA+41], mm7\nemms`);
t("movq2dq xmm, mm", `movdqu xmm1, [DATA]\nmovq mm2, [DATA+16]\nmovq2dq xmm1, mm2\n${SAVE1}\nemms`);
t("movdq2q mm, xmm", `movq mm1, [DATA]\nmovdqu xmm2, [DATA+16]\nmovdq2q mm1, xmm2\nmovq [DATA+32], mm1\nemms`);

// ---- non-temporal stores and masked stores ------------------------------------------------------
for (const op of ["movntps", "movntpd", "movntdq"]) {
  t(`${op} m128, xmm`, `movdqu xmm1, [DATA]\n${op} [DATA+48], xmm1`);
  t(`${op} m128 misaligned, xmm`, `movdqu xmm1, [DATA]\n${op} [DATA+40], xmm1`);
}
t("movntq m64, mm", `movq mm1, [DATA]\nmovntq [DATA+43], mm1\nemms`);
t("movnti m32, r32", `movnti [DATA+45], ebx`);
const toEdi = (off: number) => (r: Rng, c: Case) => {
  fill(r, c);
  c.regs[7] = DATA + off;
};
t("maskmovq mm, mm", `movq mm1, [DATA]\nmovq mm2, [DATA+16]\nmaskmovq mm1, mm2\nemms`, { gen: toEdi(37) });
t("maskmovdqu xmm, xmm", `${LOAD2}\nmaskmovdqu xmm1, xmm2`, { gen: toEdi(50) });

// ---- MXCSR -------------------------------------------------------------------------------------
// random values with the reserved bits mostly clear (DAZ, bit 6, stays clear: the host has it,
// ring3 reports it in MXCSR_MASK only once it implements it); a set reserved bit is #GP on both
const mxcsrIn = (r: Rng, c: Case) => {
  fill(r, c);
  let v = r.u32() & (r.chance(0.8) ? 0xffbf : 0xffffffbf);
  if (r.chance(0.3)) v = 0x1f80 | (r.u32() & 0x3f);
  new DataView(c.mem.buffer).setUint32(0, v >>> 0, true);
};
t("ldmxcsr m32 / stmxcsr m32", `ldmxcsr [DATA]\nstmxcsr [DATA+32]\nmov dword [DATA+36], 0x1f80\nldmxcsr [DATA+36]`, {
  gen: mxcsrIn,
  cases: 400,
});

// ---- prefixes ----------------------------------------------------------------------------------
t("66 F3 0F 10 (movss: F3 wins over 66)", `${LOAD2}\ndb 0x66, 0xf3, 0x0f, 0x10, 0xca\n${SAVE1}`);
t("F3 66 0F 10 (movss)", `${LOAD2}\ndb 0xf3, 0x66, 0x0f, 0x10, 0xca\n${SAVE1}`);
t("F3 F2 0F 10 (movsd: the last of F2/F3 wins)", `${LOAD2}\ndb 0xf3, 0xf2, 0x0f, 0x10, 0xca\n${SAVE1}`);
t("66 66 0F 6F (movdqa)", `${LOAD2}\ndb 0x66, 0x66, 0x0f, 0x6f, 0xca\n${SAVE1}`);

diffGroup("sse-mov", T);
