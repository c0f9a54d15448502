// virtio-net (device type 1) on the legacy virtio-pci transport: queue 0 receives, queue 1
// transmits, 256 entries each, no control queue. Offered features: VIRTIO_NET_F_MAC (the config
// space holds the address) and VIRTIO_NET_F_STATUS (config status bit 0 = link up; a change
// raises a configuration interrupt so the guest sees carrier on/off). No checksum or
// segmentation offloads, so every frame is complete and the header is all zeros.
//
// Each buffer starts with struct virtio_net_hdr: flags u8, gso_type u8, hdr_len u16, gso_size
// u16, csum_start u16, csum_offset u16 = 10 bytes; with VIRTIO_NET_F_MRG_RXBUF or VERSION_1 a
// num_buffers u16 follows (12 bytes). Neither is offered here, but the length follows whatever
// was negotiated. Frames from the switch wait in a backlog while the driver has no receive
// buffer posted, and are delivered when it notifies queue 0; while HOLD_AT or more wait, the link
// to the switch is held (nothing more is read) so the sender slows down instead of losing frames.
import { VirtioPci } from "./virtio_pci.ts";
import type { Virtqueue } from "./virtqueue.ts";
import type { NicPort } from "./nic_link.ts";
import type { GuestRam } from "../memory.ts";
import { type DeviceState, expectVersion, pick, put } from "../snapshot/persist.ts";

export const NET_F_MAC = 5, NET_F_MRG_RXBUF = 15, NET_F_STATUS = 16;
const RX = 0, TX = 1;
const QUEUE_SIZE = 256;
const HOLD_AT = 64;
const BACKLOG = 2048; // above what one 64 KiB socket read can bring while held
export const MAX_FRAME = 65535; // the largest frame a tx chain may carry after its header

export class VirtioNet extends VirtioPci {
  readonly mac: Uint8Array;
  private readonly backlog: Uint8Array[] = [];
  private linkUp: boolean;
  txFrames = 0;
  txDropped = 0; // tx chains the device could not use (longer than header + MAX_FRAME)
  rxFrames = 0;
  rxDropped = 0;

  constructor(ram: GuestRam, mac: Uint8Array, readonly port?: NicPort, log?: (line: string) => void) {
    super(ram, 1, 0x020000, (1 << NET_F_MAC) | (1 << NET_F_STATUS), [QUEUE_SIZE, QUEUE_SIZE], 8, log);
    this.mac = mac.slice();
    this.linkUp = port ? port.up : true;
    if (port) {
      port.onFrame = (f) => this.receive(f);
      port.onLink = (up) => this.setLink(up);
    }
  }

  get hdrLen(): number {
    return this.hasFeature(NET_F_MRG_RXBUF) ? 12 : 10;
  }

  setLink(up: boolean): void {
    if (up === this.linkUp) return;
    this.linkUp = up;
    if (this.hasFeature(NET_F_STATUS)) this.interruptConfig();
  }

  protected configRead(off: number): number {
    if (off < 6) return this.mac[off];
    if (off === 6) return this.linkUp ? 1 : 0; // status: VIRTIO_NET_S_LINK_UP
    return 0;
  }

  protected override deviceReset(): void {
    this.backlog.length = 0;
    this.port?.hold(false);
  }

  protected queueNotify(q: number): void {
    if (q === TX) this.transmit();
    else if (q === RX) this.drain();
  }

  protected override onDriverOk(): void {
    // the driver may have posted buffers and frames before DRIVER_OK
    this.transmit();
  }

  // Send every posted tx chain, at most a queue's worth per notification (another vCPU may keep
  // posting while this runs; the driver notifies again for chains it adds, as no-notify is never
  // set). A chain longer than header + MAX_FRAME is returned unused and counted.
  private transmit(): void {
    const q = this.queues[TX];
    let done = 0;
    try {
      for (let c = q.pop(); c; c = done < q.size ? q.pop() : null) {
        const bytes = q.read(c, this.hdrLen + MAX_FRAME);
        if (!bytes) this.txDropped++;
        else if (bytes.length > this.hdrLen) {
          this.port?.send(bytes.subarray(this.hdrLen));
          this.txFrames++;
        }
        q.push(c.head, 0);
        done++;
      }
    } catch (e) {
      this.broken(e);
    }
    if (done) this.interruptQueue(q);
  }

  receive(frame: Uint8Array): void {
    if (!this.driverOk) return;
    if (this.backlog.length === 0 && this.deliver(this.queues[RX], frame)) {
      this.interruptQueue(this.queues[RX]);
      return;
    }
    if (this.backlog.length >= BACKLOG) this.rxDropped++;
    else this.backlog.push(frame);
    this.drain(); // buffers posted without a notification are used too
    if (this.backlog.length >= HOLD_AT) this.port?.hold(true);
  }

  private drain(): void {
    const q = this.queues[RX];
    let n = 0;
    while (this.backlog.length && this.driverOk && this.deliver(q, this.backlog[0])) {
      this.backlog.shift();
      n++;
    }
    if (n) this.interruptQueue(q);
    if (!this.backlog.length) this.port?.hold(false);
  }

  // Write one frame into the next receive buffer; false when the driver has none posted.
  private deliver(q: Virtqueue, frame: Uint8Array): boolean {
    let c;
    try {
      c = q.pop();
    } catch (e) {
      this.broken(e);
      return false;
    }
    if (!c) return false;
    const h = this.hdrLen;
    if (c.inLen < h + frame.length) {
      // too small for this frame (the driver's buffers hold 1518 bytes): drop the frame, keep
      // the buffer for the next one
      q.unpop();
      this.rxDropped++;
      return true;
    }
    const buf = new Uint8Array(h + frame.length); // header all zero: no offloads, GSO_NONE
    if (h === 12) buf[10] = 1; // num_buffers
    buf.set(frame, h);
    q.push(c.head, q.write(c, buf));
    this.rxFrames++;
    return true;
  }
}

// ---- persist (ARCHITECTURE.md, "Snapshots"): the virtio registers, each queue's ring addresses
// and indices, the frames waiting for receive buffers, the counters (the rings live in guest RAM;
// the PCI configuration space is saved by the bus)
const VIRTIO_FIELDS = ["guestFeatures", "status", "isr", "queueSel"];
const QUEUE_FIELDS = ["pfn", "lastAvail", "broken", "desc", "avail", "used", "usedIdx"];
const NET_FIELDS = ["backlog", "txFrames", "txDropped", "rxFrames", "rxDropped"];
export function saveVirtioNet(n: VirtioNet): DeviceState {
  return {
    v: 1,
    ...pick(n, VIRTIO_FIELDS),
    queues: n.queues.map((q) => pick(q, QUEUE_FIELDS)),
    net: pick(n, NET_FIELDS),
  };
}
export function restoreVirtioNet(n: VirtioNet, state: DeviceState): void {
  const s = expectVersion("virtio-net", state, 1);
  put(n, VIRTIO_FIELDS, s, "virtio-net");
  const qs = s.queues as Record<string, unknown>[];
  n.queues.forEach((q, i) => put(q, QUEUE_FIELDS, qs[i], `virtio-net queue ${i}`));
  put(n, NET_FIELDS, s.net as Record<string, unknown>, "virtio-net");
  const b = (n as unknown as { backlog: unknown[] }).backlog;
  for (let i = 0; i < b.length; i++) b[i] = new Uint8Array(b[i] as number[]);
}
