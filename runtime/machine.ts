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
import { setImmediate } from "node:timers";
import * as L from "../core-as/layout.ts";
import { Core, createMemory } from "./vcpu/core.ts";
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
import { type ApicMessage, IoApic } from "./devices/ioapic.ts";
import { APIC_BASE_BSP, APIC_BASE_ENABLE, Lapic, LAPIC_BASE } from "./devices/lapic.ts";
import { AcpiPm, SCI_IRQ } from "./devices/acpi.ts";
import { installTables, type TablesInfo } from "./boot/tables.ts";

export interface MachineOptions {
  memMiB?: number; // guest RAM, default 256
  smp?: number; // vCPUs described to the guest (only vCPU 0 runs for now), default 1
  clock?: "host" | "virtual" | Clock;
  nsPerInstruction?: number; // virtual clock rate, default 10 (100 MIPS)
  wallClock?: WallClock; // RTC time source (ms since the epoch), default Date.now
  serialOut?: (bytes: Uint8Array) => void; // COM1 output
  acpi?: boolean; // install ACPI/MP tables (default true)
  sliceInstructions?: number; // instructions per run() slice, default 200000
}

export type Outcome =
  | { kind: "poweroff" }
  | { kind: "reset"; reason: string }
  | { kind: "halt" } // every CPU stopped with interrupts disabled
  | { kind: "stopped" }; // stop() was called

// Instruction-count clock: now() = retired instructions * rate, plus idle time skipped in HLT.
class VirtualClock implements Clock {
  core?: Core;
  skipped = 0;
  constructor(readonly nsPerInsn: number) {}
  now(): number {
    const n = this.core ? Number(this.core.icount) : 0;
    return n * this.nsPerInsn + this.skipped;
  }
}

// a macrotask turn: lets host I/O callbacks (stdin, sockets) run; cheaper than setTimeout(0)
const yieldToHost = () => new Promise<void>((r) => setImmediate(r));
const SLICE_NS = 0.5e6; // host mode: aim for slices of about 0.5 ms so timers fire on time
const YIELD_MS = 50;

export class Machine {
  readonly memory: WebAssembly.Memory;
  readonly ram: Uint8Array;
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
  readonly cores: Core[] = [];
  tables?: TablesInfo;
  private readonly i32: Int32Array;
  private readonly virtual?: VirtualClock;
  private readonly paced?: PacedClock;
  private readonly slice: number;
  private outcome?: Outcome;
  private wake?: () => void;
  private initDone = false;
  private readonly opts: MachineOptions;

  constructor(opts: MachineOptions = {}) {
    this.opts = opts;
    const memMiB = opts.memMiB ?? 256;
    if (!(memMiB >= 2 && memMiB <= 3584)) throw new RangeError(`memory size ${memMiB} MiB out of range (2..3584)`);
    this.ncpu = opts.smp ?? 1;
    if (!(this.ncpu >= 1 && this.ncpu <= L.MAX_CPUS)) throw new RangeError(`smp ${this.ncpu} out of range (1..${L.MAX_CPUS})`);
    this.ramBytes = memMiB << 20;
    this.memory = createMemory(this.ramBytes);
    this.ram = new Uint8Array(this.memory.buffer, L.RAM_BASE, this.ramBytes);
    this.i32 = new Int32Array(this.memory.buffer);
    new DataView(this.memory.buffer).setUint32(L.MACHINE + L.M_NCPU, this.ncpu, true);
    this.slice = opts.sliceInstructions ?? 200_000;

    if (opts.clock === "virtual") {
      this.virtual = new VirtualClock(opts.nsPerInstruction ?? 10);
      this.clock = this.virtual;
    } else if (opts.clock && typeof opts.clock === "object") {
      this.clock = opts.clock;
    } else {
      this.paced = new PacedClock(() => (this.cores[0] ? Number(this.cores[0].icount) : 0));
      this.clock = this.paced;
    }
    this.timers = new TimerQueue(this.clock);

    this.ioapic = new IoApic((m) => this.apicMessage(m));
    this.irq = new IrqRouter(this.pic, this.ioapic);
    this.pic.onIntr = (level) => {
      if (level) this.kick(0);
    };

    const board = {
      reset: (why: string) => this.finish({ kind: "reset", reason: why }),
      a20: (on: boolean) => new DataView(this.memory.buffer).setUint32(L.MACHINE + L.M_A20, on ? 1 : 0, true),
    };
    this.pit = new Pit(this.timers, this.irq.line(0));
    this.rtc = new Rtc(this.timers, this.irq.line(8), opts.wallClock);
    this.rtc.setMemory(this.ramBytes);
    this.com1 = new Uart(0x3f8, this.irq.line(4), this.timers);
    this.com2 = new Uart(0x2f8, this.irq.line(3), this.timers);
    this.portA = new PortA(board);
    this.i8042 = new I8042(board, this.irq.line(1), this.irq.line(12));
    this.pci = new PciBus(this.io, this.mmio, this.irq, board.reset);
    this.acpi = new AcpiPm(this.timers, this.irq.line(SCI_IRQ));
    this.acpi.onPowerOff = () => this.finish({ kind: "poweroff" });

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
          kick: () => this.kick(cpu),
          eoiBroadcast: (v) => this.ioapic.eoi(v),
          ipi: (from, m, shorthand) => this.ipi(from, m, shorthand),
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

  // Instantiate the vCPU core(s) and put them in their power-on state.
  async init(): Promise<void> {
    if (this.initDone) return;
    this.initDone = true;
    // only the BSP runs until INIT/SIPI support arrives
    const core = await Core.create(this.memory, 0, {
      io_in: (port, size) => this.io.read(port, size),
      io_out: (port, size, value) => this.io.write(port, size, value),
      mmio_rd: (addr, size) => this.mmioRead(0, addr, size),
      mmio_wr: (addr, size, value) => this.mmioWrite(0, addr, size, value),
      intr_ack: () => this.intrAck(0),
      clock_ns: () => this.clock.now(),
    });
    this.cores.push(core);
    if (this.virtual) this.virtual.core = core;
    this.resetCpu(0);
  }

  // CPU power-on state plus what the chipset/firmware adds (APIC base MSR, APIC ID).
  resetCpu(cpu: number): void {
    const c = this.cores[cpu];
    c.ex.reset();
    c.set(L.S_APIC_BASE, LAPIC_BASE | APIC_BASE_ENABLE | (cpu === 0 ? APIC_BASE_BSP : 0));
    c.set(L.S_APIC_ID, cpu);
    this.lapics[cpu].reset(cpu === 0);
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
    for (let i = 0; i < this.cores.length; i++) this.resetCpu(i);
    this.ram.fill(0);
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
  loadBios(image: Uint8Array): void {
    if (image.length === 0 || image.length > L.ROM_HI_SIZE || image.length % 0x1000) {
      throw new RangeError(`BIOS image size ${image.length} must be a multiple of 4 KiB, at most 1 MiB`);
    }
    const mem = new Uint8Array(this.memory.buffer);
    mem.set(image, L.ROM_HI + L.ROM_HI_SIZE - image.length);
    new DataView(this.memory.buffer).setUint32(L.MACHINE + L.M_ROM_SIZE, image.length, true);
    const low = image.subarray(Math.max(0, image.length - 0x20000));
    this.ram.set(low, 0x100000 - low.length);
    this.tables = undefined;
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
    const core = this.core;
    let lastYield = performance.now();
    let perNs = 0.01; // injected clock: measured instructions per host ns (starts at 10 MIPS)
    while (!this.outcome) {
      this.timers.runDue();
      let n = this.slice;
      const d = this.timers.next() - this.clock.now();
      if (this.virtual) {
        // end the slice at the next deadline so timers fire on the exact instruction
        if (d < Infinity) n = Math.max(1, Math.min(n, Math.ceil(d / this.virtual.nsPerInsn)));
      } else if (this.paced) {
        n = this.paced.slice(this.timers.next(), n); // ends the slice at the deadline, too
      } else {
        // about a millisecond of guest work, less when a timer is due sooner
        n = Math.max(500, Math.min(n, Math.ceil(Math.min(d, SLICE_NS) * perNs)));
      }
      const t0 = performance.now();
      const i0 = core.icount;
      const exit = core.run(n);
      const dt = (performance.now() - t0) * 1e6;
      if (!this.virtual && !this.paced && dt > 5e4 && exit === L.EXIT_BUDGET) {
        // the guest's instruction rate swings tenfold between phases: follow it quickly
        perNs = 0.5 * perNs + 0.5 * (Number(core.icount - i0) / dt);
      }
      if (this.outcome) break;
      switch (exit) {
        case L.EXIT_SHUTDOWN:
          this.finish({ kind: "reset", reason: "triple fault" });
          break;
        case L.EXIT_HLT_CLI:
          this.finish({ kind: "halt" });
          break;
        case L.EXIT_HLT:
          if (!this.hasInterrupt(0)) await this.idle();
          lastYield = performance.now();
          break;
        default:
          if (performance.now() - lastYield > YIELD_MS) {
            this.flushSerial();
            await yieldToHost(); // let host input and output callbacks run
            lastYield = performance.now();
          }
      }
    }
    this.flushSerial();
    return this.outcome!;
  }

  // CPU halted: wait for the next timer or host input.
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

  private finish(o: Outcome): void {
    if (this.outcome) return;
    this.outcome = o;
    for (let i = 0; i < this.cores.length; i++) this.attn(i, L.ATTN_STOP);
    this.wake?.();
  }

  // ---- interrupts -----------------------------------------------------------------------------
  private attn(cpu: number, bit: number): void {
    const c = this.cores[cpu];
    if (!c) return;
    Atomics.or(this.i32, (c.base + L.S_ATTN) >> 2, bit);
  }

  kick(cpu: number): void {
    if (this.hasInterrupt(cpu)) {
      this.attn(cpu, L.ATTN_IRQ);
      this.wake?.();
    }
  }

  // IA32_APIC_BASE as the core sees it: 0 in the state block means "never written", which the
  // core reports as the power-on default (0xFEE00000, enabled, BSP flag on CPU 0)
  apicBaseMsr(cpu: number): number {
    const v = this.cores[cpu]?.get(L.S_APIC_BASE) ?? 0;
    return v !== 0 ? v : (LAPIC_BASE | APIC_BASE_ENABLE | (cpu === 0 ? APIC_BASE_BSP : 0)) >>> 0;
  }

  private apicEnabled(cpu: number): boolean {
    return (this.apicBaseMsr(cpu) & APIC_BASE_ENABLE) !== 0;
  }

  private picToCpu(cpu: number): boolean {
    if (cpu !== 0) return false;
    return !this.apicEnabled(0) || this.lapics[0].picRouted;
  }

  hasInterrupt(cpu: number): boolean {
    const l = this.lapics[cpu];
    if (this.apicEnabled(cpu) && (l.deliverable() >= 0 || l.extIntPending)) return true;
    return this.pic.intr && this.picToCpu(cpu);
  }

  // INTA from the core: the vector to deliver now, or -1
  intrAck(cpu: number): number {
    const l = this.lapics[cpu];
    if (this.apicEnabled(cpu)) {
      if (l.extIntPending) {
        l.extIntPending = false;
        return this.pic.ack();
      }
      if (this.pic.intr && this.picToCpu(cpu)) return this.pic.ack();
      return l.ack();
    }
    return this.pic.intr && cpu === 0 ? this.pic.ack() : -1;
  }

  private targets(m: ApicMessage): Lapic[] {
    return this.lapics.filter((l, i) => this.apicEnabled(i) && l.matches(m.dest, m.logical));
  }

  // a message from the IO-APIC on the APIC bus
  private apicMessage(m: ApicMessage): void {
    let t = this.targets(m);
    if (m.mode === 1 && t.length > 1) {
      // lowest priority: the APIC with the lowest TPR takes it
      t = [t.reduce((a, b) => (b.read(0x80, 4) < a.read(0x80, 4) ? b : a))];
    }
    for (const l of t) l.message(m);
  }

  private ipi(from: Lapic, m: ApicMessage, shorthand: number): void {
    let t: Lapic[];
    switch (shorthand) {
      case 1: t = [from]; break;
      case 2: t = this.lapics.slice(); break;
      case 3: t = this.lapics.filter((l) => l !== from); break;
      default: t = this.targets(m);
    }
    if (m.mode === 5 || m.mode === 6) {
      // INIT / SIPI: vCPUs other than 0 do not run yet (SMP comes with the vCPU workers)
      for (const l of t) this.attn(l.cpu, m.mode === 5 ? L.ATTN_INIT : L.ATTN_SIPI);
      return;
    }
    if (m.mode === 1 && t.length > 1) t = [t[0]];
    for (const l of t) l.message(m);
  }

  // ---- MMIO: the local APIC page of the accessing CPU comes first -----------------------------
  private lapicOffset(cpu: number, addr: number): number {
    const base = this.apicBaseMsr(cpu);
    if (!(base & APIC_BASE_ENABLE)) return -1;
    const off = (addr >>> 0) - ((base & 0xfffff000) >>> 0);
    return off >= 0 && off < 0x1000 ? off : -1;
  }

  mmioRead(cpu: number, addr: number, size: number): number {
    const off = this.lapicOffset(cpu, addr);
    if (off >= 0) return this.lapics[cpu].read(off, size);
    return this.mmio.read(addr, size);
  }

  mmioWrite(cpu: number, addr: number, size: number, value: number): void {
    const off = this.lapicOffset(cpu, addr);
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
