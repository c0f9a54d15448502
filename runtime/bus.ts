// The I/O and memory-mapped buses: address ranges -> device handlers. The CPU core reaches them
// through the io_in/io_out and mmio_rd/mmio_wr imports. Unclaimed ports and addresses float
// high (all ones), as on an ISA/PCI bus with no one driving the data lines.

export interface IoHandler {
  read(port: number, size: number): number;
  write(port: number, size: number, value: number): void;
}

export interface MmioHandler {
  read(addr: number, size: number): number;
  write(addr: number, size: number, value: number): void;
}

export const ones = (size: number): number => size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;

// A device model that throws is a bug in ring3, never the guest's right: it must not end the
// machine (the exception would unwind through the CPU core and stop every vCPU). The bus logs it
// once, swaps the handler for a dead one (reads float high, writes are dropped, as if the device
// had been pulled from the board) and the access goes on. Zero cost until it happens: the swap
// replaces the handler in the map, so no access ever tests a flag.
export type DeviceFault = (where: string, e: unknown) => void;
export const logDeviceFault: DeviceFault = (where, e) =>
  console.error(
    `ring3: internal error in the device at ${where}: ${e instanceof Error ? e.message : e}; the device is disabled`,
  );
const dead: IoHandler & MmioHandler = { read: (_p, size) => ones(size), write: () => {} };

export class IoBus {
  private readonly map: (IoHandler | undefined)[] = new Array(0x10000);
  // optional tracer for debugging unclaimed accesses
  onUnclaimed?: (port: number, size: number, write: boolean, value: number) => void;
  onFault: DeviceFault = logDeviceFault;

  // All or nothing: a range that overlaps another handler (a guest may program a PCI BAR onto any
  // port) throws before any port changes hands.
  register(base: number, len: number, h: IoHandler): void {
    if (!(base >= 0 && len >= 0 && base + len <= 0x10000)) {
      throw new RangeError(`I/O range 0x${base.toString(16)}+${len} outside the port space`);
    }
    for (let p = base; p < base + len; p++) {
      if (this.map[p] && this.map[p] !== h) throw new Error(`I/O port 0x${p.toString(16)} claimed twice`);
    }
    for (let p = base; p < base + len; p++) this.map[p] = h;
  }

  unregister(base: number, len: number, h: IoHandler): void {
    for (let p = base; p < base + len; p++) if (this.map[p] === h) this.map[p] = undefined;
  }

  handler(port: number): IoHandler | undefined {
    return this.map[port & 0xffff];
  }

  read(port: number, size: number): number {
    port &= 0xffff;
    const h = this.map[port];
    // A wide access that straddles two devices (or a device and nothing) is split into bytes.
    if (size > 1 && this.map[(port + size - 1) & 0xffff] !== h) {
      let v = 0;
      for (let i = 0; i < size; i++) v |= this.read(port + i, 1) << (8 * i);
      return v >>> 0;
    }
    if (!h) {
      this.onUnclaimed?.(port, size, false, 0);
      return ones(size);
    }
    try {
      return h.read(port, size) >>> 0;
    } catch (e) {
      this.fault(h, port, e);
      return ones(size);
    }
  }

  private fault(h: IoHandler, port: number, e: unknown): void {
    for (let p = 0; p < 0x10000; p++) if (this.map[p] === h) this.map[p] = dead;
    this.onFault(`I/O port 0x${port.toString(16)}`, e);
  }

  write(port: number, size: number, value: number): void {
    port &= 0xffff;
    const h = this.map[port];
    if (size > 1 && this.map[(port + size - 1) & 0xffff] !== h) {
      for (let i = 0; i < size; i++) this.write(port + i, 1, (value >>> (8 * i)) & 0xff);
      return;
    }
    if (!h) {
      this.onUnclaimed?.(port, size, true, value);
      return;
    }
    try {
      h.write(port, size, value >>> 0);
    } catch (e) {
      this.fault(h, port, e);
    }
  }
}

interface MmioRange {
  base: number;
  len: number;
  h: MmioHandler;
}

export class MmioBus {
  private ranges: MmioRange[] = [];
  onUnclaimed?: (addr: number, size: number, write: boolean, value: number) => void;
  onFault: DeviceFault = logDeviceFault;

  register(base: number, len: number, h: MmioHandler): void {
    for (const r of this.ranges) {
      if (base < r.base + r.len && r.base < base + len) {
        throw new Error(`MMIO range 0x${base.toString(16)} overlaps 0x${r.base.toString(16)}`);
      }
    }
    this.ranges.push({ base: base >>> 0, len, h });
  }

  unregister(h: MmioHandler): void {
    this.ranges = this.ranges.filter((r) => r.h !== h);
  }

  find(addr: number): MmioRange | undefined {
    addr >>>= 0;
    for (const r of this.ranges) if (addr - r.base >>> 0 < r.len) return r;
    return undefined;
  }

  read(addr: number, size: number): number {
    const r = this.find(addr);
    if (!r) {
      this.onUnclaimed?.(addr >>> 0, size, false, 0);
      return ones(size);
    }
    try {
      return r.h.read((addr >>> 0) - r.base, size) >>> 0;
    } catch (e) {
      this.fault(r, e);
      return ones(size);
    }
  }

  private fault(r: MmioRange, e: unknown): void {
    const h = r.h;
    for (const x of this.ranges) if (x.h === h) x.h = dead;
    this.onFault(`MMIO 0x${r.base.toString(16)}`, e);
  }

  write(addr: number, size: number, value: number): void {
    const r = this.find(addr);
    if (!r) {
      this.onUnclaimed?.(addr >>> 0, size, true, value);
      return;
    }
    try {
      r.h.write((addr >>> 0) - r.base, size, value >>> 0);
    } catch (e) {
      this.fault(r, e);
    }
  }
}
