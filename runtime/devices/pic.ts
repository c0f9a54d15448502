// Intel 8259A programmable interrupt controllers: the PC/AT master (ports 0x20/0x21, IRQ0-7)
// and slave (0xA0/0xA1, IRQ8-15, cascaded on master IR2), plus the PIIX edge/level control
// registers (ELCR, ports 0x4D0/0x4D1). Modelled: ICW1-4 initialization, OCW1 mask, OCW2 EOI and
// rotation commands, OCW3 IRR/ISR read, poll and special mask mode, automatic EOI, special
// fully nested mode, priority rotation, spurious IRQ7/IRQ15, edge latching vs. level inputs.
import type { IoBus, IoHandler } from "../bus.ts";
import type { IrqSink } from "../irq.ts";
import { type DeviceState, expectVersion, pick, put } from "../snapshot/persist.ts";

class Chip {
  irr = 0; // interrupt request register
  isr = 0; // in-service register
  imr = 0; // interrupt mask register
  lines = 0; // input levels, for edge detection
  elcr = 0; // 1 = input is level-triggered (PIIX ELCR)
  base = 0; // vector base from ICW2
  prioAdd = 0; // the input with the highest priority (rotation)
  step = 0; // next ICW expected on the data port (2..4), 0 = initialized
  needIcw4 = false;
  single = false;
  autoEoi = false;
  rotateAeoi = false;
  sfnm = false; // special fully nested mode
  specialMask = false;
  readIsr = false;
  poll = false;
  // input 2 of the master carries the slave's INT output as a level (see DualPic.update)
  constructor(readonly master: boolean, readonly elcrMask: number) {}

  reset(): void {
    this.irr =
      this.isr =
      this.imr =
      this.lines =
        0;
    this.base = this.prioAdd = this.step = 0;
    this.needIcw4 =
      this.single =
      this.autoEoi =
      this.rotateAeoi =
        false;
    this.sfnm =
      this.specialMask =
      this.readIsr =
      this.poll =
        false;
  }

  // priority order number (0 = highest) of the first set bit in `mask`, 8 if none
  private prio(mask: number): number {
    for (let i = 0; i < 8; i++) if (mask & (1 << ((i + this.prioAdd) & 7))) return i;
    return 8;
  }

  setInput(pin: number, level: boolean): void {
    const m = 1 << pin;
    if (this.elcr & m) {
      if (level) this.irr |= m;
      else this.irr &= ~m;
    } else if (level && !(this.lines & m)) {
      this.irr |= m; // rising edge latches the request until acknowledged
    }
    if (level) this.lines |= m;
    else this.lines &= ~m;
  }

  // the input this chip would present to the CPU now, or -1
  output(): number {
    const p = this.prio(this.irr & ~this.imr);
    if (p === 8) return -1;
    let inService = this.isr;
    if (this.specialMask) inService &= ~this.imr;
    // SFNM: a request from the slave may interrupt a slave request in service
    if (this.master && this.sfnm) inService &= ~(1 << 2);
    return p < this.prio(inService) ? (p + this.prioAdd) & 7 : -1;
  }

  ack(irq: number): void {
    const m = 1 << irq;
    if (this.autoEoi) {
      if (this.rotateAeoi) this.prioAdd = (irq + 1) & 7;
    } else {
      this.isr |= m;
    }
    if (!(this.elcr & m) && !(this.master && irq === 2)) this.irr &= ~m;
  }

  // highest-priority in-service input, -1 if none
  private topIsr(): number {
    const p = this.prio(this.isr);
    return p === 8 ? -1 : (p + this.prioAdd) & 7;
  }

  writeCmd(v: number): void {
    if (v & 0x10) { // ICW1
      this.irr &= this.elcr; // the edge-sense latches are reset
      this.lines = 0;
      this.isr = this.imr = 0;
      this.prioAdd = 0;
      this.specialMask = this.readIsr = this.poll = false;
      this.single = (v & 2) !== 0;
      this.needIcw4 = (v & 1) !== 0;
      if (!this.needIcw4) this.autoEoi = this.sfnm = false;
      this.rotateAeoi = false;
      this.step = 2;
      return;
    }
    if (v & 0x08) { // OCW3
      if (v & 0x02) this.readIsr = (v & 1) !== 0;
      if (v & 0x04) this.poll = true;
      if (v & 0x40) this.specialMask = (v & 0x20) !== 0;
      return;
    }
    // OCW2
    const level = v & 7;
    switch (v >> 5) {
      case 0:
        this.rotateAeoi = false;
        break;
      case 4:
        this.rotateAeoi = true;
        break;
      case 1:
      case 5: { // non-specific EOI (with rotation)
        const irq = this.topIsr();
        if (irq >= 0) {
          this.isr &= ~(1 << irq);
          if (v >> 5 === 5) this.prioAdd = (irq + 1) & 7;
        }
        break;
      }
      case 3:
        this.isr &= ~(1 << level);
        break; // specific EOI
      case 7:
        this.isr &= ~(1 << level);
        this.prioAdd = (level + 1) & 7;
        break;
      case 6:
        this.prioAdd = (level + 1) & 7;
        break; // set priority: `level` becomes lowest
    }
  }

  writeData(v: number): void {
    switch (this.step) {
      case 2:
        this.base = v & 0xf8;
        this.step = this.single ? (this.needIcw4 ? 4 : 0) : 3;
        break;
      case 3:
        this.step = this.needIcw4 ? 4 : 0;
        break;
      case 4:
        this.autoEoi = (v & 2) !== 0;
        this.sfnm = (v & 0x10) !== 0;
        this.step = 0;
        break;
      default:
        this.imr = v & 0xff;
    }
  }

  // poll command: acknowledge like INTA and report 0x80|irq, or 0 when nothing is pending
  pollRead(): number {
    this.poll = false;
    const irq = this.output();
    if (irq < 0) return 0;
    this.ack(irq);
    return 0x80 | irq;
  }
}

export class DualPic implements IrqSink, IoHandler {
  readonly master = new Chip(true, 0xf8);
  readonly slave = new Chip(false, 0xde);
  intr = false; // INT output of the master
  onIntr: (level: boolean) => void = () => {};

  attach(io: IoBus): void {
    io.register(0x20, 2, this);
    io.register(0xa0, 2, this);
    io.register(0x4d0, 2, this);
  }

  reset(): void {
    this.master.reset();
    this.slave.reset();
    this.master.elcr = this.slave.elcr = 0;
    this.update();
  }

  setIrq(irq: number, level: boolean): void {
    if (irq < 8) this.master.setInput(irq, level);
    else this.slave.setInput(irq - 8, level);
    this.update();
  }

  private update(): void {
    // the cascade input follows the slave's INT output as a level
    if (this.slave.output() >= 0) this.master.irr |= 4;
    else this.master.irr &= ~4;
    const out = this.master.output() >= 0;
    if (out !== this.intr) {
      this.intr = out;
      this.onIntr(out);
    }
  }

  // INTA cycle: the vector for the CPU. With nothing pending (the request went away) the 8259A
  // answers with IR7 of the chip, without setting its ISR bit: the spurious interrupt.
  ack(): number {
    const irq = this.master.output();
    let vec: number;
    if (irq < 0) {
      vec = this.master.base | 7;
    } else {
      this.master.ack(irq);
      if (irq === 2) {
        const s = this.slave.output();
        if (s < 0) vec = this.slave.base | 7;
        else {
          this.slave.ack(s);
          vec = this.slave.base | s;
        }
      } else {
        vec = this.master.base | irq;
      }
    }
    this.update();
    return vec;
  }

  read(port: number, _size: number): number {
    if (port === 0x4d0 || port === 0x4d1) return (port === 0x4d0 ? this.master : this.slave).elcr;
    const c = port & 0x80 ? this.slave : this.master;
    if (c.poll) {
      const v = c.pollRead();
      this.update();
      return v;
    }
    if (port & 1) return c.imr;
    return c.readIsr ? c.isr : c.irr;
  }

  write(port: number, _size: number, value: number): void {
    value &= 0xff;
    if (port === 0x4d0 || port === 0x4d1) {
      const c = port === 0x4d0 ? this.master : this.slave;
      c.elcr = value & c.elcrMask;
      // a line switched to level mode reports its current level
      c.irr = (c.irr & ~c.elcr) | (c.lines & c.elcr);
    } else {
      const c = port & 0x80 ? this.slave : this.master;
      if (port & 1) c.writeData(value);
      else c.writeCmd(value);
    }
    this.update();
  }
}

// ---- persist (ARCHITECTURE.md, "Snapshots"): both chips' registers and the INT output ---------
const PIC_FIELDS = [
  "irr",
  "isr",
  "imr",
  "lines",
  "elcr",
  "base",
  "prioAdd",
  "step",
  "needIcw4",
  "single",
  "autoEoi",
  "rotateAeoi",
  "sfnm",
  "specialMask",
  "readIsr",
  "poll",
] as const;
export function savePic(p: DualPic): DeviceState {
  return { v: 1, master: pick(p.master, PIC_FIELDS), slave: pick(p.slave, PIC_FIELDS), intr: p.intr };
}
export function restorePic(p: DualPic, state: DeviceState): void {
  const s = expectVersion("8259A PIC", state, 1);
  put(p.master, PIC_FIELDS, s.master as Record<string, unknown>, "8259A PIC master");
  put(p.slave, PIC_FIELDS, s.slave as Record<string, unknown>, "8259A PIC slave");
  p.intr = s.intr === true;
}
