// A machine you can steer: runs a Machine until it powers off, and between runs pauses it,
// resumes it, saves it to a snapshot, replaces it by one loaded from a snapshot, and reboots it on
// a reset. The control socket (server.ts), the console's monitor prompt (cli/boot.ts) and the
// embedding API (mod.ts) all drive a machine through this class and its commands (commands.ts).
//
// Pausing stops the run loop (the vCPUs leave their slices, workers end) and freezes guest time:
// on resume the clock goes on from the moment of the pause, so the guest sees no gap.
import * as L from "../../core-as/layout.ts";
import { Machine, type MachineOptions, type Outcome } from "../machine.ts";
import {
  bytesSource,
  fileSource,
  openSnapshotFile,
  readSnapshotHeader,
  restoreMachine,
  restoreRam,
  saveMachineFile,
  type SnapshotHeader,
  snapshotMachineOptions,
} from "../snapshot/snapshot.ts";
import { SnapshotError } from "../snapshot/persist.ts";
import { loadCoreModule } from "../vcpu/core.ts";

export type VmEvent =
  | { event: "pause" }
  | { event: "resume" }
  | { event: "powerdown" } // the power button was pressed
  | { event: "poweroff" }
  | { event: "reset"; reason: string }
  | { event: "panic"; line: string } // the guest kernel printed a panic
  | { event: "link"; nic: string; up: boolean }
  | { event: "loadvm"; file: string };

export type VmState = "created" | "running" | "paused" | "off";
export type VmOutcome = Outcome | { kind: "quit" } | { kind: "halt" };

export interface VmOptions {
  // a reset with noReboot ends run() with { kind: "reset" }; otherwise the machine is reset and
  // `reboot` puts the guest back (loads the kernel), then it runs again
  noReboot?: boolean;
  reboot?: (m: Machine) => void | Promise<void>;
  // host-side machine options for machines loadvm builds (clock, smpThreads, serialOut ...)
  hostOptions?: Partial<MachineOptions>;
  boot?: Record<string, unknown>; // notes savevm stores with a snapshot (cli: kernel, initrd, append)
}

const PANIC = "Kernel panic - not syncing";

// what a run ended with (stand-in machines in tests may say it as a bare string)
function outcome(o: Outcome | string | undefined): Outcome {
  if (typeof o === "string") return { kind: o } as Outcome;
  return o ?? { kind: "poweroff" };
}

export class Vm {
  private m: Machine;
  state: VmState = "created";
  private pauseWanted = false;
  private quitWanted = false;
  private frozenNs: number | null = null; // guest time at the pause
  private pausedWaiters: (() => void)[] = [];
  private wakeRun: (() => void) | null = null;
  private quitNow!: () => void;
  // (a machine without stop() still ends run() on quit)
  private readonly quitSignal = new Promise<Outcome>((r) => (this.quitNow = () => r({ kind: "stopped" })));
  private listeners = new Set<(e: VmEvent) => void>();
  private outputs = new Set<(b: Uint8Array) => void>();
  private tail = "";
  private panicTold = false; // a panic event went out during this run
  readonly counters = { serialOut: 0, serialIn: 0, snapshotsSaved: 0, snapshotsLoaded: 0, resets: 0 };
  bootNotes: Record<string, unknown> | undefined;
  // instructions retired before this process's cores started (a restored snapshot), per vCPU;
  // worker threads carry theirs in the state block already
  private retiredBefore: number[] = [];

  constructor(machine: Machine, private readonly opts: VmOptions = {}) {
    this.m = machine;
    this.bootNotes = opts.boot;
    this.wire(machine);
  }

  get machine(): Machine {
    return this.m;
  }

  // ---- events and console ---------------------------------------------------------------------
  on(listener: (e: VmEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(e: VmEvent): void {
    for (const l of [...this.listeners]) l(e);
  }
  // COM1 output, from this machine and every machine loadvm puts in its place
  onOutput(sink: (b: Uint8Array) => void): () => void {
    this.outputs.add(sink);
    return () => this.outputs.delete(sink);
  }
  input(bytes: Uint8Array | string): void {
    const b = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    this.counters.serialIn += b.length;
    this.m.serial.input(b);
  }

  // instructions vCPU `cpu` has retired, counting from the guest's power-on
  retired(cpu: number): number {
    return this.m.retired(cpu) + (this.m.threaded ? 0 : this.retiredBefore[cpu] ?? 0);
  }

  // (machines restored from a snapshot: what the snapshot's vCPUs had retired)
  setRetiredBefore(header: SnapshotHeader): void {
    this.retiredBefore = header.cpus.map((c) => c.retired);
  }

  private wire(m: Machine): void {
    m.serial.onOutput = (b) => {
      this.counters.serialOut += b.length;
      for (const o of [...this.outputs]) o(b);
      this.tail = (this.tail + new TextDecoder("latin1").decode(b)).slice(-512);
      const i = this.tail.indexOf(PANIC);
      if (i >= 0) {
        const line = this.tail.slice(i).split(/\r?\n/)[0];
        this.tail = "";
        this.panicTold = true;
        this.emit({ event: "panic", line });
      }
    };
  }

  // ---- running ----------------------------------------------------------------------------------
  // Run until the guest powers off or halts for good, quit() is called, or a reset under
  // noReboot. Pauses, resumes and loadvm happen inside.
  async run(): Promise<VmOutcome> {
    for (;;) {
      if (this.quitWanted) return this.end({ kind: "quit" });
      if (this.pauseWanted) {
        await this.parked();
        continue;
      }
      this.state = "running";
      this.panicTold = false;
      const o = outcome(await Promise.race([this.m.run(), this.quitSignal]));
      if (o.kind === "stopped" && this.quitWanted) return this.end({ kind: "quit" });
      if (o.kind === "stopped" && this.pauseWanted) {
        await this.parked();
        continue;
      }
      if (o.kind === "reset") {
        this.counters.resets++;
        this.emit({ event: "reset", reason: o.reason });
        if (this.opts.noReboot) return this.end(o);
        await this.m.reset();
        await this.opts.reboot?.(this.m);
        continue;
      }
      if (o.kind === "poweroff") this.emit({ event: "poweroff" });
      // a panic the guest reported through pvpanic before (or without) its console line
      if (o.kind === "panic" && !this.panicTold) this.emit({ event: "panic", line: "(reported through pvpanic)" });
      return this.end(o);
    }
  }

  private end(o: VmOutcome): VmOutcome {
    this.state = "off";
    this.pauseWanted = false;
    for (const w of this.pausedWaiters.splice(0)) w();
    return o;
  }

  // paused: tell the waiters, wait for resume(), loadvm or quit()
  private async parked(): Promise<void> {
    this.frozenNs ??= this.m.clock.now();
    this.state = "paused";
    this.emit({ event: "pause" });
    for (const w of this.pausedWaiters.splice(0)) w();
    await new Promise<void>((r) => (this.wakeRun = r));
    this.wakeRun = null;
    if (this.quitWanted) return;
    // the guest must not see the pause: its clock goes on from where it stopped
    if (this.frozenNs !== null) this.m.clock.setNow?.(this.frozenNs);
    this.frozenNs = null;
    this.emit({ event: "resume" });
  }

  get paused(): boolean {
    return this.state === "paused";
  }

  // Stop the vCPUs; resolves once they are stopped (at once when not running).
  pause(): Promise<void> {
    if (this.state === "paused" || this.state === "off") return Promise.resolve();
    this.pauseWanted = true;
    const p = new Promise<void>((r) => this.pausedWaiters.push(r));
    if (this.state === "running") this.m.stop();
    return p;
  }

  resume(): void {
    this.pauseWanted = false;
    this.wakeRun?.();
  }

  // End run() with { kind: "quit" }.
  quit(): void {
    this.quitWanted = true;
    if (this.state === "running") this.m.stop?.();
    this.quitNow();
    this.wakeRun?.();
  }

  // the ACPI power button: a guest with acpid or the kernel's button driver shuts down cleanly
  powerdown(): void {
    this.emit({ event: "powerdown" });
    this.m.pressPowerButton();
  }

  // a serial break and a key on COM1: Linux's magic SysRq (CONFIG_MAGIC_SYSRQ_SERIAL)
  sysrq(key: string): void {
    if (key.length !== 1) throw new RangeError(`sysrq wants one key, not '${key}'`);
    this.m.com1.receiveBreak();
    this.input(key);
  }

  // ---- the guest's view of time and work ----------------------------------------------------------
  guestNs(): number {
    return this.frozenNs ?? this.m.clock.now();
  }

  // ---- snapshots ----------------------------------------------------------------------------------
  // Save the whole machine; a running machine is paused for it and goes on afterwards.
  async savevm(path: string): Promise<{ bytes: number; ms: number }> {
    if (this.state === "off") throw new SnapshotError("savevm: the machine is off");
    const t0 = performance.now();
    const wasRunning = this.state === "running";
    await this.pause();
    try {
      const bytes = await saveMachineFile(this.m, path, {
        clockNs: this.guestNs(),
        boot: this.bootNotes,
        retired: this.m.vcpus.map((_, i) => this.retired(i)),
      });
      this.counters.snapshotsSaved++;
      return { bytes, ms: performance.now() - t0 };
    } finally {
      if (wasRunning) this.resume();
    }
  }

  // Replace the machine by the one in a snapshot; it runs if this one was running.
  async loadvm(path: string): Promise<{ ms: number }> {
    if (this.state === "off") throw new SnapshotError("loadvm: the machine is off");
    const t0 = performance.now();
    const wasRunning = this.state === "running";
    const { machine, header } = await Vm.machineFromSnapshot(path, this.opts.hostOptions);
    await this.pause();
    const old = this.m;
    this.m = machine;
    this.bootNotes = header.boot ?? this.bootNotes;
    this.setRetiredBefore(header);
    this.wire(machine);
    this.frozenNs = header.clockNs; // resume goes on from the snapshot's time
    old.close();
    this.counters.snapshotsLoaded++;
    this.emit({ event: "loadvm", file: path });
    if (wasRunning || this.state === "created") this.resume();
    return { ms: performance.now() - t0 };
  }

  // A machine built and filled from snapshot bytes, ready to run.
  // (a path is read straight into the new machine's memory)
  static async machineFromSnapshot(
    snapshot: string | Uint8Array,
    host: Partial<MachineOptions> = {},
    what = typeof snapshot === "string" ? `snapshot ${snapshot}` : "snapshot",
  ): Promise<{ machine: Machine; header: SnapshotHeader }> {
    const file = typeof snapshot === "string" ? openSnapshotFile(snapshot) : null;
    try {
      const src = file ? fileSource(file) : bytesSource(snapshot as Uint8Array);
      const { header } = readSnapshotHeader(src, what);
      // the core compiles (V8's threads) while this thread builds the machine and reads the RAM
      loadCoreModule().catch(() => {}); // (init() reports a failure)
      const machine = new Machine({ ...host, ...snapshotMachineOptions(header), noTables: true, lazyJit: true });
      try {
        restoreRam(machine, src, what);
        await machine.init();
        restoreMachine(machine, src, what, true);
      } catch (e) {
        machine.close();
        throw e;
      }
      return { machine, header };
    } finally {
      file?.close();
    }
  }

  // ---- statistics -----------------------------------------------------------------------------------
  // one vCPU's architectural registers from its state block (written back at every slice's end);
  // the six arithmetic flags are lazy there, so EFLAGS shows the others only
  regs(cpu: number): Record<string, string> {
    const c = this.m.vcpus[cpu].core;
    const hex = (v: number, w = 8) => "0x" + (v >>> 0).toString(16).padStart(w, "0");
    const r: Record<string, string> = {};
    const gpr = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
    gpr.forEach((name, i) => r[name] = hex(c.get(L.R_EAX + 4 * i)));
    r.eip = hex(c.get(L.S_EIP));
    r.eflagsNonArith = hex(c.get(L.S_FLAGS));
    r.cpl = String(c.get(L.S_CPL));
    ["es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr"].forEach((name, i) => {
      const b = L.S_SEG + i * L.SEG_SIZE;
      r[name] = `${hex(c.get(b + L.SG_SEL), 4)} base ${hex(c.get(b + L.SG_BASE))} limit ${hex(c.get(b + L.SG_LIMIT))}`;
    });
    r.cr0 = hex(c.get(L.S_CR0));
    r.cr2 = hex(c.get(L.S_CR2));
    r.cr3 = hex(c.get(L.S_CR3));
    r.cr4 = hex(c.get(L.S_CR4));
    r.halted = String(c.get(L.S_HALTED) !== 0);
    return r;
  }

  stats(): Record<string, unknown> {
    const m = this.m;
    return {
      state: this.state,
      guestSeconds: this.guestNs() / 1e9,
      vcpus: m.vcpus.map((v, i) => ({
        cpu: i,
        instructions: this.retired(i),
        state: ["running", "wait-for-SIPI", "stopped"][v.state] ?? String(v.state),
        halted: v.halted,
        // where it is: EIP as of its last slice (a running vCPU publishes it at every slice's end)
        eip: "0x" + (v.core.get(L.S_EIP) >>> 0).toString(16).padStart(8, "0"),
        haltedMs: Math.round(v.haltedMs),
        // the block compiler of the thread that runs this vCPU (worker threads keep their own)
        jit: m.threaded ? null : m.cores[i].jit.current(),
      })),
      devices: {
        com1: { bytesOut: this.counters.serialOut, bytesIn: this.counters.serialIn, rxQueued: m.serial.pendingInput },
        nics: m.nics.map((n) => ({
          name: n.name,
          link: n.link.up,
          txFrames: n.link.txFrames,
          rxFrames: n.link.rxFrames,
          txDropped: n.link.txDropped,
        })),
      },
      snapshots: { saved: this.counters.snapshotsSaved, loaded: this.counters.snapshotsLoaded },
      resets: this.counters.resets,
    };
  }
}
