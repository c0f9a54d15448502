// A split virtqueue in guest RAM, legacy layout (virtio 0.9.5 / virtio 1.x "legacy interface"):
// at PFN * 4096 the descriptor table (16 bytes each: addr u64, len u32, flags u16, next u16),
// right after it the available ring (flags u16, idx u16, ring[size] u16, used_event u16), and at
// the next 4096-byte boundary the used ring (flags u16, idx u16, ring[size] {id u32, len u32},
// avail_event u16). All little-endian. Indirect descriptors are not offered. Event indices
// (VIRTIO_RING_F_EVENT_IDX) are used when the device sets `eventIdx` (after negotiating them):
// the driver's used_event says after which used index it wants an interrupt (its flags are then
// ignored), and the device's avail_event after which available index it wants a notification.
//
// Everything in the rings is the guest's to choose, so every index, address and length is checked
// before use: the available index may run ahead of the device by at most the queue size, a head or
// next index must be below it, a chain has at most `size` descriptors (so a loop ends), and every
// buffer lies inside guest RAM. A violation throws VirtqueueError and marks the queue broken (like
// QEMU's "virtio: ... broken"): it stays silent until the driver resets the device or sets a new
// PFN. A chain's total length is the sum of up to `size` guest lengths; `read()` copies only
// chains no longer than the device can use, so a chain's size never becomes a host allocation.
import type { GuestRam } from "../memory.ts";

const F_NEXT = 1, F_WRITE = 2, F_INDIRECT = 4;
export const AVAIL_F_NO_INTERRUPT = 1;
export const VRING_ALIGN = 4096;

export interface Segment {
  addr: number; // guest-physical, already checked to lie inside RAM
  len: number;
}

export interface Chain {
  head: number;
  out: Segment[]; // device-readable, in order
  in: Segment[]; // device-writable, in order
  outLen: number;
  inLen: number;
}

export class VirtqueueError extends Error {}

export class Virtqueue {
  pfn = 0;
  lastAvail = 0;
  broken = false; // the driver broke the ring protocol: nothing more is taken until a reset
  private desc = 0;
  private avail = 0;
  private used = 0;
  private usedIdx = 0;
  eventIdx = false; // VIRTIO_RING_F_EVENT_IDX negotiated (set by the device at DRIVER_OK)
  private signalled = 0; // the used index when the driver was last interrupted or considered
  private signalledValid = false;

  constructor(private readonly ram: GuestRam, readonly size: number) {}

  get ready(): boolean {
    return this.pfn !== 0;
  }

  setPfn(pfn: number): void {
    this.pfn = pfn >>> 0;
    this.lastAvail = 0;
    this.usedIdx = 0;
    this.broken = false;
    this.signalledValid = false;
    if (!this.pfn) return;
    this.desc = this.pfn * VRING_ALIGN;
    this.avail = this.desc + 16 * this.size;
    const availEnd = this.avail + 6 + 2 * this.size;
    this.used = Math.ceil(availEnd / VRING_ALIGN) * VRING_ALIGN;
    if (!this.ram.contains(this.desc, this.used + 6 + 8 * this.size - this.desc)) {
      this.pfn = 0; // rings outside RAM: the queue stays disabled
      throw new VirtqueueError(`queue rings at 0x${this.desc.toString(16)} lie outside RAM`);
    }
  }

  reset(): void {
    this.setPfn(0);
  }

  private get availIdx(): number {
    return this.ram.readU16(this.avail + 2);
  }

  get pending(): boolean {
    return this.ready && !this.broken && this.availIdx !== this.lastAvail;
  }

  // Take the next available descriptor chain, or null when the driver has posted none. Throws
  // VirtqueueError (and the queue is broken from then on) when the ring breaks the protocol.
  pop(): Chain | null {
    if (!this.pending) return null;
    try {
      return this.take();
    } catch (e) {
      this.broken = true;
      throw e;
    }
  }

  private take(): Chain {
    const ahead = (this.availIdx - this.lastAvail) & 0xffff;
    if (ahead > this.size) {
      throw new VirtqueueError(`available index moved ${ahead} entries ahead of the device (queue size ${this.size})`);
    }
    const head = this.ram.readU16(this.avail + 4 + 2 * (this.lastAvail % this.size));
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    const c: Chain = { head, out: [], in: [], outLen: 0, inLen: 0 };
    const ramLen = this.ram.size;
    let i = head;
    for (let n = 0;; n++) {
      if (i >= this.size) {
        throw new VirtqueueError(`descriptor index ${i} in the chain at head ${head} >= ${this.size}`);
      }
      if (n >= this.size) throw new VirtqueueError(`descriptor chain at head ${head} longer than the queue (a loop)`);
      const d = this.desc + 16 * i;
      const lo = this.ram.readU32(d);
      const hi = this.ram.readU32(d + 4);
      const len = this.ram.readU32(d + 8);
      const flags = this.ram.readU16(d + 12);
      if (flags & F_INDIRECT) throw new VirtqueueError("indirect descriptor (not negotiated)");
      if (hi !== 0 || lo > ramLen || len > ramLen - lo) {
        throw new VirtqueueError(`descriptor buffer 0x${(hi * 2 ** 32 + lo).toString(16)}+${len} outside RAM`);
      }
      if (flags & F_WRITE) {
        c.in.push({ addr: lo, len });
        c.inLen += len;
      } else {
        if (c.in.length) throw new VirtqueueError("readable descriptor after a writable one");
        c.out.push({ addr: lo, len });
        c.outLen += len;
      }
      if (!(flags & F_NEXT)) break;
      i = this.ram.readU16(d + 14);
    }
    return c;
  }

  // Give back the last chain taken, unused (it stays available for the next pop()).
  unpop(): void {
    this.lastAvail = (this.lastAvail - 1) & 0xffff;
  }

  // Return a chain to the driver with `len` bytes written into its writable part.
  push(head: number, len: number): void {
    const e = this.used + 4 + 8 * (this.usedIdx % this.size);
    this.ram.writeU32(e, head);
    this.ram.writeU32(e + 4, len);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    this.ram.writeU16(this.used + 2, this.usedIdx); // published after the element
  }

  // Return several chains at once, the used index published once after all of them (a merged
  // receive buffer must appear to the driver whole).
  pushMany(heads: readonly number[], lens: readonly number[]): void {
    for (let i = 0; i < heads.length; i++) {
      const e = this.used + 4 + 8 * ((this.usedIdx + i) % this.size);
      this.ram.writeU32(e, heads[i]);
      this.ram.writeU32(e + 4, lens[i]);
    }
    this.usedIdx = (this.usedIdx + heads.length) & 0xffff;
    this.ram.writeU16(this.used + 2, this.usedIdx);
  }

  // the driver's request to hear about used buffers (without event indices)
  get wantsInterrupt(): boolean {
    return !(this.ram.readU16(this.avail) & AVAIL_F_NO_INTERRUPT);
  }

  // Whether the used buffers published since the last call should interrupt the driver: with
  // event indices, when the used index moved past the driver's used_event (vring_need_event);
  // else unless the driver set VRING_AVAIL_F_NO_INTERRUPT. Call once per interrupt decision.
  takeInterrupt(): boolean {
    if (!this.eventIdx) return this.wantsInterrupt;
    const event = this.ram.readU16(this.avail + 4 + 2 * this.size);
    const old = this.signalled, now = this.usedIdx, valid = this.signalledValid;
    this.signalled = now;
    this.signalledValid = true;
    return !valid || ((now - event - 1) & 0xffff) < ((now - old) & 0xffff);
  }

  // With event indices: ask the driver to notify once it makes available the entry with index
  // `idx` (idx = lastAvail: the next buffer; lastAvail - 1: none until this is written again).
  setAvailEvent(idx: number): void {
    if (this.eventIdx && this.ready) this.ram.writeU16(this.used + 4 + 8 * this.size, idx & 0xffff);
  }

  // Gather the device-readable bytes, or null when there are more than `max` (the most the device
  // can use): the guest chooses the lengths, so that is all the host ever allocates for a chain.
  read(c: Chain, max: number): Uint8Array | null {
    if (c.outLen > max) return null;
    const out = new Uint8Array(c.outLen);
    let o = 0;
    for (const s of c.out) {
      out.set(this.ram.view(s.addr, s.len)!, o); // checked in pop()
      o += s.len;
    }
    return out;
  }

  // scatter `data` into the device-writable part; returns the bytes written
  write(c: Chain, data: Uint8Array): number {
    let o = 0;
    for (const s of c.in) {
      if (o >= data.length) break;
      const n = Math.min(s.len, data.length - o);
      this.ram.write(s.addr, data.subarray(o, o + n)); // inside RAM: checked in pop()
      o += n;
    }
    return o;
  }
}
