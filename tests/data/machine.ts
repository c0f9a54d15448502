// The data-movement tests' machine: a Bare with every port access logged (and answered by `ioIn`,
// the debug ports included), flat 32-bit protected mode or 16-bit real mode, code assembled with
// nasm, runners that step to an address and report a fault instead of delivering it (so the
// tests do not depend on protected-mode interrupt delivery), and identity-mapped page tables.
import * as L from "../../core-as/layout.ts";
import { Bare } from "../lib/bare.ts";
import { nasmSync } from "../lib/tools.ts";

export const RAM = 8 << 20;

export function asm(src: string, bits: 16 | 32 = 32, org = 0): Uint8Array {
  return nasmSync(`bits ${bits}\norg 0x${org.toString(16)}\n${src}\n`);
}

export interface IoEvent {
  dir: "in" | "out";
  port: number;
  size: number;
  value: number;
}

export class Machine extends Bare {
  io: IoEvent[] = [];
  ioIn: (port: number, size: number) => number = (port, size) =>
    (((port * 0x01010101) ^ 0x5a5a5a5a) >>> 0) & (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff);

  protected override portIn(port: number, size: number): number {
    const v = this.ioIn(port, size);
    this.io.push({ dir: "in", port, size, value: v });
    return v;
  }
  protected override portOut(port: number, size: number, value: number): void {
    this.io.push({ dir: "out", port, size, value: value >>> 0 });
  }

  // flat 4 GiB code/data segments, CPL 0 (or `cpl` with matching DPLs)
  pm32(cpl = 0): this {
    const c = this.core;
    this.flatSegments(cpl);
    c.set(L.S_CR0, c.get(L.S_CR0) | L.CR0_PE);
    c.set(L.S_FLAGS, 2);
    c.set(L.S_LF_OP, 0);
    c.setReg(4, 0x90000);
    c.ex.resyncFromState();
    return this;
  }

  // real mode with every segment at 0 (64 KiB limits)
  real16(): this {
    const c = this.core;
    for (let s = 0; s < 6; s++) c.ex.setSeg(s, 0, 0, 0xffff, 0x93);
    c.set(L.S_FLAGS, 2);
    c.setReg(4, 0xfff0);
    c.ex.resyncFromState();
    return this;
  }

  // assemble at `addr` and point EIP there; returns the end address
  code(addr: number, src: string, bits: 16 | 32 = 32): number {
    const b = asm(src, bits, addr);
    this.load(addr, b);
    this.core.eip = addr;
    this.core.ex.resyncFromState();
    return addr + b.length;
  }

  reg(r: number): number {
    return this.core.reg(r);
  }
  setReg(r: number, v: number): void {
    this.core.setReg(r, v);
  }
  get eip(): number {
    return this.core.eip;
  }
  set eip(v: number) {
    this.core.eip = v;
  }

  // EFLAGS as stored when no lazy arithmetic result is pending (tests read computed flags with PUSHF)
  setFlags(v: number): void {
    this.core.set(L.S_FLAGS, v | 2);
    this.core.set(L.S_LF_OP, 0);
  }
  rawFlags(): number {
    return this.core.get(L.S_FLAGS);
  }

  // run until EIP == end (REP instructions take several steps); throws on a fault
  runTo(end: number, max = 100000): number {
    let steps = 0;
    while (this.eip !== end) {
      if (++steps > max) throw new Error(`did not reach ${end.toString(16)} (eip ${this.eip.toString(16)})`);
      const f = this.step(1);
      if (f) throw new Error(`fault ${f.vec} err ${f.err} near eip ${this.eip.toString(16)}`);
    }
    return steps;
  }

  // run until EIP == end expecting a fault on the way; returns it
  runFault(end: number, max = 100000): { vec: number; err: number } {
    for (let i = 0; i < max && this.eip !== end; i++) {
      const f = this.step(1);
      if (f) return f;
    }
    throw new Error("expected a fault");
  }

  // identity-map the first `mb` MiB with 4 KiB pages (user, writable); page tables at pdBase
  paging(pdBase = 0x400000, mb = 8): void {
    this.ram.fill(pdBase, 0x1000 + mb * 256 * 4, 0);
    for (let t = 0; t < mb / 4; t++) {
      const pt = pdBase + 0x1000 + t * 0x1000;
      this.w32(pdBase + t * 4, pt | 7);
      for (let i = 0; i < 1024; i++) this.w32(pt + i * 4, ((t * 1024 + i) << 12) | 7);
    }
    this.core.set(L.S_CR3, pdBase);
    this.core.set(L.S_CR0, this.core.get(L.S_CR0) | L.CR0_PG);
    this.core.ex.resyncFromState();
  }
  pte(pdBase: number, lin: number): number {
    return pdBase + 0x1000 + (lin >>> 12) * 4;
  }
  setPte(lin: number, flags: number, pdBase = 0x400000): void {
    this.w32(this.pte(pdBase, lin), (lin & ~0xfff) | flags);
    this.core.ex.resyncFromState(); // flushes the TLB
  }
}
