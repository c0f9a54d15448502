// Test support: one ring3 vCPU in flat 32-bit protected mode that runs short instruction
// sequences and reports registers, EFLAGS and memory.
import * as L from "../../core-as/layout.ts";
import { Core, createMemory } from "../../runtime/vcpu/core.ts";
import { hostWroteRam } from "../../runtime/jit/hostwrite.ts";

export const CODE = 0x1000;
export const DATA = 0x8000;
export const RAM = 1 << 20;

export interface Regs { eax?: number; ecx?: number; edx?: number; ebx?: number; esp?: number; ebp?: number; esi?: number; edi?: number }
export const REGS = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] as const;

export interface Result { r: number[]; flags: number; eip: number; fault: number }

export class Vm {
  private constructor(readonly core: Core, readonly mem: WebAssembly.Memory) {}
  static async create(memory?: WebAssembly.Memory, cpu = 0): Promise<Vm> {
    const mem = memory ?? createMemory(RAM);
    const core = await Core.create(mem, cpu, {
      io_in: () => 0xffffffff, io_out: () => {}, mmio_rd: () => 0xffffffff, mmio_wr: () => {},
      intr_ack: () => -1, clock_ns: () => 0,
    });
    const vm = new Vm(core, mem);
    vm.reset();
    return vm;
  }
  get ram(): Uint8Array { return new Uint8Array(this.mem.buffer, L.RAM_BASE, RAM); }
  reset(): void {
    const ex = this.core.ex;
    ex.reset();
    ex.setSeg(L.SEG_CS, 0x08, 0, 0xffffffff, 0xc09b);
    for (const s of [L.SEG_ES, L.SEG_SS, L.SEG_DS, L.SEG_FS, L.SEG_GS]) ex.setSeg(s, 0x10, 0, 0xffffffff, 0xc093);
    this.core.set(L.S_CR0, L.CR0_PE | L.CR0_ET);
    ex.resyncFromState();
  }
  // Load code at CODE, set registers and arithmetic flags, run `n` instructions (or catch the
  // fault the first time one is raised: fault = vector, registers as at the fault).
  exec(code: number[], regs: Regs | number[], flags = 0, n = 1): Result {
    const c = this.core;
    this.ram.set(code, CODE);
    hostWroteRam(this.ram, CODE, code.length); // compiled blocks of the last case's code are stale
    const rv = Array.isArray(regs) ? regs : REGS.map((k) => (regs as Regs)[k] ?? 0);
    for (let i = 0; i < 8; i++) c.setReg(i, rv[i] ?? 0);
    c.set(L.S_LF_OP, 0);
    c.set(L.S_FLAGS, (flags & L.F_ARITH) | 2);
    c.eip = CODE;
    c.set(L.S_PEND_VEC, 0xffffffff);
    this.core.ex.resyncFromState();
    let fault = -1;
    try {
      this.core.ex.run(n);
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      fault = c.get(L.S_PEND_VEC);
      if (fault === 0xffffffff) throw e;
      c.set(L.S_PEND_VEC, 0xffffffff);
    }
    const r = [];
    for (let i = 0; i < 8; i++) r.push(c.reg(i));
    return { r, flags: (this.core.ex as unknown as { getFlags(): number }).getFlags() >>> 0, eip: c.eip, fault };
  }
  rd32(a: number): number { return new DataView(this.mem.buffer).getUint32(L.RAM_BASE + a, true); }
  wr32(a: number, v: number): void { new DataView(this.mem.buffer).setUint32(L.RAM_BASE + a, v >>> 0, true); }
}
