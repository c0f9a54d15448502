// The bare machine every CPU test suite builds on: guest RAM and one core (or one more core on
// another Bare's memory), no devices but a debug port. Loads flat images, reads and writes guest
// memory, starts the CPU in real mode or flat 32-bit protected mode, steps instructions with the
// fault reported instead of delivered, or runs until HLT, a triple fault or the instruction
// budget. Bytes written to port 0xE9 are collected as text output; a write to port 0xF4 (any
// width) ends the run with that exit code. Suites extend it (data/machine.ts, alu/vm.ts,
// x87/rig.ts) or set it up further (diff/lib/machine.ts, system/lib.ts, jit/lib.ts).
import { Core, createMemory } from "../../runtime/vcpu/core.ts";
import * as L from "../../core-as/layout.ts";
import { GuestRam } from "../../runtime/memory.ts";

export interface BareOptions {
  ramBytes?: number;
  memory?: WebAssembly.Memory; // another Bare's memory (same ramBytes): this core is CPU `cpu` on it
  cpu?: number;
  io_in?: (port: number, size: number) => number;
  io_out?: (port: number, size: number, value: number) => void;
  clock_ns?: () => number; // the host clock RDTSC reads (a fixed clock makes runs repeatable)
}

export interface BareResult {
  exit: "hlt" | "shutdown" | "budget" | "done" | "stop";
  code: number; // value written to port 0xF4 when exit == "done"
  out: string;
  icount: bigint;
}

// an exception the core raised and did not deliver: vector and error code
export interface Fault {
  vec: number;
  err: number;
}

const ones = (size: number) => size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;

export class Bare {
  core!: Core;
  memory!: WebAssembly.Memory;
  ram!: GuestRam;
  out = "";
  private doneCode = -1;
  private opts: BareOptions = {};

  // `new this()`: a subclass's create() gives that subclass
  static async create<T extends Bare>(this: new () => T, opts: BareOptions = {}): Promise<T> {
    const b = new this();
    b.opts = opts;
    const ramBytes = opts.ramBytes ?? 16 << 20;
    b.memory = opts.memory ?? createMemory(ramBytes);
    b.ram = GuestRam.ofMemory(b.memory, ramBytes);
    b.core = await Core.create(b.memory, opts.cpu ?? 0, {
      io_in: (port, size) => b.portIn(port, size),
      io_out: (port, size, value) => b.portOut(port, size, value),
      mmio_rd: (_a, size) => ones(size),
      mmio_wr: () => {},
      intr_ack: () => -1,
      clock_ns: opts.clock_ns ?? (() => performance.now() * 1e6),
    });
    b.core.ex.reset();
    return b;
  }

  // the core's port I/O (a subclass may take all of it, debug ports included)
  protected portIn(port: number, size: number): number {
    return this.opts.io_in ? this.opts.io_in(port, size) : ones(size);
  }
  protected portOut(port: number, size: number, value: number): void {
    if (port === 0xe9) this.out += String.fromCharCode(value & 0xff);
    else if (port === 0xf4) this.doneCode = value >>> 0;
    else this.opts.io_out?.(port, size, value);
  }

  load(addr: number, bytes: Uint8Array): void {
    if (!this.ram.write(addr, bytes)) throw new RangeError(`image 0x${addr.toString(16)}+${bytes.length} outside RAM`);
  }

  r8(a: number): number {
    return this.ram.readU8(a);
  }
  r16(a: number): number {
    return this.ram.readU16(a);
  }
  r32(a: number): number {
    return this.ram.readU32(a);
  }
  w8(a: number, v: number): void {
    this.ram.writeU8(a, v);
  }
  w16(a: number, v: number): void {
    this.ram.writeU16(a, v);
  }
  w32(a: number, v: number): void {
    this.ram.writeU32(a, v);
  }

  // eax ecx edx ebx esp ebp esi edi
  regs(): number[] {
    return [...Array(8)].map((_, i) => this.core.reg(i));
  }
  // EFLAGS with the lazily kept arithmetic flags computed
  flags(): number {
    return (this.core.ex as unknown as { getFlags(): number }).getFlags() >>> 0;
  }

  // flat 4 GiB code and data segments at `cpl` (DPLs match) with these selectors; CR0, EIP and the
  // rest are the caller's
  flatSegments(cpl = 0, codeSel = 0x08 | cpl, dataSel = 0x10 | cpl): void {
    const c = this.core, dpl = cpl << 5;
    c.ex.setSeg(L.SEG_CS, codeSel, 0, 0xffffffff, 0xc09b | dpl);
    for (const s of [L.SEG_SS, L.SEG_DS, L.SEG_ES, L.SEG_FS, L.SEG_GS]) {
      c.ex.setSeg(s, dataSel, 0, 0xffffffff, 0xc093 | dpl);
    }
    c.set(L.S_CPL, cpl);
  }

  // real mode at seg:off
  startReal(seg: number, off: number): void {
    this.core.ex.reset();
    this.core.set(L.S_ATTN, 0); // reset() leaves the attention word to the threads that share it
    this.core.ex.setSeg(L.SEG_CS, seg, seg << 4, 0xffff, 0x93);
    this.core.eip = off;
    this.core.ex.resyncFromState();
  }

  // flat 32-bit protected mode, ring 0, paging off, interrupts off
  startFlat32(eip: number, esp = 0x90000): void {
    const c = this.core;
    c.ex.reset();
    c.set(L.S_ATTN, 0);
    c.set(L.S_CR0, c.get(L.S_CR0) | L.CR0_PE | L.CR0_NE);
    this.flatSegments(0);
    c.setReg(4, esp);
    c.eip = eip;
    c.ex.resyncFromState();
  }

  // Execute up to n instructions. Returns null, or the fault the core raised: registers are then
  // exactly as the faulting instruction left them and EIP is not updated (it is the caller's
  // instruction address). A trap with no exception pending (a CoreError) is thrown.
  step(n = 1): Fault | null {
    try {
      this.core.ex.run(n);
      return null;
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      const vec = this.core.get(L.S_PEND_VEC) | 0;
      if (vec < 0) throw e;
      const err = this.core.get(L.S_PEND_ERR) | 0;
      this.core.set(L.S_PEND_VEC, 0xffffffff);
      return { vec, err };
    }
  }

  // Run until an exit (exceptions are delivered as the guest's tables say)
  run(budget = 10_000_000): BareResult {
    this.doneCode = -1;
    let left = budget;
    for (;;) {
      const before = this.core.icount;
      const r = this.core.run(Math.min(left, 1 << 20));
      left -= Number(this.core.icount - before);
      if (this.doneCode >= 0) return this.result("done");
      if (r === L.EXIT_HLT || r === L.EXIT_HLT_CLI) return this.result("hlt");
      if (r === L.EXIT_SHUTDOWN) return this.result("shutdown");
      if (r === L.EXIT_STOP) return this.result("stop");
      if (left <= 0) return this.result("budget");
    }
  }

  private result(exit: BareResult["exit"]): BareResult {
    return { exit, code: this.doneCode, out: this.out, icount: this.core.icount };
  }
}
