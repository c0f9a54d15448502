// Instructions that do not exist in 64-bit mode, against reference models from the SDM
// pseudocode (lib/ref.ts) fed the same kind of random inputs: daa das aaa aas aam aad salc into
// bound, 1-byte inc/dec, pusha/popa, push/pop of segment registers, 16-bit addressing (lea).
import { Case, diffGroup, Template } from "./lib/harness.ts";
import * as R from "./lib/ref.ts";
import { Rng } from "../lib/rng.ts";
import * as L from "../../core-as/layout.ts";

const T: Template[] = [];
const SZP = L.F_SF | L.F_ZF | L.F_PF;

// BCD inputs: mostly valid packed/unpacked digits with random AF/CF, plus anything
const bcd = (r: Rng, c: Case) => {
  if (r.chance(0.6)) {
    c.regs[0] = ((c.regs[0] & 0xffff0000) | (r.below(256) << 8) | (r.below(10) << 4) | r.below(16)) >>> 0;
  }
};
T.push({ name: "daa", asm: "daa", ref: R.daa, undef: L.F_OF, gen: bcd, cases: 3000 }); // SDM: OF undefined
T.push({ name: "das", asm: "das", ref: R.das, undef: L.F_OF, gen: bcd, cases: 3000 });
T.push({ name: "aaa", asm: "aaa", ref: R.aaa, undef: L.F_OF | SZP, gen: bcd, cases: 3000 }); // SDM: OF SF ZF PF undefined
T.push({ name: "aas", asm: "aas", ref: R.aas, undef: L.F_OF | SZP, gen: bcd, cases: 3000 });
// AAM/AAD: SF ZF PF from AL; OF AF CF undefined; AAM 0 raises #DE
for (const imm of [10, 16, 7, 1, 255, 0]) {
  T.push({ name: `aam ${imm}`, asm: `aam ${imm}`, ref: R.aam(imm), undef: L.F_OF | L.F_AF | L.F_CF });
  T.push({ name: `aad ${imm}`, asm: `aad ${imm}`, ref: R.aad(imm), undef: L.F_OF | L.F_AF | L.F_CF });
}
T.push({ name: "salc", asm: "db 0xd6", ref: R.salc });
T.push({ name: "add al, bl ; daa (lazy AF/CF)", asm: "add al, bl\ndaa", ref: (c) => R.daa(addAlBl(c)), undef: L.F_OF });
T.push({ name: "into", asm: "into", ref: R.into });
T.push({ name: "add eax, ebx ; into", asm: "add eax, ebx\ninto", ref: (c) => R.into(addEaxEbx(c)) });

function addAlBl(c: Case): Case {
  const a = c.regs[0] & 0xff, b = c.regs[3] & 0xff, r = (a + b) & 0xff;
  let f = c.flags & ~L.F_ARITH;
  if (a + b > 0xff) f |= L.F_CF;
  if (((a ^ b ^ r) & 0x10) !== 0) f |= L.F_AF;
  if (((a ^ r) & (b ^ r) & 0x80) !== 0) f |= L.F_OF;
  if (r & 0x80) f |= L.F_SF;
  if (r === 0) f |= L.F_ZF;
  if (R.parity(r)) f |= L.F_PF;
  return { ...c, regs: c.regs.map((v, i) => (i === 0 ? ((v & ~0xff) | r) >>> 0 : v)), flags: f };
}
function addEaxEbx(c: Case): Case {
  const a = c.regs[0], b = c.regs[3], r = (a + b) >>> 0;
  let f = c.flags & ~L.F_ARITH;
  if (a + b > 0xffffffff) f |= L.F_CF;
  if (((a ^ b ^ r) & 0x10) !== 0) f |= L.F_AF;
  if (((a ^ r) & (b ^ r) & 0x80000000) !== 0) f |= L.F_OF;
  if (r & 0x80000000) f |= L.F_SF;
  if (r === 0) f |= L.F_ZF;
  if (R.parity(r)) f |= L.F_PF;
  return { ...c, regs: c.regs.map((v, i) => (i === 0 ? r : v)), flags: f };
}

// BOUND: half the cases inside the bounds
const boundGen = (bits: 16 | 32) => (r: Rng, c: Case) => {
  const dv = new DataView(c.mem.buffer);
  if (r.chance(0.5)) {
    const v = bits === 32 ? c.regs[0] | 0 : (c.regs[0] << 16) >> 16;
    const lo = v - r.below(100), hi = v + r.below(100);
    if (bits === 32) dv.setInt32(0, Math.max(lo, -0x80000000), true), dv.setInt32(4, Math.min(hi, 0x7fffffff), true);
    else dv.setInt16(0, Math.max(lo, -0x8000), true), dv.setInt16(2, Math.min(hi, 0x7fff), true);
  }
};
T.push({ name: "bound r32, m32&32", asm: "bound eax, [DATA]", mem: 8, ref: R.bound(0, 32, 0), gen: boundGen(32) });
T.push({ name: "bound r16, m16&16", asm: "bound ax, [DATA]", mem: 8, ref: R.bound(0, 16, 0), gen: boundGen(16) });

// 1-byte INC/DEC
for (
  const [n, asm, reg, bits, d] of [
    ["inc eax (40)", "db 0x40", 0, 32, 1],
    ["inc edi (47)", "db 0x47", 7, 32, 1],
    ["dec ecx (49)", "db 0x49", 1, 32, -1],
    ["dec ebp (4D)", "db 0x4d", 5, 32, -1],
    ["inc si (66 46)", "db 0x66, 0x46", 6, 16, 1],
    ["dec bx (66 4B)", "db 0x66, 0x4b", 3, 16, -1],
  ] as [string, string, number, 16 | 32, 1 | -1][]
) {
  T.push({ name: n, asm, ref: R.incdec(reg, bits, d) });
}

// PUSHA/POPA with the stack inside the data window
const STK = 0x300000;
const stackGen = (r: Rng, c: Case) => (c.regs[4] = STK + 64 + 4 * r.below(16) + (r.chance(0.2) ? 2 : 0));
T.push({ name: "pushad", asm: "pushad", mem: 160, compareEsp: true, gen: stackGen, ref: R.pusha(32, STK) });
T.push({ name: "pushaw", asm: "pushaw", mem: 160, compareEsp: true, gen: stackGen, ref: R.pusha(16, STK) });
T.push({ name: "popad", asm: "popad", mem: 160, compareEsp: true, gen: stackGen, ref: R.popa(32, STK) });
T.push({ name: "popaw", asm: "popaw", mem: 160, compareEsp: true, gen: stackGen, ref: R.popa(16, STK) });

// PUSH sreg with a 32-bit operand: P6 writes the selector with a 16-bit move (the upper two bytes
// keep their old value); the SDM allows a zero-extended push elsewhere, so those bytes are masked.
for (const [sr, sel] of [["es", 0x10], ["ds", 0x10], ["fs", 0x10], ["gs", 0x10]] as [string, number][]) {
  T.push({
    name: `push ${sr}`,
    asm: `push ${sr}`,
    mem: 160,
    compareEsp: true,
    gen: stackGen,
    undefMem: (c) => [[c.regs[4] - 2 - STK, c.regs[4] - STK]],
    ref: (c) => {
      const o = R.out(c);
      const a = c.regs[4] - 4 - STK;
      o.mem[a] = sel & 0xff, o.mem[a + 1] = sel >> 8;
      o.regs[4] = c.regs[4] - 4;
      return o;
    },
  });
}
// POP sreg: valid selectors load; a system descriptor or one past the GDT limit is #GP(sel)
const SELS = [0, 0x10, 0x23, 0x08, 0x1b, 0x28, 0x30];
for (const sr of ["es", "ds", "fs", "gs"]) {
  T.push({
    name: `pop ${sr} ; mov dx, ${sr}`,
    asm: `pop ${sr}\nmov dx, ${sr}`,
    mem: 160,
    compareEsp: true,
    gen: (r, c) => {
      stackGen(r, c);
      const sel = r.pick(SELS) | (r.chance(0.3) ? r.u32() & 0xffff0000 : 0);
      new DataView(c.mem.buffer).setUint32(c.regs[4] - STK, sel >>> 0, true);
    },
    ref: (c) => {
      const sel = new DataView(c.mem.buffer).getUint16(c.regs[4] - STK, true);
      if (sel === 0x28 || sel === 0x30 || (sel === 0 && sr === "ss")) return R.fault(c, L.EXC_GP);
      const o = R.out(c);
      o.regs[4] = c.regs[4] + 4;
      o.regs[2] = ((c.regs[2] & 0xffff0000) | sel) >>> 0;
      return o;
    },
  });
}

// 16-bit addressing (67 prefix): the effective address wraps at 64 KiB
for (let rm = 0; rm < 8; rm++) {
  for (const [mod, disp, dtext] of [[0, 0, ""], [1, -3, "-3"], [2, 0x8765, "+0x8765"]] as [number, number, string][]) {
    if (mod === 0 && rm === 6) continue; // [disp16]
    const base = ["bx+si", "bx+di", "bp+si", "bp+di", "si", "di", "bp", "bx"][rm];
    T.push({
      name: `lea r32, a16 [${base}${dtext}]`,
      asm: `a16 lea ecx, [${base}${dtext}]`,
      cases: 300,
      ref: (c) => {
        const o = R.out(c);
        o.regs[1] = R.ea16(c, rm, disp); // 32-bit destination gets the zero-extended 16-bit address
        return o;
      },
    });
  }
}
T.push({
  name: "lea r16, a16 [disp16]",
  asm: "a16 lea dx, [0xfffe]",
  cases: 100,
  ref: (c) => {
    const o = R.out(c);
    o.regs[2] = ((c.regs[2] & 0xffff0000) | 0xfffe) >>> 0;
    return o;
  },
});

diffGroup("legacy", T);
