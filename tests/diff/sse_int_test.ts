// MMX and SSE2 packed integer instructions against the host CPU: every arithmetic, compare,
// logic, shift, pack, unpack, shuffle, insert/extract and mask instruction, on MMX registers and
// on XMM registers, with a register source and with a memory source. Operands come from the data
// window (a at +0, b at +16; results stored at +32 and +48) with corner-case lane patterns
// (lib/simd.ts); shift counts are small half the time. The logic of ANDPS & co. is here too.
// Misaligned 16-byte memory operands raise #GP on both sides.
import { type Case, diffGroup, type Template } from "./lib/harness.ts";
import type { Rng } from "../lib/rng.ts";
import { fillSimd } from "./lib/simd.ts";

const MEM = 64;
const CASES = 400;
const T: Template[] = [];
const fill = (r: Rng, c: Case) => fillSimd(r, c.mem, 0, MEM);
// shift by a register/memory count: the low qword of b small most of the time
const smallCount = (r: Rng, c: Case) => {
  fill(r, c);
  if (r.chance(0.7)) {
    c.mem.fill(0, 16, 24);
    c.mem[16] = r.pick([0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, r.below(70)]);
  }
};

// the two-operand instructions: [mnemonic, has an MMX form]
const OPS: [string, boolean][] = [
  ...["paddb", "paddw", "paddd", "paddq", "psubb", "psubw", "psubd", "psubq"].map((m) =>
    [m, true] as [string, boolean]
  ),
  ...["paddsb", "paddsw", "paddusb", "paddusw", "psubsb", "psubsw", "psubusb", "psubusw"].map((m) =>
    [m, true] as [string, boolean]
  ),
  ...["pmullw", "pmulhw", "pmulhuw", "pmuludq", "pmaddwd", "psadbw", "pavgb", "pavgw"].map((m) =>
    [m, true] as [string, boolean]
  ),
  ...["pminub", "pmaxub", "pminsw", "pmaxsw"].map((m) => [m, true] as [string, boolean]),
  ...["pcmpeqb", "pcmpeqw", "pcmpeqd", "pcmpgtb", "pcmpgtw", "pcmpgtd"].map((m) => [m, true] as [string, boolean]),
  ...["packsswb", "packssdw", "packuswb"].map((m) => [m, true] as [string, boolean]),
  ...["punpcklbw", "punpcklwd", "punpckldq", "punpckhbw", "punpckhwd", "punpckhdq"].map((m) =>
    [m, true] as [string, boolean]
  ),
  ["punpcklqdq", false],
  ["punpckhqdq", false],
  ...["pand", "pandn", "por", "pxor"].map((m) => [m, true] as [string, boolean]),
  ...[
    "andps",
    "andnps",
    "orps",
    "xorps",
    "andpd",
    "andnpd",
    "orpd",
    "xorpd",
    "unpcklps",
    "unpckhps",
    "unpcklpd",
    "unpckhpd",
  ]
    .map((m) => [m, false] as [string, boolean]),
];
const SHIFTS = ["psllw", "pslld", "psllq", "psrlw", "psrld", "psrlq", "psraw", "psrad"];

const xmmReg = (op: string) =>
  `movdqu xmm1, [DATA]\nmovdqu xmm2, [DATA+16]\n${op} xmm1, xmm2\nmovdqu [DATA+32], xmm1\nmovdqu [DATA+48], xmm2`;
const xmmMem = (op: string, off = 16) => `movdqu xmm3, [DATA]\n${op} xmm3, [DATA+${off}]\nmovdqu [DATA+32], xmm3`;
const mmxReg = (op: string) =>
  `movq mm1, [DATA]\nmovq mm2, [DATA+16]\n${op} mm1, mm2\nmovq [DATA+32], mm1\nmovq [DATA+40], mm2\nemms`;
const mmxMem = (op: string) => `movq mm3, [DATA]\n${op} mm3, [DATA+16]\nmovq [DATA+32], mm3\nemms`;

const t = (name: string, asm: string, gen: Template["gen"] = fill) =>
  T.push({ name, asm, mem: MEM, cases: CASES, gen });

for (const [op, mmx] of OPS) {
  t(`${op} xmm, xmm`, xmmReg(op));
  t(`${op} xmm, m128`, xmmMem(op));
  if (mmx) {
    t(`${op} mm, mm`, mmxReg(op));
    t(`${op} mm, m64`, mmxMem(op));
  }
}
for (const op of SHIFTS) {
  t(`${op} xmm, xmm`, xmmReg(op), smallCount);
  t(`${op} xmm, m128`, xmmMem(op), smallCount);
  t(`${op} mm, mm`, mmxReg(op), smallCount);
  t(`${op} mm, m64`, mmxMem(op), smallCount);
  const w = op.endsWith("w") ? 16 : op.endsWith("d") ? 32 : 64;
  for (const n of [0, 1, w - 1, w, 255]) {
    t(`${op} xmm, ${n}`, `movdqu xmm4, [DATA]\n${op} xmm4, ${n}\nmovdqu [DATA+32], xmm4`);
    t(`${op} mm, ${n}`, `movq mm4, [DATA]\n${op} mm4, ${n}\nmovq [DATA+32], mm4\nemms`);
  }
}
for (const op of ["pslldq", "psrldq"]) {
  for (const n of [0, 1, 5, 8, 15, 16, 200]) {
    t(`${op} xmm, ${n}`, `movdqu xmm5, [DATA]\n${op} xmm5, ${n}\nmovdqu [DATA+32], xmm5`);
  }
}

// ---- shuffles, inserts, extracts, masks -------------------------------------------------------
for (const imm of [0x00, 0x1b, 0xe4, 0x4e, 0xb1, 0xff, 0x39]) {
  for (const op of ["pshufd", "pshufhw", "pshuflw"]) {
    t(
      `${op} xmm, xmm, 0x${imm.toString(16)}`,
      `movdqu xmm1, [DATA]\nmovdqu xmm2, [DATA+16]\n${op} xmm1, xmm2, ${imm}\nmovdqu [DATA+32], xmm1`,
    );
    t(
      `${op} xmm, m128, 0x${imm.toString(16)}`,
      `movdqu xmm1, [DATA]\n${op} xmm1, [DATA+16], ${imm}\nmovdqu [DATA+32], xmm1`,
    );
  }
  t(
    `pshufw mm, mm, 0x${imm.toString(16)}`,
    `movq mm1, [DATA]\nmovq mm2, [DATA+16]\npshufw mm1, mm2, ${imm}\nmovq [DATA+32], mm1\nemms`,
  );
  t(
    `pshufw mm, m64, 0x${imm.toString(16)}`,
    `movq mm1, [DATA]\npshufw mm1, [DATA+16], ${imm}\nmovq [DATA+32], mm1\nemms`,
  );
  t(`shufps xmm, xmm, 0x${imm.toString(16)}`, xmmReg(`shufps`).replace("xmm1, xmm2", `xmm1, xmm2, ${imm}`));
  t(`shufps xmm, m128, 0x${imm.toString(16)}`, xmmMem(`shufps`).replace("[DATA+16]", `[DATA+16], ${imm}`));
}
for (const imm of [0, 1, 2, 3]) {
  t(`shufpd xmm, xmm, ${imm}`, xmmReg(`shufpd`).replace("xmm1, xmm2", `xmm1, xmm2, ${imm}`));
  t(`shufpd xmm, m128, ${imm}`, xmmMem(`shufpd`).replace("[DATA+16]", `[DATA+16], ${imm}`));
}
for (const imm of [0, 1, 3, 4, 7, 9, 0xff]) {
  t(`pinsrw xmm, r32, ${imm}`, `movdqu xmm1, [DATA]\npinsrw xmm1, ecx, ${imm}\nmovdqu [DATA+32], xmm1`);
  t(`pinsrw xmm, m16, ${imm}`, `movdqu xmm1, [DATA]\npinsrw xmm1, [DATA+17], ${imm}\nmovdqu [DATA+32], xmm1`);
  t(`pinsrw mm, r32, ${imm}`, `movq mm1, [DATA]\npinsrw mm1, edx, ${imm}\nmovq [DATA+32], mm1\nemms`);
  t(`pinsrw mm, m16, ${imm}`, `movq mm1, [DATA]\npinsrw mm1, [DATA+17], ${imm}\nmovq [DATA+32], mm1\nemms`);
  t(`pextrw r32, xmm, ${imm}`, `movdqu xmm1, [DATA]\npextrw esi, xmm1, ${imm}`);
  t(`pextrw r32, mm, ${imm}`, `movq mm1, [DATA]\npextrw edi, mm1, ${imm}\nemms`);
}
t("pmovmskb r32, xmm", "movdqu xmm6, [DATA]\npmovmskb ebx, xmm6");
t("pmovmskb r32, mm", "movq mm6, [DATA]\npmovmskb ebx, mm6\nemms");
t("movmskps r32, xmm", "movdqu xmm7, [DATA]\nmovmskps eax, xmm7");
t("movmskpd r32, xmm", "movdqu xmm7, [DATA]\nmovmskpd ebp, xmm7");

// ---- 16-byte alignment: #GP for the packed SSE2 memory operands ------------------------------
for (const op of ["paddb", "pand", "pcmpeqb", "punpcklbw", "pshufd", "andps", "unpcklps", "shufps"]) {
  const imm = op === "pshufd" || op === "shufps" ? ", 0x1b" : "";
  t(`${op} xmm, m128 misaligned`, `movdqu xmm3, [DATA]\n${op} xmm3, [DATA+8]${imm}\nmovdqu [DATA+32], xmm3`);
}

diffGroup("sse-int", T);
