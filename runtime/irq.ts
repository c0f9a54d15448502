// Interrupt wiring of the board. Each device owns an IrqLine and drives its level; lines that
// share an input are wire-ORed. ISA IRQ n reaches 8259 input n and IO-APIC pin n, except the
// PIT's IRQ0 which the chipset wires to IO-APIC pin 2 (the MADT's interrupt source override
// IRQ0 -> GSI2 says so). GSIs >= 16 exist only on the IO-APIC.

export interface IrqSink {
  setIrq(pin: number, level: boolean): void;
}

export const isaToGsi = (irq: number): number => irq === 0 ? 2 : irq;

export class IrqLine {
  constructor(private readonly router: IrqRouter, readonly irq: number, private readonly bit: number) {}
  set(level: boolean): void {
    this.router.drive(this.irq, this.bit, level);
  }
  raise(): void {
    this.set(true);
  }
  lower(): void {
    this.set(false);
  }
  // an edge for edge-triggered inputs: the latches in the PIC/IO-APIC keep the request
  pulse(): void {
    this.set(true);
    this.set(false);
  }
}

export class IrqRouter {
  private readonly sources = new Map<number, number>(); // irq -> bitmask of asserting sources
  private readonly nextBit = new Map<number, number>();

  constructor(readonly pic?: IrqSink, readonly ioapic?: IrqSink) {}

  // A new source on ISA IRQ (0..15) or, for irq >= 16, on that IO-APIC GSI.
  line(irq: number): IrqLine {
    const bit = this.nextBit.get(irq) ?? 0;
    if (bit >= 31) throw new Error(`too many sources on IRQ ${irq}`);
    this.nextBit.set(irq, bit + 1);
    return new IrqLine(this, irq, bit);
  }

  level(irq: number): boolean {
    return (this.sources.get(irq) ?? 0) !== 0;
  }

  drive(irq: number, bit: number, level: boolean): void {
    const old = this.sources.get(irq) ?? 0;
    const now = level ? old | (1 << bit) : old & ~(1 << bit);
    this.sources.set(irq, now);
    // Always pass the level on: a pulse from one source while another holds the line must not
    // produce a second edge, and the sinks ignore "no change".
    if ((old !== 0) === (now !== 0)) return;
    if (irq < 16) this.pic?.setIrq(irq, now !== 0);
    this.ioapic?.setIrq(irq < 16 ? isaToGsi(irq) : irq, now !== 0);
  }
}

// ---- persist (ARCHITECTURE.md, "Snapshots"): which sources assert which line (the sinks keep
// their own input levels)
export function saveIrqRouter(r: IrqRouter): { v: number; sources: [number, number][] } {
  return { v: 1, sources: [...(r as unknown as { sources: Map<number, number> }).sources] };
}
export function restoreIrqRouter(r: IrqRouter, s: { v: number; sources: [number, number][] }): void {
  if (s?.v !== 1) throw new Error(`IRQ router: state version ${s?.v}, this ring3 restores version 1`);
  const m = (r as unknown as { sources: Map<number, number> }).sources;
  m.clear();
  for (const [irq, bits] of s.sources) m.set(irq, bits);
}
