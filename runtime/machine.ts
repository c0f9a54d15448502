// The PC: guest memory, the vCPU 0 core, the device models on their buses, the interrupt
// wiring, the firmware tables, and the run loop. The loop runs the core for a slice of
// instructions, fires due device timers, and lets the core pick up interrupts through
// intr_ack(); when the CPU halts it sleeps until the next timer deadline or host input.
//
// Interrupt path: device -> IrqLine -> 8259A pair and IO-APIC. The IO-APIC sends messages to
// the local APICs; the 8259A's INTR reaches the CPU through LINT0 in virtual-wire (ExtINT) mode
// or directly while the local APIC is hardware-disabled. Whenever a vCPU may have something to
// take, the host sets ATTN_IRQ in its attention word; the core then calls intr_ack().
//
// Time: `clock: "host"` (default) follows the host's monotonic clock, paced by retired
// instructions so that guest time never jumps inside a slice (runtime/paced_clock.ts). `clock: "virtual"`
// derives time from retired instructions and skips idle time when the CPU halts: runs are
// deterministic and never wait, which is what CI wants.
//
// SMP (ARCHITECTURE.md, "SMP"): with `smp` > 1 each vCPU runs in its own worker
// (runtime/vcpu/worker.ts) and this thread becomes the device thread: it serves the vCPUs'
// mailboxes, fires device timers and wakes vCPUs at their APIC-timer deadlines. With
// `smpThreads: 1` every vCPU runs here round-robin with a fixed instruction quantum (on the
// virtual clock unless another clock is given), so a run is repeatable.
import { setImmediate } from "node:timers";
import * as L from "../core-as/layout.ts";
import { Core, createMemory, loadCoreModule } from "./vcpu/core.ts";
import { ApicBus } from "./vcpu/apicbus.ts";
import { CPU_RUNNING, CPU_STOPPED, CPU_WAIT_SIPI, EpochClock, Vcpu } from "./vcpu/smp.ts";
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
} from "./vcpu/mailbox.ts";
import type { WorkerDone, WorkerStart } from "./vcpu/worker.ts";
import { IoBus, MmioBus } from "./bus.ts";
import { type Clock, TimerQueue, type WallClock } from "./clock.ts";
import { PacedClock } from "./paced_clock.ts";
import { IrqRouter } from "./irq.ts";
import { DualPic } from "./devices/pic.ts";
import { Pit } from "./devices/pit.ts";
import { Rtc } from "./devices/rtc.ts";
import { Uart } from "./devices/uart.ts";
import { I8042, PortA, PostPort } from "./devices/misc.ts";
import { PciBus } from "./devices/pci.ts";
import { IoApic } from "./devices/ioapic.ts";
import { Lapic } from "./devices/lapic.ts";
import { AcpiPm, SCI_IRQ } from "./devices/acpi.ts";
import { installTables, type TablesInfo } from "./boot/tables.ts";
import { attachNics, type Nic } from "./devices/nics.ts";
import type { NetConfig } from "./netopt.ts";
import { GuestRam } from "./memory.ts";

export interface MachineOptions {
  memMiB?: number; // guest RAM, default 256
  smp?: number; // vCPUs, default 1
  // 1: all vCPUs on the calling thread, round-robin (deterministic with the virtual clock, the
  // default then); 0 or omitted: one worker thread per vCPU when smp > 1
  smpThreads?: number;
  quantum?: number; // smpThreads 1: instructions a vCPU runs before the next one's turn (default 20000)
  clock?: "host" | "virtual" | Clock;
  nsPerInstruction?: number; // virtual clock rate, default 10 (100 MIPS)
  wallClock?: WallClock; // RTC time source (ms since the epoch), default Date.now
  serialOut?: (bytes: Uint8Array) => void; // COM1 output
  acpi?: boolean; // install ACPI/MP tables (default true)
  sliceInstructions?: number; // instructions per run() slice, default 200000
  net?: NetConfig[]; // NICs on PCI slots 3.., each cabled to a switch daemon (runtime/netopt.ts)
}

export type Outcome =
  | { kind: "poweroff" }
  | { kind: "reset"; reason: string }
  | { kind: "halt" } // every CPU stopped with interrupts disabled
  | { kind: "stopped" }; // stop() was called

// Instruction-count clock: now() = instructions retired by all vCPUs * rate / vCPUs, plus idle
// time skipped while every vCPU halts.
class VirtualClock implements Clock {
  cores: Core[] = [];
  skipped = 0;
  constructor(readonly nsPerInsn: number) {}
  now(): number {
    let n = 0;
    for (const c of this.cores) n += Number(c.icount);
    return n * this.nsPerInsn / Math.max(1, this.cores.length) + this.skipped;
  }
}

// a macrotask turn: lets host I/O callbacks (stdin, sockets) run; cheaper than setTimeout(0)
const yieldToHost = () => new Promise<void>((r) => setImmediate(r));
const SLICE_NS = 0.5e6; // host mode: aim for slices of about 0.5 ms so timers fire on time
const YIELD_MS = 50;
const YIELD_MS_NET = 2; // with NICs: frames to and from the switch move only while the loop yields
const DEVICE_YIELD_MS = 4; // device thread: event-loop turn at least this often while vCPUs are busy
const DEVICE_BUSY_MS = 50; // ... and blocking waits for this long after the last device request
const WORKER_SLICE = 2_000_000;
const RESET_EDX = 0x683; // family 6, model 8, stepping 3: CPUID leaf 1 EAX (core-as/ops/system.ts)

export class Machine {
  readonly memory: WebAssembly.Memory;
  readonly ram: GuestRam; // guest-physical memory: every host read and write goes through it
  readonly ramBytes: number;
  readonly ncpu: number;
  readonly clock: Clock;
  readonly timers: TimerQueue;
  readonly io = new IoBus();
  readonly mmio = new MmioBus();
  readonly pic = new DualPic();
  readonly ioapic: IoApic;
  readonly irq: IrqRouter;
  readonly pit: Pit;
  readonly rtc: Rtc;
  readonly com1: Uart;
  readonly com2: Uart;
  readonly post = new PostPort();
  readonly portA: PortA;
  readonly i8042: I8042;
  readonly pci: PciBus;
  readonly acpi: AcpiPm;
  readonly lapics: Lapic[] = [];
  readonly nics: Nic[];
  readonly cores: Core[] = [];
  readonly vcpus: Vcpu[] = [];
  readonly bus: ApicBus;
  readonly threaded: boolean; // one worker per vCPU
  readonly quantum: number;
  private mailboxes?: MailboxServer;
  private workerError?: string;
  tables?: TablesInfo;
  private readonly i32: Int32Array;
  private readonly virtual?: VirtualClock;
  private readonly paced?: PacedClock;
  private readonly slice: number;
  private outcome?: Outcome;
  private wake?: () => void;
  private initDone = false;
  private readonly opts: MachineOptions;
  private readonly yieldMs: number;
  private hostWork = false; // a device queued host I/O: yield to the event loop after this slice

  constructor(opts: MachineOptions = {}) {
    this.opts = opts;
    const memMiB = opts.memMiB ?? 256;
    if (!(memMiB >= 2 && memMiB <= 3584)) throw new RangeError(`memory size ${memMiB} MiB out of range (2..3584)`);
    this.ncpu = opts.smp ?? 1;
    if (!(this.ncpu >= 1 && this.ncpu <= L.MAX_CPUS)) {
      throw new RangeError(`smp ${this.ncpu} out of range (1..${L.MAX_CPUS})`);
    }
    this.ramBytes = memMiB << 20;
    this.memory = createMemory(this.ramBytes);
    this.ram = GuestRam.ofMemory(this.memory, this.ramBytes);
    this.i32 = new Int32Array(this.memory.buffer);
    new DataView(this.memory.buffer).setUint32(L.MACHINE + L.M_NCPU, this.ncpu, true);
    this.slice = opts.sliceInstructions ?? 200_000;
    this.quantum = opts.quantum ?? 20_000;
    const threads = opts.smpThreads ?? 0;
    if (threads !== 0 && threads !== 1) {
      throw new RangeError(`smpThreads ${threads}: 1 (one thread) or 0 (a thread per vCPU)`);
    }
    this.threaded = threads === 0 && this.ncpu > 1 && (opts.clock === undefined || opts.clock === "host");
    if (threads === 0 && this.ncpu > 1 && !this.threaded) {
      throw new RangeError("a virtual or injected clock needs smpThreads: 1 when smp > 1");
    }
    const clockOpt = opts.clock ?? (threads === 1 && this.ncpu > 1 ? "virtual" : "host");

    if (this.threaded) {
      this.clock = new EpochClock();
    } else if (clockOpt === "virtual") {
      this.virtual = new VirtualClock(opts.nsPerInstruction ?? 10);
      this.clock = this.virtual;
    } else if (typeof clockOpt === "object") {
      this.clock = clockOpt;
    } else {
      // vCPUs sharing this thread take turns: every one's instructions move time on
      this.paced = new PacedClock(() => {
        let n = 0;
        for (const c of this.cores) n += Number(c.icount);
        return n;
      });
      this.clock = this.paced;
    }
    this.timers = new TimerQueue(this.clock);

    this.bus = new ApicBus(this.memory, this.ncpu);
    this.bus.onSignal = () => this.wake?.();
    this.ioapic = new IoApic((m) => this.bus.send(m));
    this.irq = new IrqRouter(this.pic, this.ioapic);
    this.pic.onIntr = (level) => {
      Atomics.store(this.i32, (L.MACHINE + L.M_PIC_INTR) >> 2, level ? 1 : 0);
      if (level) this.bus.signal(0, L.ATTN_IRQ);
    };

    const board = {
      reset: (why: string) => this.finish({ kind: "reset", reason: why }),
      a20: (on: boolean) => {
        new DataView(this.memory.buffer).setUint32(L.MACHINE + L.M_A20, on ? 1 : 0, true);
        // translations cached under the old gate are stale on every vCPU
        for (let c = 0; c < this.ncpu; c++) this.bus.signal(c, L.ATTN_FLUSH_TLB);
      },
    };
    this.pit = new Pit(this.timers, this.irq.line(0));
    // a repeatable run needs a repeatable date too: 2025-01-01 plus virtual time
    const wall = opts.wallClock ??
      (threads === 1 && this.virtual ? () => 1735689600000 + this.clock.now() / 1e6 : undefined);
    this.rtc = new Rtc(this.timers, this.irq.line(8), wall);
    this.rtc.setMemory(this.ramBytes);
    this.rtc.cmos[0x5f] = this.ncpu - 1; // CPUs present minus one: QEMU's CMOS byte, read by SeaBIOS
    this.com1 = new Uart(0x3f8, this.irq.line(4), this.timers);
    this.com2 = new Uart(0x2f8, this.irq.line(3), this.timers);
    this.portA = new PortA(board);
    this.i8042 = new I8042(board, this.irq.line(1), this.irq.line(12));
    this.pci = new PciBus(this.io, this.mmio, this.irq, board.reset);
    this.acpi = new AcpiPm(this.timers, this.irq.line(SCI_IRQ));
    this.acpi.onPowerOff = () => this.finish({ kind: "poweroff" });
    this.nics = attachNics(this.pci, this.ram, opts.net ?? [], () => (this.hostWork = true));
    this.yieldMs = this.nics.length ? YIELD_MS_NET : YIELD_MS;

    this.pic.attach(this.io);
    this.pit.attach(this.io);
    this.rtc.attach(this.io);
    this.com1.attach(this.io);
    this.com2.attach(this.io);
    this.post.attach(this.io);
    this.portA.attach(this.io);
    this.i8042.attach(this.io);
    this.acpi.attach(this.io);
    this.ioapic.attach(this.mmio);

    this.serial = new SerialConsole(this.com1, () => this.wake?.(), opts.serialOut);
    let pending: number[] = [];
    let flushQueued = false;
    // batch output bytes: one sink call per burst instead of one per byte
    this.com1.onOutput = (b) => {
      pending.push(b);
      if (!flushQueued) {
        flushQueued = true;
        queueMicrotask(() => {
          flushQueued = false;
          const out = new Uint8Array(pending);
          pending = [];
          this.serial.onOutput(out);
        });
      }
    };
    this.flushSerial = () => {
      if (!pending.length) return;
      const out = new Uint8Array(pending);
      pending = [];
      this.serial.onOutput(out);
    };

    for (let cpu = 0; cpu < this.ncpu; cpu++) {
      const regs = new Uint32Array(this.memory.buffer, L.CPU_BASE + cpu * L.CPU_STRIDE + L.S_LAPIC, 1024);
      this.lapics.push(
        new Lapic(regs, cpu, this.timers, {
          kick: () => this.bus.signal(cpu, L.ATTN_IRQ),
          eoiBroadcast: (v) => this.ioapic.eoi(v),
          ipi: (from, m, shorthand) => this.bus.send(m, shorthand, from.cpu),
        }),
      );
    }
    if (opts.acpi ?? true) this.tables = installTables(this.ram, { ncpu: this.ncpu, ramBytes: this.ramBytes });
    this.pic.reset();
    this.acpi.reset();
  }

  private flushSerial: () => void;

  // ---- host-facing API ------------------------------------------------------------------------
  // Serial console (COM1): guest output goes to `serial.onOutput`, host input via `serial.input()`.
  readonly serial: SerialConsole;

  // vCPU 0's core (available after init())
  get core(): Core {
    if (!this.cores[0]) throw new Error("Machine.init() has not run yet");
    return this.cores[0];
  }

  static async create(opts: MachineOptions = {}): Promise<Machine> {
    const m = new Machine(opts);
    await m.init();
    return m;
  }

  // Instantiate the vCPU cores and put them in their power-on state. These instances run the
  // vCPUs when they share this thread; with worker threads they only serve the loader, reset()
  // and inspection between runs (the state lives in shared memory either way).
  async init(): Promise<void> {
    if (this.initDone) return;
    this.initDone = true;
    const chip = {
      picIntr: () => this.pic.intr,
      picAck: () => this.pic.ack(),
    };
    for (let cpu = 0; cpu < this.ncpu; cpu++) {
      const core = await Core.create(this.memory, cpu, {
        io_in: (port, size) => this.io.read(port, size),
        io_out: (port, size, value) => this.io.write(port, size, value),
        mmio_rd: (addr, size) => this.mmioRead(cpu, addr, size),
        mmio_wr: (addr, size, value) => this.mmioWrite(cpu, addr, size, value),
        intr_ack: () => this.intrAck(cpu),
        clock_ns: () => this.clock.now(),
      });
      this.cores.push(core);
      this.vcpus.push(new Vcpu(core, this.lapics[cpu], this.bus, chip));
      this.resetCpu(cpu);
    }
    if (this.virtual) this.virtual.cores = this.cores;
  }

  // CPU power-on state plus what the chipset/firmware adds (APIC base MSR, APIC ID); APs wait
  // for INIT/STARTUP from the BSP. The BSP starts at the reset vector (F000:FFF0, CS base
  // 0xFFFF0000: the top of the ROM) unless a loader moves it; EDX holds the CPU signature there,
  // as after a hardware reset (firmware and CPU test ROMs read it).
  resetCpu(cpu: number): void {
    this.vcpus[cpu].powerOn();
    this.cores[cpu].setReg(2, RESET_EDX);
  }

  // instructions retired by a vCPU (worker threads publish theirs after each slice)
  retired(cpu: number): number {
    if (!this.threaded) return Number(this.cores[cpu].icount);
    const c = this.cores[cpu];
    return c.get(L.S_ICOUNT_HI) * 2 ** 32 + c.get(L.S_ICOUNT);
  }

  // Device state back to power-on (for a reboot); the caller reloads the kernel.
  reset(): void {
    this.outcome = undefined;
    this.pic.reset();
    this.pit.reset();
    this.rtc.reset();
    this.com1.reset();
    this.com2.reset();
    this.i8042.reset();
    this.acpi.reset();
    this.ioapic.reset();
    for (const n of this.nics) n.device.reset();
    for (let i = 0; i < this.cores.length; i++) this.resetCpu(i);
    this.ram.clear();
    if (this.opts.acpi ?? true) this.tables = installTables(this.ram, { ncpu: this.ncpu, ramBytes: this.ramBytes });
  }

  // The physical memory map for the boot loader's e820 table: RAM below 640 KiB, the BIOS area
  // (where the firmware tables live) reserved, RAM from 1 MiB, and the APIC pages reserved.
  e820(): { addr: number; size: number; type: 1 | 2 }[] {
    return [
      { addr: 0, size: 0x9fc00, type: 1 },
      { addr: 0x9fc00, size: 0x100000 - 0x9fc00, type: 2 },
      { addr: 0x100000, size: this.ramBytes - 0x100000, type: 1 },
      { addr: 0xfec00000, size: 0x1000, type: 2 },
      { addr: 0xfee00000, size: 0x1000, type: 2 },
    ];
  }

  // A BIOS image: mapped read-only just below 4 GiB (the reset vector) and its last 128 KiB
  // copied to 0xE0000-0xFFFFF, where real-mode code expects it (the firmware tables go away).
  // The low copy is plain RAM, as if the chipset's PAM registers already enabled shadowing.
  // Call it again after reset(), which clears RAM.
  loadBios(image: Uint8Array): void {
    if (image.length === 0 || image.length > L.ROM_HI_SIZE || image.length % 0x1000) {
      throw new RangeError(`BIOS image size ${image.length} must be a multiple of 4 KiB, at most 1 MiB`);
    }
    const mem = new Uint8Array(this.memory.buffer);
    mem.set(image, L.ROM_HI); // the core maps physical 4 GiB - size onwards to ROM_HI (core-as/mmu.ts phost)
    new DataView(this.memory.buffer).setUint32(L.MACHINE + L.M_ROM_SIZE, image.length, true);
    const low = image.subarray(Math.max(0, image.length - 0x20000));
    this.ram.write(0x100000 - low.length, low);
    this.tables = undefined;
  }

  // Unplug the NICs' switch connections (the machine cannot run afterwards).
  close(): void {
    for (const n of this.nics) n.link.close();
  }

  // Ask the run loop to return { kind: "stopped" }.
  stop(): void {
    this.finish({ kind: "stopped" });
  }

  pressPowerButton(): void {
    this.acpi.pressPowerButton();
    this.wake?.();
  }

  // ---- run loop -------------------------------------------------------------------------------
  async run(): Promise<Outcome> {
    await this.init();
    this.pci.assignResources(); // devices registered since the last run get their BARs
    this.outcome = undefined;
    const o = this.threaded ? await this.runThreaded() : await this.runHere();
    this.flushSerial();
    return o;
  }

  // Every vCPU on this thread, round-robin. One vCPU: slices as long as the next timer allows.
  // Several: each runs at most `quantum` instructions per turn, so with the virtual clock the
  // interleaving (and so the whole run) is the same every time.
  private async runHere(): Promise<Outcome> {
    let lastYield = performance.now();
    let perNs = 0.01; // injected clock: measured instructions per host ns (starts at 10 MIPS)
    const multi = this.ncpu > 1;
    while (!this.outcome) {
      let ran = false;
      for (const v of this.vcpus) {
        if (this.outcome) break;
        if (v.attention & (L.ATTN_INIT | L.ATTN_SIPI | L.ATTN_NMI)) v.handleSignals();
        if (v.state !== CPU_RUNNING) continue;
        this.timers.runDue();
        if (v.halted && !v.hasInterrupt()) continue;
        const core = v.core;
        let n = multi ? Math.min(this.slice, this.quantum) : this.slice;
        const d = this.timers.next() - this.clock.now();
        if (this.virtual) {
          // end the slice at the next deadline so timers fire on the exact instruction
          if (d < Infinity) n = Math.max(1, Math.min(n, Math.ceil(d * this.ncpu / this.virtual.nsPerInsn)));
        } else if (this.paced) {
          n = this.paced.slice(this.timers.next(), n); // ends the slice at the deadline, too
        } else {
          // about half a millisecond of guest work, less when a timer is due sooner
          n = Math.max(500, Math.min(n, Math.ceil(Math.min(d, SLICE_NS) * perNs)));
        }
        const t0 = performance.now();
        const i0 = core.icount;
        const exit = core.run(n);
        ran = true;
        const dt = (performance.now() - t0) * 1e6;
        if (!this.virtual && !this.paced && dt > 5e4 && exit === L.EXIT_BUDGET) {
          // the guest's instruction rate swings tenfold between phases: follow it quickly
          perNs = 0.5 * perNs + 0.5 * (Number(core.icount - i0) / dt);
        }
        if (this.outcome) break;
        if (exit === L.EXIT_SHUTDOWN) this.finish({ kind: "reset", reason: "triple fault" });
        else if (exit === L.EXIT_HLT_CLI) {
          v.stopped();
          this.checkAllStopped();
        }
      }
      if (this.outcome) break;
      if (!ran) {
        this.timers.runDue();
        if (!this.vcpus.some((v) => v.state === CPU_RUNNING && (!v.halted || v.hasInterrupt()))) {
          await this.idle();
          lastYield = performance.now();
        }
      } else if (this.hostWork || performance.now() - lastYield > this.yieldMs) {
        this.hostWork = false;
        this.flushSerial();
        await yieldToHost(); // let host input and output callbacks run
        lastYield = performance.now();
      }
    }
    return this.outcome!;
  }

  // every vCPU stopped with interrupts off (or never started): nothing can happen any more
  private checkAllStopped(): void {
    if (this.vcpus.every((v) => v.state === CPU_STOPPED || v.state === CPU_WAIT_SIPI)) this.finish({ kind: "halt" });
  }

  // Every CPU halted: wait for the next timer or host input.
  private async idle(): Promise<void> {
    const next = this.timers.next();
    if (this.virtual) {
      if (next === Infinity) {
        // nothing will ever wake the CPU but the host: wait for input
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
        return;
      }
      this.virtual.skipped += Math.max(0, next - this.clock.now());
      return;
    }
    const ms = (this.paced ? this.paced.idle(next) : next - this.clock.now()) / 1e6;
    if (ms <= 0) return;
    this.flushSerial();
    await new Promise<void>((r) => {
      const t = ms === Infinity ? undefined : setTimeout(() => r(), Math.max(0, Math.floor(ms)));
      this.wake = () => {
        if (t !== undefined) clearTimeout(t);
        r();
      };
    });
    this.wake = undefined;
    this.paced?.woke(next);
  }

  // ---- one worker per vCPU; this thread is the device thread --------------------------------
  // The loop serves mailboxes, fires device timers and kicks vCPUs whose APIC timer is due. While
  // requests keep coming it blocks in Atomics.wait on the doorbell (a wake costs microseconds) and
  // takes an event-loop turn every few milliseconds for host I/O; once the vCPUs go quiet it waits
  // with Atomics.waitAsync so host input is handled at once.
  private async runThreaded(): Promise<Outcome> {
    const mod = await loadCoreModule();
    const stopIdx = (L.MACHINE + L.M_STOP) >> 2;
    Atomics.store(this.i32, stopIdx, 0);
    this.workerError = undefined;
    const mb = this.mailboxes ??= new MailboxServer(this.memory, this.ncpu, {
      request: (cpu, op, a, b, c) => this.deviceRequest(cpu, op, a, b, c),
    });
    this.wake = () => mb.ring();
    const epochMs = (this.clock as EpochClock).epochMs;
    const workers: Worker[] = [];
    let running = this.ncpu;
    const done = new Promise<void>((resolve) => {
      for (let cpu = 0; cpu < this.ncpu; cpu++) {
        const w = new Worker(new URL("./vcpu/worker.ts", import.meta.url).href, { type: "module" });
        w.onmessage = (e: MessageEvent<WorkerDone>) => {
          if (e.data.error) {
            this.workerError ??= `vCPU ${e.data.cpu}: ${e.data.error}`;
            this.finish({ kind: "stopped" });
          }
          if (--running === 0) resolve();
          mb.ring();
        };
        w.onerror = (e) => {
          e.preventDefault();
          this.workerError ??= `vCPU ${cpu}: ${e.message}`;
          this.finish({ kind: "stopped" });
          if (--running === 0) resolve();
          mb.ring();
        };
        const start: WorkerStart = {
          module: mod,
          memory: this.memory,
          cpu,
          ncpu: this.ncpu,
          epochMs,
          slice: WORKER_SLICE,
        };
        w.postMessage(start);
        workers.push(w);
      }
    });
    const kicked = new Float64Array(this.ncpu).fill(-1);
    let lastYield = performance.now(), lastBusy = lastYield;
    // Serve until the outcome is decided and every worker has left its loop (a worker may still
    // be blocked on a device request when the machine stops).
    while (running > 0) {
      const seen = mb.doorbell;
      const served = mb.serve();
      const now = this.clock.now();
      this.timers.runDue(now);
      // APIC timers: a running vCPU leaves its slice at its deadline (a halted one sleeps with a
      // timeout of its own)
      let next = this.timers.next();
      for (let c = 0; c < this.ncpu; c++) {
        const d = this.lapics[c].deadline;
        if (d <= now) {
          if (kicked[c] !== d) {
            kicked[c] = d;
            this.bus.signal(c, L.ATTN_STOP);
          }
        } else if (d < next) next = d;
      }
      const t = performance.now();
      if (served) lastBusy = t;
      if (this.outcome && Atomics.load(this.i32, stopIdx) === 0) {
        Atomics.store(this.i32, stopIdx, 1);
        for (let c = 0; c < this.ncpu; c++) this.bus.signal(c, L.ATTN_STOP);
      }
      if (served) continue;
      const waitMs = Math.max(0, Math.min((next - now) / 1e6, 1000));
      if (!this.hostWork && t - lastBusy < DEVICE_BUSY_MS && t - lastYield < DEVICE_YIELD_MS) {
        mb.waitSync(seen, Math.min(waitMs, DEVICE_YIELD_MS - (t - lastYield)));
      } else {
        this.hostWork = false;
        this.flushSerial();
        if (t - lastBusy < DEVICE_BUSY_MS) await yieldToHost();
        else await mb.waitAsync(seen, waitMs);
        lastYield = performance.now();
      }
    }
    await done;
    for (const w of workers) w.terminate();
    this.wake = undefined;
    if (this.workerError) throw new Error(`ring3: ${this.workerError}`);
    return this.outcome!;
  }

  private deviceRequest(cpu: number, op: number, a: number, b: number, c: number): number {
    switch (op) {
      case OP_IN:
        return this.io.read(a, b);
      case OP_OUT:
        this.io.write(a, b, c);
        return 0;
      case OP_MMIO_RD:
        return this.mmio.read(a, b);
      case OP_MMIO_WR:
        this.mmio.write(a, b, c);
        return 0;
      case OP_PIC_ACK:
        return this.pic.ack();
      case OP_EOI:
        this.ioapic.eoi(a);
        return 0;
      case OP_EVENT:
        if (a === EVENT_SHUTDOWN) this.finish({ kind: "reset", reason: `triple fault on CPU ${cpu}` });
        else if (a === EVENT_STOPPED) this.checkAllStopped();
        else if (a === EVENT_ERROR) this.finish({ kind: "stopped" });
        return 0;
    }
    return 0;
  }

  private finish(o: Outcome): void {
    if (this.outcome) return;
    this.outcome = o;
    for (let i = 0; i < this.cores.length; i++) this.bus.signal(i, L.ATTN_STOP);
    this.wake?.();
  }

  // ---- interrupts -----------------------------------------------------------------------------
  kick(cpu: number): void {
    if (this.hasInterrupt(cpu)) this.bus.signal(cpu, L.ATTN_IRQ);
  }

  apicBaseMsr(cpu: number): number {
    return this.vcpus[cpu].apicBaseMsr;
  }

  hasInterrupt(cpu: number): boolean {
    return this.vcpus[cpu].hasInterrupt();
  }

  // INTA from the core: the vector to deliver now, or -1
  intrAck(cpu: number): number {
    return this.vcpus[cpu].intrAck();
  }

  // ---- MMIO: the local APIC page of the accessing CPU comes first -----------------------------
  mmioRead(cpu: number, addr: number, size: number): number {
    const off = this.vcpus[cpu].lapicOffset(addr);
    if (off >= 0) return this.lapics[cpu].read(off, size);
    return this.mmio.read(addr, size);
  }

  mmioWrite(cpu: number, addr: number, size: number, value: number): void {
    const off = this.vcpus[cpu].lapicOffset(addr);
    if (off >= 0) this.lapics[cpu].write(off, size, value);
    else this.mmio.write(addr, size, value);
  }
}

export class SerialConsole {
  constructor(
    private readonly uart: Uart,
    private readonly wakeup: () => void,
    public onOutput: (bytes: Uint8Array) => void = () => {},
  ) {}
  input(bytes: Uint8Array | string): void {
    this.uart.receive(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
    this.wakeup();
  }
  // bytes the guest has not read yet
  get pendingInput(): number {
    return this.uart.rxQueued;
  }
}
