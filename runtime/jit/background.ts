// Background compilation: a vCPU that runs on the machine's thread hands the blocks it finds hot
// to a compiler thread (compile_worker.ts) instead of compiling them itself, and goes on in the
// interpreter meanwhile. Decoding, emitting and V8's compile of the module (about 1 ms of host
// CPU per block, a quarter of a busy shell's time while its code warms up) then run on another
// host core; the vCPU only instantiates the module when it arrives (at the run loop's next turn
// of the host event loop) and puts it in its entry hash.
//
// Correctness does not depend on when a block arrives: a block is exact whenever it runs. The
// guest may store to the code while it is compiled, and only stores to a page marked as code
// bump its generation (the first one clears the mark), so the compiler thread compiles only from
// a marked page, reads its generation before its bytes (compile.ts `Compiled.gen`), takes the
// page's bytes before decoding and gives up when they differ after; on arrival the vCPU installs
// the block only while the page is marked, at that generation, and holds those same bytes (the
// vCPUs sharing this thread are not running then). PIC thunks on other pages are not inlined in
// the background (their bytes are not part of that check). Instruction counts stay exact, so
// `--icount`-style runs and the virtual clock are unaffected; only how soon code runs compiled
// varies with host timing. vCPU worker threads (`--smp` > 1 with threads) loop without turning
// their event loop and compile synchronously as before.
import { newWorker, type WorkerLike } from "../platform/mod.ts";

export interface Request {
  id: number;
  h: number; // host address of the entry
  lin: number; // its linear address
  tlb: number; // the TLB set in use (thunks on other pages)
  prof: number; // profile counter address, or -1
  epoch: number; // the Jit's flush epoch when asked
}

export interface Result {
  id: number;
  h: number;
  lin: number;
  epoch: number;
  error?: string;
  module?: WebAssembly.Module;
  gen?: number;
  insns?: number;
  inline?: number;
  units?: number;
  entries?: number[];
  size?: number;
  emitMs?: number;
  moduleMs?: number;
  stepped?: string[];
  last?: string;
  bytes?: Uint8Array; // RING3_JIT_DUMP
  code?: Uint8Array; // the entry's page as it was compiled from
}

// requests in flight at most: a burst of new code (boot, exec) queues no more than this; the
// entries past it are asked again when they are hot again
const MAX_PENDING = 64;

export class Background {
  private readonly worker: WorkerLike;
  private readonly pending = new Set<string>();
  private nextId = 1;
  private onReady?: () => void;
  // resolves once the compiler thread has loaded (tests wait for it; the machine does not)
  readonly ready: Promise<void>;
  constructor(
    memory: WebAssembly.Memory,
    S: number,
    pages: number,
    opts: { names: boolean; dump: boolean },
    onResult: (r: Result) => void,
  ) {
    this.worker = newWorker(new URL("./compile_worker.ts", import.meta.url), "compile_worker");
    this.worker.postMessage({ memory, S, pages, names: opts.names, dump: opts.dump });
    this.worker.postMessage("ping");
    this.ready = new Promise((r) => this.onReady = r);
    this.worker.onmessage = (e: MessageEvent<Result>) => {
      if ((e.data as { ready?: boolean }).ready) return this.onReady!();
      this.pending.delete(`${e.data.h}:${e.data.lin}`);
      onResult(e.data);
    };
    this.worker.onerror = (e) => {
      e.preventDefault();
      console.error(`ring3: background block compiler failed: ${e.message}`);
    };
  }

  get inFlight(): number {
    return this.pending.size;
  }
  // ask for the block at h/lin; false when it is asked already or too much is in flight
  request(h: number, lin: number, tlb: number, prof: number, epoch: number): boolean {
    const key = `${h}:${lin}`;
    if (this.pending.has(key) || this.pending.size >= MAX_PENDING) return false;
    this.pending.add(key);
    this.worker.postMessage({ id: this.nextId++, h, lin, tlb, prof, epoch } satisfies Request);
    return true;
  }

  close(): void {
    this.worker.terminate();
    this.pending.clear();
  }
}
