// MUL/IMUL (one, two and three operands) and DIV/IDIV against the host CPU, including the #DE
// cases (the native runner catches SIGFPE and reports the trap number and the state at the fault;
// ring3 must fault precisely with every register unchanged).
import { Case, diffGroup, Template } from "./lib/harness.ts";
import { Rng } from "../lib/rng.ts";
import * as L from "../../core-as/layout.ts";

const T: Template[] = [];
// SDM MUL/IMUL: CF and OF defined (upper half significant); SF ZF AF PF undefined.
const MUL_UNDEF = L.F_SF | L.F_ZF | L.F_AF | L.F_PF;
// SDM DIV/IDIV: CF OF SF ZF AF PF all undefined.
const DIV_UNDEF = L.F_ARITH;

for (const op of ["mul", "imul"]) {
  for (
    const [n, src, mem] of [
      ["r8", "bl", 0],
      ["r8h", "ch", 0],
      ["r16", "bx", 0],
      ["r32", "ebx", 0],
      ["m8", "byte [DATA+3]", 16],
      ["m16", "word [DATA+2]", 16],
      ["m32", "dword [DATA+4]", 16],
    ] as [string, string, number][]
  ) {
    T.push({ name: `${op} ${n}`, asm: `${op} ${src}`, mem, undef: MUL_UNDEF });
  }
}
T.push({ name: "mul al (square)", asm: "mul al", undef: MUL_UNDEF });
T.push({ name: "imul eax (square)", asm: "imul eax", undef: MUL_UNDEF });
for (
  const [n, asm, mem] of [
    ["imul r32, r32", "imul ecx, esi", 0],
    ["imul r16, r16", "imul cx, si", 0],
    ["imul r32, m32", "imul edi, [DATA+4]", 16],
    ["imul r16, m16", "imul di, [DATA+6]", 16],
    ["imul r32, r32, imm8", "imul edx, ebx, byte -7", 0],
    ["imul r32, r32, imm8 0x7f", "imul edx, edx, byte 0x7f", 0],
    ["imul r16, r16, imm8", "imul dx, bx, byte -128", 0],
    ["imul r32, r32, imm32", "imul esi, edi, 0x12345679", 0],
    ["imul r32, r32, imm32 big", "imul esi, edi, 0x80000001", 0],
    ["imul r16, r16, imm16", "imul si, di, 0x7fff", 0],
    ["imul r32, m32, imm8", "imul ebp, [DATA+8], byte 3", 16],
    ["imul r16, m16, imm16", "imul bp, [DATA+8], -300", 16],
  ] as [string, string, number][]
) {
  T.push({ name: n, asm, mem, undef: MUL_UNDEF });
}

// Divisions: most cases are made representable, the rest are random and mostly #DE.
type Size = 8 | 16 | 32;
function divGen(bits: Size, signed: boolean, srcReg: number | "mem") {
  return (r: Rng, c: Case) => {
    const k = r.below(10);
    if (k >= 7) return; // random: quotient overflow, division by zero
    const m = bits === 32 ? 0xffffffff : (1 << bits) - 1;
    let d = r.val() & m;
    if (k === 0) d = 0;
    if (srcReg === "mem") {
      for (let i = 0; i < bits / 8; i++) c.mem[4 + i] = (d >>> (8 * i)) & 0xff;
    } else if (bits === 8) c.regs[srcReg] = ((c.regs[srcReg] & ~0xff) | d) >>> 0;
    else if (bits === 16) c.regs[srcReg] = ((c.regs[srcReg] & ~0xffff) | d) >>> 0;
    else c.regs[srcReg] = d;
    if (d === 0) return;
    // high half of the dividend: below the divisor (unsigned), or the sign extension of the low half
    if (bits === 8) {
      const hi = signed ? ((c.regs[0] & 0x80) ? 0xff : 0) : r.below(d);
      c.regs[0] = ((c.regs[0] & 0xffff00ff) | (hi << 8)) >>> 0;
    } else if (bits === 16) {
      const hi = signed ? ((c.regs[0] & 0x8000) ? 0xffff : 0) : r.below(d);
      c.regs[2] = ((c.regs[2] & 0xffff0000) | hi) >>> 0;
    } else {
      c.regs[2] = signed ? ((c.regs[0] & 0x80000000) ? 0xffffffff : 0) : Math.floor((r.u32() / 4294967296) * d) >>> 0;
    }
  };
}
for (const op of ["div", "idiv"]) {
  const s = op === "idiv";
  for (
    const [n, src, bits, reg, mem] of [
      ["r8", "bl", 8, 3, 0],
      ["r8h", "bh", 8, 3, 0],
      ["r16", "bx", 16, 3, 0],
      ["r32", "ebx", 32, 3, 0],
      ["m8", "byte [DATA+4]", 8, "mem", 16],
      ["m16", "word [DATA+4]", 16, "mem", 16],
      ["m32", "dword [DATA+4]", 32, "mem", 16],
    ] as [string, string, Size, number | "mem", number][]
  ) {
    T.push({ name: `${op} ${n}`, asm: `${op} ${src}`, mem, cases: 2500, undef: DIV_UNDEF, gen: divGen(bits, s, reg) });
  }
}
// a 0x80000000 / -1 style overflow for every size
T.push({
  name: "idiv r32 (INT_MIN / -1 and friends)",
  asm: "idiv ebx",
  undef: DIV_UNDEF,
  cases: 200,
  gen: (r, c) => {
    c.regs[0] = r.pick([0x80000000, 0, 1, 0x7fffffff]);
    c.regs[2] = c.regs[0] & 0x80000000 ? 0xffffffff : 0;
    c.regs[3] = r.pick([0xffffffff, 1, 0x80000000, 2]);
  },
});
T.push({
  name: "idiv r8 (-128 / -1 and friends)",
  asm: "idiv bl",
  undef: DIV_UNDEF,
  cases: 200,
  gen: (r, c) => {
    c.regs[0] = ((c.regs[0] & 0xffff0000) | r.pick([0xff80, 0x0080, 0x007f, 0xff7f, 0x8000, 0x7fff])) >>> 0;
    c.regs[3] = ((c.regs[3] & ~0xff) | r.pick([0xff, 1, 0x80, 2, 0x7f])) >>> 0;
  },
});

diffGroup("muldiv", T);
