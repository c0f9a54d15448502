// Virtio over PCI, legacy interface (transitional device IDs 0x1000 + type - 1, vendor 0x1af4,
// subsystem device = virtio device type), as Linux's virtio_pci_legacy drives it. BAR0 is I/O:
//   0x00 u32 device features (bits 0-31)   0x04 u32 driver features
//   0x08 u32 queue PFN (address >> 12)     0x0c u16 queue size (fixed by the device)
//   0x0e u16 queue select                  0x10 u16 queue notify (write the queue index)
//   0x12 u8  device status                 0x13 u8  ISR status (read clears it and INTx)
//   0x14...  device-specific configuration (no MSI-X capability, so it starts at 0x14)
// Interrupts are INTx only: ISR bit 0 "used buffers", bit 1 "configuration changed".
// Writing status 0 resets the device (features, queues, ISR).
import { PciFunction } from "./pci.ts";
import { Virtqueue, VirtqueueError } from "./virtqueue.ts";
import type { GuestRam } from "../memory.ts";

export const STATUS_ACK = 1, STATUS_DRIVER = 2, STATUS_DRIVER_OK = 4, STATUS_FEATURES_OK = 8;
export const STATUS_NEEDS_RESET = 0x40, STATUS_FAILED = 0x80;
export const ISR_QUEUE = 1, ISR_CONFIG = 2;
const CONFIG_OFF = 0x14;
const LOG_LIMIT = 8;

export abstract class VirtioPci extends PciFunction {
  readonly queues: Virtqueue[];
  guestFeatures = 0;
  status = 0;
  isr = 0;
  queueSel = 0;

  constructor(
    readonly ram: GuestRam,
    readonly deviceType: number,
    classCode: number,
    readonly hostFeatures: number,
    queueSizes: number[],
    configSize: number,
    protected readonly log: (line: string) => void = (l) => console.error(l),
  ) {
    super({
      vendor: 0x1af4,
      device: 0x1000 + deviceType - 1,
      classCode,
      subVendor: 0x1af4,
      subDevice: deviceType,
      pin: 1,
    });
    this.queues = queueSizes.map((n) => new Virtqueue(ram, n));
    let size = 32;
    while (size < CONFIG_OFF + configSize) size *= 2;
    this.defineBar(0, {
      size,
      io: true,
      handler: { read: (o, s) => this.ioRead(o, s), write: (o, s, v) => this.ioWrite(o, s, v) },
    });
  }

  // device-specific parts
  protected abstract configRead(off: number): number; // one byte of the device configuration
  protected configWrite(_off: number, _v: number): void {}
  protected abstract queueNotify(q: number): void;
  protected deviceReset(): void {}

  get driverOk(): boolean {
    return (this.status & (STATUS_DRIVER_OK | STATUS_NEEDS_RESET | STATUS_FAILED)) === STATUS_DRIVER_OK;
  }

  hasFeature(bit: number): boolean {
    return (this.guestFeatures & (1 << bit)) !== 0;
  }

  reset(): void {
    this.guestFeatures = 0;
    this.status = 0;
    this.queueSel = 0;
    for (const q of this.queues) q.reset();
    this.isr = 0;
    this.setIntx(false);
    this.deviceReset();
  }

  // Tell the driver about used buffers on `q`, unless it asked not to be interrupted.
  interruptQueue(q: Virtqueue): void {
    if (!q.wantsInterrupt) return;
    this.isr |= ISR_QUEUE;
    this.setIntx(true);
  }

  interruptConfig(): void {
    if (!(this.status & STATUS_DRIVER_OK)) return;
    this.isr |= ISR_CONFIG;
    this.setIntx(true);
  }

  // A line about what the guest did wrong: a guest that keeps doing it (reset, break, reset...)
  // must not fill the host's log, so a device says at most LOG_LIMIT of them.
  private logged = 0;
  protected guestError(line: string): void {
    if (this.logged > LOG_LIMIT) return;
    this.logged++;
    this.log(this.logged > LOG_LIMIT ? `ring3: virtio ${this.slot}.${this.fn}: more errors, not logged` : line);
  }

  // A malformed ring: the device stops using it until the driver resets it.
  protected broken(e: unknown): void {
    if (!(e instanceof VirtqueueError)) throw e;
    if (!(this.status & STATUS_NEEDS_RESET)) {
      this.guestError(`ring3: virtio ${this.slot}.${this.fn}: ${e.message}; needs reset`);
    }
    this.status |= STATUS_NEEDS_RESET;
    this.interruptConfig();
  }

  private ioRead(off: number, size: number): number {
    if (off >= CONFIG_OFF) {
      let v = 0;
      for (let i = 0; i < size; i++) v |= this.configRead(off - CONFIG_OFF + i) << (8 * i);
      return v >>> 0;
    }
    const q = this.queues[this.queueSel];
    let reg: number;
    let base: number;
    if (off < 0x04) (reg = this.hostFeatures >>> 0), (base = 0x00);
    else if (off < 0x08) (reg = this.guestFeatures >>> 0), (base = 0x04);
    else if (off < 0x0c) (reg = q?.pfn ?? 0), (base = 0x08);
    else if (off < 0x0e) (reg = q?.size ?? 0), (base = 0x0c);
    else if (off < 0x10) (reg = this.queueSel), (base = 0x0e);
    else if (off < 0x12) (reg = 0), (base = 0x10);
    else if (off === 0x12) (reg = this.status), (base = 0x12);
    else {
      const v = this.isr;
      this.isr = 0;
      this.setIntx(false);
      return v;
    }
    const v = Math.floor(reg / 2 ** (8 * (off - base))) % 2 ** (8 * size);
    return v >>> 0;
  }

  private ioWrite(off: number, size: number, v: number): void {
    if (off >= CONFIG_OFF) {
      for (let i = 0; i < size; i++) this.configWrite(off - CONFIG_OFF + i, (v >>> (8 * i)) & 0xff);
      return;
    }
    switch (off) {
      case 0x04:
        // the driver may only accept what the device offers
        this.guestFeatures = (v & this.hostFeatures) >>> 0;
        return;
      case 0x08: {
        const q = this.queues[this.queueSel];
        if (!q) return;
        try {
          q.setPfn(v);
        } catch (e) {
          this.broken(e);
        }
        return;
      }
      case 0x0e:
        this.queueSel = v & 0xffff;
        return;
      case 0x10:
        if ((v & 0xffff) < this.queues.length && this.driverOk) this.queueNotify(v & 0xffff);
        return;
      case 0x12:
        if ((v & 0xff) === 0) return this.reset();
        {
          const was = this.status;
          this.status = v & 0xff;
          if (!(was & STATUS_DRIVER_OK) && this.driverOk) this.onDriverOk();
        }
        return;
    }
  }

  protected onDriverOk(): void {}
}
