// A hostile guest against the NIC models: descriptors, ring indices and registers written
// straight into a machine's RAM and ports, as a root program in the guest could. ring3 must
// neither throw nor allocate what the guest asks for: an oversized tx chain comes back used with
// length 0 and is counted, a broken ring (a descriptor loop, an index jump, a buffer outside RAM)
// puts the device in its needs-reset state and the queue stays silent until the driver resets it,
// ne2k remote DMA and ring pointers wrap inside the card, and a PCI BAR moved onto other ports is
// simply not decoded.
import assert from "node:assert/strict";
import { Machine } from "../../runtime/machine.ts";
import { MAX_FRAME, VirtioNet } from "../../runtime/devices/virtio_net.ts";
import { Ne2k } from "../../runtime/devices/ne2k.ts";
import type { PciFunction } from "../../runtime/devices/pci.ts";
import { FakePort, frame, MAC, PEER } from "./nic_lib.ts";

const PFN = 0x08, QSEL = 0x0e, NOTIFY = 0x10, STATUS = 0x12;
const NEEDS_RESET = 0x40;
const RAM_MIB = 64;
const RAM = RAM_MIB << 20;
const QSIZE = 256;
const RXQ = 0x10000, TXQ = 0x20000; // ring bases
const F_NEXT = 1, F_WRITE = 2;

// a machine (no core needed: the devices are driven through its buses) with one extra PCI device
function machineWith(dev: (m: Machine) => PciFunction, slot = 5) {
  const m = new Machine({ memMiB: RAM_MIB, acpi: false });
  const f = m.pci.add(dev(m), slot);
  m.pci.assignResources();
  f.writeConfig(4, 2, f.command | 0x5);
  const base = f.barAddress(0);
  const cfg = (off: number) => 0x80000000 | slot << 11 | off;
  return {
    m,
    f,
    base,
    in8: (o: number) => m.io.read(base + o, 1),
    out8: (o: number, v: number) => m.io.write(base + o, 1, v),
    out16: (o: number, v: number) => m.io.write(base + o, 2, v),
    out32: (o: number, v: number) => m.io.write(base + o, 4, v),
    cfgWrite32: (off: number, v: number) => (m.io.write(0xcf8, 4, cfg(off)), m.io.write(0xcfc, 4, v)),
    cfgRead32: (off: number) => (m.io.write(0xcf8, 4, cfg(off)), m.io.read(0xcfc, 4)),
  };
}

function virtio() {
  const port = new FakePort();
  const logs: string[] = [];
  let nic!: VirtioNet;
  const d = machineWith((m) => (nic = new VirtioNet(m.ram, MAC, port, (l) => logs.push(l))));
  const startDriver = () => {
    d.out8(STATUS, 0);
    d.m.ram.fill(RXQ, TXQ + 0x4000 - RXQ); // fresh rings, as the driver allocates them
    d.out8(STATUS, 1 | 2);
    d.out16(QSEL, 0);
    d.out32(PFN, RXQ >> 12);
    d.out16(QSEL, 1);
    d.out32(PFN, TXQ >> 12);
    d.out8(STATUS, 1 | 2 | 4);
  };
  startDriver();
  const avail = (base: number) => base + 16 * QSIZE;
  const used = (base: number) => Math.ceil((avail(base) + 6 + 2 * QSIZE) / 4096) * 4096;
  const desc = (base: number, i: number, addr: number, len: number, flags: number, next = 0, hi = 0) => {
    const a = base + 16 * i;
    d.m.ram.writeU32(a, addr);
    d.m.ram.writeU32(a + 4, hi);
    d.m.ram.writeU32(a + 8, len);
    d.m.ram.writeU16(a + 12, flags);
    d.m.ram.writeU16(a + 14, next);
  };
  const availIdx = (base: number) => d.m.ram.readU16(avail(base) + 2);
  // put `head` in the next avail slot and publish it (or move the index by `step`)
  const post = (base: number, head: number, step = 1) => {
    const idx = availIdx(base);
    d.m.ram.writeU16(avail(base) + 4 + 2 * (idx % QSIZE), head);
    d.m.ram.writeU16(avail(base) + 2, (idx + step) & 0xffff);
  };
  const usedIdx = (base: number) => d.m.ram.readU16(used(base) + 2);
  const usedElem = (base: number, i: number) => {
    const e = used(base) + 4 + 8 * (i % QSIZE);
    return { id: d.m.ram.readU32(e), len: d.m.ram.readU32(e + 4) };
  };
  const status = () => d.in8(STATUS);
  return { ...d, nic, port, logs, desc, post, usedIdx, usedElem, status, startDriver };
}
type Virtio = ReturnType<typeof virtio>;

// one good frame through the tx queue: the device still works (or stays silent when broken)
function sendGood(v: Virtio, slot: number): number {
  const f = frame(PEER, MAC, 100, slot);
  v.m.ram.fill(0x300000, 10);
  v.m.ram.write(0x30000a, f);
  v.desc(TXQ, slot, 0x300000, 10 + f.length, 0);
  v.post(TXQ, slot);
  const before = v.port.sent.length;
  v.out16(NOTIFY, 1);
  return v.port.sent.length - before;
}

Deno.test("hostile virtio tx: a chain of 256 descriptors over all of RAM (16 GiB) is returned with length 0, nothing allocated", () => {
  const v = virtio();
  for (let i = 0; i < QSIZE; i++) v.desc(TXQ, i, 0, RAM, i < QSIZE - 1 ? F_NEXT : 0, i + 1);
  v.post(TXQ, 0);
  const rss0 = Deno.memoryUsage().rss;
  v.out16(NOTIFY, 1); // threw "Array buffer allocation failed" (or copied GiBs) before
  const grew = Deno.memoryUsage().rss - rss0;
  assert.ok(grew < 64 << 20, `host memory grew by ${grew} bytes`);
  assert.equal(v.port.sent.length, 0, "nothing sent");
  assert.equal(v.nic.txDropped, 1);
  assert.equal(v.usedIdx(TXQ), 1);
  assert.deepEqual(v.usedElem(TXQ, 0), { id: 0, len: 0 }, "returned used, length 0");
  assert.equal(v.status() & NEEDS_RESET, 0, "an oversized chain is not a broken ring");
  // the largest usable chain (header + MAX_FRAME) still goes out; one byte more does not
  v.desc(TXQ, 10, 0x400000, 10 + MAX_FRAME, 0);
  v.post(TXQ, 10);
  v.desc(TXQ, 11, 0x400000, 10 + MAX_FRAME + 1, 0);
  v.post(TXQ, 11);
  v.out16(NOTIFY, 1);
  assert.equal(v.port.sent.length, 1);
  assert.equal(v.port.sent[0].length, MAX_FRAME);
  assert.equal(v.nic.txDropped, 2);
  assert.equal(sendGood(v, 20), 1, "the queue keeps working");
});

Deno.test("hostile virtio tx: a descriptor loop breaks the device (needs reset) instead of hanging", () => {
  const v = virtio();
  v.desc(TXQ, 0, 0x300000, 4, F_NEXT, 1);
  v.desc(TXQ, 1, 0x300000, 4, F_NEXT, 0); // back to 0: an endless chain
  v.post(TXQ, 0);
  v.out16(NOTIFY, 1);
  assert.equal(v.status() & NEEDS_RESET, NEEDS_RESET);
  assert.match(v.logs.join("\n"), /longer than the queue/);
  assert.equal(v.usedIdx(TXQ), 0);
  assert.equal(sendGood(v, 5), 0, "a broken device takes nothing more");
  v.startDriver(); // the driver resets it
  assert.equal(sendGood(v, 6), 1, "working again after a reset");
});

Deno.test("hostile virtio: the available index jumping by more than the queue size breaks the queue", () => {
  const v = virtio();
  v.desc(TXQ, 0, 0x300000, 100, 0);
  v.post(TXQ, 0, QSIZE + 1);
  v.out16(NOTIFY, 1);
  assert.equal(v.status() & NEEDS_RESET, NEEDS_RESET);
  assert.match(v.logs.join("\n"), /available index moved 257 entries ahead/);
  assert.equal(v.port.sent.length, 0);
  assert.equal(v.usedIdx(TXQ), 0);
  // the same on the receive queue: frames from the switch are not written anywhere
  const r = virtio();
  r.desc(RXQ, 0, 0x300000, 2000, F_WRITE);
  r.post(RXQ, 0, 0xffff);
  r.out16(NOTIFY, 0);
  r.nic.receive(frame(MAC, PEER, 60, 1));
  assert.equal(r.status() & NEEDS_RESET, NEEDS_RESET);
  assert.equal(r.usedIdx(RXQ), 0);
  assert.equal(r.m.ram.readU8(0x30000a), 0, "nothing written");
});

Deno.test("hostile virtio: buffers outside guest RAM, bad head and next indices, rings outside RAM", () => {
  const cases: [string, (v: Virtio) => void, RegExp][] = [
    ["past the end", (v) => v.desc(TXQ, 0, RAM - 10, 100, 0), /outside RAM/],
    ["length wraps 32 bits", (v) => v.desc(TXQ, 0, 0x1000, 0xffffffff, 0), /outside RAM/],
    ["address above 4 GiB", (v) => v.desc(TXQ, 0, 0x1000, 100, 0, 0, 1), /0x100001000\+100 outside RAM/],
    ["address at 4 GiB - 1", (v) => v.desc(TXQ, 0, 0xffffffff, 1, 0), /outside RAM/],
    ["next index >= size", (v) => v.desc(TXQ, 0, 0x300000, 10, F_NEXT, 0xffff), /index 65535/],
  ];
  for (const [name, write, msg] of cases) {
    const v = virtio();
    write(v);
    v.post(TXQ, 0);
    v.out16(NOTIFY, 1);
    assert.equal(v.status() & NEEDS_RESET, NEEDS_RESET, name);
    assert.match(v.logs.join("\n"), msg, name);
    assert.equal(v.port.sent.length, 0, name);
  }
  const v = virtio();
  v.post(TXQ, 300); // head index >= size
  v.out16(NOTIFY, 1);
  assert.equal(v.status() & NEEDS_RESET, NEEDS_RESET);
  // a queue PFN whose rings end beyond RAM is refused and the queue stays off
  const w = virtio();
  w.out16(QSEL, 1);
  w.out32(PFN, (RAM >> 12) - 1);
  assert.equal(w.status() & NEEDS_RESET, NEEDS_RESET);
  assert.equal(w.nic.queues[1].ready, false);
  w.out32(PFN, 0xffffffff);
  assert.equal(w.nic.queues[1].ready, false);
});

Deno.test("hostile virtio rx: writable buffers the size of RAM get only the frame, nothing allocated", () => {
  const v = virtio();
  v.m.ram.fill(0x500000, 200, 0xee);
  for (let i = 0; i < 4; i++) v.desc(RXQ, i, 0x500000, RAM - 0x500000, F_WRITE | (i < 3 ? F_NEXT : 0), i + 1);
  v.post(RXQ, 0);
  v.out16(NOTIFY, 0);
  const f = frame(MAC, PEER, 120, 3);
  v.nic.receive(f);
  assert.deepEqual(v.usedElem(RXQ, 0), { id: 0, len: 10 + 120 });
  assert.deepEqual(v.m.ram.view(0x50000a, 120), f);
  assert.equal(v.m.ram.readU8(0x50000a + 120), 0xee, "nothing written past the frame");
});

// ---- ne2k -----------------------------------------------------------------------------------
const CMD = 0, STARTPG = 1, STOPPG = 2, BOUNDARY = 3, TPSR = 4, TCNTLO = 5, TCNTHI = 6;
const RSARLO = 8, RSARHI = 9, RCNTLO = 0x0a, RCNTHI = 0x0b, RXCR = 0x0c, DCFG = 0x0e, DATA = 0x10;
const START = 0x02, TRANS = 0x04, RREAD = 0x08, RWRITE = 0x10, SEND = 0x18, NODMA = 0x20, PAGE1 = 0x40;

function ne2k() {
  const port = new FakePort();
  let nic!: Ne2k;
  const d = machineWith(() => (nic = new Ne2k(MAC, port)));
  const reg = (r: number, v: number) => d.out8(r, v);
  return { ...d, nic, port, reg };
}

Deno.test("hostile ne2k: remote DMA address and count wrap inside the card; no host exception", () => {
  const n = ne2k();
  const mem0 = n.nic.mem.slice();
  n.reg(DCFG, 0x49);
  n.reg(STARTPG, 0xff);
  n.reg(STOPPG, 0x00); // RSAR wraps from 0xffff to 0 == PSTOP << 8, then jumps to PSTART << 8
  n.reg(RSARLO, 0xfe);
  n.reg(RSARHI, 0xff);
  n.reg(RCNTLO, 0xff);
  n.reg(RCNTHI, 0xff);
  n.reg(CMD, RWRITE | START);
  for (let i = 0; i < 0x4000; i++) n.out32(DATA, 0xdeadbeef); // 64 KiB through a 64 KiB window
  n.reg(CMD, RREAD | START);
  for (let i = 0; i < 0x4000; i++) n.m.io.read(n.base + DATA, 4);
  assert.equal(n.nic.mem.length, mem0.length, "card memory is not grown");
  assert.deepEqual(n.nic.mem.subarray(0, 0x20), mem0.subarray(0, 0x20), "the PROM is read-only");
  // a count of 1 with a dword access: the count stops at 0
  n.reg(RCNTLO, 1);
  n.reg(RCNTHI, 0);
  n.m.io.read(n.base + DATA, 4);
  assert.equal(n.nic.rbcr, 0);
  // "send packet" with BNRY beyond card memory reads a floating header, not a host exception
  n.reg(BOUNDARY, 0xff);
  n.reg(CMD, SEND | START);
  assert.equal(n.nic.rbcr, 0xffff);
  // transmit from a page outside buffer RAM, and the longest count, from the last page
  n.reg(TPSR, 0xff);
  n.reg(TCNTLO, 0xff);
  n.reg(TCNTHI, 0xff);
  n.reg(CMD, NODMA | TRANS | START);
  assert.equal(n.port.sent.length, 0);
  n.reg(TPSR, 0x7f);
  n.reg(CMD, NODMA | TRANS | START);
  assert.equal(n.port.sent.length, 1);
  assert.equal(n.port.sent[0].length, 256, "clipped at the end of buffer RAM");
});

Deno.test("hostile ne2k: a boundary outside the ring never lets a frame leave PSTART..PSTOP", () => {
  const n = ne2k();
  n.reg(CMD, NODMA | START);
  n.reg(STARTPG, 0x60);
  n.reg(STOPPG, 0x64); // a four-page ring
  n.reg(BOUNDARY, 0xff); // outside it
  n.reg(RXCR, 0x10); // promiscuous
  n.reg(CMD, NODMA | PAGE1 | START);
  n.reg(7, 0x61); // CURR
  n.reg(CMD, NODMA | START);
  const before = n.nic.mem.slice();
  for (const len of [9000, 1514, 700, 60]) n.nic.receive(frame(MAC, PEER, len, len));
  const outside = (m: Uint8Array) => [...m.subarray(0, 0x6000), ...m.subarray(0x6400)];
  assert.deepEqual(outside(n.nic.mem), outside(before), "nothing written outside the ring");
  assert.ok(n.nic.curr >= 0x60 && n.nic.curr < 0x64);
});

Deno.test("hostile PCI: a BAR moved onto other devices' ports or past 64 KiB is not decoded", () => {
  const n = ne2k();
  const good = n.base;
  assert.equal(n.in8(0x0a), 0x50, "RTL8029 ID at the assigned BAR");
  n.cfgWrite32(0x10, 0xce0 | 1); // 0xce0..0xcff: overlaps CONFIG_ADDRESS/DATA and 0xcf9
  assert.equal(n.f.mapped[0], undefined, "not decoded");
  assert.equal(n.m.io.read(0xce0 + 0x0a, 1), 0xff, "no half-mapped BAR below the conflict");
  assert.equal(n.cfgRead32(0x10), 0xce0 | 1, "config space still answers");
  n.cfgWrite32(0x10, 0xffffffff); // sizing
  assert.equal(n.cfgRead32(0x10), 0xffffffe1);
  assert.equal(n.f.mapped[0], undefined);
  n.cfgWrite32(0x10, 0x12340000 | 1); // above the port space
  assert.equal(n.f.mapped[0], undefined);
  n.cfgWrite32(0x10, 0x3e0 | 1); // 0x3e0..0x3ff, over COM1 (0x3f8): refused as a whole
  assert.equal(n.f.mapped[0], undefined);
  assert.equal(n.m.io.handler(0x3e0), undefined, "0x3e0..0x3f7 not claimed by the NIC");
  n.cfgWrite32(0x10, good | 1);
  assert.equal(n.f.mapped[0], good);
  assert.equal(n.m.io.read(good + 0x0a, 1), 0x50, "back at a free address, decoded again");
});
