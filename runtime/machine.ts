// The PC: guest memory, the vCPU cores, the device models on their buses, the interrupt wiring,
// the firmware tables. The run loops live in runtime/vcpu/: round_robin.ts runs every vCPU on
// this thread; with `smp` > 1 and worker threads (ARCHITECTURE.md, "SMP") device_thread.ts makes
// this thread the device thread and each vCPU runs in its own worker (runtime/vcpu/worker.ts).
//
// Interrupt path: device -> IrqLine -> 8259A pair and IO-APIC. The IO-APIC sends messages to
// the local APICs; the 8259A's INTR reaches the CPU through LINT0 in virtual-wire (ExtINT) mode
// or directly while the local APIC is hardware-disabled. Whenever a vCPU may have something to
// take, the host sets ATTN_IRQ in its attention word; the core then calls intr_ack().
//
// Time (runtime/clock.ts): `clock: "host"` (default) follows the host's monotonic clock, paced by
// retired instructions so that guest time never jumps inside a slice (PacedClock). `clock:
// "virtual"` derives time from retired instructions and skips idle time when the CPU halts: runs
// are deterministic and never wait, which is what CI wants. With `smpThreads: 1` every vCPU runs
// here round-robin with a fixed instruction quantum (on the virtual clock unless another clock is
// given), so a run is repeatable; worker threads read the EpochClock.
import * as L from "../core-as/layout.ts";
import { Core, createMemory } from "./vcpu/core.ts";
import { ApicBus } from "./vcpu/apicbus.ts";
import { CPU_STOPPED, CPU_WAIT_SIPI, Vcpu } from "./vcpu/smp.ts";
import { coreImports } from "./vcpu/imports.ts";
import type { Outcome, RunHost } from "./vcpu/run_host.ts";
import { DebugExit, PvPanic, PVPANIC_SLOT } from "./devices/pvpanic.ts";
import { runRoundRobin } from "./vcpu/round_robin.ts";
import { DeviceThread } from "./vcpu/device_thread.ts";
import { IoBus, MmioBus } from "./bus.ts";
import {
  type Clock,
  EpochClock,
  latestNs,
  PacedClock,
  StallAccount,
  TimerQueue,
  VirtualClock,
  type WallClock,
} from "./clock.ts";
import { IrqRouter, isaToGsi } from "./irq.ts";
import { DualPic } from "./devices/pic.ts";
import { IRQ0_FREE, IRQ0_MASKED, IRQ0_WAITING, Pit } from "./devices/pit.ts";
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
import {
  attachDisks,
  attachIde,
  attachShares,
  closeDisks,
  type Disk,
  type IdeSetup,
  type Share,
} from "./devices/disks.ts";
import type { ShareConfig } from "./share/options.ts";
import type { DiskConfig } from "./block/options.ts";
import type { BlockImage } from "./block/image.ts";
import { GuestRam } from "./memory.ts";
import { SerialConsole } from "./serial_console.ts";
import { host as platformHost, hostCoreCount } from "./platform/mod.ts";

export type { Outcome };

export interface MachineOptions {
  memMiB?: number; // guest RAM, default 256
  smp?: number; // vCPUs, default 1
  // 1: all vCPUs on the calling thread, round-robin (deterministic with the virtual clock, the
  // default then); 0 or omitted: one worker thread per vCPU when smp > 1
  smpThreads?: number;
  // a single vCPU in a worker thread too, this thread then the device thread (NICs, disks): the
  // host side of I/O no longer waits for the vCPU's slices (bench/results/net.md); host clock only
  vcpuWorker?: boolean;
  quantum?: number; // smpThreads 1: instructions a vCPU runs before the next one's turn (default 20000)
  clock?: "host" | "virtual" | Clock;
  nsPerInstruction?: number; // virtual clock rate, default 10 (100 MIPS)
  wallClock?: WallClock; // RTC time source (ms since the epoch), default Date.now
  serialOut?: (bytes: Uint8Array) => void; // COM1 output
  acpi?: boolean; // install ACPI/MP tables (default true)
  // built to receive a snapshot, whose RAM holds the tables: none written now (reset() writes them)
  noTables?: boolean;
  // run interpreted while the block compiler's modules load (runtime/vcpu/core.ts PendingJit)
  lazyJit?: boolean;
  sliceInstructions?: number; // instructions per run() slice, default 200000
  net?: NetConfig[]; // NICs on PCI slots 3.., each cabled to a switch daemon (runtime/netopt.ts)
  // virtio-blk disks on PCI slots 8.. (runtime/devices/disks.ts): images to open, or opened ones
  disks?: (DiskConfig | BlockImage)[];
  // IDE (`if=ide` disks above, and an ATAPI CD-ROM: an ISO file or image) and the firmware's
  // boot order (CMOS, read by SeaBIOS): c hard disk, d CD-ROM, n network, first to last
  cdrom?: string | BlockImage;
  boot?: string;
  shares?: ShareConfig[]; // host folders over virtio-9p on PCI slots 24.. (runtime/share/)
  exitPort?: number; // an isa-debug-exit port: a write ends the run with status (value << 1) | 1
}

// SeaBIOS's boot order on QEMU-like machines: CMOS 0x3D holds the first two devices (low nibble
// first), 0x38 the third in its high nibble (bit 0 set: no floppy signature check); 1 floppy,
// 2 hard disk, 3 CD-ROM, 4 network
export function setBootOrder(cmos: Uint8Array, order: string): void {
  const code: Record<string, number> = { a: 1, c: 2, d: 3, n: 4 };
  const k = [...order].map((ch) => {
    if (!(ch in code)) throw new RangeError(`boot order '${order}': letters c, d, n`);
    return code[ch];
  });
  cmos[0x3d] = (k[1] ?? 0) << 4 | (k[0] ?? 0);
  cmos[0x38] = (k[2] ?? 0) << 4 | 1;
}

// One device model on the board: named once, attached to the buses once, reset with the machine.
export interface BoardDevice {
  readonly name: string;
  attach(io: IoBus, mmio: MmioBus): void;
  reset(): void;
}

const YIELD_MS = 50;
const YIELD_MS_NET = 2; // with NICs: frames to and from the switch move only while the loop yields
const RESET_EDX = 0x6e8; // family 6, model 14, stepping 8: CPUID leaf 1 EAX (core-as/ops/cpuid.ts)

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
  readonly pvpanic: PvPanic;
  readonly rtc: Rtc;
  readonly com1: Uart;
  readonly com2: Uart;
  readonly post = new PostPort();
  readonly portA: PortA;
  readonly i8042: I8042;
  readonly pci: PciBus;
  readonly acpi: AcpiPm;
  readonly nics: Nic[];
  readonly disks: Disk[];
  readonly ide?: IdeSetup;
  readonly shares: Share[];
  readonly devices: readonly BoardDevice[]; // every device model but the local APICs, in reset order
  readonly lapics: Lapic[] = [];
  readonly cores: Core[] = [];
  readonly vcpus: Vcpu[] = [];
  readonly bus: ApicBus;
  readonly threaded: boolean; // one worker per vCPU
  readonly quantum: number;
  tables?: TablesInfo;
  private readonly i32: Int32Array;
  private readonly virtual?: VirtualClock;
  private readonly paced?: PacedClock;
  private readonly slice: number;
  private stallHide = false; // worker-thread guest time hides host stalls (clock.ts; see init)
  private outcome?: Outcome;
  private wake?: () => void;
  private initDone = false;
  private readonly opts: MachineOptions;
  private readonly yieldMs: number;
  private hostWork = false; // a device queued host I/O: yield to the event loop after this slice
  private readonly host: RunHost;
  private deviceThread?: DeviceThread;

  constructor(opts: MachineOptions = {}) {
    this.opts = opts;
    const memMiB = opts.memMiB ?? 256;
    if (!(memMiB >= 2 && memMiB <= 3584)) throw new RangeError(`memory size ${memMiB} MiB out of range (2..3584)`);
    this.ncpu = opts.smp ?? 1;
    if (!(this.ncpu >= 1 && this.ncpu <= L.MAX_CPUS)) {
      throw new RangeError(`smp ${this.ncpu} out of range (1..${L.MAX_CPUS})`);
    }
    this.ramBytes = memMiB * 0x100000; // (not << 20: 2048 MiB and more would be negative)
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
    this.threaded = threads === 0 && (this.ncpu > 1 || opts.vcpuWorker === true) &&
      (opts.clock === undefined || opts.clock === "host");
    if (threads === 0 && this.ncpu > 1 && !this.threaded) {
      throw new RangeError("a virtual or injected clock needs smpThreads: 1 when smp > 1");
    }
    const clockOpt = opts.clock ?? (threads === 1 && this.ncpu > 1 ? "virtual" : "host");
    // instructions retired by every vCPU on this thread: they all move time on
    const retired = () => {
      let n = 0;
      for (const c of this.cores) n += Number(c.icount);
      return n;
    };
    if (this.threaded) {
      // (the host stalls the vCPU threads hide: runtime/clock.ts StallAccount). On while the
      // vCPUs fit the host's cores: with more vCPU threads than cores most of them wait for a
      // core most of the time, hidden waits make every guest delay loop last its own CPU time,
      // and a 64-vCPU boot took 2.7 times as long. RING3_STALL_HIDE=1 or 0 decides instead.
      const hide = platformHost.env.get("RING3_STALL_HIDE");
      const cores = hostCoreCount() || 1;
      this.stallHide = hide === "1" || (hide !== "0" && this.ncpu <= cores);
      StallAccount.enable(this.memory.buffer, L.MACHINE + L.M_STALL, this.stallHide);
      this.clock = new EpochClock(
        undefined,
        this.stallHide ? new StallAccount(this.memory.buffer, L.MACHINE + L.M_STALL) : undefined,
      );
    } else if (clockOpt === "virtual") {
      this.virtual = new VirtualClock(opts.nsPerInstruction ?? 10, retired, () => this.cores.length);
      this.clock = this.virtual;
    } else if (typeof clockOpt === "object") {
      this.clock = clockOpt;
    } else {
      this.paced = new PacedClock(retired);
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
    // (state in shared memory: vCPU threads serve their own reads of it, devices/pit.ts PitReader)
    // (with vCPU threads, at the guest time the writing vCPU published just before its request,
    // M_TSC_LAST (runtime/vcpu/worker.ts): a count written here is never in the future of a read
    // that follows it on a vCPU, and the time the request waited for this thread, which that
    // vCPU hides from its guest (clock.ts StallWatch), does not run the count down)
    const published = new BigInt64Array(this.memory.buffer, L.MACHINE + L.M_TSC_LAST, 1);
    this.pit = new Pit(
      this.timers,
      this.irq.line(0),
      { buffer: this.memory.buffer, offset: L.PIT_STATE },
      false,
      !this.threaded
        ? undefined
        : this.stallHide
        ? () => Number(Atomics.load(published, 0))
        : latestNs(this.memory, this.clock, L.MACHINE + L.M_TSC_LAST),
    );
    // where channel 0's last tick is, for the ticks it sends again (devices/pit.ts): still in the
    // 8259A's IRR (when IRQ0 is unmasked there) or in a local APIC's IRR (the IO-APIC's pin
    // unmasked), or masked at both
    const pin0 = isaToGsi(0);
    this.pit.irq0State = () => {
      const m = this.pic.master;
      const viaPic = (m.imr & 1) === 0, viaApic = !this.ioapic.masked(pin0);
      if (!viaPic && !viaApic) return IRQ0_MASKED;
      if (viaPic && (m.irr & 1)) return IRQ0_WAITING;
      if (viaApic && this.bus.pending(this.ioapic.lo[pin0] & 0xff)) return IRQ0_WAITING;
      return IRQ0_FREE;
    };
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
    this.pvpanic = new PvPanic();
    this.pvpanic.onPanic = () => this.finish({ kind: "panic" });
    this.pci.add(this.pvpanic.pci, PVPANIC_SLOT);
    const debugExit = opts.exitPort === undefined ? undefined : new DebugExit(opts.exitPort);
    if (debugExit) debugExit.onExit = (code) => this.finish({ kind: "exit", code });
    this.nics = attachNics(this.pci, this.ram, opts.net ?? [], () => (this.hostWork = true), undefined, this.timers);
    this.yieldMs = this.nics.length ? YIELD_MS_NET : YIELD_MS;
    const isIde = (c: DiskConfig | BlockImage) => "file" in c && c.if === "ide";
    this.disks = attachDisks(this.pci, this.ram, (opts.disks ?? []).filter((c) => !isIde(c)));
    try {
      this.ide = attachIde(this.pci, this.ram, this.irq, (opts.disks ?? []).filter(isIde), opts.cdrom);
    } catch (e) {
      closeDisks(this.disks);
      throw e;
    }
    if (this.ide) this.disks.push(...this.ide.disks);
    try {
      this.shares = attachShares(this.pci, this.ram, opts.shares ?? []);
    } catch (e) {
      closeDisks(this.disks);
      throw e;
    }
    setBootOrder(this.rtc.cmos, opts.boot ?? "cdn");

    // The board. ISA devices claim fixed ports; the PCI bus claims 0xCF8-0xCFF when it is made and
    // maps its functions' BARs (the NICs among them) when firmware or the guest programs them.
    const isa = (name: string, d: { attach(io: IoBus): void; reset?(): void }): BoardDevice => ({
      name,
      attach: (io) => d.attach(io),
      reset: () => d.reset?.(),
    });
    this.devices = [
      isa("8259A PIC pair", this.pic),
      isa("8254 PIT", this.pit),
      isa("MC146818 RTC", this.rtc),
      isa("COM1", this.com1),
      isa("COM2", this.com2),
      isa("POST port 0x80", this.post),
      isa("port 0x92", this.portA),
      isa("i8042", this.i8042),
      isa("ACPI PM", this.acpi),
      isa("pvpanic", this.pvpanic),
      ...(debugExit ? [isa("isa-debug-exit", debugExit)] : []),
      { name: "IO-APIC", attach: (_io, mmio) => this.ioapic.attach(mmio), reset: () => this.ioapic.reset() },
      ...this.nics.map((n): BoardDevice => ({ name: n.name, attach: () => {}, reset: () => n.device.reset() })),
      ...this.disks.map((d): BoardDevice => ({ name: d.name, attach: () => {}, reset: () => d.device.reset() })),
      ...(this.ide ? [isa("PIIX IDE", this.ide.controller)] : []),
      ...this.shares.map((s): BoardDevice => ({ name: s.name, attach: () => {}, reset: () => s.device.reset() })),
    ];
    for (const d of this.devices) d.attach(this.io, this.mmio);

    this.serial = new SerialConsole(this.com1, () => this.wake?.(), opts.serialOut);

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
    if ((opts.acpi ?? true) && !opts.noTables) {
      this.tables = installTables(this.ram, { ncpu: this.ncpu, ramBytes: this.ramBytes });
    }
    // the other models come out of their constructors in their reset state
    this.pic.reset();
    this.acpi.reset();
    this.host = this.runHost();
  }

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
      const imports = coreImports({ vcpu: () => this.vcpus[cpu], io: this.io, mmio: this.mmio, clock: this.clock });
      const core = await Core.create(this.memory, cpu, imports, this.opts.lazyJit);
      this.cores.push(core);
      this.vcpus.push(new Vcpu(core, this.lapics[cpu], this.bus, chip));
      this.resetCpu(cpu);
    }
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
    for (const d of this.devices) d.reset();
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

  // Unplug the NICs' switch connections and close the disk images (the machine cannot run
  // afterwards).
  close(): void {
    for (const n of this.nics) n.link.close();
    closeDisks(this.disks);
    for (const s of this.shares) s.device.server.close();
  }

  // Ask the run loop to return { kind: "stopped" }.
  stop(): void {
    this.finish({ kind: "stopped" });
  }

  pressPowerButton(): void {
    this.acpi.pressPowerButton();
    this.wake?.();
  }

  // ---- running --------------------------------------------------------------------------------
  async run(): Promise<Outcome> {
    await this.init();
    this.pci.assignResources(); // devices registered since the last run get their BARs
    this.outcome = undefined;
    if (this.threaded) await (this.deviceThread ??= new DeviceThread(this.host)).run();
    else {
      // vCPUs on this thread hand hot blocks to a compiler thread (runtime/jit/background.ts),
      // except on the virtual clock: a compiled loop may end its slice an iteration late (the
      // count stays exact), so when blocks arrive would change where slices end, and runs there
      // must repeat byte for byte
      if (!this.virtual) { for (const c of this.cores) c.jit.startBackground(); }
      try {
        await runRoundRobin(this.host);
      } finally {
        for (const c of this.cores) c.jit.stopBackground();
      }
    }
    this.serial.flush();
    return this.outcome!;
  }

  // the machine as the run loops see it
  private runHost(): RunHost {
    // deno-lint-ignore no-this-alias
    const m = this;
    return {
      memory: m.memory,
      ncpu: m.ncpu,
      vcpus: m.vcpus,
      lapics: m.lapics,
      bus: m.bus,
      io: m.io,
      mmio: m.mmio,
      pic: m.pic,
      ioapic: m.ioapic,
      timers: m.timers,
      clock: m.clock,
      virtual: m.virtual,
      paced: m.paced,
      slice: m.slice,
      quantum: m.quantum,
      yieldMs: m.yieldMs,
      get done() {
        return m.outcome !== undefined;
      },
      finish: (o) => m.finish(o),
      noteStopped: () => {
        // every vCPU stopped with interrupts off (or never started): nothing can happen any more
        if (m.vcpus.every((v) => v.state === CPU_STOPPED || v.state === CPU_WAIT_SIPI)) m.finish({ kind: "halt" });
      },
      compiling: () => m.cores.some((c) => c.jit.compiling()),
      takeHostWork: () => {
        const w = m.hostWork;
        m.hostWork = false;
        return w;
      },
      flushSerial: () => m.serial.flush(),
      setWake: (w) => (m.wake = w),
    };
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
