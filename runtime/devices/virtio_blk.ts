// virtio-blk (device type 2) on the legacy virtio-pci transport (virtio_pci.ts): one request
// queue of 256 entries. Offered features: SIZE_MAX and SEG_MAX (a request carries at most
// SEG_MAX data buffers of at most SIZE_MAX bytes, so at most MAX_REQUEST bytes), BLK_SIZE (512),
// FLUSH (a flush request completes only after the image's flush, i.e. fdatasync of the host
// file), DISCARD (writable images: up to DISCARD_SEG ranges per request), and RO for a read-only
// disk. The driver sees /dev/vdX of `image.size` bytes.
//
// A request is a descriptor chain: a 16-byte header (type u32, reserved u32, sector u64) in the
// device-readable part, then the data (readable for writes and discards, writable for reads and
// GET_ID), and one writable status byte at the very end. Any layout of those bytes over the
// descriptors is accepted. Everything in it is the guest's to choose, so every length and sector
// is checked before the image is touched: a request past the end of the disk, a data length
// that is no multiple of 512 or larger than MAX_REQUEST, a write to a read-only disk, or an image
// error gets VIRTIO_BLK_S_IOERR, an unknown type VIRTIO_BLK_S_UNSUPP, and the host allocates
// nothing a guest length asks for (one bounce buffer of MAX_REQUEST, made once).
//
// Requests run synchronously when the driver notifies the queue (positioned host reads and
// writes, the page cache absorbs them): every chain posted by then is served, and one interrupt
// tells the driver about the whole batch.
import { VirtioPci } from "./virtio_pci.ts";
import type { Chain, Virtqueue } from "./virtqueue.ts";
import type { GuestRam } from "../memory.ts";
import type { BlockImage } from "../block/image.ts";
import { type DeviceState, expectVersion, pick, put } from "../snapshot/persist.ts";

export const BLK_F_SIZE_MAX = 1, BLK_F_SEG_MAX = 2, BLK_F_RO = 5, BLK_F_BLK_SIZE = 6, BLK_F_FLUSH = 9;
export const BLK_F_DISCARD = 13;
export const T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8, T_DISCARD = 11;
export const S_OK = 0, S_IOERR = 1, S_UNSUPP = 2;
const QUEUE_SIZE = 256;
export const SIZE_MAX = 64 * 1024;
export const SEG_MAX = 64;
export const MAX_REQUEST = SIZE_MAX * SEG_MAX; // 4 MiB of data per request
export const DISCARD_SEG = 32;
const MAX_DISCARD_SECTORS = 0x3fffff; // 2 GiB - 512 per range
const HDR = 16;
const ID_BYTES = 20;
const CONFIG_SIZE = 60;

export class VirtioBlk extends VirtioPci {
  readonly readonly: boolean;
  private readonly config = new Uint8Array(CONFIG_SIZE);
  private bounce?: Uint8Array;
  private readonly serial: Uint8Array;
  // counters (tests, statistics)
  reads = 0;
  writes = 0;
  flushes = 0;
  discards = 0;
  errors = 0; // requests answered with IOERR or UNSUPP

  constructor(
    ram: GuestRam,
    readonly image: BlockImage,
    serial: string,
    log?: (line: string) => void,
  ) {
    const ro = image.readonly;
    const features = (1 << BLK_F_SIZE_MAX) | (1 << BLK_F_SEG_MAX) | (1 << BLK_F_BLK_SIZE) | (1 << BLK_F_FLUSH) |
      (ro ? 1 << BLK_F_RO : 1 << BLK_F_DISCARD);
    super(ram, 2, 0x010000, features, [QUEUE_SIZE], CONFIG_SIZE, log);
    this.readonly = ro;
    this.serial = new TextEncoder().encode(serial).subarray(0, ID_BYTES);
    const dv = new DataView(this.config.buffer);
    dv.setBigUint64(0, BigInt(Math.floor(image.size / 512)), true); // capacity in sectors
    dv.setUint32(8, SIZE_MAX, true);
    dv.setUint32(12, SEG_MAX, true);
    dv.setUint16(16, Math.min(65535, Math.ceil(image.size / (512 * 16 * 63))), true); // geometry: C/H/S
    dv.setUint8(18, 16);
    dv.setUint8(19, 63);
    dv.setUint32(20, 512, true); // blk_size
    dv.setUint16(34, 1, true); // num_queues
    dv.setUint32(36, MAX_DISCARD_SECTORS, true);
    dv.setUint32(40, DISCARD_SEG, true);
    dv.setUint32(44, 1, true); // discard_sector_alignment
  }

  protected configRead(off: number): number {
    return off < CONFIG_SIZE ? this.config[off] : 0;
  }

  protected queueNotify(_q: number): void {
    this.process(this.queues[0]);
  }

  protected override onDriverOk(): void {
    this.process(this.queues[0]);
  }

  // Serve every posted request (at most a queue's worth per call), then interrupt once.
  private process(q: Virtqueue): void {
    let done = 0;
    try {
      for (let c = q.pop(); c; c = done < q.size ? q.pop() : null) {
        if (c.inLen === 0) {
          // no room for a status byte: nothing can be reported, the chain goes back unused
          this.errors++;
          q.push(c.head, 0);
        } else {
          const { status, written } = this.request(c);
          if (status !== S_OK) this.errors++;
          this.putStatus(c, status);
          q.push(c.head, written + 1);
        }
        done++;
      }
    } catch (e) {
      this.broken(e);
    }
    if (done) this.interruptQueue(q);
  }

  // bytes [off, off + dst.length) of the chain's device-readable part
  private gather(c: Chain, off: number, dst: Uint8Array): void {
    let o = 0, skip = off;
    for (const s of c.out) {
      if (o >= dst.length) break;
      if (skip >= s.len) {
        skip -= s.len;
        continue;
      }
      const n = Math.min(s.len - skip, dst.length - o);
      dst.set(this.ram.view(s.addr + skip, n)!, o); // inside RAM: checked by the virtqueue
      o += n;
      skip = 0;
    }
  }

  // scatter src into the device-writable part (the status byte excluded)
  private scatter(c: Chain, src: Uint8Array): void {
    let o = 0;
    for (const s of c.in) {
      if (o >= src.length) break;
      const n = Math.min(s.len, src.length - o);
      this.ram.write(s.addr, src.subarray(o, o + n));
      o += n;
    }
  }

  private putStatus(c: Chain, status: number): void {
    const last = c.in[c.in.length - 1];
    if (last.len > 0) this.ram.writeU8(last.addr + last.len - 1, status);
    else {
      // zero-length trailing descriptors: the last byte of the writable part is the status
      let pos = c.inLen - 1;
      for (const s of c.in) {
        if (pos < s.len) return this.ram.writeU8(s.addr + pos, status);
        pos -= s.len;
      }
    }
  }

  private buffer(n: number): Uint8Array {
    this.bounce ??= new Uint8Array(MAX_REQUEST);
    return this.bounce.subarray(0, n);
  }

  private request(c: Chain): { status: number; written: number } {
    if (c.outLen < HDR) return { status: S_IOERR, written: 0 };
    const hdr = new Uint8Array(HDR);
    this.gather(c, 0, hdr);
    const dv = new DataView(hdr.buffer);
    const type = dv.getUint32(0, true);
    const sector = dv.getUint32(8, true) + dv.getUint32(12, true) * 2 ** 32;
    const fail = { status: S_IOERR, written: 0 };
    try {
      switch (type) {
        case T_IN: {
          const len = c.inLen - 1;
          if (!this.inDisk(sector, len)) return fail;
          const buf = this.buffer(len);
          this.image.read(sector * 512, buf);
          this.scatter(c, buf);
          this.reads++;
          return { status: S_OK, written: len };
        }
        case T_OUT: {
          const len = c.outLen - HDR;
          if (this.readonly || !this.inDisk(sector, len)) return fail;
          const buf = this.buffer(len);
          this.gather(c, HDR, buf);
          this.image.write(sector * 512, buf);
          this.writes++;
          return { status: S_OK, written: 0 };
        }
        case T_FLUSH:
          this.image.flush();
          this.flushes++;
          return { status: S_OK, written: 0 };
        case T_GET_ID: {
          const id = new Uint8Array(Math.min(ID_BYTES, c.inLen - 1));
          id.set(this.serial.subarray(0, id.length));
          this.scatter(c, id);
          return { status: S_OK, written: id.length };
        }
        case T_DISCARD: {
          const len = c.outLen - HDR;
          if (this.readonly || len % 16 || len / 16 > DISCARD_SEG) return fail;
          const segs = new Uint8Array(len);
          this.gather(c, HDR, segs);
          const sv = new DataView(segs.buffer);
          const ranges: [number, number][] = [];
          for (let o = 0; o < len; o += 16) {
            const s = sv.getUint32(o, true) + sv.getUint32(o + 4, true) * 2 ** 32;
            const n = sv.getUint32(o + 8, true);
            if (n > MAX_DISCARD_SECTORS || !this.inDisk(s, n * 512, true)) return fail;
            ranges.push([s * 512, n * 512]);
          }
          for (const [off, n] of ranges) this.image.discard(off, n);
          this.discards++;
          return { status: S_OK, written: 0 };
        }
        default:
          return { status: S_UNSUPP, written: 0 };
      }
    } catch (e) {
      this.guestError(`ring3: virtio-blk ${this.image.name}: ${(e as Error).message}`);
      return fail;
    }
  }

  // a data transfer of `len` bytes at `sector` lies on the disk and fits the device's limits
  private inDisk(sector: number, len: number, anySize = false): boolean {
    if (len % 512 || (!anySize && len > MAX_REQUEST)) return false;
    return sector * 512 + len <= this.image.size;
  }
}

// ---- persist (ARCHITECTURE.md, "Snapshots"): the virtio registers, each queue's ring addresses
// and indices, the counters (the rings live in guest RAM, the PCI configuration space is the bus's,
// the disk's bytes are in its image file, flushed by the save). Requests complete inside the
// notify, so none is ever in flight at a snapshot.
export const VIRTIO_FIELDS = ["guestFeatures", "status", "isr", "queueSel"];
export const QUEUE_FIELDS = [
  "pfn",
  "lastAvail",
  "broken",
  "desc",
  "avail",
  "used",
  "usedIdx",
  "eventIdx",
  "signalled",
  "signalledValid",
];
const BLK_FIELDS = ["reads", "writes", "flushes", "discards", "errors"];
export function saveVirtioBlk(d: VirtioBlk): DeviceState {
  d.image.flush(); // the restored machine reopens the file: it must hold every completed write
  return {
    v: 1,
    ...pick(d, VIRTIO_FIELDS),
    queues: d.queues.map((q) => pick(q, QUEUE_FIELDS)),
    ...pick(d, BLK_FIELDS),
  };
}
export function restoreVirtioBlk(d: VirtioBlk, state: DeviceState): void {
  const s = expectVersion("virtio-blk", state, 1);
  put(d, VIRTIO_FIELDS, s, "virtio-blk");
  const qs = s.queues as Record<string, unknown>[];
  d.queues.forEach((q, i) => put(q, QUEUE_FIELDS, qs[i], `virtio-blk queue ${i}`));
  put(d, BLK_FIELDS, s, "virtio-blk");
}
