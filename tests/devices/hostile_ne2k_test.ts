// The ne2k's receive ring is the driver's to size (PSTART..PSTOP, at most the 16 KiB of buffer
// RAM) and frames come from any peer on the switch: a frame that can never fit the ring (a jumbo
// frame, or a ring the guest made tiny) is dropped and counted, not left at the head of the
// backlog, where it would hold the link to the switch for ever and nothing would arrive again.
import assert from "node:assert/strict";
import { Ne2k } from "../../runtime/devices/ne2k.ts";
import { board, FakePort, frame, MAC, PEER } from "../net/nic_lib.ts";

const CMD = 0, STARTPG = 1, STOPPG = 2, BOUNDARY = 3, RXCR = 0x0c;
const START = 0x02, NODMA = 0x20, PAGE1 = 0x40;

function running(pstart: number, pstop: number) {
  const port = new FakePort();
  const nic = new Ne2k(MAC, port);
  const b = board(nic);
  b.outb(CMD, NODMA | START);
  b.outb(STARTPG, pstart);
  b.outb(STOPPG, pstop);
  b.outb(BOUNDARY, pstart);
  b.outb(RXCR, 0x10); // promiscuous
  b.outb(CMD, NODMA | PAGE1 | START);
  b.outb(7, pstart + 1); // CURR
  b.outb(CMD, NODMA | START);
  return { ...b, nic, port };
}

Deno.test("hostile ne2k: a frame larger than the whole ring is dropped, the link is not held", () => {
  const n = running(0x46, 0x80); // Linux's ring: 58 pages, 14.5 KiB
  const curr0 = n.nic.curr;
  n.nic.receive(frame(MAC, PEER, 20_000, 1)); // more than the ring can ever hold
  assert.equal(n.nic.rxDropped, 1);
  assert.equal(n.port.held, false, "the link is not held for a frame that can never fit");
  assert.equal(n.nic.curr, curr0, "nothing stored");
  n.nic.receive(frame(MAC, PEER, 1514, 2)); // the next frame still arrives
  assert.notEqual(n.nic.curr, curr0);
});

Deno.test("hostile ne2k: a four-page ring drops full-size frames but still takes small ones", () => {
  const n = running(0x60, 0x64); // 1 KiB: a 1514-byte frame needs 6 pages
  for (let i = 0; i < 40; i++) n.nic.receive(frame(MAC, PEER, 1514, i));
  assert.equal(n.nic.rxDropped, 40);
  assert.equal(n.port.held, false);
  const curr0 = n.nic.curr;
  n.nic.receive(frame(MAC, PEER, 60, 99)); // one page with its header
  assert.equal(n.nic.curr, curr0 + 1);
});
