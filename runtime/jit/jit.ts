// The block compiler's host side for one core instance: compiles a block when the interpreter
// finds it hot (core-as/jit.ts calls env.jit_compile), instantiates it over the shared memory
// and the core's exported helpers and globals, and puts it in the instance's function table.
import * as L from "../../core-as/layout.ts";
import { blockLength, compileBlock, type Compiled, jitOptions } from "./compile.ts";
import { Block } from "./block.ts";
import { opName, withName, withNames } from "./names.ts";
import { Background, type Result } from "./background.ts";
import { host } from "../platform/mod.ts";
import { type JitStats, zeroJitStats } from "./stats.ts";

export type { JitStats } from "./stats.ts";

const PROFILE_BASE = L.MACHINE + 0x4000; // RING3_JIT_PROFILE: one u32 execution counter per block
const PROFILE_SLOTS = 0x3000;

// how many thresholds of visits an entry of n instructions waits for (Jit.worthIt)
export function waitFactor(n: number): number {
  return Math.min(16, Math.max(1, Math.ceil(32 / n)));
}
const WAITS_MAX = 1 << 16;

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
  private profile = !!host.env.get("RING3_JIT_PROFILE");
  // RING3_JIT_NAMES=1: each block's function is named g<entry> (a wasm name section), so host
  // profilers (perf with --v8-flags=--perf-basic-prof, --cpu-prof) show which guest code is hot
  private names = !!host.env.get("RING3_JIT_NAMES");
  private dump = host.env.get("RING3_JIT_DUMP"); // a directory: each block's module as <entry>.wasm
  private profileInfo: { lin: number; stepped: string[]; n: number; last: string }[] = [];
  private report(): void {
    const dv = new DataView(this.mem8.buffer);
    const byOp = new Map<string, number>();
    const byLast = new Map<string, number>();
    let total = 0, steps = 0, user = 0, runs = 0;
    const blocks: [number, number, string][] = [];
    this.profileInfo.forEach((b, i) => {
      if (i >= PROFILE_SLOTS) return;
      const n = dv.getUint32(PROFILE_BASE + i * 4, true);
      total += n * b.n;
      runs += n;
      if (b.lin >>> 0 < 0xc0000000) user += n * b.n;
      for (const s of b.stepped) {
        byOp.set(s, (byOp.get(s) ?? 0) + n);
        steps += n;
      }
      byLast.set(b.last, (byLast.get(b.last) ?? 0) + n);
      blocks.push([n, b.lin, `${b.n} insns, stepped ${b.stepped.join(" ")}`]);
    });
    const top = (m: Map<string, number>) =>
      [...m].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${k}:${v}`).join(" ");
    console.error(
      `jit profile: ${runs} block runs, ${total} instructions in blocks if each ran to its end (${user} below ` +
        `0xc0000000), ${steps} through the interpreter`,
    );
    console.error(`stepped: ${top(byOp)}`);
    console.error(`block ends: ${top(byLast)}`);
    blocks.sort((a, b) => b[0] - a[0]);
    for (const [n, lin, d] of blocks.slice(0, +(host.env.get("RING3_JIT_PROFILE_TOP") ?? 30))) {
      console.error(`  ${n} x ${lin.toString(16)}: ${d}`);
    }
  }
  readonly stats: JitStats = zeroJitStats();

  private counters?: { interp: WebAssembly.Global; entries: WebAssembly.Global };
  // the statistics with the core's counters read now
  current(): JitStats {
    if (this.counters) {
      this.stats.interpreted = this.counters.interp.value >>> 0;
      this.stats.blockEntries = this.counters.entries.value >>> 0;
    }
    return { ...this.stats };
  }

  // (`table`: the one a core was instantiated with before this module was loaded, vcpu/core.ts)
  constructor(table?: WebAssembly.Table) {
    this.table = table ?? new WebAssembly.Table({ element: "anyfunc", initial: 1 });
    if (this.profile) {
      host.onExit(() => this.report());
    }
    if (host.env.get("RING3_JIT_STATS")) {
      host.onExit(
        () => console.error(`jit: ${JSON.stringify(this.current())}`),
      );
    }
  }

  // after the core instance exists: its exports are what the blocks import
  bind(memory: WebAssembly.Memory, exports: WebAssembly.Exports, stateBase: number): void {
    this.mem8 = new Uint8Array(memory.buffer);
    this.S = stateBase;
    this.pages = memory.buffer.byteLength / L.WASM_PAGE;
    this.base = this.next = this.table.length;
    const env: Record<string, unknown> = { memory, table: this.table };
    for (const n of ["ip", "ip0", "budget", "head", "TLB"]) env[n] = exports[n];
    if (exports.interpRetired instanceof WebAssembly.Global && exports.blockEntries instanceof WebAssembly.Global) {
      this.counters = { interp: exports.interpRetired, entries: exports.blockEntries };
    }
    for (
      const n of [
        "jitStep",
        "jitRd8",
        "jitRd16",
        "jitRd32",
        "jitWr8",
        "jitWr16",
        "jitWr32",
        "jitRdW",
        "jitCond",
        "jitSetCO",
        "jitSetCF",
        "jitSegLin",
        "jitFlags",
      ]
    ) {
      env[n] = exports[n];
    }
    this.env = env;
  }

  // Background compilation (background.ts) for a vCPU on the machine's thread: from
  // startBackground() to stopBackground() (Machine.run), when RING3_JIT_BACKGROUND=1.
  private bg?: Background;
  private epoch = 0; // bumped by flush(): a block asked for before it is dropped when it arrives
  // Off unless RING3_JIT_BACKGROUND=1 (or `always`, the tests): measured on a quiet machine it
  // lost in wall time (ARCHITECTURE.md, "Compiling in the background").
  startBackground(always = false): void {
    if (this.bg || !this.env || !(always || host.env.get("RING3_JIT_BACKGROUND") === "1")) return;
    this.bg = new Background(
      this.env.memory as WebAssembly.Memory,
      this.S,
      this.pages,
      { names: this.names, dump: !!this.dump },
      (r) => this.arrived(r),
    );
  }
  // background compiles in flight
  compiling(): boolean {
    return (this.bg?.inFlight ?? 0) > 0;
  }
  // resolves when the compiler thread is up (at once when there is none)
  backgroundReady(): Promise<void> {
    return this.bg?.ready ?? Promise.resolve();
  }
  stopBackground(): void {
    this.bg?.close();
    this.bg = undefined;
  }

  // env.jit_compile: table index of the compiled block at host address h, or 0 (also while a
  // background compile of it is under way: the interpreter goes on, the entry hash gets the block
  // when it arrives)
  compile(h: number, lin: number): number {
    if (!this.env) return 0;
    const tlb = (this.env.TLB as WebAssembly.Global | undefined)?.value ?? -1;
    if (!this.worthIt(h, lin, tlb)) return 0;
    if (this.bg) {
      const slot = this.profile ? PROFILE_BASE + (this.profileInfo.length % PROFILE_SLOTS) * 4 : -1;
      if (this.bg.request(h, lin >>> 0, tlb, slot, this.epoch) && this.profile) {
        this.profileInfo.push({ lin: lin >>> 0, stepped: [], n: 0, last: "" });
      }
      return 0;
    }
    const hot = new DataView(this.mem8.buffer).getUint32(L.MACHINE + L.M_JIT, true);
    if (jitOptions.batch > 1 && hot >= 100 && !jitOptions.regions) return this.batched(h, lin >>> 0, tlb);
    const t0 = performance.now();
    let r;
    try {
      r = this.decodeAndEmit(h, lin >>> 0, tlb);
    } catch (e) {
      return this.failed(lin, e);
    }
    const t1 = performance.now();
    let mod: WebAssembly.Module;
    try {
      mod = new WebAssembly.Module(this.names ? withName(r.bytes, `g${(lin >>> 0).toString(16)}`) : r.bytes);
    } catch (e) {
      return this.failed(lin, e);
    }
    this.stats.emitMs += t1 - t0;
    this.stats.moduleMs += performance.now() - t1;
    const idx = this.install(h, lin, mod, r.entries ?? [lin], r.gen, r);
    if (this.dump) host.writeFileSync(`${this.dump}/${(lin >>> 0).toString(16)}.wasm`, r.bytes);
    this.stats.compileMs += performance.now() - t0;
    return idx;
  }

  private decodeAndEmit(h: number, lin: number, tlb: number): Compiled {
    const prof = this.profile ? PROFILE_BASE + (this.profileInfo.length % PROFILE_SLOTS) * 4 : -1;
    const r = compileBlock(this.mem8, h, lin, this.S, this.pages, prof, tlb);
    if (this.profile) {
      this.profileInfo.push({
        lin,
        stepped: r.stepped.map(opName),
        n: r.insns,
        last: opName(r.list[r.list.length - 1]),
      });
    }
    return r;
  }

  // Blocks share modules (ARCHITECTURE.md, "Blocks share modules"). Each block alone in a module
  // of its own costs a V8 module, instance and code space per block, and a transition between
  // blocks far apart in the host's memory costs more the more blocks there are (a ring of 1024
  // blocks: 165 ns a transition; 16: 20 ns). So an entry that gets hot waits (interpreted) until
  // jitOptions.batch entries are waiting, or until it gets hot a second time, and then all of
  // them are compiled into one module. A waiting entry keeps the generation its page had when
  // jitEnter marked the page as code for it; one whose page was written since (or no longer
  // marked) is dropped, to be asked for again when hot again.
  // (tlb: the TLB set in use when it was asked for, which finds its thunks on other pages)
  private pending: { h: number; lin: number; gen: number; tlb: number }[] = [];
  private batched(h: number, lin: number, tlb: number): number {
    const dv = new DataView(this.mem8.buffer);
    const genOf = (x: number) => dv.getUint32(L.PAGEGEN + ((x - L.RAM_BASE) >>> 12) * 4, true);
    const again = this.pending.some((p) => p.h === h && p.lin === lin);
    if (!again) {
      this.pending.push({ h, lin, gen: genOf(h), tlb });
      if (this.pending.length < jitOptions.batch) return 0;
    }
    const waiting = this.pending;
    this.pending = [];
    const t0 = performance.now();
    const done: { h: number; lin: number; r: Compiled }[] = [];
    for (const p of waiting) {
      const current = p.h === h && p.lin === lin;
      if (!current && (this.mem8[L.CODEMAP + ((p.h - L.RAM_BASE) >>> 12)] === 0 || genOf(p.h) !== p.gen)) continue;
      try {
        const r = this.decodeAndEmit(p.h, p.lin, p.tlb);
        if (r.fn) done.push({ h: p.h, lin: p.lin, r });
        else if (current) throw new Error("a region in a batch"); // (regions are compiled alone)
      } catch (e) {
        this.failed(p.lin, e);
      }
    }
    if (done.length === 0) return 0;
    const t1 = performance.now();
    let mod: WebAssembly.Module;
    const bytes = Block.buildPack(done.map((d) => d.r.fn!), this.pages);
    try {
      mod = new WebAssembly.Module(
        this.names ? withNames(bytes, done.map((d) => `g${d.lin.toString(16)}`)) : bytes,
      );
    } catch (e) {
      return this.failed(lin, e);
    }
    this.stats.emitMs += t1 - t0;
    this.stats.moduleMs += performance.now() - t1;
    const inst = this.instantiate(mod, lin);
    if (!inst) return 0;
    if (this.next + done.length >= this.base + TABLE_MAX) this.flush();
    this.stats.bytes += bytes.length;
    this.stats.packs++;
    this.entered = [];
    let idx = 0;
    done.forEach((d, k) => {
      const i = this.slot();
      this.table.set(i, inst.exports[`p${k}`] as () => void);
      this.stats.blocks++;
      this.stats.insns += d.r.insns;
      this.stats.inline += d.r.inline;
      this.stats.units += d.r.units;
      if (this.dump) host.writeFileSync(`${this.dump}/${d.lin.toString(16)}.wasm`, d.r.bytes);
      // the entry asked for now goes into the hash in jitEnter; the others here
      if (d.h === h && d.lin === lin) idx = i;
      else {
        this.put(d.h, d.lin, i, d.r.gen);
        this.entered.push([i, d.lin]);
      }
    });
    this.stats.compileMs += performance.now() - t0;
    return idx;
  }

  private instantiate(mod: WebAssembly.Module, lin: number): WebAssembly.Instance | null {
    const t0 = performance.now();
    try {
      return new WebAssembly.Instance(mod, { env: this.env as WebAssembly.ModuleImports });
    } catch (e) {
      this.failed(lin, e);
      return null;
    } finally {
      this.stats.instanceMs += performance.now() - t0;
    }
  }
  // the next table slot, the table grown when full
  private slot(): number {
    const i = this.next++;
    if (i >= this.table.length) this.table.grow(Math.max(256, this.table.length >> 1));
    return i;
  }

  // instantiate a compiled module and give its entries table slots; the entry's index (0: failed)
  private install(
    h: number,
    lin: number,
    mod: WebAssembly.Module,
    entries: number[],
    gen: number,
    r: { insns: number; inline: number; units: number; bytes?: Uint8Array; size?: number },
  ): number {
    const inst = this.instantiate(mod, lin);
    if (!inst) return 0;
    this.stats.bytes += r.size ?? r.bytes?.length ?? 0;
    const units = entries.length;
    if (this.next + units >= this.base + TABLE_MAX) this.flush();
    const idx = this.slot();
    this.table.set(idx, inst.exports.b as () => void);
    this.entered = [];
    if (units > 1) this.addEntries(h, entries, inst, gen);
    this.stats.blocks++;
    if (host.env.get("RING3_JIT_TRACE")) {
      console.error(`jit: block ${(lin >>> 0).toString(16)} ${r.insns} insns, ${r.inline} inline`);
    }
    this.stats.insns += r.insns;
    this.stats.inline += r.inline;
    this.stats.units += r.units;
    return idx;
  }

  // a block from the background compiler: installed, and put in the entry hash as jitEnter
  // (core-as/jit.ts) would have (a free way of its pair, else the older entry goes), unless the
  // cache was flushed or its page written since it was asked for
  private arrived(r: Result): void {
    if (r.epoch !== this.epoch || !this.bg) return;
    if (r.error !== undefined) {
      this.failed(r.lin, r.error);
      return;
    }
    if (!r.module) return; // asked again when hot again (compile_worker.ts Retry)
    // still the code it was compiled from, on a page whose stores are counted (background.ts)
    const dv = new DataView(this.mem8.buffer);
    const pg = (r.h - L.RAM_BASE) >>> 12, page = r.h & ~0xfff;
    if (this.mem8[L.CODEMAP + pg] === 0 || dv.getUint32(L.PAGEGEN + pg * 4, true) !== r.gen) return;
    const now = this.mem8.subarray(page, page + 4096);
    for (let i = 0; i < 4096; i++) if (now[i] !== r.code![i]) return;
    const t0 = performance.now();
    const idx = this.install(r.h, r.lin, r.module, r.entries ?? [r.lin], r.gen!, {
      insns: r.insns!,
      inline: r.inline!,
      units: r.units!,
      size: r.size,
    });
    if (idx === 0) return;
    this.stats.background++;
    this.stats.emitMs += r.emitMs!;
    this.stats.moduleMs += r.moduleMs!;
    this.stats.compileMs += r.emitMs! + r.moduleMs! + performance.now() - t0;
    if (this.profile) {
      const p = this.profileInfo.find((x) => x.lin === r.lin && x.n === 0);
      if (p) Object.assign(p, { stepped: r.stepped!, n: r.insns!, last: r.last! });
    }
    if (this.dump && r.bytes) host.writeFileSync(`${this.dump}/${r.lin.toString(16)}.wasm`, r.bytes);
    this.put(r.h, r.lin, idx, r.gen!);
  }

  // put block idx (entry h, lin; page generation gen) in this vCPU's entry hash as jitEnter
  // (core-as/jit.ts) would: a free way of its pair or the one that holds the entry, else the older
  // entry goes
  private put(h: number, lin: number, idx: number, gen: number): void {
    const dv = new DataView(this.mem8.buffer);
    const s0 = this.pair(h);
    const s1 = s0 + 16;
    let to = s0;
    if (dv.getUint32(s0 + 4, true) !== 0 && !(dv.getUint32(s0, true) === h && dv.getUint32(s0 + 12, true) === lin)) {
      if (dv.getUint32(s1 + 4, true) === 0 || (dv.getUint32(s1, true) === h && dv.getUint32(s1 + 12, true) === lin)) {
        to = s1;
      } else this.mem8.copyWithin(s1, s0, s0 + 16);
    }
    dv.setUint32(to, h, true);
    dv.setUint32(to + 4, idx, true);
    dv.setUint32(to + 8, gen, true);
    dv.setUint32(to + 12, lin, true);
  }

  // the first slot of the entry hash pair of host address h (core-as/jit.ts hashPair)
  private pair(h: number): number {
    const cpu = new DataView(this.mem8.buffer).getUint32(this.S + L.S_CPU_INDEX, true);
    const jh = L.JIT_HASH + cpu * L.JIT_HASH_STRIDE;
    return jh + ((Math.imul(h, 0x9e3779b1) >>> 20) & (L.JIT_ENTRIES / 2 - 1)) * 32;
  }

  // The other units of a region are entries of its module too ("e<k>"): each goes into this vCPU's
  // entry hash (core-as/jit.ts jitEnter's layout: host address, table index, page generation,
  // linear address) where a way of its pair is free or holds that address, with the generation
  // the region was compiled at (the page's now: compiling is synchronous).
  entered: [number, number][] = []; // [table index, linear address] of the last region's units
  private addEntries(h: number, lins: number[], inst: WebAssembly.Instance, gen: number): void {
    const dv = new DataView(this.mem8.buffer);
    for (let k = 1; k < lins.length; k++) {
      const at = lins[k] >>> 0;
      const hk = ((h & ~0xfff) + (at & 0xfff)) >>> 0;
      const s0 = this.pair(hk);
      let slot = -1;
      for (const s of [s0, s0 + 16]) {
        if (dv.getUint32(s, true) === hk && dv.getUint32(s + 12, true) === at) slot = s;
      }
      for (const s of [s0, s0 + 16]) if (slot < 0 && dv.getUint32(s + 4, true) === 0) slot = s;
      if (slot < 0) continue;
      const idx = this.slot();
      this.table.set(idx, inst.exports[`e${k}`] as () => void);
      dv.setUint32(slot, hk, true);
      dv.setUint32(slot + 4, idx, true);
      dv.setUint32(slot + 8, gen, true);
      dv.setUint32(slot + 12, at, true);
      this.entered.push([idx, at]);
    }
  }

  // A bug in the block compiler must not take the guest down: the code stays with the interpreter,
  // which runs it correctly, and the first few failures are reported. RING3_JIT_STRICT=1 (the
  // tests) makes it an error instead.
  private failures = 0;
  strict = host.env.get("RING3_JIT_STRICT") === "1";
  private failed(lin: number, e: unknown): number {
    const msg = `block compiler failed at ${(lin >>> 0).toString(16)}: ${e}`;
    if (this.strict) throw new Error(msg);
    this.stats.failed++;
    if (this.failures++ < 3) console.error(`ring3: ${msg}; that code stays with the interpreter`);
    return 0;
  }

  // Short blocks wait longer. A compiled block saves the interpreter's cost per instruction on
  // each run, pays a fixed cost on each entry (the transition from the block before) and costs
  // about a millisecond of host CPU to compile (ARCHITECTURE.md, "Short blocks wait"), so an
  // entry of n instructions is compiled after threshold x waitFactor(n) visits: at the threshold
  // from 32 instructions up, up to 16 times later for one or two. The core calls at every
  // threshold visits (core-as/jit.ts); 0 back means "count again". Thresholds below 100 (the
  // tests' "compile at the first visit") compile at the threshold whatever the length, and so
  // does everything with jitOptions.waitShort off (the tests' bare machines, tests/jit/lib.ts).
  private waits = new Map<number, number>(); // entry (host address) -> thresholds counted so far
  private worthIt(h: number, lin: number, tlb: number): boolean {
    const hot = new DataView(this.mem8.buffer).getUint32(L.MACHINE + L.M_JIT, true);
    if (hot < 100 || !jitOptions.waitShort) return true;
    let n: number;
    try {
      n = blockLength(this.mem8, h, lin >>> 0, tlb);
    } catch {
      return true; // (compile() reports what the decoder does not take)
    }
    const seen = (this.waits.get(h) ?? 0) + 1;
    if (seen < waitFactor(n)) {
      if (this.waits.size >= WAITS_MAX) this.waits.clear(); // (only delays: starts the counts again)
      this.waits.set(h, seen);
      return false;
    }
    this.waits.delete(h);
    return true;
  }

  // forget every compiled block of this vCPU (its hash slots point at table indices we reuse)
  private flush(): void {
    const cpu = new DataView(this.mem8.buffer).getUint32(this.S + L.S_CPU_INDEX, true);
    this.mem8.fill(0, L.JIT_HASH + cpu * L.JIT_HASH_STRIDE, L.JIT_HASH + (cpu + 1) * L.JIT_HASH_STRIDE);
    this.next = this.base;
    this.pending = [];
    this.epoch++;
    this.stats.flushes++;
  }
}
