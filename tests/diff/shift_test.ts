// Shifts and rotates (rol ror rcl rcr shl shr sar; shld shrd) against the host CPU, by 1, by CL
// and by immediates across the masking and modulo edges (0 1 7 8 9 15 16 17 31 32 33 ...).
import { Case, diffGroup, Template } from "./lib/harness.ts";
import { COUNTS } from "../lib/rng.ts";
import * as L from "../../core-as/layout.ts";

const T: Template[] = [];
const ALL = L.F_ARITH;

// Undefined flags per SDM vol. 2 (SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR), from the masked count:
//  count 0: no flag changes (nothing undefined);
//  shifts: AF undefined; OF undefined unless count == 1; SHL/SHR: CF undefined when count >= size;
//  rotates: OF undefined unless count == 1 (SF ZF AF PF are not touched by rotates).
function shiftUndef(op: string, bits: number, cnt: number): number {
  cnt &= 31;
  if (cnt === 0) return 0;
  let u = cnt === 1 ? 0 : L.F_OF;
  if (op === "shl" || op === "shr" || op === "sar") u |= L.F_AF;
  if ((op === "shl" || op === "shr") && cnt >= bits) u |= L.F_CF;
  return u;
}

const OPS = ["rol", "ror", "rcl", "rcr", "shl", "shr", "sar"];
const DESTS: [string, number, string, number][] = [
  // name, bits, operand text, mem bytes
  ["r8", 8, "al", 0],
  ["r8h", 8, "bh", 0],
  ["r16", 16, "si", 0],
  ["r32", 32, "edi", 0],
  ["m8", 8, "byte [DATA+5]", 16],
  ["m16", 16, "word [DATA+6]", 16],
  ["m32", 32, "dword [DATA+4]", 16],
];
const cl = (c: Case) => c.regs[1] & 0xff;

for (const op of OPS) {
  for (const [dn, bits, d, mem] of DESTS) {
    T.push({ name: `${op} ${dn}, 1`, asm: `${op} ${d}, 1`, mem, undef: shiftUndef(op, bits, 1) });
    T.push({
      name: `${op} ${dn}, cl`,
      asm: `${op} ${d}, cl`,
      mem,
      cases: 2500,
      undef: (c) => shiftUndef(op, bits, cl(c)),
      // half the cases use a count from the edge list (incl. > 31: the mask is checked too)
      gen: (r, c) => {
        if (r.chance(0.5)) c.regs[1] = ((c.regs[1] & ~0xff) | r.pick(COUNTS)) >>> 0;
      },
    });
    if (mem) continue;
    for (const k of [0, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33]) {
      T.push({ name: `${op} ${dn}, ${k}`, asm: `${op} ${d}, ${k}`, cases: 150, undef: shiftUndef(op, bits, k) });
    }
  }
  // C1 /n ib with an immediate of 1: nasm would pick the D1 form
  const n = OPS.indexOf(op) + (OPS.indexOf(op) >= 6 ? 1 : 0);
  T.push({
    name: `${op} r32, imm8=1 (C1)`,
    asm: `db 0xc1, 0x${(0xc0 | (n << 3) | 3).toString(16)}, 1`,
    undef: shiftUndef(op, 32, 1),
  });
  T.push({
    name: `${op} r8, imm8=1 (C0)`,
    asm: `db 0xc0, 0x${(0xc0 | (n << 3) | 2).toString(16)}, 1`,
    undef: shiftUndef(op, 8, 1),
  });
}
// SAL is SHL; /6 is an undocumented alias of /4 that 64-bit mode keeps too
T.push({ name: "sal r32, cl (D3 /6)", asm: "db 0xd3, 0xf3", undef: (c) => shiftUndef("shl", 32, cl(c)) });

// SHLD/SHRD (SDM): count masked to 5 bits; count 0 changes nothing; AF undefined; OF undefined
// unless count == 1; with a 16-bit operand and count > 16 the result and all flags are undefined.
function dblUndef(bits: number, cnt: number): number {
  cnt &= 31;
  if (cnt === 0) return 0;
  if (cnt > bits) return ALL;
  return L.F_AF | (cnt === 1 ? 0 : L.F_OF);
}
for (const op of ["shld", "shrd"]) {
  for (
    const [dn, bits, d, s, mem, destReg] of [
      ["r32, r32", 32, "ebx", "esi", 0, 3],
      ["r16, r16", 16, "bx", "si", 0, 3],
      ["m32, r32", 32, "dword [DATA+4]", "edx", 16, -1],
      ["m16, r16", 16, "word [DATA+6]", "dx", 16, -1],
    ] as [string, number, string, string, number, number][]
  ) {
    const undefRegs = (cnt: number) => ((cnt & 31) > bits && destReg >= 0 ? 1 << destReg : 0);
    const undefMem = (cnt: number): [number, number][] => ((cnt & 31) > bits && destReg < 0 ? [[0, 16]] : []);
    T.push({
      name: `${op} ${dn}, cl`,
      asm: `${op} ${d}, ${s}, cl`,
      mem,
      cases: 2500,
      undef: (c) => dblUndef(bits, cl(c)),
      undefRegs: (c) => undefRegs(cl(c)),
      undefMem: (c) => undefMem(cl(c)),
      gen: (r, c) => {
        if (r.chance(0.5)) c.regs[1] = ((c.regs[1] & ~0xff) | r.pick(COUNTS)) >>> 0;
      },
    });
    for (const k of [0, 1, 4, 8, 15, 16, 17, 31, 32, 33]) {
      T.push({
        name: `${op} ${dn}, ${k}`,
        asm: `${op} ${d}, ${s}, ${k}`,
        mem,
        cases: 200,
        undef: dblUndef(bits, k),
        undefRegs: () => undefRegs(k),
        undefMem: () => undefMem(k),
      });
    }
  }
}

// a rotate through carry fed by a lazily computed CF
T.push({ name: "add eax, ebx ; rcl ecx, 1", asm: "add eax, ebx\nrcl ecx, 1" });
T.push({ name: "sub dl, bl ; rcr si, cl", asm: "sub dl, bl\nrcr si, cl", undef: (c) => shiftUndef("rcr", 16, cl(c)) });

diffGroup("shift", T);
