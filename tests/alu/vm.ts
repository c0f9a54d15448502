// The ALU tests' machine: a Bare in flat 32-bit protected mode that runs short instruction
// sequences and reports registers, EFLAGS and the fault, if one was raised.
import * as L from "../../core-as/layout.ts";
import { Bare } from "../lib/bare.ts";

export const CODE = 0x1000;
export const DATA = 0x8000;
export const RAM = 1 << 20;

export interface Regs {
  eax?: number;
  ecx?: number;
  edx?: number;
  ebx?: number;
  esp?: number;
  ebp?: number;
  esi?: number;
  edi?: number;
}
export const REGS = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] as const;

export interface Result {
  r: number[];
  flags: number;
  eip: number;
  fault: number;
}

// create with { ramBytes: RAM }, then reset()
export class Vm extends Bare {
  // flat ring 0, CR0 = PE | ET
  reset(): void {
    this.core.ex.reset();
    this.flatSegments(0);
    this.core.set(L.S_CR0, L.CR0_PE | L.CR0_ET);
    this.core.ex.resyncFromState();
  }
  // Load code at CODE, set registers and arithmetic flags, run `n` instructions (or catch the
  // fault the first time one is raised: fault = vector, registers as at the fault).
  exec(code: number[], regs: Regs | number[], flags = 0, n = 1): Result {
    const c = this.core;
    this.load(CODE, new Uint8Array(code)); // compiled blocks of the last case's code are stale
    const rv = Array.isArray(regs) ? regs : REGS.map((k) => (regs as Regs)[k] ?? 0);
    for (let i = 0; i < 8; i++) c.setReg(i, rv[i] ?? 0);
    c.set(L.S_LF_OP, 0);
    c.set(L.S_FLAGS, (flags & L.F_ARITH) | 2);
    c.eip = CODE;
    c.set(L.S_PEND_VEC, 0xffffffff);
    this.core.ex.resyncFromState();
    const f = this.step(n);
    return { r: this.regs(), flags: this.flags(), eip: c.eip, fault: f ? f.vec : -1 };
  }
}
