// The background compiler's thread (runtime/jit/background.ts): decodes and emits a block from
// the guest's shared memory, has V8 compile the module, and posts the module back to the vCPU's
// thread, which only instantiates it. Nothing here writes guest memory.
import { compileBlock } from "./compile.ts";
import { opName, withName } from "./names.ts";
import type { Request, Result } from "./background.ts";

// the worker's global scope, as much of it as is used here (the file is checked with the window lib)
const scope = self as unknown as {
  onmessage: (e: MessageEvent) => void;
  postMessage(m: Result): void;
};

let mem8: Uint8Array | undefined;
let S = 0, pages = 0, names = false, dump = false;

scope.onmessage = (e: MessageEvent) => {
  const m = e.data;
  if (m.memory) {
    mem8 = new Uint8Array((m.memory as WebAssembly.Memory).buffer);
    S = m.S;
    pages = m.pages;
    names = m.names;
    dump = m.dump;
    return;
  }
  const q = m as Request;
  let out: Result;
  try {
    const t0 = performance.now();
    const r = compileBlock(mem8!, q.h, q.lin, S, pages, q.prof, q.tlb);
    const t1 = performance.now();
    const module = new WebAssembly.Module(names ? withName(r.bytes, `g${q.lin.toString(16)}`) : r.bytes);
    out = {
      id: q.id,
      h: q.h,
      lin: q.lin,
      epoch: q.epoch,
      module,
      gen: r.gen,
      insns: r.insns,
      inline: r.inline,
      units: r.units,
      entries: r.entries,
      size: r.bytes.length,
      emitMs: t1 - t0,
      moduleMs: performance.now() - t1,
      stepped: r.stepped.map(opName),
      last: opName(r.list[r.list.length - 1]),
      bytes: dump ? r.bytes : undefined,
    };
  } catch (err) {
    out = { id: q.id, h: q.h, lin: q.lin, epoch: q.epoch, error: String(err) };
  }
  scope.postMessage(out);
};
