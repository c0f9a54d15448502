// Synchronous device requests from a vCPU thread to the device thread, through one mailbox per
// vCPU in shared memory (layout.ts MBOX). The vCPU writes the request, marks it posted, bumps the
// machine's doorbell word and notifies it, then sleeps on its mailbox's state word until the
// device thread has written the reply. The device thread serves every posted mailbox each time
// it wakes, in CPU order; each vCPU has at most one request in flight (it is blocked on it), so
// requests from one vCPU are served in program order and none is ever lost or reordered.
import * as L from "../../core-as/layout.ts";

// mailbox words
const W_STATE = 0, W_OP = 1, W_A = 2, W_B = 3, W_C = 4, W_RESULT = 5;
const IDLE = 0, POSTED = 1, DONE = 2;

export const OP_IN = 1; // a = port, b = size -> value
export const OP_OUT = 2; // a = port, b = size, c = value
export const OP_MMIO_RD = 3; // a = address, b = size -> value
export const OP_MMIO_WR = 4; // a = address, b = size, c = value
export const OP_PIC_ACK = 5; // INTA cycle on the 8259A -> vector
export const OP_EOI = 6; // a = vector: EOI broadcast of a level-triggered vector to the IO-APIC
export const OP_EVENT = 7; // a = EVENT_*: the vCPU reports something the machine acts on
export const EVENT_SHUTDOWN = 1; // triple fault
export const EVENT_STOPPED = 2; // HLT with interrupts off
export const EVENT_ERROR = 3; // internal error in the core (the message is in the worker's log)

const SPIN = 2000; // polls before sleeping: a reply usually comes back within a few microseconds

export function mboxIndex(cpu: number): number {
  return (L.MBOX + cpu * L.MBOX_STRIDE) >> 2;
}
const DOORBELL = (L.MACHINE + L.M_DOORBELL) >> 2;

// vCPU side
export class MailboxClient {
  private readonly i32: Int32Array;
  private readonly base: number;
  calls = 0;

  constructor(memory: WebAssembly.Memory, cpu: number) {
    this.i32 = new Int32Array(memory.buffer);
    this.base = mboxIndex(cpu);
  }

  call(op: number, a = 0, b = 0, c = 0): number {
    const m = this.i32, s = this.base;
    m[s + W_OP] = op;
    m[s + W_A] = a;
    m[s + W_B] = b;
    m[s + W_C] = c;
    Atomics.store(m, s + W_STATE, POSTED); // publishes the fields above (seq-cst)
    Atomics.add(m, DOORBELL, 1);
    Atomics.notify(m, DOORBELL);
    this.calls++;
    let spins = SPIN;
    while (Atomics.load(m, s + W_STATE) === POSTED) {
      if (--spins < 0) Atomics.wait(m, s + W_STATE, POSTED, 1000);
    }
    const r = m[s + W_RESULT];
    Atomics.store(m, s + W_STATE, IDLE);
    return r >>> 0;
  }
}

export interface MailboxHandler {
  request(cpu: number, op: number, a: number, b: number, c: number): number;
}

// device side
export class MailboxServer {
  private readonly i32: Int32Array;
  served = 0;

  constructor(memory: WebAssembly.Memory, readonly ncpu: number, private readonly h: MailboxHandler) {
    this.i32 = new Int32Array(memory.buffer);
  }

  get doorbell(): number {
    return Atomics.load(this.i32, DOORBELL);
  }

  ring(): void {
    Atomics.add(this.i32, DOORBELL, 1);
    Atomics.notify(this.i32, DOORBELL);
  }

  // Block (up to ms) until the doorbell moves away from `seen`. Only for threads that may block.
  waitSync(seen: number, ms: number): void {
    if (ms > 0) Atomics.wait(this.i32, DOORBELL, seen, ms);
  }

  // Same without blocking the event loop (host I/O keeps flowing while the machine is idle).
  async waitAsync(seen: number, ms: number): Promise<void> {
    if (ms <= 0) return;
    const r = Atomics.waitAsync(this.i32, DOORBELL, seen, ms);
    if (r.async) await r.value;
  }

  // Serve every posted request; returns how many.
  serve(): number {
    const m = this.i32;
    let n = 0;
    for (let cpu = 0; cpu < this.ncpu; cpu++) {
      const s = mboxIndex(cpu);
      if (Atomics.load(m, s + W_STATE) !== POSTED) continue;
      m[s + W_RESULT] = this.h.request(cpu, m[s + W_OP], m[s + W_A] >>> 0, m[s + W_B], m[s + W_C] >>> 0);
      Atomics.store(m, s + W_STATE, DONE);
      Atomics.notify(m, s + W_STATE);
      n++;
    }
    this.served += n;
    return n;
  }
}
