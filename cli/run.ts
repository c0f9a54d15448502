// Running a machine to its end: boot or restore, the console and the control socket wired to it,
// signals, and what the guest's end means as an exit status (exit.ts).
import type { Machine } from "../runtime/machine.ts";
import { Vm, type VmOutcome } from "../runtime/control/vm.ts";
import { ControlServer } from "../runtime/control/server.ts";
import type { SnapshotHeader } from "../runtime/snapshot/snapshot.ts";
import { DEFAULT_APPEND, DEFAULT_INITRD, DEFAULT_KERNEL } from "../runtime/boot/defaults.ts";
import { host, type Signal } from "../runtime/platform/mod.ts";
import { type BootConfig, UsageError } from "./options.ts";
import { type BootFiles, loadBootFiles } from "./guest_files.ts";
import {
  attachDebugcon,
  importMachine,
  loadGuest,
  type MachineFactory,
  type MachineLike,
  openDebugcon,
} from "./machine.ts";
import { Console, pumpStdin } from "./console.ts";
import { EXIT_BROKEN_PIPE, EXIT_SIGNAL } from "./exit.ts";

// Boot and run until power-off (or reset with --no-reboot, or Ctrl-A x). Returns the exit status.
export async function runGuest(
  cfg: BootConfig,
  files: BootFiles,
  factory: MachineFactory = importMachine,
): Promise<number> {
  const debugcon = cfg.debugcon === null ? null : openDebugcon(cfg.debugcon);
  // the machine's memory and every vCPU worker read the threshold from the environment
  if (cfg.jit !== null) host.env.set("RING3_JIT", cfg.jit === 0 ? "off" : String(cfg.jit));
  try {
    const m = await factory({
      memMiB: cfg.memMiB,
      smp: cfg.smp,
      smpThreads: cfg.smpThreads,
      ...(cfg.vcpuWorker ? { vcpuWorker: true } : {}),
      net: cfg.net,
      disks: cfg.disks,
      ...(cfg.cdrom === null ? {} : { cdrom: cfg.cdrom }),
      ...(cfg.shares.length ? { shares: cfg.shares } : {}),
      // --boot c: the hard disk first, then the CD-ROM and the network (QEMU's order letters)
      ...(cfg.boot === null ? {} : { boot: { c: "cdn", d: "dcn", n: "ncd" }[cfg.boot] }),
      acpi: files.bios === null,
      ...(cfg.exitPort === null ? {} : { exitPort: cfg.exitPort }),
    });
    if (debugcon) attachDebugcon(m, debugcon);
    loadGuest(m, cfg, files);
    return await runMachine(m, cfg, files, null);
  } finally {
    debugcon?.close();
  }
}

// --restore: the machine from a snapshot, running where it was saved.
export async function restoreGuest(cfg: BootConfig): Promise<number> {
  if (cfg.jit !== null) host.env.set("RING3_JIT", cfg.jit === 0 ? "off" : String(cfg.jit));
  const { machine, header } = await Vm.machineFromSnapshot(cfg.restore!, { smpThreads: cfg.smpThreads });
  const c = header.config;
  if ((cfg.smpGiven && cfg.smp !== c.smp) || (cfg.memGiven && cfg.memMiB !== c.memMiB)) {
    machine.close();
    throw new UsageError(
      `--restore ${cfg.restore}: the snapshot is a machine with --smp ${c.smp} --mem ${c.memMiB}; leave those out or match them`,
    );
  }
  // a reboot of the restored guest boots what the saved one booted
  const b = header.boot ?? {};
  const bootCfg: BootConfig = {
    ...cfg,
    kernel: typeof b.kernel === "string" ? b.kernel : DEFAULT_KERNEL,
    initrd: typeof b.initrd === "string" ? b.initrd : b.initrd === null ? null : DEFAULT_INITRD,
    append: typeof b.append === "string" ? b.append : DEFAULT_APPEND,
    bios: typeof b.bios === "string" ? b.bios : null,
    memMiB: c.memMiB,
    smp: c.smp,
  };
  if (bootCfg.bios) bootCfg.kernel = bootCfg.initrd = null;
  return await runMachine(machine as unknown as MachineLike, bootCfg, null, header);
}

function bootNotes(cfg: BootConfig): Record<string, unknown> {
  return { kernel: cfg.kernel, initrd: cfg.initrd, append: cfg.append, bios: cfg.bios };
}

async function runMachine(
  m: MachineLike,
  cfg: BootConfig,
  bootFiles: BootFiles | null,
  restoredFrom: SnapshotHeader | null,
): Promise<number> {
  const restored = restoredFrom !== null;
  const tty = host.stdin.isTerminal();
  let files = bootFiles;
  // a reset: devices and RAM back to power-on, then the guest is loaded again
  const reboot = async (mm: Machine) => {
    files ??= await loadBootFiles(cfg);
    loadGuest(mm as unknown as MachineLike, cfg, files);
    con.restartClock();
  };
  const vm = new Vm(m as unknown as Machine, {
    noReboot: cfg.noReboot,
    reboot,
    boot: bootNotes(cfg),
    hostOptions: { smpThreads: cfg.smpThreads }, // for the machines loadvm builds
  });
  if (restoredFrom) vm.setRetiredBefore(restoredFrom);
  const con = new Console(vm, cfg, tty, !restored && (files?.shellMarker ?? false));
  vm.onOutput((d) => con.output(d));
  let server: ControlServer | null = null;
  let exitCode: number | null = null;
  let quitted!: () => void;
  const quitSeen = new Promise<void>((r) => (quitted = r)); // (--on-panic pause waits for it)
  const stop = (code: number) => {
    exitCode ??= code;
    vm.quit();
    quitted();
  };
  con.quit = () => stop(0);
  con.brokenPipe = () => stop(EXIT_BROKEN_PIPE);
  const note = (msg: string) => {
    try {
      host.stderr.writeSync(new TextEncoder().encode(`ring3: ${msg}${tty ? "\r\n" : "\n"}`));
    } catch { /* stderr closed */ }
  };
  // the terminal comes back in its normal mode however ring3 ends
  const signals = Object.entries(EXIT_SIGNAL) as [Signal, number][];
  const handlers = signals.map(([sig, code]) => {
    const h = () => {
      if (tty) host.stdin.setRaw(false);
      note(`${sig}: quitting`);
      stop(code);
    };
    host.addSignalListener(sig, h);
    return [sig, h] as const;
  });
  if (tty) host.stdin.setRaw(true, { cbreak: false });
  try {
    if (cfg.control) server = await ControlServer.listen(vm, cfg.control);
    void pumpStdin(con);
    con.restartClock();
    for (;;) {
      const o: VmOutcome = await vm.run();
      if (exitCode !== null) return exitCode;
      switch (o.kind) {
        case "quit":
        case "poweroff":
        case "stopped":
          return 0;
        case "halt": // e.g. `halt`, or `poweroff` on a machine without ACPI: nothing more can happen
          if (!con.printed && !restored) {
            // a kernel that dies before its first line (a corrupt payload, a wrong image) is a failure
            note("guest halted before printing anything (every CPU stopped with interrupts off): boot failed");
            return 1;
          }
          note("guest halted (every CPU stopped with interrupts off)");
          return 0;
        case "panic": {
          const line = con.panicLine() ?? "Kernel panic (the message did not reach the console)";
          if (cfg.onPanic === "reboot") {
            note(`guest panicked: ${line}; rebooting (--on-panic reboot)`);
            await vm.machine.reset();
            await reboot(vm.machine);
            continue;
          }
          if (cfg.onPanic === "pause") {
            note(`guest panicked: ${line}; CPUs stopped (--on-panic pause), Ctrl-A x quits`);
            await quitSeen;
            return exitCode !== null && exitCode !== 0 ? exitCode : 3;
          }
          note(`guest panicked: ${line}`);
          return 3;
        }
        case "exit": {
          const code = (o as { code?: number }).code ?? 1;
          note(`guest wrote to the exit port: exit status ${code}`);
          return code;
        }
        case "reset": {
          const reason = (o as { reason?: string }).reason;
          note(`guest reset${reason ? ` (${reason})` : ""}, --no-reboot`);
          return /triple fault/.test(reason ?? "") ? 4 : 0;
        }
        default: {
          const x = o as { kind: string; reason?: string };
          note(`machine stopped: ${x.kind}${x.reason ? ` (${x.reason})` : ""}`);
          return 1;
        }
      }
    }
  } finally {
    if (tty) host.stdin.setRaw(false);
    for (const [sig, h] of handlers) host.removeSignalListener(sig, h);
    await server?.close();
    if (restored || vm.machine !== (m as unknown)) vm.machine.close?.();
  }
}
