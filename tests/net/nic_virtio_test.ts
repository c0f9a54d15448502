// virtio-net on the legacy virtio-pci transport, driven as Linux 6.1's virtio_pci_legacy +
// virtio_net do: reset, ACK/DRIVER, feature negotiation, queue setup by PFN, config (MAC, link
// status), DRIVER_OK, tx chains (header + frame in one or several descriptors), rx buffers filled
// with a 10-byte header, used-ring updates, ISR read-to-clear and INTx, interrupt suppression,
// backlog while no buffer is posted, link change interrupts, device reset.
import assert from "node:assert/strict";
import { VirtioNet } from "../../runtime/devices/virtio_net.ts";
import { GuestRam } from "../../runtime/memory.ts";
import { BCAST, board, FakePort, frame, MAC, PEER } from "./nic_lib.ts";
import { headerOf, withHeader } from "../../net/offload.ts";

const HOST_F = 0x00, GUEST_F = 0x04, PFN = 0x08, QNUM = 0x0c, QSEL = 0x0e, NOTIFY = 0x10, STATUS = 0x12, ISR = 0x13;
const CFG = 0x14;
const F_MAC = 1 << 5, F_STATUS = 1 << 16;

// guest RAM layout for the test: queue 0 rings at 0x10000, queue 1 at 0x20000, buffers at 0x40000+
const RAM = 1 << 20;

class Ring {
  availIdx = 0;
  usedSeen = 0;
  nextDesc = 0;
  constructor(readonly dv: DataView, readonly base: number, readonly size: number) {}
  get avail() {
    return this.base + 16 * this.size;
  }
  get used() {
    return Math.ceil((this.avail + 6 + 2 * this.size) / 4096) * 4096;
  }
  // post a chain of [addr, len, writable] descriptors
  post(bufs: [number, number, boolean][]) {
    const head = this.nextDesc;
    bufs.forEach(([addr, len, w], i) => {
      const d = this.base + 16 * ((head + i) % this.size);
      this.dv.setUint32(d, addr, true);
      this.dv.setUint32(d + 4, 0, true);
      this.dv.setUint32(d + 8, len, true);
      this.dv.setUint16(d + 12, (i < bufs.length - 1 ? 1 : 0) | (w ? 2 : 0), true);
      this.dv.setUint16(d + 14, (head + i + 1) % this.size, true);
    });
    this.nextDesc = (head + bufs.length) % this.size;
    this.dv.setUint16(this.avail + 4 + 2 * (this.availIdx % this.size), head, true);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.dv.setUint16(this.avail + 2, this.availIdx, true);
    return head;
  }
  usedEntries(): { id: number; len: number }[] {
    const idx = this.dv.getUint16(this.used + 2, true);
    const out = [];
    while (this.usedSeen !== idx) {
      const e = this.used + 4 + 8 * (this.usedSeen % this.size);
      out.push({ id: this.dv.getUint32(e, true), len: this.dv.getUint32(e + 4, true) });
      this.usedSeen = (this.usedSeen + 1) & 0xffff;
    }
    return out;
  }
  set noInterrupt(on: boolean) {
    this.dv.setUint16(this.avail, on ? 1 : 0, true);
  }
}

function setup(opts: { start?: boolean; features?: number } = {}) {
  const ram = new Uint8Array(RAM);
  const dv = new DataView(ram.buffer);
  const port = new FakePort();
  const logs: string[] = [];
  const nic = new VirtioNet(new GuestRam(ram), MAC, port, (l) => logs.push(l));
  const b = board(nic, 4);
  const d = { ...b, nic, port, ram, dv, logs, rx: null as unknown as Ring, tx: null as unknown as Ring };
  if (opts.start !== false) start(d, opts.features);
  return d;
}
type Dev = ReturnType<typeof setup>;

function start(d: Dev, features = F_MAC | F_STATUS) {
  d.outb(STATUS, 0);
  assert.equal(d.inb(STATUS), 0);
  d.outb(STATUS, 1);
  d.outb(STATUS, 1 | 2);
  const host = d.inl(HOST_F);
  d.outl(GUEST_F, host & features);
  const rings: Ring[] = [];
  for (const [q, base] of [[0, 0x10000], [1, 0x20000]]) {
    d.outw(QSEL, q);
    const n = d.inw(QNUM);
    assert.equal(n, 256);
    assert.equal(d.inl(PFN), 0, "queue not yet in use");
    d.outl(PFN, base >> 12);
    rings.push(new Ring(d.dv, base, n));
  }
  [d.rx, d.tx] = rings;
  d.outb(STATUS, 1 | 2 | 4);
}

// virtio_net's rx buffers: header + 1518 bytes in one descriptor
function postRx(d: Dev, n: number, first = 0x40000) {
  for (let i = 0; i < n; i++) d.rx.post([[first + 0x800 * i, 10 + 1518, true]]);
  d.outw(NOTIFY, 0);
}

Deno.test("virtio-net: PCI identity, features, config space with MAC and link status", () => {
  const d = setup({ start: false });
  assert.equal(d.nic.readConfig(0, 4), 0x10001af4);
  assert.equal(d.nic.readConfig(0x2c, 4), 0x00011af4, "subsystem: virtio device type 1 (net)");
  assert.equal(d.nic.readConfig(0x08, 1), 0, "legacy ABI revision 0");
  assert.equal(d.nic.readConfig(0x08, 4) >>> 8, 0x020000);
  const host = d.inl(HOST_F);
  assert.equal(host & F_MAC, F_MAC);
  assert.equal(host & F_STATUS, F_STATUS);
  // mergeable receive buffers and the offloads: CSUM, GUEST_CSUM, GUEST_TSO4, HOST_TSO4
  assert.equal(host & ((1 << 15) | 1 | 2 | (1 << 7) | (1 << 11)), (1 << 15) | 1 | 2 | (1 << 7) | (1 << 11));
  const plain = new VirtioNet(new GuestRam(new Uint8Array(RAM)), MAC, undefined, () => {}, false).hostFeatures;
  assert.equal(plain & (1 | 2 | (1 << 7) | (1 << 11)), 0, "offloads: false offers none");
  // the driver cannot accept more than offered
  d.outl(GUEST_F, 0xffffffff);
  assert.equal(d.inl(GUEST_F), host);
  for (let i = 0; i < 6; i++) assert.equal(d.inb(CFG + i), MAC[i]);
  assert.equal(d.inw(CFG + 6), 1, "VIRTIO_NET_S_LINK_UP");
  d.outw(QSEL, 2);
  assert.equal(d.inw(QNUM), 0, "no third queue");
});

Deno.test("virtio-net: tx chains (separate header descriptor and header+frame in one) reach the switch", () => {
  const d = setup();
  const f1 = frame(PEER, MAC, 98, 1), f2 = frame(BCAST, MAC, 1514, 2);
  // header in its own descriptor (legacy without ANY_LAYOUT), frame split in two more
  d.ram.fill(0, 0x50000, 0x50000 + 10);
  d.ram.set(f1.subarray(0, 40), 0x50100);
  d.ram.set(f1.subarray(40), 0x50300);
  const h1 = d.tx.post([[0x50000, 10, false], [0x50100, 40, false], [0x50300, 58, false]]);
  d.ram.set(f2, 0x6000a);
  const h2 = d.tx.post([[0x60000, 10 + f2.length, false]]);
  assert.equal(d.irq(), false);
  d.outw(NOTIFY, 1);
  assert.equal(d.port.sent.length, 2);
  assert.deepEqual(d.port.sent[0], f1);
  assert.deepEqual(d.port.sent[1], f2);
  assert.deepEqual(d.tx.usedEntries(), [{ id: h1, len: 0 }, { id: h2, len: 0 }]);
  assert.equal(d.irq(), true);
  assert.equal(d.inb(ISR), 1, "ISR: queue interrupt");
  assert.equal(d.irq(), false, "reading ISR clears it and INTx");
  assert.equal(d.inb(ISR), 0);
  // VRING_AVAIL_F_NO_INTERRUPT: used ring updated, no interrupt
  d.tx.noInterrupt = true;
  d.ram.set(f1, 0x5000a);
  d.tx.post([[0x50000, 10 + f1.length, false]]);
  d.outw(NOTIFY, 1);
  assert.equal(d.tx.usedEntries().length, 1);
  assert.equal(d.irq(), false);
});

Deno.test("virtio-net: rx fills posted buffers with header + frame; frames wait for buffers", () => {
  const d = setup();
  const fs = [frame(MAC, PEER, 60, 1), frame(BCAST, PEER, 1514, 2), frame(MAC, PEER, 42, 3)];
  // nothing posted yet: frames wait
  for (const f of fs) d.port.onFrame(f);
  assert.equal(d.irq(), false);
  postRx(d, 2);
  let used = d.rx.usedEntries();
  assert.equal(used.length, 2);
  assert.equal(d.irq(), true);
  assert.equal(d.inb(ISR), 1);
  postRx(d, 8, 0x48000);
  used = used.concat(d.rx.usedEntries());
  assert.equal(used.length, 3);
  const addrs = [0x40000, 0x40800, 0x48000];
  for (let i = 0; i < 3; i++) {
    assert.equal(used[i].len, 10 + fs[i].length);
    const a = addrs[i];
    assert.deepEqual(d.ram.subarray(a, a + 10), new Uint8Array(10), "virtio_net_hdr: no offloads");
    assert.deepEqual(d.ram.subarray(a + 10, a + 10 + fs[i].length), fs[i]);
  }
  // buffers now posted: a frame goes straight in, with an interrupt
  d.port.onFrame(fs[0]);
  assert.equal(d.rx.usedEntries().length, 1);
  assert.equal(d.irq(), true);
  // a chain of several writable descriptors is filled in order
  d.inb(ISR);
  const big = frame(MAC, PEER, 1000, 9);
  const d2 = setup();
  d2.rx.post([[0x70000, 10, true], [0x71000, 500, true], [0x72000, 1018, true]]);
  d2.outw(NOTIFY, 0);
  d2.port.onFrame(big);
  assert.deepEqual(d2.rx.usedEntries(), [{ id: 0, len: 1010 }]);
  assert.deepEqual(d2.ram.subarray(0x71000, 0x71000 + 500), big.subarray(0, 500));
  assert.deepEqual(d2.ram.subarray(0x72000, 0x72000 + 500), big.subarray(500));
});

Deno.test("virtio-net: link changes raise a configuration interrupt; reset forgets queues", () => {
  const d = setup();
  d.port.onLink(false);
  assert.equal(d.irq(), true);
  assert.equal(d.inb(ISR), 2, "ISR: configuration change");
  assert.equal(d.inw(CFG + 6), 0);
  d.port.onLink(true);
  assert.equal(d.inb(ISR), 2);
  assert.equal(d.inw(CFG + 6), 1);
  // reset: status 0 clears features, queue addresses, ISR; frames are not accepted until DRIVER_OK
  postRx(d, 4);
  d.outb(STATUS, 0);
  assert.equal(d.inb(STATUS), 0);
  assert.equal(d.inl(GUEST_F), 0);
  d.outw(QSEL, 0);
  assert.equal(d.inl(PFN), 0);
  d.port.onFrame(frame(MAC, PEER, 60, 1));
  assert.equal(d.irq(), false);
  // a descriptor pointing outside RAM: the device flags NEEDS_RESET instead of touching memory
  start(d);
  d.tx.post([[RAM - 4, 64, false]]);
  d.outw(NOTIFY, 1);
  assert.equal(d.inb(STATUS) & 0x40, 0x40);
  assert.equal(d.port.sent.length, 0);
  assert.match(d.logs[0], /outside RAM/);
});

Deno.test("virtio-net: frames waiting for buffers hold the link until the driver posts buffers", () => {
  const d = setup();
  const fs = Array.from({ length: 100 }, (_, i) => frame(MAC, PEER, 1514, 300 + i));
  for (const f of fs.slice(0, 10)) d.port.onFrame(f);
  assert.equal(d.port.held, false);
  for (const f of fs.slice(10)) d.port.onFrame(f);
  assert.equal(d.port.held, true, "a long backlog stops reading from the switch");
  postRx(d, 60);
  assert.equal(d.port.held, true, "still frames waiting");
  postRx(d, 60, 0x40000 + 60 * 0x800);
  assert.equal(d.port.held, false);
  const used = d.rx.usedEntries();
  assert.equal(used.length, 100);
  for (let i = 0; i < 100; i++) {
    const a = 0x40000 + 0x800 * i;
    assert.deepEqual(d.ram.subarray(a + 10, a + 10 + 1514), fs[i]);
  }
  assert.equal(d.nic.rxDropped, 0);
});

const F_CSUM = 1, F_GUEST_CSUM = 2, F_GUEST_TSO4 = 1 << 7, F_HOST_TSO4 = 1 << 11, F_MRG = 1 << 15;

Deno.test("virtio-net: mergeable rx buffers (12-byte header, num_buffers, one used-index update) and offload headers both ways", () => {
  const all = F_MAC | F_STATUS | F_CSUM | F_GUEST_CSUM | F_GUEST_TSO4 | F_HOST_TSO4 | F_MRG;
  const d = setup({ features: all });
  assert.equal(d.nic.hdrLen, 12);
  // 8 buffers of 512 bytes: a 1514-byte frame + 12-byte header takes 3 of them
  for (let i = 0; i < 8; i++) d.rx.post([[0x40000 + 0x400 * i, 512, true]]);
  d.outw(NOTIFY, 0);
  const f = frame(MAC, PEER, 1514, 7);
  d.port.onFrame(f);
  const used = d.rx.usedEntries();
  assert.deepEqual(used.map((u) => u.len), [512, 512, 1526 - 1024]);
  assert.equal(d.dv.getUint16(0x40000 + 10, true), 3, "num_buffers");
  const got = new Uint8Array(1526);
  for (let i = 0; i < 3; i++) got.set(d.ram.subarray(0x40000 + 0x400 * i, 0x40000 + 0x400 * i + used[i].len), 512 * i);
  assert.deepEqual(got.subarray(12), f);
  assert.deepEqual([...got.subarray(0, 10)], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "a plain frame: no offloads");
  // too few buffers posted for a 4000-byte frame: it waits, whole, for more
  const big = withHeader(frame(MAC, PEER, 4000, 8), new Uint8Array([1, 1, 54, 0, 0xa8, 5, 34, 0, 16, 0]));
  d.port.onFrame(big);
  assert.equal(d.rx.usedEntries().length, 0);
  for (let i = 0; i < 8; i++) d.rx.post([[0x48000 + 0x400 * i, 1024, true]]);
  d.outw(NOTIFY, 0);
  const u2 = d.rx.usedEntries();
  assert.equal(u2.length, 7, "the 5 512-byte buffers left, then 2 of the new (4012 bytes)");
  assert.deepEqual(
    [...d.ram.subarray(0x40000 + 0x400 * 3, 0x40000 + 0x400 * 3 + 12)],
    [1, 1, 54, 0, 0xa8, 5, 34, 0, 16, 0, 7, 0],
    "the GSO header travels to a guest that negotiated GUEST_CSUM + GUEST_TSO4",
  );
  // tx: a header asking for work rides on the frame to the port
  const tf = frame(PEER, MAC, 3000, 9);
  d.ram.set([1, 1, 54, 0, 0xa8, 5, 34, 0, 16, 0, 0, 0], 0x60000);
  d.ram.set(tf, 0x6000c);
  d.tx.post([[0x60000, 12 + tf.length, false]]);
  d.outw(NOTIFY, 1);
  assert.equal(d.port.sentRaw.length, 1);
  assert.deepEqual(d.port.sentRaw[0], tf);
  assert.deepEqual([...headerOf(d.port.sentRaw[0])!], [1, 1, 54, 0, 0xa8, 5, 34, 0, 16, 0]);
  assert.equal(d.port.takesOffload!(new Uint8Array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])), true);
  const noTso = setup({ features: F_MAC | F_STATUS | F_GUEST_CSUM | F_MRG });
  assert.equal(noTso.port.takesOffload!(new Uint8Array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])), false, "GSO needs GUEST_TSO4");
  assert.equal(noTso.port.takesOffload!(new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0])), true);
});

Deno.test("virtio-net: event indices (VIRTIO_RING_F_EVENT_IDX): interrupts at used_event, notifications at avail_event", () => {
  const F_EVENT_IDX = 1 << 29;
  const d = setup({ features: F_MAC | F_STATUS | F_EVENT_IDX });
  assert.equal(d.inl(GUEST_F) & F_EVENT_IDX, F_EVENT_IDX, "offered and accepted");
  const usedEvent = (r: Ring, v: number) => d.dv.setUint16(r.avail + 4 + 2 * r.size, v, true);
  const availEvent = (r: Ring) => d.dv.getUint16(r.used + 4 + 8 * r.size, true);
  // rx: no frames waiting, so no notification wanted (avail_event one behind the device)
  assert.equal(availEvent(d.rx), 0xffff);
  // tx: used_event 0 -> the first used entry interrupts; the flags' NO_INTERRUPT bit is ignored
  d.tx.noInterrupt = true;
  const f = frame(PEER, MAC, 98, 1);
  const send = () => {
    d.ram.set(f, 0x5000a);
    d.tx.post([[0x50000, 10 + f.length, false]]);
    d.outw(NOTIFY, 1);
  };
  usedEvent(d.tx, 0);
  send();
  assert.equal(d.irq(), true, "used index 0 -> 1 crosses used_event 0");
  assert.equal(d.inb(ISR), 1);
  assert.equal(availEvent(d.tx), 1, "the next tx chain is to be notified");
  // used_event 3: entries 2 and 3 pass quietly, entry 4 (index 3 -> 4) interrupts
  usedEvent(d.tx, 3);
  send();
  assert.equal(d.irq(), false);
  send();
  assert.equal(d.irq(), false);
  send();
  assert.equal(d.irq(), true);
  d.inb(ISR);
  assert.equal(d.tx.usedEntries().length, 4);
  assert.equal(d.port.sent.length, 4);
  // rx: a frame with no buffer posted waits and asks for a notification at the next buffer
  const r = frame(MAC, PEER, 60, 2);
  d.port.onFrame(r);
  assert.equal(availEvent(d.rx), 0, "notify when entry 0 is posted");
  usedEvent(d.rx, 0);
  postRx(d, 1);
  assert.deepEqual(d.rx.usedEntries().map((e) => e.len), [10 + 60]);
  assert.equal(d.irq(), true);
  d.inb(ISR);
  assert.equal(availEvent(d.rx), 0, "backlog empty: no notifications wanted again");
  // a reset forgets the negotiation: flags decide again
  d.outb(STATUS, 0);
  d.ram.fill(0, 0x10000, 0x30000); // fresh rings
  start(d);
  d.tx.noInterrupt = true;
  send();
  assert.equal(d.irq(), false, "NO_INTERRUPT honoured without event indices");
});
