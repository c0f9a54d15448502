// Intel 82093AA I/O APIC at 0xFEC00000: IOREGSEL (offset 0x00) selects a register that IOWIN
// (offset 0x10) reads or writes: ID, version (0x11, 24 entries), arbitration ID and the 24
// redirection entries. Edge-triggered pins latch a rising edge and send it once unmasked;
// level-triggered pins send while asserted and set Remote IRR until the local APIC's EOI for the
// vector comes back (eoi()). Polarity is recorded but the board's lines are modelled as
// "asserted", so active-low and active-high pins behave alike.
import type { MmioBus, MmioHandler } from "../bus.ts";
import type { IrqSink } from "../irq.ts";
import { type DeviceState, expectVersion, pick, put } from "../snapshot/persist.ts";

export const IOAPIC_BASE = 0xfec00000;
export const IOAPIC_PINS = 24;

const MASKED = 1 << 16, LEVEL = 1 << 15, REMOTE_IRR = 1 << 14, DELIVS = 1 << 12;
const RO_BITS = REMOTE_IRR | DELIVS;

export interface ApicMessage {
  vector: number;
  mode: number; // delivery mode: 0 fixed, 1 lowest priority, 2 SMI, 4 NMI, 5 INIT, 7 ExtINT
  logical: boolean;
  dest: number; // 8-bit destination
  level: boolean; // level-triggered (the target sets TMR and must EOI back)
}

export class IoApic implements IrqSink, MmioHandler {
  id = 0;
  sel = 0;
  readonly lo = new Uint32Array(IOAPIC_PINS);
  readonly hi = new Uint32Array(IOAPIC_PINS);
  private lines = 0; // input levels
  private irr = 0; // latched edges / asserted levels waiting to be sent

  constructor(private readonly send: (m: ApicMessage) => void) {
    this.reset();
  }

  attach(mmio: MmioBus): void {
    mmio.register(IOAPIC_BASE, 0x1000, this);
  }

  reset(): void {
    this.lo.fill(MASKED);
    this.hi.fill(0);
    this.sel = 0;
    this.irr = 0;
  }

  setIrq(pin: number, level: boolean): void {
    if (pin >= IOAPIC_PINS) return;
    const m = 1 << pin;
    const was = (this.lines & m) !== 0;
    if (level) this.lines |= m;
    else this.lines &= ~m;
    if (this.lo[pin] & LEVEL) {
      if (level) this.irr |= m;
      else this.irr &= ~m;
    } else if (level && !was) {
      this.irr |= m;
    }
    this.service(pin);
  }

  // the pin's redirection entry is masked
  masked(pin: number): boolean {
    return (this.lo[pin] & MASKED) !== 0;
  }

  private service(pin: number): void {
    const m = 1 << pin;
    const lo = this.lo[pin];
    if (!(this.irr & m) || lo & MASKED) return;
    const level = (lo & LEVEL) !== 0;
    if (level) {
      if (lo & REMOTE_IRR) return;
      this.lo[pin] |= REMOTE_IRR;
    } else {
      this.irr &= ~m;
    }
    this.send({
      vector: lo & 0xff,
      mode: (lo >> 8) & 7,
      logical: (lo & (1 << 11)) !== 0,
      dest: this.hi[pin] >>> 24,
      level,
    });
  }

  // EOI broadcast from a local APIC for a level-triggered vector
  eoi(vector: number): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const lo = this.lo[pin];
      if ((lo & 0xff) === vector && lo & REMOTE_IRR) {
        this.lo[pin] = lo & ~REMOTE_IRR;
        this.service(pin);
      }
    }
  }

  readReg(r: number): number {
    if (r === 0) return (this.id << 24) >>> 0;
    if (r === 1) return ((IOAPIC_PINS - 1) << 16) | 0x11;
    if (r === 2) return (this.id << 24) >>> 0;
    if (r >= 0x10 && r < 0x10 + 2 * IOAPIC_PINS) {
      const pin = (r - 0x10) >> 1;
      return r & 1 ? this.hi[pin] : this.lo[pin];
    }
    return 0;
  }

  writeReg(r: number, v: number): void {
    if (r === 0) {
      // 8 bits as on xAPIC-era IO-APICs (not the 82093AA's 4): with up to 64 CPUs (APIC IDs
      // 0..63) the IO-APIC's own ID is 64, and Linux reads back the ID it writes
      this.id = v >>> 24;
      return;
    }
    if (r >= 0x10 && r < 0x10 + 2 * IOAPIC_PINS) {
      const pin = (r - 0x10) >> 1;
      if (r & 1) {
        this.hi[pin] = v & 0xff000000;
        return;
      }
      const old = this.lo[pin];
      let lo = (v & ~RO_BITS) | (old & RO_BITS);
      if (!(lo & LEVEL)) lo &= ~REMOTE_IRR;
      this.lo[pin] = lo >>> 0;
      const m = 1 << pin;
      // switching the trigger mode re-evaluates the pin against its current level
      if ((old ^ lo) & LEVEL) {
        if (lo & LEVEL) this.irr = this.lines & m ? this.irr | m : this.irr & ~m;
        else this.irr &= ~m;
      }
      this.service(pin);
    }
  }

  read(off: number, size: number): number {
    const o = off & 0xff;
    let v = 0;
    if (o < 4) v = this.sel;
    else if (o >= 0x10 && o < 0x14) v = this.readReg(this.sel);
    else return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    const sh = 8 * (o & 3);
    return size === 4 ? v >>> 0 : (v >>> sh) & (size === 2 ? 0xffff : 0xff);
  }

  write(off: number, size: number, value: number): void {
    const o = off & 0xff;
    if (o < 4) {
      this.sel = value & 0xff;
    } else if (o >= 0x10 && o < 0x14) {
      if (size !== 4) { // partial writes merge into the register
        const sh = 8 * (o & 3);
        const mask = (size === 2 ? 0xffff : 0xff) << sh;
        value = (this.readReg(this.sel) & ~mask) | ((value << sh) & mask);
      }
      this.writeReg(this.sel, value >>> 0);
    }
  }
}

// ---- persist (ARCHITECTURE.md, "Snapshots"): redirection table, select, input levels, latches --
const IOAPIC_FIELDS = ["id", "sel", "lo", "hi", "lines", "irr"];
export function saveIoApic(a: IoApic): DeviceState {
  return { v: 1, ...pick(a, IOAPIC_FIELDS) };
}
export function restoreIoApic(a: IoApic, state: DeviceState): void {
  put(a, IOAPIC_FIELDS, expectVersion("IO-APIC", state, 1), "IO-APIC");
}
