// Guest-to-host exit signals, the two QEMU devices harnesses rely on:
//
// - pvpanic: the guest kernel reports a panic. As QEMU's pci-pvpanic (1b36:0011, one 16-byte
//   memory BAR; Linux's pvpanic-pci driver) and its ISA port 0x505 (pvpanic-mmio with an ACPI
//   QEMU0001 node, or software that writes the port directly). Reading gives the events the
//   device understands (bit 0 PANICKED, bit 1 CRASH_LOADED); writing reports them. PANICKED ends
//   the run as the machine's `onPanic` decides (cli: --on-panic); CRASH_LOADED (a kdump kernel
//   takes over) is noted and the guest goes on.
// - isa-debug-exit: a byte (or word) written to its port ends the run with exit status
//   (value << 1) | 1, QEMU's convention, so a guest program can report success or failure.
import type { IoBus, IoHandler } from "../bus.ts";
import { PciFunction } from "./pci.ts";

export const PVPANIC_PANICKED = 1;
export const PVPANIC_CRASH_LOADED = 2;
export const PVPANIC_PORT = 0x505;
export const PVPANIC_SLOT = 30; // out of the way of the NICs (3..) and disks
export const DEBUG_EXIT_PORT = 0x501; // QEMU's default iobase

export class PvPanic implements IoHandler {
  readonly pci = new PciFunction({ vendor: 0x1b36, device: 0x0011, classCode: 0x088000, revision: 1 });
  onPanic: () => void = () => {};
  onCrashLoaded: () => void = () => {};

  constructor() {
    this.pci.defineBar(0, {
      size: 16,
      io: false,
      handler: {
        read: (off) => (off === 0 ? this.read() : 0),
        write: (off, _s, v) => off === 0 && this.write(0, 1, v),
      },
    });
  }

  attach(io: IoBus): void {
    io.register(PVPANIC_PORT, 1, this);
  }

  read(_port = 0, _size = 1): number {
    return PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
  }

  write(_port: number, _size: number, value: number): void {
    if (value & PVPANIC_PANICKED) this.onPanic();
    else if (value & PVPANIC_CRASH_LOADED) this.onCrashLoaded();
  }
}

export class DebugExit implements IoHandler {
  onExit: (status: number) => void = () => {};
  constructor(readonly port = DEBUG_EXIT_PORT) {}

  attach(io: IoBus): void {
    io.register(this.port, 2, this);
  }

  read(): number {
    return 0xff;
  }

  // any write in the two-byte range, as QEMU's; the host's exit status keeps the low 8 bits
  write(_port: number, size: number, value: number): void {
    this.onExit((((value & (size === 1 ? 0xff : 0xffff)) << 1) | 1) & 0xff);
  }
}
