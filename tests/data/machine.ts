// A one-vCPU machine for instruction tests: flat 32-bit protected mode or 16-bit real mode,
// code assembled with nasm, port I/O logged, and a raw runner that reports a fault instead of
// delivering it (so the tests do not depend on protected-mode interrupt delivery).
import * as L from "../../core-as/layout.ts";
import { Core, createMemory } from "../../runtime/vcpu/core.ts";
import { hostWroteRam } from "../../runtime/jit/hostwrite.ts";

export const RAM = 8 << 20;

export function asm(src: string, bits: 16 | 32 = 32, org = 0): Uint8Array {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/a.asm`, `bits ${bits}\norg 0x${org.toString(16)}\n${src}\n`);
    const r = new Deno.Command("nasm", { args: ["-f", "bin", "-o", `${dir}/a.bin`, `${dir}/a.asm`] }).outputSync();
    if (!r.success) throw new Error("nasm: " + new TextDecoder().decode(r.stderr) + "\n" + src);
    return Deno.readFileSync(`${dir}/a.bin`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

export interface IoEvent {
  dir: "in" | "out";
  port: number;
  size: number;
  value: number;
}

export class Machine {
  io: IoEvent[] = [];
  ioIn: (port: number, size: number) => number = (port, size) =>
    (((port * 0x01010101) ^ 0x5a5a5a5a) >>> 0) & (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff);
  ram!: Uint8Array;
  dv!: DataView;
  core!: Core;

  static async create(): Promise<Machine> {
    const m = new Machine();
    const mem = createMemory(RAM);
    m.core = await Core.create(mem, 0, {
      io_in: (port, size) => {
        const v = m.ioIn(port, size);
        m.io.push({ dir: "in", port, size, value: v });
        return v;
      },
      io_out: (port, size, value) => {
        m.io.push({ dir: "out", port, size, value: value >>> 0 });
      },
      mmio_rd: () => 0xffffffff,
      mmio_wr: () => {},
      intr_ack: () => -1,
      clock_ns: () => 0,
    });
    m.ram = new Uint8Array(mem.buffer, L.RAM_BASE, RAM);
    m.dv = new DataView(mem.buffer, L.RAM_BASE, RAM);
    m.core.ex.reset();
    return m;
  }

  // flat 4 GiB code/data segments, CPL 0 (or `cpl` with matching DPLs)
  pm32(cpl = 0): this {
    const c = this.core, dpl = cpl << 5;
    c.ex.setSeg(L.SEG_CS, 0x08 | cpl, 0, 0xffffffff, 0xc09b | dpl);
    for (const s of [L.SEG_ES, L.SEG_SS, L.SEG_DS, L.SEG_FS, L.SEG_GS]) {
      c.ex.setSeg(s, 0x10 | cpl, 0, 0xffffffff, 0xc093 | dpl);
    }
    c.set(L.S_CR0, c.get(L.S_CR0) | L.CR0_PE);
    c.set(L.S_CPL, cpl);
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

  load(addr: number, bytes: Uint8Array): void {
    this.ram.set(bytes, addr);
    hostWroteRam(this.ram, addr, bytes.length);
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
  r8(a: number): number {
    return this.ram[a];
  }
  r16(a: number): number {
    return this.dv.getUint16(a, true);
  }
  r32(a: number): number {
    return this.dv.getUint32(a, true);
  }
  w8(a: number, v: number): void {
    this.ram[a] = v;
  }
  w16(a: number, v: number): void {
    this.dv.setUint16(a, v, true);
  }
  w32(a: number, v: number): void {
    this.dv.setUint32(a, v >>> 0, true);
  }

  // EFLAGS as stored when no lazy arithmetic result is pending (tests read computed flags with PUSHF)
  setFlags(v: number): void {
    this.core.set(L.S_FLAGS, v | 2);
    this.core.set(L.S_LF_OP, 0);
  }
  rawFlags(): number {
    return this.core.get(L.S_FLAGS);
  }

  // Execute up to n instructions. Returns null, or the fault the core raised: registers are then
  // exactly as the faulting instruction left them and EIP is not updated (it is the caller's
  // instruction address).
  step(n = 1): { vec: number; err: number } | null {
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
    this.ram.fill(0, pdBase, pdBase + 0x1000 + mb * 256 * 4);
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

// deterministic PRNG (mulberry32)
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
