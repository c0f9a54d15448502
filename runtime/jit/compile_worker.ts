// The background compiler's thread (runtime/jit/background.ts): decodes and emits a block from
// the guest's shared memory, has V8 compile the module, and posts the module back to the vCPU's
// thread, which only instantiates it. Nothing here writes guest memory.
import * as L from "../../core-as/layout.ts";
import { compileBlock } from "./compile.ts";
import { opName, withName } from "./names.ts";
import type { Request, Result } from "./background.ts";
import { workerScope } from "../platform/mod.ts";

// the worker's global scope, as much of it as is used here (the file is checked with the window lib)
const scope = workerScope() as unknown as {
  onmessage: (e: MessageEvent) => void;
  postMessage(m: Result): void;
};

let mem8: Uint8Array | undefined;
let S = 0, pages = 0, names = false, dump = false;

scope.onmessage = (e: MessageEvent) => {
  if (e.data === "ping") return scope.postMessage({ ready: true } as unknown as Result);
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
    // The guest runs while this compiles. Only a page marked as code has its stores counted in
    // its generation (the mark is cleared by the first store after it): compile only from a
    // marked page, take its bytes before and after decoding, and give up when they moved; the
    // vCPU compares them with the page again when the block arrives (background.ts).
    const page = q.h & ~0xfff;
    if (mem8![L.CODEMAP + ((page - L.RAM_BASE) >>> 12)] === 0) throw new Retry();
    const before = mem8!.slice(page, page + 4096);
    const t0 = performance.now();
    // thunks on other pages are not inlined (tlb -1): their bytes are not checked on arrival
    const r = compileBlock(mem8!, q.h, q.lin, S, pages, q.prof, -1);
    const t1 = performance.now();
    if (!equal(before, mem8!.subarray(page, page + 4096))) throw new Retry();
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
      code: before,
    };
  } catch (err) {
    // Retry: the page is not (or no longer) marked as code, or changed while decoding; the entry
    // is asked for again when it is hot again
    out = { id: q.id, h: q.h, lin: q.lin, epoch: q.epoch, error: err instanceof Retry ? undefined : String(err) };
  }
  scope.postMessage(out);
};

class Retry extends Error {}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
