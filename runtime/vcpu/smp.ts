// One virtual CPU as its host thread sees it: the core, its local APIC, and the rules that
// connect them to the APIC bus and the 8259A. The same code serves a vCPU running in its own
// worker (runtime/vcpu/worker.ts) and all vCPUs run round-robin on one thread (machine.ts).
//
// CPU run states (kept in the APIC page, LX_STATE, so they survive the threads of one run):
//   RUNNING    executing, or halted in HLT with interrupts on (the core's S_HALTED says which)
//   WAIT_SIPI  after INIT (and from power-on for an AP): only INIT and STARTUP are acted on
//   STOPPED    HLT with interrupts off: only INIT or NMI wakes it
import * as L from "../../core-as/layout.ts";
import type { Core } from "./core.ts";
import {
  APIC_BASE_BSP,
  APIC_BASE_ENABLE,
  CPU_RUNNING,
  CPU_STOPPED,
  CPU_WAIT_SIPI,
  Lapic,
  LAPIC_BASE,
  LX_SIPI,
  LX_STATE,
} from "../devices/lapic.ts";
import type { ApicBus } from "./apicbus.ts";

// what a vCPU needs from the device side
export interface Chipset {
  picIntr(): boolean; // the 8259A's INTR output
  picAck(): number; // INTA cycle: the vector
}

// Host bookkeeping in the APIC page after lapic.ts's LX_ words: f64, milliseconds this vCPU has
// slept in HLT (the `stats` control command's "halted time"), written only by its own thread.
const LX_HALTED_MS = 0x840;

export class Vcpu {
  readonly cpu: number;
  private readonly attn: number; // index of the attention word in bus.i32
  private f64?: Float64Array;

  constructor(readonly core: Core, readonly lapic: Lapic, readonly bus: ApicBus, readonly chip: Chipset) {
    this.cpu = core.cpu;
    this.attn = bus.attnIndex(this.cpu);
  }

  get state(): number {
    return Atomics.load(this.lapic.regs, LX_STATE >> 2);
  }
  set state(s: number) {
    Atomics.store(this.lapic.regs, LX_STATE >> 2, s);
  }

  get attention(): number {
    return Atomics.load(this.bus.i32, this.attn);
  }
  clearAttention(bits: number): void {
    Atomics.and(this.bus.i32, this.attn, ~bits);
  }

  get halted(): boolean {
    return this.core.get(L.S_HALTED) !== 0;
  }

  private get hostF64(): Float64Array {
    const r = this.lapic.regs;
    return this.f64 ??= new Float64Array(r.buffer, r.byteOffset, r.length >> 1);
  }
  /** milliseconds slept halted since power-on (host time; virtual time skipped under -icount) */
  get haltedMs(): number {
    return this.hostF64[LX_HALTED_MS >> 3];
  }
  addHaltedMs(ms: number): void {
    this.hostF64[LX_HALTED_MS >> 3] += ms;
  }

  // IA32_APIC_BASE as the core sees it: 0 in the state block means "never written", which the
  // core reports as the power-on default (0xFEE00000, enabled, BSP flag on CPU 0)
  get apicBaseMsr(): number {
    const v = this.core.get(L.S_APIC_BASE);
    return v !== 0 ? v : (LAPIC_BASE | APIC_BASE_ENABLE | (this.cpu === 0 ? APIC_BASE_BSP : 0)) >>> 0;
  }

  get apicEnabled(): boolean {
    return (this.apicBaseMsr & APIC_BASE_ENABLE) !== 0;
  }

  // offset into the local APIC page of a physical address, or -1
  lapicOffset(addr: number): number {
    const base = this.apicBaseMsr;
    if (!(base & APIC_BASE_ENABLE)) return -1;
    const off = (addr >>> 0) - ((base & 0xfffff000) >>> 0);
    return off >= 0 && off < 0x1000 ? off : -1;
  }

  // The 8259A reaches CPU 0 only: through LINT0 in virtual-wire mode, or directly while the
  // local APIC is hardware-disabled.
  private picToCpu(): boolean {
    if (this.cpu !== 0) return false;
    return !this.apicEnabled || this.lapic.picRouted;
  }

  hasInterrupt(): boolean {
    if (this.attention & L.ATTN_NMI) return true;
    const l = this.lapic;
    if (this.apicEnabled && (l.deliverable() >= 0 || l.extIntPending)) return true;
    return this.picToCpu() && this.chip.picIntr();
  }

  // INTA from the core: the vector to deliver now, or -1
  intrAck(): number {
    const l = this.lapic;
    if (this.apicEnabled) {
      if (l.extIntPending) {
        l.extIntPending = false;
        return this.chip.picAck();
      }
      if (this.picToCpu() && this.chip.picIntr()) return this.chip.picAck();
      return l.ack();
    }
    return this.picToCpu() && this.chip.picIntr() ? this.chip.picAck() : -1;
  }

  // CPU power-on state plus what the chipset/firmware adds (APIC base MSR, APIC ID). An AP
  // waits for INIT/STARTUP; the BSP runs.
  powerOn(): void {
    const bsp = this.cpu === 0;
    this.core.ex.reset();
    this.core.set(L.S_APIC_BASE, LAPIC_BASE | APIC_BASE_ENABLE | (bsp ? APIC_BASE_BSP : 0));
    this.core.set(L.S_APIC_ID, this.cpu);
    this.lapic.reset(bsp);
    this.state = bsp ? CPU_RUNNING : CPU_WAIT_SIPI;
    this.clearAttention(~0);
  }

  // INIT (SDM vol. 3 9.4.4): the processor resets to its power-on state except for the APIC base
  // MSR (and so the BSP flag), the APIC ID and the TSC, then waits for a STARTUP IPI.
  init(): void {
    const base = this.core.get(L.S_APIC_BASE);
    const tsc0 = this.core.get(L.S_TSC_OFF), tsc1 = this.core.get(L.S_TSC_OFF + 4);
    const id = this.lapic.id;
    this.core.ex.reset();
    this.core.set(L.S_APIC_BASE, base);
    this.core.set(L.S_TSC_OFF, tsc0);
    this.core.set(L.S_TSC_OFF + 4, tsc1);
    this.core.set(L.S_APIC_ID, id);
    this.lapic.reset(false);
    this.lapic.regs[0x20 >> 2] = id << 24;
    this.state = CPU_WAIT_SIPI;
  }

  // STARTUP with vector v: real mode at v<<12 (CS = v<<8, IP = 0)
  startup(v: number): void {
    this.core.ex.setSeg(L.SEG_CS, v << 8, v << 12, 0xffff, 0x93);
    this.core.set(L.S_EIP, 0);
    this.core.set(L.S_HALTED, 0);
    this.core.ex.resyncFromState();
    this.state = CPU_RUNNING;
  }

  // Act on INIT/STARTUP/NMI attention bits (the APIC bus sets ATTN_STOP with them, so the core has
  // returned). Returns true if the CPU can run now.
  handleSignals(): boolean {
    const a = this.attention;
    if (a & L.ATTN_INIT) {
      this.clearAttention(L.ATTN_INIT);
      this.init();
    }
    if (a & L.ATTN_SIPI) {
      this.clearAttention(L.ATTN_SIPI);
      // STARTUP is ignored unless the CPU waits for it (a second SIPI of the MP protocol)
      if (this.state === CPU_WAIT_SIPI) this.startup(Atomics.load(this.lapic.regs, LX_SIPI >> 2) & 0xff);
    }
    if ((a & L.ATTN_NMI) && this.state === CPU_STOPPED) {
      // HLT with interrupts off ends on an NMI; the core delivers it (ATTN_NMI stays set)
      this.state = CPU_RUNNING;
    }
    return this.state === CPU_RUNNING;
  }

  // after the core left run() with HLT and interrupts off
  stopped(): void {
    this.state = CPU_STOPPED;
  }
}

export { CPU_RUNNING, CPU_STOPPED, CPU_WAIT_SIPI };
