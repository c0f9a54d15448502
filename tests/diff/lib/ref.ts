// Reference models, written from the Intel SDM vol. 2 pseudocode, for instructions this host
// cannot run natively (they do not exist in 64-bit mode). Each takes an input case and returns
// the expected result; flags the SDM leaves undefined are masked by the template, not here.
import { Case, NOFAULT, Result } from "./harness.ts";
import * as L from "../../../core-as/layout.ts";

export function out(c: Case): Result {
  return { regs: c.regs.slice(), flags: c.flags, fault: NOFAULT, mem: c.mem.slice() };
}
export function fault(c: Case, vec: number): Result {
  return { ...out(c), fault: vec };
}
const bit = (f: number, b: number) => (f & b) !== 0;
const put = (f: number, b: number, on: boolean) => on ? f | b : f & ~b;
export function parity(v: number): boolean {
  let p = v & 0xff;
  p ^= p >> 4, p ^= p >> 2, p ^= p >> 1;
  return (p & 1) === 0;
}
// SF ZF PF from an 8-bit result
function szp8(f: number, v: number): number {
  f = put(f, L.F_SF, (v & 0x80) !== 0);
  f = put(f, L.F_ZF, (v & 0xff) === 0);
  return put(f, L.F_PF, parity(v));
}
const setAL = (o: Result, v: number) => (o.regs[0] = ((o.regs[0] & ~0xff) | (v & 0xff)) >>> 0);
const setAH = (o: Result, v: number) => (o.regs[0] = ((o.regs[0] & ~0xff00) | ((v & 0xff) << 8)) >>> 0);
const setAX = (o: Result, v: number) => (o.regs[0] = ((o.regs[0] & ~0xffff) | (v & 0xffff)) >>> 0);

export function daa(c: Case): Result {
  const o = out(c);
  const oldAL = c.regs[0] & 0xff, oldCF = bit(c.flags, L.F_CF);
  let al = oldAL, cf = false, af: boolean;
  if ((al & 0xf) > 9 || bit(c.flags, L.F_AF)) {
    cf = oldCF || al + 6 > 0xff;
    al = (al + 6) & 0xff;
    af = true;
  } else af = false;
  if (oldAL > 0x99 || oldCF) {
    al = (al + 0x60) & 0xff;
    cf = true;
  } else cf = false;
  setAL(o, al);
  o.flags = szp8(put(put(c.flags, L.F_CF, cf), L.F_AF, af), al);
  return o;
}

export function das(c: Case): Result {
  const o = out(c);
  const oldAL = c.regs[0] & 0xff, oldCF = bit(c.flags, L.F_CF);
  let al = oldAL, cf = false, af: boolean;
  if ((al & 0xf) > 9 || bit(c.flags, L.F_AF)) {
    cf = oldCF || al < 6;
    al = (al - 6) & 0xff;
    af = true;
  } else af = false;
  if (oldAL > 0x99 || oldCF) { // the SDM has no ELSE here: a borrow from the first step stays in CF
    al = (al - 0x60) & 0xff;
    cf = true;
  }
  setAL(o, al);
  o.flags = szp8(put(put(c.flags, L.F_CF, cf), L.F_AF, af), al);
  return o;
}

export function aaa(c: Case): Result {
  const o = out(c);
  let ax = c.regs[0] & 0xffff;
  const adj = (ax & 0xf) > 9 || bit(c.flags, L.F_AF);
  if (adj) ax = (ax + 0x106) & 0xffff;
  setAX(o, ax & 0xff0f);
  o.flags = put(put(c.flags, L.F_AF, adj), L.F_CF, adj);
  return o;
}

export function aas(c: Case): Result {
  const o = out(c);
  let ax = c.regs[0] & 0xffff;
  const adj = (ax & 0xf) > 9 || bit(c.flags, L.F_AF);
  if (adj) {
    ax = (ax - 6) & 0xffff;
    ax = (ax - 0x100) & 0xffff;
  }
  setAX(o, ax & 0xff0f);
  o.flags = put(put(c.flags, L.F_AF, adj), L.F_CF, adj);
  return o;
}

export const aam = (imm: number) => (c: Case): Result => {
  if (imm === 0) return fault(c, L.EXC_DE);
  const o = out(c);
  const al = c.regs[0] & 0xff;
  setAH(o, Math.floor(al / imm));
  setAL(o, al % imm);
  o.flags = szp8(c.flags, al % imm);
  return o;
};

export const aad = (imm: number) => (c: Case): Result => {
  const o = out(c);
  const al = ((c.regs[0] & 0xff) + ((c.regs[0] >>> 8) & 0xff) * imm) & 0xff;
  setAX(o, al);
  o.flags = szp8(c.flags, al);
  return o;
};

// SALC (D6, undocumented, present on P6): AL = CF ? FF : 00, flags unchanged
export function salc(c: Case): Result {
  const o = out(c);
  setAL(o, bit(c.flags, L.F_CF) ? 0xff : 0);
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
  const m = bits === 32 ? 0xffffffff : 0xffff, sign = bits === 32 ? 0x80000000 : 0x8000;
  const a = (c.regs[reg] & m) >>> 0;
  const r = ((a + delta) & m) >>> 0;
  o.regs[reg] = ((c.regs[reg] & ~m) | r) >>> 0;
  let f = c.flags;
  f = put(f, L.F_OF, delta === 1 ? r === sign : a === sign);
  f = put(f, L.F_SF, (r & sign) !== 0);
  f = put(f, L.F_ZF, r === 0);
  f = put(f, L.F_AF, delta === 1 ? (r & 0xf) === 0 : (r & 0xf) === 0xf);
  f = put(f, L.F_PF, parity(r));
  o.flags = f;
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
