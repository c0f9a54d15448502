// What the vCPU run loops (round_robin.ts on the machine's thread, device_thread.ts with a worker
// per vCPU) need from the machine: its vCPUs and devices, its clock and timers, and the few
// decisions that stay with the machine (how a run ends, when host I/O is due).
import type { Clock, PacedClock, TimerQueue, VirtualClock } from "../clock.ts";
import type { IoBus, MmioBus } from "../bus.ts";
import type { DualPic } from "../devices/pic.ts";
import type { IoApic } from "../devices/ioapic.ts";
import type { Lapic } from "../devices/lapic.ts";
import type { ApicBus } from "./apicbus.ts";
import type { Vcpu } from "./smp.ts";

export type Outcome =
  | { kind: "poweroff" }
  | { kind: "reset"; reason: string }
  | { kind: "halt" } // every CPU stopped with interrupts disabled
  | { kind: "panic" } // the guest kernel reported a panic through pvpanic
  | { kind: "exit"; code: number } // the guest wrote its exit status to the debug-exit port
  | { kind: "stopped" }; // stop() was called

export interface RunHost {
  readonly memory: WebAssembly.Memory;
  readonly ncpu: number;
  readonly vcpus: Vcpu[];
  readonly lapics: Lapic[];
  readonly bus: ApicBus;
  readonly io: IoBus;
  readonly mmio: MmioBus;
  readonly pic: DualPic;
  readonly ioapic: IoApic;
  readonly timers: TimerQueue;
  readonly clock: Clock;
  readonly virtual?: VirtualClock; // set when `clock` is the virtual clock
  readonly paced?: PacedClock; // set when `clock` is the paced host clock
  readonly slice: number; // instructions per slice on the machine's thread
  readonly quantum: number; // ... per turn of one vCPU when several share it
  readonly yieldMs: number; // host event-loop turn at least this often while the CPUs compute
  readonly done: boolean; // the run's outcome is decided
  finish(o: Outcome): void;
  noteStopped(): void; // a vCPU stopped (HLT with interrupts off): maybe every one has
  takeHostWork(): boolean; // a device queued host I/O since the last call
  compiling(): boolean; // blocks are being compiled in the background (runtime/jit/background.ts)
  flushSerial(): void;
  // called by host input, timers of the host and worker messages to end a wait early
  setWake(wake: (() => void) | undefined): void;
}
