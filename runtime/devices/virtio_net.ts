// virtio-net (device type 1) on the legacy virtio-pci transport: queue 0 receives, queue 1
// transmits, 256 entries each, no control queue. Offered features: VIRTIO_NET_F_MAC (the config
// space holds the address), VIRTIO_NET_F_STATUS (config status bit 0 = link up; a change
// raises a configuration interrupt so the guest sees carrier on/off), VIRTIO_NET_F_MRG_RXBUF
// (a frame may fill several receive buffers), and the offloads CSUM + HOST_TSO4 (the guest sends
// TCP segments of up to 64 KiB with a partial checksum) and GUEST_CSUM + GUEST_TSO4 (it takes
// them). Offloaded frames keep their header across the switch to another ring3 NIC that takes
// them; everything else gets complete frames (net/offload.ts; the link or the switch segments).
// `offloads: false` offers none of the four (plain 1514-byte frames, every checksum in the guest).
//
// Each buffer starts with struct virtio_net_hdr: flags u8, gso_type u8, hdr_len u16, gso_size
// u16, csum_start u16, csum_offset u16 = 10 bytes; with VIRTIO_NET_F_MRG_RXBUF a num_buffers u16
// follows (12 bytes). Frames from the switch wait in a backlog while the driver has no receive
// buffer posted, and are delivered when it notifies queue 0; while HOLD_AT or more wait, the link
// to the switch is held (nothing more is read) so the sender slows down instead of losing frames.
import { ISR_QUEUE, VirtioPci } from "./virtio_pci.ts";
import type { Chain, Virtqueue } from "./virtqueue.ts";
import type { NicPort } from "./nic_link.ts";
import type { GuestRam } from "../memory.ts";
import {
  F_DATA_VALID,
  GSO_ECN,
  GSO_NONE,
  GSO_TCPV4,
  headerOf,
  MAX_OFFLOAD_FRAME,
  needsWork,
  VNET_HDR_LEN,
  withHeader,
} from "../../net/offload.ts";
import { type DeviceState, expectVersion, pick, put } from "../snapshot/persist.ts";

export const NET_F_CSUM = 0, NET_F_GUEST_CSUM = 1, NET_F_GUEST_TSO4 = 7, NET_F_HOST_TSO4 = 11;
export const NET_F_MAC = 5, NET_F_MRG_RXBUF = 15, NET_F_STATUS = 16;
export const RING_F_EVENT_IDX = 29;
const OFFLOADS = (1 << NET_F_CSUM) | (1 << NET_F_GUEST_CSUM) | (1 << NET_F_GUEST_TSO4) | (1 << NET_F_HOST_TSO4);
const RX = 0, TX = 1;
const QUEUE_SIZE = 256;
const HOLD_AT = 64;
const BACKLOG = 2048; // above what one 64 KiB socket read can bring while held
export const MAX_FRAME = MAX_OFFLOAD_FRAME; // the largest frame a tx chain may carry after its header

export class VirtioNet extends VirtioPci {
  readonly mac: Uint8Array;
  private readonly backlog: Uint8Array[] = [];
  private linkUp: boolean;
  txFrames = 0;
  txDropped = 0; // tx chains the device could not use (longer than header + MAX_FRAME)
  rxFrames = 0;
  rxDropped = 0;

  constructor(
    ram: GuestRam,
    mac: Uint8Array,
    readonly port?: NicPort,
    log?: (line: string) => void,
    offloads = true,
  ) {
    super(
      ram,
      1,
      0x020000,
      (1 << NET_F_MAC) | (1 << NET_F_STATUS) | (1 << NET_F_MRG_RXBUF) | (1 << RING_F_EVENT_IDX) |
        (offloads ? OFFLOADS : 0),
      [QUEUE_SIZE, QUEUE_SIZE],
      8,
      log,
    );
    this.mac = mac.slice();
    this.linkUp = port ? port.up : true;
    if (port) {
      port.onFrame = (f) => this.receive(f);
      port.onLink = (up) => this.setLink(up);
      port.wantsOffload = offloads;
      port.takesOffload = (h) => this.takes(h);
    }
  }

  // whether the driver, as negotiated now, takes a frame with this header as is
  private takes(h: Uint8Array): boolean {
    if (!this.hasFeature(NET_F_GUEST_CSUM)) return false;
    const gso = h[1] & ~GSO_ECN;
    return gso === GSO_NONE || (gso === GSO_TCPV4 && this.hasFeature(NET_F_GUEST_TSO4) && !(h[1] & GSO_ECN));
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
    for (const q of this.queues) q.eventIdx = false;
  }

  // Interrupt mitigation (VIRTIO_RING_F_EVENT_IDX): the driver says after which used entry it
  // wants an interrupt (Linux's tx completions ask for one per 3/4 of the pending buffers).
  override interruptQueue(q: Virtqueue): void {
    if (!q.eventIdx) return super.interruptQueue(q);
    if (!q.takeInterrupt()) return;
    this.isr |= ISR_QUEUE;
    this.setIntx(true);
  }

  // the event index state follows the features negotiated at DRIVER_OK (a snapshot saves it)
  syncEventIdx(): void {
    const on = this.hasFeature(RING_F_EVENT_IDX);
    for (const q of this.queues) q.eventIdx = on;
    // receive buffers: a notification only while frames wait for them (see receive)
    if (on) this.queues[RX].setAvailEvent(this.queues[RX].lastAvail - 1);
  }

  protected queueNotify(q: number): void {
    if (q === TX) this.transmit();
    else if (q === RX) this.drain();
  }

  protected override onDriverOk(): void {
    this.syncEventIdx();
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
          const frame = bytes.subarray(this.hdrLen);
          // a partial checksum or a segment to cut: the header rides along (net/offload.ts)
          if (bytes[0] !== 0 || bytes[1] !== 0) withHeader(frame, bytes.slice(0, VNET_HDR_LEN));
          this.port?.send(frame);
          this.txFrames++;
        }
        q.push(c.head, 0);
        done++;
      }
    } catch (e) {
      this.broken(e);
    }
    this.port?.flush?.(); // the whole burst in one write
    q.setAvailEvent(q.lastAvail); // a notification for the next chain posted
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
    if (this.backlog.length) {
      // frames wait: ask for a notification when the driver posts buffers, then look once more
      // (a vCPU on another thread may have posted some in between)
      this.queues[RX].setAvailEvent(this.queues[RX].lastAvail);
      this.drain();
    }
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
    if (!this.backlog.length) {
      this.port?.hold(false);
      q.setAvailEvent(q.lastAvail - 1); // no notifications needed until frames wait again
    }
  }

  // Write one frame into the next receive buffer (with MRG_RXBUF: as many as it takes); false
  // when the driver has not posted enough.
  private deliver(q: Virtqueue, frame: Uint8Array): boolean {
    const h = this.hdrLen;
    const buf = new Uint8Array(h + frame.length);
    const vh = headerOf(frame);
    if (vh !== undefined && needsWork(vh)) buf.set(vh.subarray(0, VNET_HDR_LEN));
    else if (this.port?.user && this.hasFeature(NET_F_GUEST_CSUM)) buf[0] = F_DATA_VALID; // passt's own checksums
    buf.set(frame, h);
    const chains: Chain[] = [];
    let room = 0;
    try {
      while (room < buf.length && chains.length < q.size) {
        const c = q.pop();
        if (!c) {
          for (let i = 0; i < chains.length; i++) q.unpop();
          return false;
        }
        chains.push(c);
        room += c.inLen;
        if (h !== 12) break; // one buffer per frame
      }
    } catch (e) {
      this.broken(e);
      return false;
    }
    if (room < buf.length) {
      // too small for this frame: drop the frame, keep the buffers for the next one
      for (let i = 0; i < chains.length; i++) q.unpop();
      this.rxDropped++;
      return true;
    }
    if (h === 12) buf[10] = chains.length & 0xff, buf[11] = chains.length >> 8; // num_buffers
    const heads: number[] = [], lens: number[] = [];
    let o = 0;
    for (const c of chains) {
      const n = q.write(c, buf.subarray(o));
      heads.push(c.head);
      lens.push(n);
      o += n;
    }
    q.pushMany(heads, lens);
    this.rxFrames++;
    return true;
  }
}

// ---- persist (ARCHITECTURE.md, "Snapshots"): the virtio registers, each queue's ring addresses
// and indices, the frames waiting for receive buffers, the counters (the rings live in guest RAM;
// the PCI configuration space is saved by the bus)
const VIRTIO_FIELDS = ["guestFeatures", "status", "isr", "queueSel"];
const QUEUE_FIELDS = [
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
// a snapshot from before event indices: none negotiated, no interrupt decision remembered
const QUEUE_DEFAULTS = { eventIdx: false, signalled: 0, signalledValid: false };
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
  n.queues.forEach((q, i) => put(q, QUEUE_FIELDS, { ...QUEUE_DEFAULTS, ...qs[i] }, `virtio-net queue ${i}`));
  put(n, NET_FIELDS, s.net as Record<string, unknown>, "virtio-net");
  const b = (n as unknown as { backlog: unknown[] }).backlog;
  for (let i = 0; i < b.length; i++) b[i] = new Uint8Array(b[i] as number[]);
}
