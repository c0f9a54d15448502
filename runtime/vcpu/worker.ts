// A vCPU thread. The machine posts the compiled core module, the shared memory and this CPU's
// number; the worker instantiates core.wasm over that memory and runs the CPU until the machine
// raises M_STOP. Its own local APIC (register page in shared memory) and APIC timer are served
// here; port I/O, other MMIO and 8259A acknowledge cycles go to the device thread through this
// CPU's mailbox. While the CPU halts (or waits for STARTUP) the thread sleeps in Atomics.wait on
// its attention word until another thread signals it or its APIC timer is due.
import * as L from "../../core-as/layout.ts";
import { Core } from "./core.ts";
import { type Clock, EpochClock, latestNs, StallAccount, StallWatch, TimerQueue } from "../clock.ts";
import { Lapic } from "../devices/lapic.ts";
import { ApicBus } from "./apicbus.ts";
import { coreImports, pitReader, pmTimerReader } from "./imports.ts";
import {
  EVENT_ERROR,
  EVENT_SHUTDOWN,
  EVENT_STOPPED,
  MailboxClient,
  OP_EOI,
  OP_EVENT,
  OP_IN,
  OP_MMIO_RD,
  OP_MMIO_WR,
  OP_OUT,
  OP_PIC_ACK,
} from "./mailbox.ts";
import { CPU_RUNNING, Vcpu } from "./smp.ts";
import { workerScope } from "../platform/mod.ts";

export interface WorkerStart {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  cpu: number;
  ncpu: number;
  epochMs: number;
  slice: number; // instructions per run() call; timers interrupt a slice through the attention word
  crowded: boolean; // more vCPU threads than host cores
}

export interface WorkerDone {
  cpu: number;
  error?: string;
}

const WAKE_BITS = L.ATTN_INIT | L.ATTN_SIPI | L.ATTN_NMI;
const PAUSE_YIELD_MS = 0.05;

async function start(msg: WorkerStart): Promise<void> {
  const { memory, cpu } = msg;
  const i32 = new Int32Array(memory.buffer);
  const stopIdx = (L.MACHINE + L.M_STOP) >> 2;
  const picIdx = (L.MACHINE + L.M_PIC_INTR) >> 2;
  const stallHide = StallAccount.enabledIn(memory.buffer, L.MACHINE + L.M_STALL);
  const clock = new EpochClock(
    msg.epochMs,
    stallHide ? new StallAccount(memory.buffer, L.MACHINE + L.M_STALL) : undefined,
  );
  const timers = new TimerQueue(clock);
  const mbox = new MailboxClient(memory, cpu);
  const bus = new ApicBus(memory, msg.ncpu);
  const regs = bus.pages[cpu];
  const lapic = new Lapic(regs, cpu, timers, {
    kick: () => Atomics.or(i32, bus.attnIndex(cpu), L.ATTN_IRQ),
    eoiBroadcast: (v) => mbox.call(OP_EOI, v),
    ipi: (from, m, shorthand) => bus.send(m, shorthand, from.cpu),
    dropLostTicks: msg.crowded,
  }, false);
  // deno-lint-ignore prefer-const -- assigned once the core exists; the imports above close over it
  let vcpu!: Vcpu;
  // the guest's clock reads (RDTSC, PM timer, 8254) on this thread hide the host's stalls
  const watch = new StallWatch(clock, () => vcpu.core.icount);
  const reads: Clock = { now: () => watch.read() };
  // before a device request: publish this vCPU's guest time (M_TSC_LAST), the time the device
  // thread gives a write (the 8254's loads), so the wait for the device thread, which the next
  // read hides, does not count in the device's favour
  const publish = latestNs(memory, reads, L.MACHINE + L.M_TSC_LAST);
  const core = await Core.fromModule(
    msg.module,
    memory,
    cpu,
    coreImports({
      vcpu: () => vcpu,
      io: {
        read: stallHide
          ? (port, size) => (publish(), mbox.call(OP_IN, port, size))
          : (port, size) => mbox.call(OP_IN, port, size),
        write: stallHide
          ? (port, size, value) => (publish(), void mbox.call(OP_OUT, port, size, value))
          : (port, size, value) => void mbox.call(OP_OUT, port, size, value),
      },
      mmio: {
        read: (addr, size) => mbox.call(OP_MMIO_RD, addr, size),
        write: (addr, size, value) => void mbox.call(OP_MMIO_WR, addr, size, value),
      },
      clock: reads,
      pmTimer: pmTimerReader(memory, reads),
      pit: pitReader(memory, reads),
    }),
  );
  vcpu = new Vcpu(core, lapic, bus, {
    picIntr: () => Atomics.load(i32, picIdx) !== 0,
    picAck: () => mbox.call(OP_PIC_ACK) | 0,
  });
  const attnIdx = bus.attnIndex(cpu);
  // A spin-wait's sleep. An interrupt ends it only if the vCPU can take one (IF=1): a vCPU
  // spinning on a lock taken with interrupts off was woken for nothing by IPIs and timer deadlines
  // (9 in 10 of the sleeps of a 64-vCPU boot ended so, measured with sleeps of up to 20 ms);
  // NMI, INIT and STARTUP always end it.
  const spinWait = (ms: number) => {
    const until = performance.now() + ms;
    for (;;) {
      const r = Atomics.wait(i32, attnIdx, vcpu.attention, ms);
      if (r === "timed-out" || (core.get(L.S_FLAGS) & L.F_IF) !== 0 || (vcpu.attention & WAKE_BITS)) return;
      ms = until - performance.now();
      if (ms <= 0 || Atomics.load(i32, stopIdx)) return;
    }
  };
  // the count goes on from what earlier workers (before a pause, a snapshot) published
  const icount0 = BigInt(core.get(L.S_ICOUNT_HI)) << 32n | BigInt(core.get(L.S_ICOUNT));

  for (;;) {
    if (Atomics.load(i32, stopIdx)) break;
    if (vcpu.attention & WAKE_BITS) vcpu.handleSignals();
    if (vcpu.state !== CPU_RUNNING) {
      // wait for INIT/STARTUP (or the end of the run)
      vcpu.clearAttention(L.ATTN_STOP | L.ATTN_IRQ);
      const w = vcpu.attention;
      if (!(w & WAKE_BITS) && !Atomics.load(i32, stopIdx)) Atomics.wait(i32, attnIdx, w, 1000);
      watch.rebase();
      continue;
    }
    timers.runDue();
    if (vcpu.halted) {
      // HLT: sleep until something is deliverable or the APIC timer is due. ATTN_IRQ is cleared
      // first so a signal arriving after the check changes the word and ends the wait.
      vcpu.clearAttention(L.ATTN_IRQ | L.ATTN_STOP);
      const w = vcpu.attention;
      if (!vcpu.hasInterrupt() && !(w & WAKE_BITS) && !Atomics.load(i32, stopIdx)) {
        const ms = (lapic.deadline - clock.now()) / 1e6;
        if (ms > 0) {
          const t = performance.now();
          Atomics.wait(i32, attnIdx, w, Math.min(ms, 1000));
          vcpu.addHaltedMs(performance.now() - t);
        }
        watch.rebase(); // (a halt lets time pass)
        continue;
      }
    }
    const exit = core.run(msg.slice);
    const n = core.icount + icount0;
    core.set(L.S_ICOUNT, Number(n & 0xffffffffn));
    core.set(L.S_ICOUNT_HI, Number(n >> 32n));
    if (exit === L.EXIT_SHUTDOWN) {
      mbox.call(OP_EVENT, EVENT_SHUTDOWN);
      vcpu.stopped();
    } else if (exit === L.EXIT_HLT_CLI) {
      vcpu.stopped();
      mbox.call(OP_EVENT, EVENT_STOPPED);
    } else if (exit === L.EXIT_PAUSE) {
      // a spin-wait (core-as/cpu.ts pause): give this host core to the other threads for a moment,
      // perhaps to the vCPU that holds the lock; an interrupt it can take ends it at once
      spinWait(PAUSE_YIELD_MS);
      watch.rebase();
    }
  }
}

// the worker global scope (Deno types `self` as a window)
const scope = workerScope() as unknown as {
  onmessage: (e: MessageEvent<WorkerStart>) => void;
  postMessage(m: WorkerDone): void;
};

scope.onmessage = async (e: MessageEvent<WorkerStart>) => {
  const cpu = e.data.cpu;
  try {
    await start(e.data);
    scope.postMessage({ cpu } satisfies WorkerDone);
  } catch (err) {
    try {
      new MailboxClient(e.data.memory, cpu).call(OP_EVENT, EVENT_ERROR);
    } catch { /* the machine learns it from the message below anyway */ }
    scope.postMessage({ cpu, error: String((err as Error)?.stack ?? err) } satisfies WorkerDone);
  }
};
