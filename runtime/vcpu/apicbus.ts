// The APIC bus over shared memory: any thread (a vCPU sending an IPI from its ICR, the device
// thread's IO-APIC) finds the target local APICs by reading their register pages and delivers
// with atomics, then sets the target's attention word and wakes its thread. No thread owns the
// bus, so an IPI costs no round trip. Destination rules follow SDM vol. 3 10.6.2: physical (APIC
// ID, 0xFF broadcast) and logical flat / cluster (LDR against DFR), shorthands self, all
// including self, all excluding self. Lowest priority goes to the one target with the lowest
// TPR (ties: the lowest APIC ID), which is how a P6 arbitrates.
import * as L from "../../core-as/layout.ts";
import { apicAccept, LX_EXTINT, LX_SIPI, R } from "../devices/lapic.ts";
import type { ApicMessage } from "../devices/ioapic.ts";

export const MODE_FIXED = 0, MODE_LOWEST = 1, MODE_NMI = 4, MODE_INIT = 5, MODE_SIPI = 6, MODE_EXTINT = 7;

export class ApicBus {
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly pages: Uint32Array[] = [];
  // called after a CPU's attention word changed (the single-threaded machine wakes its loop)
  onSignal?: (cpu: number) => void;

  constructor(readonly memory: WebAssembly.Memory, readonly ncpu: number) {
    this.i32 = new Int32Array(memory.buffer);
    this.u32 = new Uint32Array(memory.buffer);
    for (let c = 0; c < ncpu; c++) {
      this.pages.push(new Uint32Array(memory.buffer, L.CPU_BASE + c * L.CPU_STRIDE + L.S_LAPIC, 1024));
    }
  }

  attnIndex(cpu: number): number {
    return (L.CPU_BASE + cpu * L.CPU_STRIDE + L.S_ATTN) >> 2;
  }

  // set attention bits and wake the vCPU's thread if it sleeps on the word
  signal(cpu: number, bits: number): void {
    const i = this.attnIndex(cpu);
    Atomics.or(this.i32, i, bits);
    Atomics.notify(this.i32, i);
    this.onSignal?.(cpu);
  }

  // IA32_APIC_BASE: 0 in the state block means "never written" = enabled at the default base
  apicEnabled(cpu: number): boolean {
    const v = this.u32[(L.CPU_BASE + cpu * L.CPU_STRIDE + L.S_APIC_BASE) >> 2];
    return v === 0 || (v & 0x800) !== 0;
  }

  // `vector` waits in some local APIC's IRR (accepted, not yet taken by its CPU)
  pending(vector: number): boolean {
    const i = (R.IRR >> 2) + ((vector >> 5) << 2), bit = 1 << (vector & 31);
    for (let c = 0; c < this.ncpu; c++) if (Atomics.load(this.pages[c], i) & bit) return true;
    return false;
  }

  private reg(cpu: number, off: number): number {
    return Atomics.load(this.pages[cpu], off >> 2) >>> 0;
  }

  matches(cpu: number, dest: number, logical: boolean): boolean {
    if (!logical) return dest === 0xff || dest === this.reg(cpu, R.ID) >>> 24;
    if (dest === 0xff) return true;
    const ldr = this.reg(cpu, R.LDR) >>> 24;
    if ((this.reg(cpu, R.DFR) >>> 28) === 0xf) return (ldr & dest) !== 0; // flat model
    // cluster model: high nibble = cluster, low nibble = members
    return ((dest >> 4) === (ldr >> 4) || (dest >> 4) === 0xf) && (ldr & dest & 0xf) !== 0;
  }

  // Target CPUs of a message. shorthand: 0 none (use dest), 1 self, 2 all incl. self, 3 all but self.
  targets(m: ApicMessage, shorthand = 0, from = -1): number[] {
    const t: number[] = [];
    for (let c = 0; c < this.ncpu; c++) {
      if (!this.apicEnabled(c)) continue;
      const hit = shorthand === 1
        ? c === from
        : shorthand === 2
        ? true
        : shorthand === 3
        ? c !== from
        : this.matches(c, m.dest, m.logical);
      if (hit) t.push(c);
    }
    if (m.mode === MODE_LOWEST && t.length > 1) {
      let best = t[0];
      for (const c of t) if ((this.reg(c, R.TPR) & 0xff) < (this.reg(best, R.TPR) & 0xff)) best = c;
      return [best];
    }
    return t;
  }

  // One message onto the bus (from the IO-APIC, or an IPI with its shorthand and sender).
  send(m: ApicMessage, shorthand = 0, from = -1): void {
    for (const c of this.targets(m, shorthand, from)) this.post(c, m);
  }

  // Deliver to one CPU. INIT and SIPI also set ATTN_STOP: the core does not act on them
  // itself, so a running vCPU leaves its slice and its thread handles them (runtime/vcpu/smp.ts).
  post(cpu: number, m: ApicMessage): void {
    const page = this.pages[cpu];
    switch (m.mode) {
      case MODE_FIXED:
      case MODE_LOWEST:
        if (apicAccept(page, m.vector, m.level)) this.signal(cpu, L.ATTN_IRQ);
        break;
      case MODE_NMI:
        // the core takes it at the next instruction boundary (or out of HLT) itself
        this.signal(cpu, L.ATTN_NMI);
        break;
      case MODE_EXTINT:
        Atomics.store(page, LX_EXTINT >> 2, 1);
        this.signal(cpu, L.ATTN_IRQ);
        break;
      case MODE_INIT:
        this.signal(cpu, L.ATTN_INIT | L.ATTN_STOP);
        break;
      case MODE_SIPI:
        Atomics.store(page, LX_SIPI >> 2, m.vector);
        this.signal(cpu, L.ATTN_SIPI | L.ATTN_STOP);
        break;
      default: // SMI: not modelled
    }
  }
}
