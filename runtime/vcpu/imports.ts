// The core's imports for one vCPU: the same factory serves a vCPU on the machine's thread
// (runtime/machine.ts, devices called directly) and one in a worker (runtime/vcpu/worker.ts,
// devices reached through its mailbox). Either way the vCPU's own local APIC page is served by
// the vCPU's thread, interrupts are acknowledged through its Vcpu, and time is the machine clock.
import * as L from "../../core-as/layout.ts";
import type { CoreImports } from "./core.ts";
import type { Vcpu } from "./smp.ts";
import { type Clock, latestNs } from "../clock.ts";
import type { IoHandler, MmioHandler } from "../bus.ts";
import { PM_TMR, pmTimerTicks } from "../devices/acpi.ts";
import { PitReader } from "../devices/pit.ts";

export interface VcpuWiring {
  vcpu: () => Vcpu; // bound late: the Vcpu needs the core these imports go into
  io: IoHandler; // port I/O
  mmio: MmioHandler; // physical addresses outside RAM and ROM, but for this vCPU's APIC page
  clock: Clock;
  // reads of the ACPI PM timer served on this thread instead of through `io` (worker threads:
  // see pmTimerReader)
  pmTimer?: () => number;
  // reads of the 8254 (ports 0x40-0x42, 0x61) served on this thread: the value, or -1 (pitReader)
  pit?: (port: number) => number;
}

export function coreImports(w: VcpuWiring): CoreImports {
  const { vcpu, io, mmio, clock, pmTimer, pit } = w;
  return {
    io_in: pmTimer && pit
      ? (port, size) => {
        if (port === PM_TMR && size === 4) return pmTimer();
        if (size === 1 && port < 0x62) {
          const v = pit(port);
          if (v >= 0) return v;
        }
        return io.read(port, size);
      }
      : pmTimer
      ? (port, size) => port === PM_TMR && size === 4 ? pmTimer() : io.read(port, size)
      : (port, size) => io.read(port, size),
    io_out: (port, size, value) => io.write(port, size, value),
    mmio_rd: (addr, size) => {
      const v = vcpu();
      const off = v.lapicOffset(addr);
      return off >= 0 ? v.lapic.read(off, size) : mmio.read(addr, size);
    },
    mmio_wr: (addr, size, value) => {
      const v = vcpu();
      const off = v.lapicOffset(addr);
      if (off >= 0) v.lapic.write(off, size, value);
      else mmio.write(addr, size, value);
    },
    intr_ack: () => vcpu().intrAck(),
    clock_ns: () => clock.now(),
  };
}

// The ACPI PM timer read on a vCPU thread: a function of time, so it needs no device-thread round
// trip (whose wake-up, tens of µs under load, makes Linux's TSC refinement against it fail for
// ever). The time is the machine-wide latest any vCPU read (the core's RDTSC keeps it,
// core-as/ops/msr.ts), so a PM timer read on one vCPU never goes backwards from one on
// another: thread clocks differ by up to ~240 ns, nearly a PM timer tick, and Linux reads the
// 24-bit counter unchecked.
export function pmTimerReader(memory: WebAssembly.Memory, clock: Clock): () => number {
  const now = latestNs(memory, clock, L.MACHINE + L.M_TSC_LAST);
  return () => pmTimerTicks(now());
}

// The 8254's counters and port 0x61 read on a vCPU thread, from the machine's shared PIT state, at
// the same machine-wide time as the PM timer and the TSC (runtime/devices/pit.ts PitReader).
export function pitReader(memory: WebAssembly.Memory, clock: Clock): (port: number) => number {
  const r = new PitReader(
    { buffer: memory.buffer, offset: L.PIT_STATE },
    latestNs(memory, clock, L.MACHINE + L.M_TSC_LAST),
  );
  return (port) => r.read(port);
}
