// 8259A pair driven through its ports the way Linux's i8259.c programs it.
import assert from "node:assert/strict";
import { IoBus } from "../../runtime/bus.ts";
import { DualPic } from "../../runtime/devices/pic.ts";

function setup() {
  const io = new IoBus();
  const pic = new DualPic();
  pic.attach(io);
  const edges: boolean[] = [];
  pic.onIntr = (l) => edges.push(l);
  // init_8259A(): ICW1 edge+ICW4, vectors 0x30/0x38, cascade on IR2, 8086 mode
  io.write(0x20, 1, 0x11);
  io.write(0x21, 1, 0x30);
  io.write(0x21, 1, 0x04);
  io.write(0x21, 1, 0x01);
  io.write(0xa0, 1, 0x11);
  io.write(0xa1, 1, 0x38);
  io.write(0xa1, 1, 0x02);
  io.write(0xa1, 1, 0x01);
  io.write(0x21, 1, 0x00);
  io.write(0xa1, 1, 0x00);
  return { io, pic, edges };
}

Deno.test("pic: priority, ISR and non-specific EOI", () => {
  const { io, pic } = setup();
  pic.setIrq(3, true);
  pic.setIrq(1, true);
  assert.equal(pic.intr, true);
  assert.equal(pic.ack(), 0x31); // IRQ1 beats IRQ3
  assert.equal(pic.intr, false); // IRQ3 is lower priority than IRQ1 in service
  io.write(0x20, 1, 0x0b); // OCW3: read ISR
  assert.equal(io.read(0x20, 1), 0x02);
  io.write(0x20, 1, 0x0a); // read IRR
  assert.equal(io.read(0x20, 1), 0x08);
  io.write(0x20, 1, 0x20); // EOI
  assert.equal(pic.intr, true);
  assert.equal(pic.ack(), 0x33);
  io.write(0x20, 1, 0x20);
  assert.equal(pic.intr, false);
});

Deno.test("pic: a higher priority request nests over one in service", () => {
  const { pic } = setup();
  pic.setIrq(4, true);
  assert.equal(pic.ack(), 0x34);
  pic.setIrq(0, true);
  assert.equal(pic.intr, true);
  assert.equal(pic.ack(), 0x30);
});

Deno.test("pic: mask register and edge latch", () => {
  const { io, pic } = setup();
  io.write(0x21, 1, 0x01); // mask IRQ0
  assert.equal(io.read(0x21, 1), 0x01);
  pic.setIrq(0, true);
  pic.setIrq(0, false); // the edge is latched in IRR even while masked
  assert.equal(pic.intr, false);
  io.write(0x21, 1, 0x00);
  assert.equal(pic.intr, true);
  assert.equal(pic.ack(), 0x30);
  io.write(0x20, 1, 0x20);
  // a line that stays high does not request again in edge mode
  pic.setIrq(5, true);
  assert.equal(pic.ack(), 0x35);
  io.write(0x20, 1, 0x20);
  pic.setIrq(5, true);
  assert.equal(pic.intr, false);
});

Deno.test("pic: slave cascade through IR2, EOI to both", () => {
  const { io, pic } = setup();
  pic.setIrq(12, true);
  assert.equal(pic.intr, true);
  assert.equal(pic.ack(), 0x3c);
  io.write(0x20, 1, 0x0b);
  assert.equal(io.read(0x20, 1), 0x04); // master: IR2 in service
  io.write(0xa0, 1, 0x0b);
  assert.equal(io.read(0xa0, 1), 0x10);
  pic.setIrq(8, true); // higher priority on the slave, blocked by the cascade in service
  assert.equal(pic.intr, false);
  io.write(0xa0, 1, 0x20);
  io.write(0x20, 1, 0x20);
  assert.equal(pic.intr, true);
  assert.equal(pic.ack(), 0x38);
});

Deno.test("pic: ELCR level mode re-requests while the line stays high", () => {
  const { io, pic } = setup();
  io.write(0x4d1, 1, 0xff);
  assert.equal(io.read(0x4d1, 1), 0xde); // IRQ8 and IRQ13 cannot be level
  io.write(0x4d0, 1, 0xff);
  assert.equal(io.read(0x4d0, 1), 0xf8); // neither IRQ0-2
  pic.setIrq(10, true);
  assert.equal(pic.ack(), 0x3a);
  io.write(0xa0, 1, 0x20);
  io.write(0x20, 1, 0x20);
  assert.equal(pic.intr, true); // still asserted
  pic.setIrq(10, false);
  assert.equal(pic.intr, false);
});

Deno.test("pic: spurious IRQ7 when a level request vanishes before INTA", () => {
  const { io, pic } = setup();
  io.write(0x4d0, 1, 0x20); // IRQ5 level
  pic.setIrq(5, true);
  pic.setIrq(5, false);
  assert.equal(pic.ack(), 0x37);
  io.write(0x20, 1, 0x0b);
  assert.equal(io.read(0x20, 1), 0); // spurious: no ISR bit
  io.write(0x4d1, 1, 0x08); // IRQ11 level
  pic.setIrq(11, true);
  assert.equal(pic.intr, true);
  pic.setIrq(11, false);
  assert.equal(pic.ack(), 0x37); // the cascade request went away too: master spurious
});

Deno.test("pic: poll command acknowledges like INTA", () => {
  const { io, pic } = setup();
  io.write(0x20, 1, 0x0c);
  assert.equal(io.read(0x20, 1), 0x00);
  pic.setIrq(6, true);
  io.write(0x20, 1, 0x0c);
  assert.equal(io.read(0x20, 1), 0x86);
  io.write(0x20, 1, 0x0b);
  assert.equal(io.read(0x20, 1), 0x40);
});

Deno.test("pic: auto-EOI, specific EOI and priority rotation", () => {
  const { io, pic } = setup();
  // re-init master with AEOI
  io.write(0x20, 1, 0x11);
  io.write(0x21, 1, 0x08);
  io.write(0x21, 1, 0x04);
  io.write(0x21, 1, 0x03);
  pic.setIrq(1, true);
  assert.equal(pic.ack(), 0x09);
  io.write(0x20, 1, 0x0b);
  assert.equal(io.read(0x20, 1), 0); // nothing left in service
  // back to normal EOI; specific EOI clears only the named level
  io.write(0x20, 1, 0x11);
  io.write(0x21, 1, 0x08);
  io.write(0x21, 1, 0x04);
  io.write(0x21, 1, 0x01);
  pic.setIrq(3, true);
  assert.equal(pic.ack(), 0x0b);
  pic.setIrq(1, true);
  assert.equal(pic.ack(), 0x09);
  io.write(0x20, 1, 0x63); // specific EOI IRQ3
  io.write(0x20, 1, 0x0b);
  assert.equal(io.read(0x20, 1), 0x02);
  io.write(0x20, 1, 0x61);
  // set priority: IRQ4 lowest, so IRQ5 is now the highest priority
  io.write(0x20, 1, 0xc4);
  pic.setIrq(6, true);
  pic.setIrq(5, true);
  pic.setIrq(3, false);
  pic.setIrq(3, true);
  assert.equal(pic.ack(), 0x0d);
});
