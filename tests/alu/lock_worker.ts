// Worker for the cross-thread LOCK test: one vCPU that runs a code block `reps` times.
import * as L from "../../core-as/layout.ts";
import { Core } from "../../runtime/vcpu/core.ts";

self.onmessage = async (e: MessageEvent) => {
  try {
    const { mem, cpu, entry, n, reps } = e.data as { mem: WebAssembly.Memory; cpu: number; entry: number; n: number; reps: number };
    const core = await Core.create(mem, cpu, {
      io_in: () => 0, io_out: () => {}, mmio_rd: () => 0, mmio_wr: () => {}, intr_ack: () => -1, clock_ns: () => 0,
    });
    const ex = core.ex;
    ex.reset();
    ex.setSeg(L.SEG_CS, 0x08, 0, 0xffffffff, 0xc09b);
    for (const s of [L.SEG_ES, L.SEG_SS, L.SEG_DS, L.SEG_FS, L.SEG_GS]) ex.setSeg(s, 0x10, 0, 0xffffffff, 0xc093);
    core.set(L.S_CR0, L.CR0_PE | L.CR0_ET);
    ex.resyncFromState();
    core.setReg(0, cpu ? 31 : 0);
    core.setReg(4, 0x7000);
    for (let i = 0; i < reps; i++) {
      core.eip = entry;
      const r = core.run(n);
      if (r !== L.EXIT_BUDGET) throw new Error(`run stopped: ${r}`);
    }
    self.postMessage("done");
  } catch (err) {
    self.postMessage(String(err));
  }
};
