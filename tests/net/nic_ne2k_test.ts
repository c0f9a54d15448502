// RTL8029 / NE2000 device model driven the way Linux 6.1's ne2k-pci.c and lib8390.c drive it:
// reset handshake, PROM read in word mode with byte reads, NS8390_init, transmit through remote
// DMA write (outsl) + TXP, receive into the ring and read back with insl, ring wrap, full ring
// backpressure, receive filters (unicast, broadcast, multicast hash, promiscuous), interrupts.
import assert from "node:assert/strict";
import { etherCrc, Ne2k } from "../../runtime/devices/ne2k.ts";
import { BCAST, board, FakePort, frame, MAC, PEER } from "./nic_lib.ts";

const CMD = 0, STARTPG = 1, STOPPG = 2, BOUNDARY = 3, TPSR = 4, TCNTLO = 5, TCNTHI = 6, ISR = 7;
const RSARLO = 8, RSARHI = 9, RCNTLO = 0x0a, RCNTHI = 0x0b, RXCR = 0x0c, TXCR = 0x0d, DCFG = 0x0e, IMR = 0x0f;
const DATA = 0x10, RESET = 0x1f;
const STOP = 0x01, START = 0x02, TRANS = 0x04, RREAD = 0x08, RWRITE = 0x10, NODMA = 0x20;
const PAGE0 = 0x00, PAGE1 = 0x40;
const TX_START = 0x40, RX_START = 0x46, RX_STOP = 0x80;

function setup(opts: { probe?: boolean } = {}) {
  const port = new FakePort();
  const nic = new Ne2k(MAC, port);
  const b = board(nic);
  const d = { ...b, nic, port };
  if (opts.probe !== false) {
    probe(d);
    init(d);
  }
  return d;
}
type Dev = ReturnType<typeof board> & { nic: Ne2k; port: FakePort };

function probe(d: Dev): Uint8Array {
  d.outb(RESET, d.inb(RESET));
  assert.ok(d.inb(ISR) & 0x80, "reset acknowledged in ISR");
  d.outb(ISR, 0xff);
  for (
    const [v, r] of [
      [NODMA + PAGE0 + STOP, CMD],
      [0x49, DCFG],
      [0, RCNTLO],
      [0, RCNTHI],
      [0, IMR],
      [0xff, ISR],
      [0x20, RXCR],
      [0x02, TXCR],
      [32, RCNTLO],
      [0, RCNTHI],
      [0, RSARLO],
      [0, RSARHI],
      [RREAD + START, CMD],
    ]
  ) d.outb(r, v);
  const prom = new Uint8Array(32);
  for (let i = 0; i < 32; i++) prom[i] = d.inb(DATA);
  d.outb(DCFG, 0x49);
  return prom;
}

// NS8390_init(dev, 1) + ei_open's IMR, then set_multicast_list with the given RCR
function init(d: Dev, rcr = 0x04) {
  d.outb(CMD, NODMA + PAGE0 + STOP);
  d.outb(DCFG, 0x49);
  d.outb(RCNTLO, 0);
  d.outb(RCNTHI, 0);
  d.outb(RXCR, 0x20);
  d.outb(TXCR, 0x02);
  d.outb(TPSR, TX_START);
  d.outb(STARTPG, RX_START);
  d.outb(BOUNDARY, RX_STOP - 1);
  d.outb(STOPPG, RX_STOP);
  d.outb(ISR, 0xff);
  d.outb(IMR, 0);
  d.outb(CMD, NODMA + PAGE1 + STOP);
  for (let i = 0; i < 6; i++) d.outb(1 + i, MAC[i]);
  for (let i = 0; i < 6; i++) assert.equal(d.inb(1 + i), MAC[i]);
  d.outb(7, RX_START); // CURR
  d.outb(CMD, NODMA + PAGE0 + STOP);
  d.outb(ISR, 0xff);
  d.outb(IMR, 0x3f); // ENISR_ALL
  d.outb(CMD, NODMA + PAGE0 + START);
  d.outb(TXCR, 0);
  d.outb(RXCR, rcr);
}

function blockOutput(d: Dev, buf: Uint8Array, page: number) {
  let count = buf.length;
  if (count & 1) count++;
  const b = new Uint8Array(count + 4);
  b.set(buf);
  d.outb(CMD, PAGE0 + START + NODMA);
  d.outb(ISR, 0x40);
  d.outb(RCNTLO, count & 0xff);
  d.outb(RCNTHI, count >> 8);
  d.outb(RSARLO, 0);
  d.outb(RSARHI, page);
  d.outb(CMD, RWRITE + START);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < count >> 2; i++) d.outl(DATA, dv.getUint32(4 * i, true));
  if (count & 2) d.outw(DATA, dv.getUint16(count & ~3, true));
  assert.ok(d.inb(ISR) & 0x40, "RDC after the remote write");
  d.outb(ISR, 0x40);
}

function send(d: Dev, f: Uint8Array) {
  d.outb(IMR, 0); // ei_start_xmit masks interrupts while it works
  const len = Math.max(60, f.length);
  const padded = new Uint8Array(len);
  padded.set(f);
  blockOutput(d, padded, TX_START);
  d.outb(CMD, NODMA + PAGE0);
  d.outb(TCNTLO, len & 0xff);
  d.outb(TCNTHI, len >> 8);
  d.outb(TPSR, TX_START);
  d.outb(CMD, NODMA + TRANS + START);
  d.outb(IMR, 0x3f);
}

function blockInput(d: Dev, count: number, offset: number): Uint8Array {
  d.outb(CMD, NODMA + PAGE0 + START);
  d.outb(RCNTLO, count & 0xff);
  d.outb(RCNTHI, count >> 8);
  d.outb(RSARLO, offset & 0xff);
  d.outb(RSARHI, offset >> 8);
  d.outb(CMD, RREAD + START);
  const out = new Uint8Array(count + 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < count >> 2; i++) dv.setUint32(4 * i, d.inl(DATA), true);
  let p = count & ~3;
  if (count & 2) (dv.setUint16(p, d.inw(DATA), true), p += 2);
  if (count & 1) out[p] = d.inb(DATA);
  d.outb(ISR, 0x40);
  return out.subarray(0, count);
}

// ei_receive: every frame between BNRY+1 and CURR
function receiveAll(d: Dev, max = Infinity): Uint8Array[] {
  const got: Uint8Array[] = [];
  while (got.length < max) {
    d.outb(CMD, NODMA + PAGE1);
    const curr = d.inb(7);
    d.outb(CMD, NODMA + PAGE0);
    let thisFrame = d.inb(BOUNDARY) + 1;
    if (thisFrame >= RX_STOP) thisFrame = RX_START;
    if (thisFrame === curr) break;
    const h = blockInput(d, 4, thisFrame << 8);
    const [status, next, count] = [h[0], h[1], h[2] | h[3] << 8];
    assert.equal(status & 1, 1, "RSR.PRX");
    // lib8390's sanity check of the next-page pointer
    const nextFrame = thisFrame + 1 + (count >> 8), n = RX_STOP - RX_START;
    assert.ok(
      [nextFrame, nextFrame + 1, nextFrame - n, nextFrame + 1 - n].includes(next),
      `next-frame pointer ${next}`,
    );
    got.push(blockInput(d, count - 4, (thisFrame << 8) + 4).slice());
    d.outb(BOUNDARY, next - 1 < RX_START ? RX_STOP - 1 : next - 1);
  }
  d.outb(ISR, 0x01);
  return got;
}

Deno.test("ne2k: PCI identity, reset handshake and the station address PROM read in word mode", () => {
  const d = setup({ probe: false });
  assert.equal(d.nic.readConfig(0, 4), 0x802910ec);
  assert.equal(d.nic.readConfig(0x08, 4) >>> 8, 0x020000);
  const prom = probe(d);
  // each byte read in word mode takes one word: the doubled PROM yields the MAC once
  assert.deepEqual(prom.subarray(0, 6), MAC);
  assert.equal(prom[14], 0x57);
  assert.equal(prom[15], 0x57);
  // RTL8029 identification registers
  d.outb(CMD, NODMA + PAGE0 + STOP);
  assert.equal(d.inb(0x0a), 0x50);
  assert.equal(d.inb(0x0b), 0x43);
  // byte mode: the PROM reads doubled
  d.outb(DCFG, 0x48);
  d.outb(RCNTLO, 4);
  d.outb(RSARLO, 0);
  d.outb(RSARHI, 0);
  d.outb(CMD, RREAD + START);
  assert.deepEqual([d.inb(DATA), d.inb(DATA), d.inb(DATA), d.inb(DATA)], [MAC[0], MAC[0], MAC[1], MAC[1]]);
});

Deno.test("ne2k: transmit through remote DMA (outsl) and TXP; PTX interrupt on INTA", () => {
  const d = setup();
  assert.equal(d.irq(), false);
  for (const len of [60, 61, 99, 1514]) {
    const f = frame(PEER, MAC, len, len);
    send(d, f);
    const out = d.port.sent.pop()!;
    assert.deepEqual(out.subarray(0, len), f);
    assert.equal(out.length, len);
    assert.ok(d.irq(), "PTX raises INTx");
    assert.equal(d.inb(ISR) & 0x02, 0x02);
    assert.equal(d.inb(4) & 0x01, 0x01, "TSR.PTX");
    assert.equal(d.inb(CMD) & TRANS, 0, "TXP clears when done");
    d.outb(ISR, 0x02);
    assert.equal(d.irq(), false);
  }
  // a short frame is padded by the driver, not by the NIC
  send(d, frame(PEER, MAC, 42, 1));
  assert.equal(d.port.sent.pop()!.length, 60);
  // stopped or in loopback: nothing reaches the wire
  d.outb(TXCR, 0x02);
  send(d, frame(PEER, MAC, 100, 2));
  assert.equal(d.port.sent.length, 0);
});

Deno.test("ne2k: receive into the ring, read back with insl; wrap at PSTOP; filters", () => {
  const d = setup();
  // 252 and 508 bytes: the byte count (with the header) fills whole pages
  const frames = [
    frame(MAC, PEER, 60, 1),
    frame(BCAST, PEER, 342, 2),
    frame(MAC, PEER, 1514, 3),
    frame(MAC, PEER, 31, 4),
    frame(MAC, PEER, 252, 5),
    frame(MAC, PEER, 508, 6),
    frame(MAC, PEER, 249, 7),
  ];
  let round = 0;
  // enough rounds that the ring (58 pages) wraps several times with frames split across PSTOP
  for (; round < 12; round++) {
    for (const f of frames) d.port.onFrame(f);
    assert.ok(d.irq(), "PRX raises INTx");
    const got = receiveAll(d);
    assert.equal(got.length, frames.length);
    for (let i = 0; i < frames.length; i++) {
      const want = frames[i].length < 60 ? new Uint8Array(60).fill(0) : frames[i];
      if (frames[i].length < 60) want.set(frames[i]);
      assert.deepEqual(got[i], want, `round ${round} frame ${i}`);
    }
    assert.equal(d.irq(), false);
  }
  // not for us: other unicast, multicast without AM
  d.port.onFrame(frame(PEER, MAC, 80, 5));
  const mc = new Uint8Array([0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb]);
  d.port.onFrame(frame(mc, PEER, 80, 6));
  assert.equal(receiveAll(d).length, 0);
  // multicast hash (Linux: bit = ether_crc(6, addr) >> 26 of MAR0-7)
  const bit = etherCrc(mc, 6) >>> 26;
  d.outb(CMD, NODMA + PAGE1 + START);
  d.outb(8 + (bit >> 3), 1 << (bit & 7));
  d.outb(CMD, NODMA + PAGE0 + START);
  d.outb(RXCR, 0x0c);
  d.port.onFrame(frame(mc, PEER, 80, 7));
  const other = new Uint8Array([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]);
  assert.notEqual(etherCrc(other, 6) >>> 26, bit);
  d.port.onFrame(frame(other, PEER, 80, 8));
  const got = receiveAll(d);
  assert.equal(got.length, 1);
  assert.deepEqual(got[0].subarray(0, 6), mc);
  // broadcast off
  d.outb(RXCR, 0x00);
  d.port.onFrame(frame(BCAST, PEER, 80, 9));
  assert.equal(receiveAll(d).length, 0);
  // promiscuous: everything
  d.outb(RXCR, 0x18);
  d.port.onFrame(frame(PEER, MAC, 80, 10));
  d.port.onFrame(frame(other, PEER, 80, 11));
  assert.equal(receiveAll(d).length, 2);
});

Deno.test("ne2k: Linux's ether_crc for the multicast filter", () => {
  // 224.0.0.1 -> 01:00:5e:00:00:01; reference values from the kernel's ether_crc() algorithm
  // (bitwise big-endian CRC-32 over LSB-first bits) computed independently here
  const ref = (b: number[]) => {
    let crc = 0xffffffff;
    for (const byte of b) {
      for (let i = 0; i < 8; i++) {
        const top = (crc >>> 31) ^ ((byte >> i) & 1);
        crc = ((crc << 1) >>> 0) ^ (top ? 0x04c11db7 : 0);
        crc >>>= 0;
      }
    }
    return crc;
  };
  for (const a of [[1, 0, 0x5e, 0, 0, 1], [0x33, 0x33, 0, 0, 0, 1], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]]) {
    assert.equal(etherCrc(new Uint8Array(a), 6), ref(a));
  }
});

Deno.test("ne2k: a full ring holds frames back until BNRY moves; nothing lost, nothing stored while stopped", () => {
  const d = setup();
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const f = frame(MAC, PEER, 1000 + i, 100 + i);
    sent.push(f);
    d.port.onFrame(f);
  }
  // 58 pages hold 14 frames of 4 pages with one page kept free before BNRY
  d.outb(CMD, NODMA + PAGE1 + START);
  const curr = d.inb(7);
  d.outb(CMD, NODMA + PAGE0 + START);
  assert.ok(curr !== d.inb(BOUNDARY), "CURR never catches BNRY");
  const got: Uint8Array[] = [];
  for (let k = 0; k < 10 && got.length < 40; k++) got.push(...receiveAll(d));
  assert.equal(got.length, 40);
  for (let i = 0; i < 40; i++) assert.deepEqual(got[i], sent[i]);
  // stopped: frames are ignored
  d.outb(CMD, NODMA + PAGE0 + STOP);
  d.port.onFrame(frame(MAC, PEER, 100, 1));
  d.outb(CMD, NODMA + PAGE0 + START);
  assert.equal(receiveAll(d).length, 0);
});

Deno.test("ne2k: interrupt masking through IMR and PCI INTx disable", () => {
  const d = setup();
  d.outb(IMR, 0x00);
  d.port.onFrame(frame(MAC, PEER, 64, 1));
  assert.equal(d.irq(), false);
  assert.equal(d.inb(ISR) & 1, 1);
  d.outb(IMR, 0x3f);
  assert.equal(d.irq(), true);
  d.nic.writeConfig(4, 2, d.nic.command | 0x400);
  assert.equal(d.irq(), false);
  d.nic.writeConfig(4, 2, d.nic.command & ~0x400);
  assert.equal(d.irq(), true);
  receiveAll(d);
  assert.equal(d.irq(), false);
});

Deno.test("ne2k: frames held back by a full ring keep INTx asserted when lib8390 stops after 10 frames", () => {
  const d = setup();
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 60; i++) {
    const f = frame(MAC, PEER, 1514, 500 + i);
    sent.push(f);
    d.port.onFrame(f);
  }
  const got: Uint8Array[] = [];
  // the interrupt handler: ei_receive takes up to 10 frames, then acknowledges PRX
  for (let n = 0; n < 20 && d.irq(); n++) got.push(...receiveAll(d, 10));
  assert.equal(got.length, 60, "no frame left stranded without an interrupt");
  for (let i = 0; i < 60; i++) assert.deepEqual(got[i], sent[i]);
  assert.equal(d.irq(), false);
});

Deno.test("ne2k: a long backlog holds the link (no frame dropped) until the guest has taken the frames", () => {
  const d = setup();
  const sent: Uint8Array[] = [];
  // far more than the ring holds: the first HOLD_AT waiting frames hold the link; frames that
  // one socket read still brings after that are kept, not dropped
  for (let i = 0; i < 200; i++) {
    const f = frame(MAC, PEER, 1514, 900 + i);
    sent.push(f);
    d.port.onFrame(f);
    if (i === 10) assert.equal(d.port.held, false, "a few frames beyond the ring: no hold yet");
  }
  assert.equal(d.port.held, true);
  const got: Uint8Array[] = [];
  for (let n = 0; n < 100 && got.length < 200; n++) got.push(...receiveAll(d, 10));
  assert.equal(got.length, 200);
  for (let i = 0; i < 200; i++) assert.deepEqual(got[i], sent[i]);
  assert.equal(d.nic.rxDropped, 0);
  assert.equal(d.port.held, false, "backlog empty: the link reads again");
  // stopping the NIC lets go of the link too
  for (let i = 0; i < 40; i++) d.port.onFrame(frame(MAC, PEER, 1514, i));
  assert.equal(d.port.held, true);
  d.outb(CMD, NODMA + PAGE0 + STOP);
  assert.equal(d.port.held, false);
});
