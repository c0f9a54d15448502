// The block compiler's statistics (ring3 stats, --jit-stats): a file of its own so that a core
// whose compiler has not loaded yet (runtime/vcpu/core.ts PendingJit) can report zeros without
// loading the compiler's modules.
export interface JitStats {
  blocks: number;
  insns: number;
  inline: number;
  units: number; // blocks compiled as units of a region (the entry's included)
  failed: number;
  compileMs: number; // all of it: emitMs (decode and emit) + moduleMs (V8 compiles) + instanceMs
  emitMs: number;
  moduleMs: number;
  instanceMs: number;
  bytes: number; // wasm emitted
  flushes: number;
  background: number; // blocks compiled on the background compiler's thread (background.ts)
  packs: number; // modules of several blocks compiled together (jit.ts, jitOptions.batch)
  interpreted: number; // instructions the dispatch loop retired itself (mod 2^32)
  blockEntries: number; // compiled blocks entered from the dispatch loop (mod 2^32)
}

export function zeroJitStats(): JitStats {
  return {
    blocks: 0,
    insns: 0,
    inline: 0,
    units: 0,
    failed: 0,
    compileMs: 0,
    emitMs: 0,
    moduleMs: 0,
    instanceMs: 0,
    bytes: 0,
    flushes: 0,
    background: 0,
    packs: 0,
    interpreted: 0,
    blockEntries: 0,
  };
}
