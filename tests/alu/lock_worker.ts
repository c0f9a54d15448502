// Worker for the cross-thread LOCK test: one more vCPU on the test's memory, in flat ring 0, that
// runs a code block `reps` times.
import * as L from "../../core-as/layout.ts";
import { Bare } from "../lib/bare.ts";

// the worker global scope (Deno types `self` as a window)
const scope = self as unknown as {
  onmessage: ((ev: MessageEvent) => void) | null;
  postMessage(m: unknown): void;
};

scope.onmessage = async (e: MessageEvent) => {
  try {
    const { mem, ramBytes, cpu, entry, n, reps } = e.data as {
      mem: WebAssembly.Memory;
      ramBytes: number;
      cpu: number;
      entry: number;
      n: number;
      reps: number;
    };
    const b = await Bare.create({ memory: mem, ramBytes, cpu });
    const core = b.core;
    b.flatSegments(0);
    core.set(L.S_CR0, L.CR0_PE | L.CR0_ET);
    core.ex.resyncFromState();
    core.setReg(0, cpu ? 31 : 0);
    core.setReg(4, 0x7000);
    for (let i = 0; i < reps; i++) {
      core.eip = entry;
      const r = core.run(n);
      if (r !== L.EXIT_BUDGET) throw new Error(`run stopped: ${r}`);
    }
    scope.postMessage("done");
  } catch (err) {
    scope.postMessage(String(err));
  }
};
