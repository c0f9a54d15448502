// Reference models, written from the Intel SDM vol. 2 pseudocode, for instructions this host
// cannot run natively (they do not exist in 64-bit mode). Each takes an input case and returns
// the expected result; flags the SDM leaves undefined are masked by the template, not here. BCD
// and 1-byte INC/DEC apply the model the ALU tests use (tests/lib/sdm_ref.ts) to the case.
import { Case, NOFAULT, Result } from "./harness.ts";
import * as L from "../../../core-as/layout.ts";
import * as S from "../../lib/sdm_ref.ts";

export function out(c: Case): Result {
  return { regs: c.regs.slice(), flags: c.flags, fault: NOFAULT, mem: c.mem.slice() };
}
export function fault(c: Case, vec: number): Result {
  return { ...out(c), fault: vec };
}
const bit = (f: number, b: number) => (f & b) !== 0;
export const parity = S.parityEven;

// a case after an instruction of the SDM model (tests/lib/sdm_ref.ts) that writes the bits `m` of
// EAX: the flags the model defines replaced, the others as they came in; null is #DE
function withAx(c: Case, m: number, r: S.Bcd | null): Result {
  if (!r) return fault(c, L.EXC_DE);
  const o = out(c);
  o.regs[0] = ((c.regs[0] & ~m) | r.ax) >>> 0;
  o.flags = (c.flags & ~r.def) | r.f;
  return o;
}
const cf = (c: Case) => c.flags & L.F_CF ? 1 : 0;
const af = (c: Case) => c.flags & L.F_AF ? 1 : 0;
export const daa = (c: Case): Result => withAx(c, 0xff, S.daa(c.regs[0] & 0xff, cf(c), af(c)));
export const das = (c: Case): Result => withAx(c, 0xff, S.das(c.regs[0] & 0xff, cf(c), af(c)));
export const aaa = (c: Case): Result => withAx(c, 0xffff, S.aaa(c.regs[0] & 0xffff, af(c)));
export const aas = (c: Case): Result => withAx(c, 0xffff, S.aas(c.regs[0] & 0xffff, af(c)));
export const aam = (imm: number) => (c: Case): Result => withAx(c, 0xffff, S.aam(c.regs[0] & 0xffff, imm));
export const aad = (imm: number) => (c: Case): Result => withAx(c, 0xffff, S.aad(c.regs[0] & 0xffff, imm));

// SALC (D6, undocumented, present on P6): AL = CF ? FF : 00, flags unchanged
export function salc(c: Case): Result {
  const o = out(c);
  o.regs[0] = ((c.regs[0] & ~0xff) | (bit(c.flags, L.F_CF) ? 0xff : 0)) >>> 0;
  return o;
}

// INTO: #OF trap when OF = 1
export function into(c: Case): Result {
  return bit(c.flags, L.F_OF) ? fault(c, L.EXC_OF) : out(c);
}

// BOUND r, m: #BR unless lower <= r <= upper (signed), bounds at DATA+off
export const bound = (reg: number, bits: 16 | 32, off: number) => (c: Case): Result => {
  const dv = new DataView(c.mem.buffer, c.mem.byteOffset, c.mem.byteLength);
  const lo = bits === 32 ? dv.getInt32(off, true) : dv.getInt16(off, true);
  const hi = bits === 32 ? dv.getInt32(off + bits / 8, true) : dv.getInt16(off + bits / 8, true);
  const v = bits === 32 ? c.regs[reg] | 0 : (c.regs[reg] << 16) >> 16;
  return v < lo || v > hi ? fault(c, L.EXC_BR) : out(c);
};

// 1-byte INC/DEC (40+r / 48+r): CF unchanged, the other five from the result
export const incdec = (reg: number, bits: 16 | 32, delta: 1 | -1) => (c: Case): Result => {
  const o = out(c);
  const m = bits === 32 ? 0xffffffff : 0xffff;
  const r = S.incdec(delta === -1, (c.regs[reg] & m) >>> 0, c.flags, bits / 8);
  o.regs[reg] = ((c.regs[reg] & ~m) | r.r) >>> 0;
  o.flags = (c.flags & ~r.def) | r.f;
  return o;
};

// PUSHA/PUSHAD, POPA/POPAD with a 32-bit stack (the window holds the stack, ESP points into it)
export const pusha = (bits: 16 | 32, data: number) => (c: Case): Result => {
  const o = out(c);
  const n = bits / 8, esp = c.regs[4];
  const dv = new DataView(o.mem.buffer);
  // stored from high to low: eAX eCX eDX eBX (original eSP) eBP eSI eDI
  [0, 1, 2, 3, 4, 5, 6, 7].forEach((r, i) => {
    const a = esp - (i + 1) * n - data;
    if (n === 4) dv.setUint32(a, c.regs[r], true);
    else dv.setUint16(a, c.regs[r] & 0xffff, true);
  });
  o.regs[4] = (esp - 8 * n) >>> 0;
  return o;
};
export const popa = (bits: 16 | 32, data: number) => (c: Case): Result => {
  const o = out(c);
  const n = bits / 8, esp = c.regs[4];
  const dv = new DataView(c.mem.buffer, c.mem.byteOffset, c.mem.byteLength);
  // popped from low to high: eDI eSI eBP (skipped eSP) eBX eDX eCX eAX
  [7, 6, 5, 4, 3, 2, 1, 0].forEach((r, i) => {
    if (r === 4) return;
    const a = esp + i * n - data;
    o.regs[r] = n === 4 ? dv.getUint32(a, true) : ((c.regs[r] & 0xffff0000) | dv.getUint16(a, true)) >>> 0;
  });
  o.regs[4] = (esp + 8 * n) >>> 0;
  return o;
};

// 16-bit effective address of ModR/M (mod 00..10, rm 0..7), as LEA returns it
export function ea16(c: Case, rm: number, disp: number): number {
  const r16 = (i: number) => c.regs[i] & 0xffff;
  const base = [r16(3) + r16(6), r16(3) + r16(7), r16(5) + r16(6), r16(5) + r16(7), r16(6), r16(7), r16(5), r16(3)][rm];
  return (base + disp) & 0xffff;
}
