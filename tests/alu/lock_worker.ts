// Worker for the cross-thread LOCK tests: one more vCPU on the test's memory, in flat ring 0, that
// runs a code block `reps` times for `n` instructions each, or (`limit` seconds given) runs it
// once until it halts with interrupts off.
import * as L from "../../core-as/layout.ts";
import { Bare } from "../lib/bare.ts";

// the worker global scope (Deno types `self` as a window)
const scope = self as unknown as {
  onmessage: ((ev: MessageEvent) => void) | null;
  postMessage(m: unknown): void;
};

scope.onmessage = async (e: MessageEvent) => {
  try {
    const { mem, ramBytes, cpu, entry, n, reps, limit } = e.data as {
      mem: WebAssembly.Memory;
      ramBytes: number;
      cpu: number;
      entry: number;
      n?: number;
      reps?: number;
      limit?: number;
    };
    const b = await Bare.create({ memory: mem, ramBytes, cpu });
    const core = b.core;
    b.flatSegments(0);
    core.set(L.S_CR0, L.CR0_PE | L.CR0_ET);
    core.ex.resyncFromState();
    core.setReg(0, cpu ? 31 : 0);
    core.setReg(4, 0x7000 + cpu * 0x100);
    if (limit !== undefined) {
      // a lost update of a spinlock word leaves it taken for ever: give up after a bound
      const end = Date.now() + limit * 1000;
      core.eip = entry;
      for (;;) {
        if (Date.now() > end) {
          throw new Error(`cpu ${cpu}: not finished after ${limit} s (a lock word lost an update?)`);
        }
        const r = core.run(1_000_000); // (a spin-wait's PAUSEs end a run early: go on)
        if (r === L.EXIT_HLT_CLI) break;
        if (r !== L.EXIT_BUDGET && r !== L.EXIT_PAUSE) throw new Error(`cpu ${cpu}: run stopped: ${r}`);
      }
    }
    for (let i = 0; i < (reps ?? 0); i++) {
      core.eip = entry;
      const r = core.run(n!);
      if (r !== L.EXIT_BUDGET) throw new Error(`run stopped: ${r}`);
    }
    scope.postMessage("done");
  } catch (err) {
    scope.postMessage(String(err));
  }
};
