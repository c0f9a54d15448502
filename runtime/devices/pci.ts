// PCI bus 0 behind an i440FX-style host bridge: configuration mechanism #1 (CONFIG_ADDRESS at
// 0xCF8 as a dword, CONFIG_DATA at 0xCFC-0xCFF in bytes, words or dwords), a device table other
// device models register functions into, BARs with size probing that map the function's
// handlers onto the I/O and memory buses while decoding is enabled, and INTx routing. The PIIX3
// function 00:01.0 (PCI-ISA bridge) also provides the reset control register at 0xCF9.
import type { IoBus, IoHandler, MmioBus, MmioHandler } from "../bus.ts";
import type { IrqLine, IrqRouter } from "../irq.ts";
import { type DeviceState, expectVersion, SnapshotError } from "../snapshot/persist.ts";

// Board wiring of INTA#..INTD# (pin 1..4) of a slot to an interrupt: shared ISA IRQs 10 and 11
// (level-triggered, active low), so routing is the same in PIC and APIC mode. The DSDT's _PRT
// is generated from this function.
export const PCI_IRQS = [10, 11];
export function pciIntxGsi(slot: number, pin: number): number {
  return PCI_IRQS[(slot + pin - 1) & 1];
}

// A BAR's handler sees offsets inside the BAR.
export type BarHandler = MmioHandler;

export interface BarDef {
  size: number; // power of two; at least 4 for I/O, 16 for memory
  io: boolean;
  prefetch?: boolean;
  handler: BarHandler;
}

export interface PciIds {
  vendor: number;
  device: number;
  classCode: number; // class << 16 | subclass << 8 | prog-if
  revision?: number;
  headerType?: number;
  subVendor?: number;
  subDevice?: number;
  pin?: number; // interrupt pin 1..4 (INTA#..INTD#), 0 = none
}

const CMD_IO = 1, CMD_MEM = 2, CMD_INTX_DISABLE = 0x400;
const STATUS_INTX = 8;

export class PciFunction {
  readonly cfg = new Uint8Array(256);
  readonly wmask = new Uint8Array(256); // bits the guest may write
  readonly bars: (BarDef | undefined)[] = new Array(6);
  mapped: (number | undefined)[] = new Array(6);
  bus?: PciBus;
  slot = 0;
  fn = 0;
  irq?: IrqLine;
  private intx = false;

  constructor(ids: PciIds) {
    const dv = new DataView(this.cfg.buffer);
    dv.setUint16(0x00, ids.vendor, true);
    dv.setUint16(0x02, ids.device, true);
    this.cfg[0x08] = ids.revision ?? 0;
    this.cfg[0x09] = ids.classCode & 0xff;
    this.cfg[0x0a] = (ids.classCode >> 8) & 0xff;
    this.cfg[0x0b] = (ids.classCode >> 16) & 0xff;
    this.cfg[0x0e] = ids.headerType ?? 0;
    dv.setUint16(0x2c, ids.subVendor ?? 0, true);
    dv.setUint16(0x2e, ids.subDevice ?? 0, true);
    this.cfg[0x3d] = ids.pin ?? 0;
    this.wmask[0x04] = 0x47; // I/O, memory, bus master, parity error response
    this.wmask[0x05] = 0x05; // SERR#, INTx disable
    this.wmask[0x0c] = 0xff; // cache line size
    this.wmask[0x0d] = 0xff; // latency timer
    this.wmask[0x3c] = 0xff; // interrupt line
  }

  get command(): number {
    return this.cfg[4] | this.cfg[5] << 8;
  }

  defineBar(i: number, bar: BarDef): void {
    if (bar.size & (bar.size - 1) || bar.size < (bar.io ? 4 : 16)) throw new Error(`bad BAR size ${bar.size}`);
    this.bars[i] = bar;
    const type = bar.io ? 1 : bar.prefetch ? 8 : 0;
    this.setBarRaw(i, type);
    const m = ~(bar.size - 1) >>> 0;
    for (let b = 0; b < 4; b++) this.wmask[0x10 + 4 * i + b] = (m >>> (8 * b)) & 0xff;
  }

  barAddress(i: number): number {
    const v = new DataView(this.cfg.buffer).getUint32(0x10 + 4 * i, true);
    return (this.bars[i]?.io ? v & ~3 : v & ~15) >>> 0;
  }

  private setBarRaw(i: number, v: number): void {
    new DataView(this.cfg.buffer).setUint32(0x10 + 4 * i, v >>> 0, true);
  }

  setBarAddress(i: number, addr: number): void {
    const bar = this.bars[i]!;
    this.setBarRaw(i, (addr & ~(bar.size - 1)) | (bar.io ? 1 : bar.prefetch ? 8 : 0));
    this.remap();
  }

  // configuration space access; subclasses may hook writes with onConfigWrite
  readConfig(off: number, size: number): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.cfg[off + i] << (8 * i);
    return v >>> 0;
  }

  writeConfig(off: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) {
      const o = off + i;
      const b = (value >>> (8 * i)) & 0xff;
      if (o === 6 || o === 7) {
        this.cfg[o] &= ~(b & (o === 7 ? 0xf9 : 0)); // status: write 1 to clear the error bits
        continue;
      }
      this.cfg[o] = (this.cfg[o] & ~this.wmask[o]) | (b & this.wmask[o]);
    }
    if (off < 0x28 && off + size > 0x04) this.remap();
    if (off <= 5 && off + size > 5) this.updateIntx();
    this.onConfigWrite(off, size, value);
  }

  onConfigWrite(_off: number, _size: number, _value: number): void {}

  // INTx# level from the device model
  setIntx(level: boolean): void {
    this.intx = level;
    if (level) this.cfg[6] |= STATUS_INTX;
    else this.cfg[6] &= ~STATUS_INTX;
    this.updateIntx();
  }

  private updateIntx(): void {
    this.irq?.set(this.intx && !(this.command & CMD_INTX_DISABLE));
  }

  // (re)place BAR handlers on the buses after a BAR or command change
  remap(): void {
    const bus = this.bus;
    if (!bus) return;
    for (let i = 0; i < 6; i++) {
      const bar = this.bars[i];
      if (!bar) continue;
      const addr = this.barAddress(i);
      const enabled = (this.command & (bar.io ? CMD_IO : CMD_MEM)) !== 0;
      // an all-ones (sizing) or zero BAR is not decoded
      const limit = bar.io ? 0x10000 : 0x100000000;
      const want = enabled && addr !== 0 && addr + bar.size <= limit && addr !== ((limit - bar.size) >>> 0)
        ? addr
        : undefined;
      if (want === this.mapped[i]) continue;
      if (this.mapped[i] !== undefined) bus.unmapBar(this, i);
      this.mapped[i] = want !== undefined && bus.mapBar(this, i, want) ? want : undefined;
    }
  }
}

// PIIX3 function 0: PCI-ISA bridge (PIRQ route registers kept for completeness)
class IsaBridge extends PciFunction {
  constructor() {
    super({ vendor: 0x8086, device: 0x7000, classCode: 0x060100, headerType: 0x80 });
    for (let i = 0x60; i < 0x64; i++) {
      this.cfg[i] = 0x80; // PIRQ routing disabled: the ACPI _PRT routes INTx
      this.wmask[i] = 0x8f;
    }
  }
}

export class PciBus implements IoHandler {
  private readonly fns = new Map<number, PciFunction>(); // devfn -> function
  addr = 0;
  private rcr = 0; // reset control register (0xCF9)
  private ioWrappers = new Map<string, IoHandler>();
  private nextIo = 0xc000;
  private nextMem = 0xfd000000;

  constructor(
    private readonly io: IoBus,
    private readonly mmio: MmioBus,
    private readonly router?: IrqRouter,
    private readonly onReset: (why: string) => void = () => {},
  ) {
    this.add(new PciFunction({ vendor: 0x8086, device: 0x1237, classCode: 0x060000, revision: 2 }), 0);
    this.add(new IsaBridge(), 1);
    io.register(0xcf8, 8, this);
  }

  add(f: PciFunction, slot: number, fn = 0): PciFunction {
    const devfn = slot << 3 | fn;
    if (this.fns.has(devfn)) throw new Error(`PCI slot ${slot}.${fn} taken`);
    f.bus = this;
    f.slot = slot;
    f.fn = fn;
    const pin = f.cfg[0x3d];
    if (pin && this.router) {
      const gsi = pciIntxGsi(slot, pin);
      f.irq = this.router.line(gsi);
      f.cfg[0x3c] = gsi;
    }
    this.fns.set(devfn, f);
    return f;
  }

  get(slot: number, fn = 0): PciFunction | undefined {
    return this.fns.get(slot << 3 | fn);
  }

  functions(): PciFunction[] {
    return [...this.fns.values()];
  }

  // What firmware does before the OS runs: give every unassigned BAR an address and enable
  // decoding. Functions already configured are left alone, so calling it again is harmless.
  assignResources(): void {
    for (const f of this.fns.values()) {
      let cmd = 0;
      for (let i = 0; i < 6; i++) {
        const bar = f.bars[i];
        if (!bar || f.barAddress(i) !== 0) continue;
        if (bar.io) {
          const a = Math.ceil(this.nextIo / bar.size) * bar.size;
          this.nextIo = a + bar.size;
          f.setBarAddress(i, a);
          cmd |= CMD_IO;
        } else {
          const a = Math.ceil(this.nextMem / bar.size) * bar.size;
          this.nextMem = a + bar.size;
          f.setBarAddress(i, a);
          cmd |= CMD_MEM;
        }
      }
      if (cmd) f.writeConfig(4, 2, f.command | cmd);
    }
  }

  mapBar(f: PciFunction, i: number, addr: number): boolean {
    const bar = f.bars[i]!;
    try {
      if (bar.io) {
        const w: IoHandler = {
          read: (p, s) => bar.handler.read(p - addr, s),
          write: (p, s, v) => bar.handler.write(p - addr, s, v),
        };
        this.io.register(addr, bar.size, w);
        this.ioWrappers.set(`${f.slot}.${f.fn}.${i}`, w);
      } else {
        this.mmio.register(addr, bar.size, bar.handler);
      }
      return true;
    } catch {
      return false; // overlaps something: leave the BAR undecoded, like a conflict on real hardware
    }
  }

  unmapBar(f: PciFunction, i: number): void {
    const bar = f.bars[i]!;
    const addr = f.mapped[i]!;
    if (bar.io) {
      const key = `${f.slot}.${f.fn}.${i}`;
      const w = this.ioWrappers.get(key);
      if (w) this.io.unregister(addr, bar.size, w);
      this.ioWrappers.delete(key);
    } else {
      this.mmio.unregister(bar.handler);
    }
  }

  private target(): PciFunction | undefined {
    if (!(this.addr & 0x80000000)) return undefined;
    if ((this.addr >> 16) & 0xff) return undefined; // only bus 0
    return this.fns.get((this.addr >> 8) & 0xff);
  }

  read(port: number, size: number): number {
    if (port === 0xcf8 && size === 4) return this.addr;
    if (port === 0xcf9 && size === 1) return this.rcr;
    if (port < 0xcfc) return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    const f = this.target();
    const off = (this.addr & 0xfc) | (port & 3);
    if (!f) return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    return f.readConfig(off, Math.min(size, 4 - (port & 3)));
  }

  write(port: number, size: number, value: number): void {
    if (port === 0xcf8 && size === 4) {
      this.addr = (value & 0x80fffffc) >>> 0;
      return;
    }
    if (port === 0xcf9 && size === 1) {
      // PIIX reset control: RST_CPU going 0 -> 1 resets the system (SRST selects the kind)
      const old = this.rcr;
      this.rcr = value & 0x0a;
      if (value & 4 && !(old & 4)) this.onReset("reset control register 0xCF9");
      return;
    }
    if (port < 0xcfc) return;
    const f = this.target();
    if (!f) return;
    f.writeConfig((this.addr & 0xfc) | (port & 3), Math.min(size, 4 - (port & 3)), value);
  }
}

// ---- persist (ARCHITECTURE.md, "Snapshots"): the config address, reset control, the BAR
// allocator and every function's configuration space. A function's device model (a NIC) saves its
// own state; restoring the config space maps its BARs again where the guest had put them.
export function savePci(b: PciBus): DeviceState {
  const x = b as unknown as { rcr: number; nextIo: number; nextMem: number };
  return {
    v: 1,
    addr: b.addr,
    rcr: x.rcr,
    nextIo: x.nextIo,
    nextMem: x.nextMem,
    fns: b.functions().map((f) => ({
      slot: f.slot,
      fn: f.fn,
      cfg: Array.from(f.cfg),
      intx: (f as unknown as { intx: boolean }).intx,
    })),
  };
}
export function restorePci(b: PciBus, state: DeviceState): void {
  const s = expectVersion("PCI bus", state, 1);
  const x = b as unknown as { rcr: number; nextIo: number; nextMem: number };
  b.addr = Number(s.addr);
  x.rcr = Number(s.rcr);
  x.nextIo = Number(s.nextIo);
  x.nextMem = Number(s.nextMem);
  for (const fs of s.fns as { slot: number; fn: number; cfg: number[]; intx: boolean }[]) {
    const f = b.get(fs.slot, fs.fn);
    if (!f) throw new SnapshotError(`PCI ${fs.slot}.${fs.fn}: no such function on this machine (other --net options?)`);
    if (fs.cfg.length !== 256 || fs.cfg[0] !== f.cfg[0] || fs.cfg[2] !== f.cfg[2]) {
      throw new SnapshotError(`PCI ${fs.slot}.${fs.fn}: another device than in the snapshot`);
    }
    f.cfg.set(fs.cfg);
    (f as unknown as { intx: boolean }).intx = fs.intx;
    f.remap();
  }
}
