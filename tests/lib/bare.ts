// A bare machine for tests: guest RAM, one core, no devices but a debug port. Loads flat images,
// starts the CPU in real mode or flat 32-bit protected mode, and runs until HLT, a triple fault
// or the instruction budget. Bytes written to port 0xE9 are collected as text output; a write to
// port 0xF4 (any width) ends the run with that exit code.
import { Core, createMemory } from "../../runtime/vcpu/core.ts";
import * as L from "../../core-as/layout.ts";
import { hostWroteRam } from "../../runtime/jit/hostwrite.ts";

export interface BareOptions {
  ramBytes?: number;
  io_in?: (port: number, size: number) => number;
  io_out?: (port: number, size: number, value: number) => void;
}

export interface BareResult {
  exit: "hlt" | "shutdown" | "budget" | "done" | "stop";
  code: number; // value written to port 0xF4 when exit == "done"
  out: string;
  icount: bigint;
}

export class Bare {
  core!: Core;
  memory!: WebAssembly.Memory;
  ram!: Uint8Array;
  out = "";
  private doneCode = -1;

  static async create(opts: BareOptions = {}): Promise<Bare> {
    const b = new Bare();
    const ramBytes = opts.ramBytes ?? 16 << 20;
    b.memory = createMemory(ramBytes);
    b.ram = new Uint8Array(b.memory.buffer, L.RAM_BASE, ramBytes);
    b.core = await Core.create(b.memory, 0, {
      io_in: (port, size) => opts.io_in ? opts.io_in(port, size) : (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff),
      io_out: (port, size, value) => {
        if (port === 0xe9) b.out += String.fromCharCode(value & 0xff);
        else if (port === 0xf4) b.doneCode = value >>> 0;
        else opts.io_out?.(port, size, value);
      },
      mmio_rd: (_a, size) => (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff),
      mmio_wr: () => {},
      intr_ack: () => -1,
      clock_ns: () => performance.now() * 1e6,
    });
    b.core.ex.reset();
    return b;
  }

  load(addr: number, bytes: Uint8Array): void {
    this.ram.set(bytes, addr);
    hostWroteRam(this.ram, addr, bytes.length);
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
    c.ex.setSeg(L.SEG_CS, 0x08, 0, 0xffffffff, 0xc09b);
    for (const s of [L.SEG_SS, L.SEG_DS, L.SEG_ES, L.SEG_FS, L.SEG_GS]) c.ex.setSeg(s, 0x10, 0, 0xffffffff, 0xc093);
    c.setReg(4, esp);
    c.eip = eip;
    c.ex.resyncFromState();
  }

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

// Assemble a nasm source (flat binary) to bytes. Throws with nasm's message on error.
export async function nasm(source: string, extra: string[] = []): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "ring3-nasm-" });
  try {
    await Deno.writeTextFile(`${dir}/t.asm`, source);
    const p = await new Deno.Command("nasm", { args: ["-f", "bin", "-o", `${dir}/t.bin`, ...extra, `${dir}/t.asm`], stderr: "piped" }).output();
    if (!p.success) throw new Error("nasm: " + new TextDecoder().decode(p.stderr));
    return await Deno.readFile(`${dir}/t.bin`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
