// One worker per vCPU; the machine's thread becomes the device thread (ARCHITECTURE.md, "SMP").
// The loop serves mailboxes, fires device timers and kicks vCPUs whose APIC timer is due. While
// requests keep coming it blocks in Atomics.wait on the doorbell (a wake costs microseconds) and
// takes an event-loop turn every few milliseconds for host I/O; once the vCPUs go quiet it waits
// with Atomics.waitAsync so host input is handled at once.
import * as L from "../../core-as/layout.ts";
import { loadCoreModule } from "./core.ts";
import {
  EVENT_ERROR,
  EVENT_SHUTDOWN,
  EVENT_STOPPED,
  MailboxServer,
  OP_EOI,
  OP_EVENT,
  OP_IN,
  OP_MMIO_RD,
  OP_MMIO_WR,
  OP_OUT,
  OP_PIC_ACK,
} from "./mailbox.ts";
import type { WorkerDone, WorkerStart } from "./worker.ts";
import type { EpochClock } from "../clock.ts";
import type { RunHost } from "./run_host.ts";
import { yieldToHost } from "./round_robin.ts";
import { hostCoreCount, newWorker, type WorkerLike } from "../platform/mod.ts";

const DEVICE_YIELD_MS = 4; // event-loop turn at least this often while vCPUs are busy
const DEVICE_BUSY_MS = 50; // ... and blocking waits for this long after the last device request
const WORKER_SLICE = 2_000_000;

export class DeviceThread {
  private mailboxes?: MailboxServer; // kept from run to run
  private workerError?: string;
  private readonly i32: Int32Array;

  constructor(private readonly h: RunHost) {
    this.i32 = new Int32Array(h.memory.buffer);
  }

  // Start the workers and serve them until the outcome is decided and every worker has left its
  // loop (a worker may still be blocked on a device request when the machine stops).
  async run(): Promise<void> {
    const h = this.h;
    const mod = await loadCoreModule();
    const stopIdx = (L.MACHINE + L.M_STOP) >> 2;
    Atomics.store(this.i32, stopIdx, 0);
    // fresh workers start with empty block tables: the entry hashes of earlier workers (a run
    // before a pause, a reset or a snapshot) point at table slots that are gone
    new Uint8Array(h.memory.buffer).fill(0, L.JIT_HASH, L.JIT_HASH + h.ncpu * L.JIT_HASH_STRIDE);
    this.workerError = undefined;
    const mb = this.mailboxes ??= new MailboxServer(h.memory, h.ncpu, {
      request: (cpu, op, a, b, c) => this.request(cpu, op, a, b, c),
    });
    h.setWake(() => mb.ring());
    const epochMs = (h.clock as EpochClock).epochMs;
    const cores = hostCoreCount();
    const crowded = cores > 0 && h.ncpu > cores;
    const workers: WorkerLike[] = [];
    let running = h.ncpu;
    const done = new Promise<void>((resolve) => {
      for (let cpu = 0; cpu < h.ncpu; cpu++) {
        const w = newWorker(new URL("./worker.ts", import.meta.url), "vcpu_worker");
        w.onmessage = (e: MessageEvent<WorkerDone>) => {
          if (e.data.error) {
            this.workerError ??= `vCPU ${e.data.cpu}: ${e.data.error}`;
            h.finish({ kind: "stopped" });
          }
          if (--running === 0) resolve();
          mb.ring();
        };
        w.onerror = (e) => {
          e.preventDefault();
          this.workerError ??= `vCPU ${cpu}: ${e.message}`;
          h.finish({ kind: "stopped" });
          if (--running === 0) resolve();
          mb.ring();
        };
        const start: WorkerStart = {
          module: mod,
          memory: h.memory,
          cpu,
          ncpu: h.ncpu,
          epochMs,
          slice: WORKER_SLICE,
          crowded,
        };
        w.postMessage(start);
        workers.push(w);
      }
    });
    const kicked = new Float64Array(h.ncpu).fill(-1);
    let lastYield = performance.now(), lastBusy = lastYield;
    while (running > 0) {
      const seen = mb.doorbell;
      const served = mb.serve();
      const now = h.clock.now();
      h.timers.runDue(now);
      // APIC timers: a running vCPU leaves its slice at its deadline (a halted one sleeps with a
      // timeout of its own)
      let next = h.timers.next();
      for (let c = 0; c < h.ncpu; c++) {
        const d = h.lapics[c].deadline;
        if (d <= now) {
          if (kicked[c] !== d) {
            kicked[c] = d;
            h.bus.signal(c, L.ATTN_STOP);
          }
        } else if (d < next) next = d;
      }
      const t = performance.now();
      if (served) lastBusy = t;
      if (h.done && Atomics.load(this.i32, stopIdx) === 0) {
        Atomics.store(this.i32, stopIdx, 1);
        for (let c = 0; c < h.ncpu; c++) h.bus.signal(c, L.ATTN_STOP);
      }
      if (served) continue;
      const waitMs = Math.max(0, Math.min((next - now) / 1e6, 1000));
      const hostWork = h.takeHostWork();
      if (!hostWork && t - lastBusy < DEVICE_BUSY_MS && t - lastYield < DEVICE_YIELD_MS) {
        mb.waitSync(seen, Math.min(waitMs, DEVICE_YIELD_MS - (t - lastYield)));
      } else {
        h.flushSerial();
        if (t - lastBusy < DEVICE_BUSY_MS) await yieldToHost();
        else await mb.waitAsync(seen, waitMs);
        lastYield = performance.now();
      }
    }
    await done;
    for (const w of workers) w.terminate();
    h.setWake(undefined);
    if (this.workerError) throw new Error(`ring3: ${this.workerError}`);
  }

  // a vCPU's mailbox request, served on this thread
  private request(cpu: number, op: number, a: number, b: number, c: number): number {
    const h = this.h;
    switch (op) {
      case OP_IN:
        return h.io.read(a, b);
      case OP_OUT:
        h.io.write(a, b, c);
        return 0;
      case OP_MMIO_RD:
        return h.mmio.read(a, b);
      case OP_MMIO_WR:
        h.mmio.write(a, b, c);
        return 0;
      case OP_PIC_ACK:
        return h.pic.ack();
      case OP_EOI:
        h.ioapic.eoi(a);
        return 0;
      case OP_EVENT:
        if (a === EVENT_SHUTDOWN) h.finish({ kind: "reset", reason: `triple fault on CPU ${cpu}` });
        else if (a === EVENT_STOPPED) h.noteStopped();
        else if (a === EVENT_ERROR) h.finish({ kind: "stopped" });
        return 0;
    }
    return 0;
  }
}
