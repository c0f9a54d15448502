// Host side of one vCPU: instantiates core.wasm over the machine's shared memory and runs it.
// Faults inside the core unwind with a wasm trap (see core-as/fault.ts); run() catches the trap,
// asks the core to deliver the pending exception, and goes on with the remaining budget.
import * as L from "../../core-as/layout.ts";
import type { Jit } from "../jit/jit.ts";
import { type JitStats, zeroJitStats } from "../jit/stats.ts";
import { hasSimd } from "./simd.ts";
import { asset, bundled, host } from "../platform/mod.ts";

export interface CoreImports {
  io_in(port: number, size: number): number;
  io_out(port: number, size: number, value: number): void;
  mmio_rd(addr: number, size: number): number;
  mmio_wr(addr: number, size: number, value: number): void;
  intr_ack(): number;
  clock_ns(): number;
}

export interface CoreExports {
  setup(cpu: number): void;
  reset(): void;
  resyncFromState(): void;
  setSeg(seg: number, sel: number, base: number, limit: number, attr: number): void;
  run(n: number): number;
  resume(): number;
  deliver(): number;
  stateBase(): number;
  retired(): bigint;
}

export class CoreError extends Error {}

// the core built without WebAssembly SIMD where the host's wasm lacks it (runtime/vcpu/simd.ts)
const coreFile = hasSimd() ? "core.wasm" : "core-nosimd.wasm";
const wasmUrl = asset(new URL(`../../build/${coreFile}`, import.meta.url), coreFile);
let modulePromise: Promise<WebAssembly.Module> | undefined;

// Compiles the core on first use when build/core.wasm is missing, so that plain `deno test` and
// `deno bench` work on a fresh clone too (the tasks build it as a dependency).
async function ensureBuilt(): Promise<void> {
  if (bundled) return; // the bundle has its core
  try {
    await host.stat(wasmUrl);
    return;
  } catch { /* not built yet */ }
  const build = new URL("../../core-as/build.ts", import.meta.url).pathname;
  const r = await new host.Command(host.execPath(), {
    args: ["run", "-A", build],
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  if (!r.success) throw new CoreError("building the CPU core failed (see the messages above)");
}

// The compiled core, compiled once per process. The first call starts the compile at once (the
// file read synchronously, V8 compiling on its own threads), so a caller that goes on with other
// work meanwhile (a restore reading the snapshot's RAM, runtime/control/vm.ts) has it sooner.
export function loadCoreModule(): Promise<WebAssembly.Module> {
  modulePromise ??= (async () => {
    let bytes: Uint8Array;
    try {
      bytes = host.readFileSync(wasmUrl);
    } catch {
      await ensureBuilt();
      try {
        bytes = await host.readFile(wasmUrl);
      } catch {
        throw new CoreError(`core not built: ${wasmUrl.pathname} is missing (run \`deno task build\`)`);
      }
    }
    return await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  })();
  return modulePromise;
}

// The block compiler's hotness threshold (visits of a block entry before it is compiled); 0 = the
// interpreter alone. RING3_JIT=off|N overrides the default (tests and A/B measurements).
export const JIT_DEFAULT = 3000;
export function jitThreshold(): number {
  const v = host.env.get("RING3_JIT");
  if (v === undefined || v === "") return JIT_DEFAULT;
  if (v === "off" || v === "0") return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new CoreError(`RING3_JIT must be off or a visit count >= 1, not ${JSON.stringify(v)}`);
  }
  return n;
}

// The machine's memory: control blocks, then guest RAM at RAM_BASE.
export function createMemory(ramBytes: number): WebAssembly.Memory {
  const pages = Math.ceil((L.RAM_BASE + ramBytes) / L.WASM_PAGE);
  if (pages > 65536) throw new CoreError(`guest memory too large: ${ramBytes} bytes`);
  const mem = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const dv = new DataView(mem.buffer);
  dv.setUint32(L.MACHINE + L.M_RAM_SIZE, ramBytes, true);
  dv.setUint32(L.MACHINE + L.M_A20, 1, true);
  dv.setUint32(L.MACHINE + L.M_JIT, jitThreshold(), true);
  return mem;
}

// The block compiler's modules (runtime/jit/, ~30 ms of a start's module loading) come in with a
// dynamic import: a restored machine starts running interpreted (lazyJit) and loads them when the
// first block is hot, meanwhile the guest runs on (or waits for its timer); everything else
// awaits them before its first instruction, as before.
type JitModule = typeof import("../jit/jit.ts");
let jitModule: JitModule | undefined;
let jitLoading: Promise<JitModule> | undefined;
export function loadJit(): Promise<JitModule> {
  return jitLoading ??= import("../jit/jit.ts").then((m) => (jitModule = m));
}

// A core's block compiler while its modules load: no block compiled yet (0 = "interpret it, and
// count its visits again", core-as/jit.ts), the first request starts the load, then the real
// compiler takes over the same function table (Jit's constructor hook).
class PendingJit {
  readonly table = new WebAssembly.Table({ element: "anyfunc", initial: 1 });
  ready: ((m: JitModule) => void) | null = null;
  background: boolean | null = null; // startBackground() asked for (with `always`)
  private asked = false;
  compile(_h: number, _lin: number): number {
    if (!this.asked) {
      this.asked = true;
      void loadJit().then((m) => this.ready?.(m));
    }
    return 0;
  }
  current(): JitStats {
    return zeroJitStats();
  }
  startBackground(always = false): void {
    this.background = always;
  }
  stopBackground(): void {
    this.background = null;
  }
  compiling(): boolean {
    return false;
  }
  backgroundReady(): Promise<void> {
    return Promise.resolve();
  }
}

export class Core {
  readonly ex: CoreExports;
  readonly base: number;
  readonly dv: DataView;
  readonly u32: Uint32Array;

  private constructor(
    readonly memory: WebAssembly.Memory,
    instance: WebAssembly.Instance,
    readonly cpu: number,
    public jit: Jit, // (a PendingJit until the block compiler's modules are loaded)
  ) {
    this.ex = instance.exports as unknown as CoreExports;
    this.ex.setup(cpu);
    this.base = this.ex.stateBase();
    this.dv = new DataView(memory.buffer);
    this.u32 = new Uint32Array(memory.buffer);
  }

  static async create(
    memory: WebAssembly.Memory,
    cpu: number,
    imports: CoreImports,
    lazyJit = false,
  ): Promise<Core> {
    return Core.fromModule(await loadCoreModule(), memory, cpu, imports, lazyJit);
  }

  // a vCPU worker gets the compiled module from the machine instead of compiling it again
  static async fromModule(
    mod: WebAssembly.Module,
    memory: WebAssembly.Memory,
    cpu: number,
    imports: CoreImports,
    lazyJit = false,
  ): Promise<Core> {
    if (!lazyJit) await loadJit();
    const pending = jitModule ? null : new PendingJit();
    const jit = jitModule ? new jitModule.Jit() : pending as unknown as Jit;
    let core: Core | undefined = undefined;
    const inst = await WebAssembly.instantiate(mod, {
      env: {
        memory,
        table: jit.table,
        abort() {
          throw new CoreError("core abort");
        },
        jit_compile: (h: number, lin: number) => core!.jit.compile(h, lin),
        ...imports,
      },
    });
    core = new Core(memory, inst, cpu, jit);
    if (pending) {
      pending.ready = (m) => {
        const real = new m.Jit(pending.table);
        real.bind(memory, inst.exports, core!.base);
        if (pending.background !== null) real.startBackground(pending.background);
        core!.jit = real;
      };
    } else jit.bind(memory, inst.exports, core.base);
    return core;
  }

  // Run up to n instructions; returns the core's EXIT_* reason.
  run(n: number): number {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0; // a trap is the normal way out for a fault: keep it cheap
    try {
      let first = true;
      for (;;) {
        try {
          return first ? this.ex.run(n) : this.ex.resume();
        } catch (e) {
          first = false;
          if (!(e instanceof WebAssembly.RuntimeError) || this.get(L.S_PEND_VEC) === 0xffffffff) {
            Error.stackTraceLimit = limit;
            throw new CoreError(`internal error in the CPU core at EIP=${this.eip.toString(16)}: ${e}`);
          }
          if (this.deliverPending() === L.EXIT_SHUTDOWN) return L.EXIT_SHUTDOWN;
        }
      }
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  // delivery itself may fault (and escalate to #DF / shutdown)
  private deliverPending(): number {
    for (;;) {
      try {
        return this.ex.deliver();
      } catch (e) {
        if (!(e instanceof WebAssembly.RuntimeError) || this.get(L.S_PEND_VEC) === 0xffffffff) throw e;
      }
    }
  }

  get(off: number): number {
    return this.dv.getUint32(this.base + off, true);
  }
  set(off: number, v: number): void {
    this.dv.setUint32(this.base + off, v >>> 0, true);
  }
  reg(r: number): number {
    return this.get(r * 4);
  }
  setReg(r: number, v: number): void {
    this.set(r * 4, v);
  }
  get eip(): number {
    return this.get(L.S_EIP);
  }
  set eip(v: number) {
    this.set(L.S_EIP, v);
  }
  get icount(): bigint {
    return this.ex.retired();
  }
}
