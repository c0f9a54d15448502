// The machine glue: the only part of cli/ that knows the machine's API (what MachineLike names),
// loading the guest into it, and QEMU's isa-debugcon port.
import { bootBzImage, BootImageError, E820_RAM, type Region } from "../runtime/boot/bzimage.ts";
import { type NetConfig } from "../runtime/netopt.ts";
import { type DiskConfig } from "../runtime/block/options.ts";
import { type ShareConfig } from "../runtime/share/options.ts";
import type { GuestRam } from "../runtime/memory.ts";
import { type FsFile, host } from "../runtime/platform/mod.ts";
import { type BootConfig, BootFileError, UsageError } from "./options.ts";
import type { BootFiles } from "./guest_files.ts";

// What the CLI needs from runtime/machine.ts. Kept small so the integrator can adapt it.
export interface MachineLike {
  ram: GuestRam;
  core: Parameters<typeof bootBzImage>[1] & { icount?: bigint };
  ncpu?: number;
  retired?(cpu: number): number; // instructions retired by one vCPU so far
  serial: {
    input(data: Uint8Array): void;
    onOutput: ((data: Uint8Array) => void) | null;
  };
  // the machine's physical memory map (RAM entries are ignored: the loader derives RAM from `ram`)
  e820?(): Region[];
  tables?: { rsdp: number }; // ACPI tables the machine installed
  loadBios?(image: Uint8Array): void;
  io?: { register(base: number, len: number, h: PortHandler): void };
  // resolves on power-off or reset: { kind: "poweroff" | "reset" | "halt" | "stopped" } or that string
  run(): Promise<RunOutcome>;
  reset?(): void | Promise<void>; // devices and RAM back to power-on, before booting again
  stop?(): void;
}
export interface PortHandler {
  read(port: number, size: number): number;
  write(port: number, size: number, value: number): void;
}
export type RunOutcome = string | { kind: string; reason?: string } | void;

export interface MachineOptions {
  memMiB: number;
  smp: number;
  smpThreads?: number;
  vcpuWorker?: boolean;
  net?: NetConfig[];
  disks?: DiskConfig[];
  cdrom?: string;
  boot?: string;
  shares?: ShareConfig[];
  acpi?: boolean; // false: no built-in firmware tables (the ROM makes its own)
}
export type MachineFactory = (opts: MachineOptions) => Promise<MachineLike>;

interface MachineModule {
  Machine: {
    new (opts: MachineOptions): MachineLike;
    create?(opts: MachineOptions): Promise<MachineLike>;
  };
}

export async function importMachine(opts: MachineOptions): Promise<MachineLike> {
  let mod: MachineModule;
  try {
    mod = await import("../runtime/machine.ts") as unknown as MachineModule;
  } catch (e) {
    throw new BootFileError(`cannot load the machine (runtime/machine.ts): ${(e as Error).message.split("\n")[0]}`);
  }
  try {
    return mod.Machine.create ? await mod.Machine.create(opts) : new mod.Machine(opts);
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message.split("\n")[0]);
    if ((e as Error)?.name === "DiskError") throw new BootFileError(`disk ${(e as Error).message}`);
    throw e;
  }
}

// Firmware, kernel, initrd, zero page into RAM and the boot CPU at the kernel's entry; or, for a
// firmware boot, only the ROM: the machine's power-on (and reset) state is already the reset vector.
export function loadGuest(m: MachineLike, cfg: BootConfig, files: BootFiles): void {
  if (files.bios) {
    if (!m.loadBios) throw new BootFileError("--bios: this machine cannot map a BIOS image");
    try {
      m.loadBios(files.bios);
    } catch (e) {
      throw new BootFileError(`BIOS ${cfg.bios}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  if (!files.kernel) return;
  try {
    bootBzImage(m.ram, m.core, files.kernel, {
      cmdline: cfg.append,
      initrd: files.initrd ?? undefined,
      regions: (m.e820?.() ?? []).filter((e) => e.type !== E820_RAM),
      acpiRsdp: m.tables?.rsdp,
    });
  } catch (e) {
    if (e instanceof BootImageError) throw new BootFileError(`kernel ${cfg.kernel}: ${e.message}`);
    throw e;
  }
}

// QEMU's isa-debugcon: firmware and test ROMs print to port 0x402 without setting up a UART, and
// probe for the console by reading 0xE9 back.
const DEBUGCON_PORT = 0x402;

export function openDebugcon(path: string): FsFile {
  try {
    return host.openSync(path, { write: true, create: true, truncate: true });
  } catch (e) {
    const why = e instanceof host.errors.NotFound
      ? "no such directory"
      : e instanceof host.errors.PermissionDenied
      ? "permission denied"
      : (e as Error).message.split("\n")[0];
    throw new BootFileError(`--debugcon ${path}: cannot write: ${why}`);
  }
}

export function attachDebugcon(m: MachineLike, file: FsFile): void {
  if (!m.io) throw new BootFileError("--debugcon: this machine has no I/O port bus");
  const byte = new Uint8Array(1);
  m.io.register(DEBUGCON_PORT, 1, {
    read: () => 0xe9,
    write: (_port, _size, value) => {
      byte[0] = value;
      file.writeSync(byte);
    },
  });
}
