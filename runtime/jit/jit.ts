// The block compiler's host side for one core instance: compiles a block when the interpreter
// finds it hot (core-as/jit.ts calls env.jit_compile), instantiates it over the shared memory
// and the core's exported helpers and globals, and puts it in the instance's function table.
import * as L from "../../core-as/layout.ts";
import { compileBlock } from "./compile.ts";

export interface JitStats {
  blocks: number;
  insns: number;
  inline: number;
  failed: number;
  compileMs: number;
  flushes: number;
}

// table slots for compiled blocks; past this many the cache starts over
const TABLE_MAX = 32768;

export class Jit {
  readonly table: WebAssembly.Table;
  private env: Record<string, unknown> | null = null;
  private mem8!: Uint8Array;
  private S = 0;
  private pages = 0;
  private next = 1;
  private base = 1;
  readonly stats: JitStats = { blocks: 0, insns: 0, inline: 0, failed: 0, compileMs: 0, flushes: 0 };

  constructor() {
    this.table = new WebAssembly.Table({ element: "anyfunc", initial: 1 });
  }

  // after the core instance exists: its exports are what the blocks import
  bind(memory: WebAssembly.Memory, exports: WebAssembly.Exports, stateBase: number): void {
    this.mem8 = new Uint8Array(memory.buffer);
    this.S = stateBase;
    this.pages = memory.buffer.byteLength / L.WASM_PAGE;
    this.base = this.next = this.table.length;
    const env: Record<string, unknown> = { memory };
    for (const n of ["ip", "ip0", "budget", "head", "TLB"]) env[n] = exports[n];
    for (const n of ["jitStep", "jitRd8", "jitRd16", "jitRd32", "jitWr8", "jitWr16", "jitWr32", "jitRdW", "jitCond"]) {
      env[n] = exports[n];
    }
    this.env = env;
  }

  // env.jit_compile: table index of the compiled block at host address h, or 0
  compile(h: number, lin: number): number {
    if (!this.env) return 0;
    const t0 = performance.now();
    let r;
    try {
      r = compileBlock(this.mem8, h, lin >>> 0, this.S, this.pages);
    } catch (e) {
      throw new Error(`block compiler failed at ${(lin >>> 0).toString(16)}: ${e}`);
    }
    if (!r) {
      this.stats.failed++;
      return 0;
    }
    const inst = new WebAssembly.Instance(new WebAssembly.Module(r.bytes), { env: this.env as WebAssembly.ModuleImports });
    if (this.next >= this.base + TABLE_MAX) this.flush();
    const idx = this.next++;
    if (idx >= this.table.length) this.table.grow(Math.max(256, this.table.length >> 1));
    this.table.set(idx, inst.exports.b as () => void);
    this.stats.blocks++;
    this.stats.insns += r.insns;
    this.stats.inline += r.inline;
    this.stats.compileMs += performance.now() - t0;
    return idx;
  }

  // forget every compiled block of this vCPU (its hash slots point at table indices we reuse)
  private flush(): void {
    const cpu = new DataView(this.mem8.buffer).getUint32(this.S + L.S_CPU_INDEX, true);
    this.mem8.fill(0, L.JIT_HASH + cpu * L.JIT_HASH_STRIDE, L.JIT_HASH + (cpu + 1) * L.JIT_HASH_STRIDE);
    this.next = this.base;
    this.stats.flushes++;
  }
}
