// The guest side of the differential tests: a bare ring3 machine in flat 32-bit protected mode
// with a real GDT, IDT and TSS, so an exception either unwinds out of the core (caught here, the
// pending vector read from the state block) or, once delivered through the IDT, lands on a
// per-vector HLT stub whose address names the vector.
import { Bare } from "../../lib/bare.ts";
import * as L from "../../../core-as/layout.ts";

export const GDT = 0x1000;
export const IDT = 0x2000;
export const STUBS = 0x3000; // vector v's handler at STUBS + 8*v: hlt; jmp $-1
export const TSS = 0x4000;
export const STACK0 = 0x8f000; // ring-0 stack top (TSS.esp0)
export const STACK = 0x9f000;
export const CODE = 0x100000;
export const DATA = 0x300000; // the data window; the native runner maps it at the same address
export const NVEC = 32;

export const SEL_CODE0 = 0x08, SEL_DATA0 = 0x10, SEL_CODE3 = 0x1b, SEL_DATA3 = 0x23, SEL_TSS = 0x28;

function desc(base: number, limit: number, access: number, flags: number): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) |
    ((base >>> 16) & 0xff);
  return [lo >>> 0, hi >>> 0];
}

const STUB = new Uint8Array([0xf4, 0xeb, 0xfd]); // hlt; jmp $-1

// Write GDT/IDT/TSS/stubs into guest memory and load the registers that point at them.
export function installTables(b: Bare): void {
  const gdt: [number, number][] = [
    [0, 0],
    desc(0, 0xfffff, 0x9b, 0xc), // ring-0 code, 32-bit, 4 GiB
    desc(0, 0xfffff, 0x93, 0xc), // ring-0 data
    desc(0, 0xfffff, 0xfb, 0xc), // ring-3 code
    desc(0, 0xfffff, 0xf3, 0xc), // ring-3 data
    desc(TSS, 0x67, 0x89, 0x0), // available 32-bit TSS
  ];
  gdt.forEach(([lo, hi], i) => {
    b.w32(GDT + i * 8, lo);
    b.w32(GDT + i * 8 + 4, hi);
  });
  for (let v = 0; v < NVEC; v++) {
    const h = STUBS + v * 8;
    // 32-bit interrupt gate, DPL 3 so INT n / INTO / INT3 from ring 3 reach it too
    b.w32(IDT + v * 8, (SEL_CODE0 << 16) | (h & 0xffff));
    b.w32(IDT + v * 8 + 4, (h & 0xffff0000) | 0xee00);
    b.load(h, STUB);
  }
  b.w32(TSS + 4, STACK0);
  b.w32(TSS + 8, SEL_DATA0);
  b.w16(TSS + 102, 0x68); // no I/O bitmap
  const c = b.core;
  c.set(L.S_GDTR_BASE, GDT);
  c.set(L.S_GDTR_LIMIT, gdt.length * 8 - 1);
  c.set(L.S_IDTR_BASE, IDT);
  c.set(L.S_IDTR_LIMIT, NVEC * 8 - 1);
  c.ex.setSeg(L.SEG_TR, SEL_TSS, TSS, 0x67, 0x8b);
  c.ex.resyncFromState();
}

// Flat protected mode at `ring` (0 or 3) with the tables installed; EIP and registers are up to
// the caller.
export function enterFlat(b: Bare, ring: 0 | 3, eip: number): void {
  b.startFlat32(eip, ring === 3 ? STACK : STACK0);
  if (ring === 3) b.flatSegments(3, SEL_CODE3, SEL_DATA3);
  installTables(b);
}

// vector whose stub EIP is at (or just past) after an exception was delivered, else -1
export function stubVector(eip: number): number {
  if (eip < STUBS || eip >= STUBS + NVEC * 8) return -1;
  return (eip - STUBS) >> 3;
}
