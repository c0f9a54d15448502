// POST port, port 0x92 and the i8042 as Linux's i8042/atkbd probes use them.
import assert from "node:assert/strict";
import { IoBus } from "../../runtime/bus.ts";
import { IrqRouter } from "../../runtime/irq.ts";
import { I8042, PortA, PostPort } from "../../runtime/devices/misc.ts";

function setup() {
  const io = new IoBus();
  const events: string[] = [];
  const ev = { reset: (w: string) => events.push("reset:" + w), a20: (on: boolean) => events.push("a20:" + on) };
  const router = new IrqRouter({ setIrq: () => {} });
  const kbc = new I8042(ev, router.line(1), router.line(12));
  kbc.attach(io);
  new PortA(ev).attach(io);
  const post = new PostPort();
  post.attach(io);
  const cmd = (c: number) => io.write(0x64, 1, c);
  const data = () => {
    assert.equal(io.read(0x64, 1) & 1, 1, "output buffer full");
    return io.read(0x60, 1);
  };
  return { io, events, router, kbc, post, cmd, data };
}

Deno.test("i8042: controller self test, command byte, interface tests", () => {
  const { io, cmd, data } = setup();
  assert.equal(io.read(0x64, 1) & 1, 0);
  cmd(0xaa);
  assert.equal(data(), 0x55);
  cmd(0x20);
  const ctr = data();
  cmd(0x60);
  io.write(0x60, 1, ctr | 0x02);
  cmd(0x20);
  assert.equal(data(), ctr | 0x02);
  cmd(0xab);
  assert.equal(data(), 0x00);
  // AUX loopback (i8042_check_aux) answers as aux data
  cmd(0xd3);
  io.write(0x60, 1, 0x5a);
  assert.equal(io.read(0x64, 1) & 0x21, 0x21);
  assert.equal(io.read(0x60, 1), 0x5a);
  // a byte to the absent mouse times out
  cmd(0xd4);
  io.write(0x60, 1, 0xff);
  assert.equal(io.read(0x64, 1) & 0x61, 0x61);
  assert.equal(io.read(0x60, 1), 0xfe);
});

Deno.test("i8042: keyboard reset and ID; IRQ1 follows the output buffer", () => {
  const { io, router, data } = setup();
  io.write(0x60, 1, 0xff);
  assert.equal(router.level(1), true);
  assert.equal(data(), 0xfa);
  assert.equal(data(), 0xaa);
  assert.equal(router.level(1), false);
  io.write(0x60, 1, 0xf2);
  assert.deepEqual([data(), data(), data()], [0xfa, 0xab, 0x83]);
  io.write(0x60, 1, 0xed); // set LEDs + parameter
  io.write(0x60, 1, 0x00);
  assert.deepEqual([data(), data()], [0xfa, 0xfa]);
});

Deno.test("i8042 and port 0x92: reset pulse and A20", () => {
  const { io, events, cmd, data } = setup();
  cmd(0xd0);
  assert.equal(data() & 2, 2);
  cmd(0xd1);
  io.write(0x60, 1, 0xdd); // A20 off, reset line high
  assert.deepEqual(events, ["a20:false"]);
  cmd(0xfe);
  assert.deepEqual(events, ["a20:false", "reset:i8042 reset pulse"]);
  assert.equal(io.read(0x92, 1), 0x02);
  io.write(0x92, 1, 0x00);
  io.write(0x92, 1, 0x01);
  assert.deepEqual(events.slice(2), ["a20:false", "reset:port 0x92 fast reset"]);
});

Deno.test("post: port 0x80 keeps the last code", () => {
  const { io, post } = setup();
  const codes: number[] = [];
  post.onCode = (c) => codes.push(c);
  io.write(0x80, 1, 0x12);
  io.write(0x80, 1, 0x34);
  assert.deepEqual(codes, [0x12, 0x34]);
  assert.equal(io.read(0x80, 1), 0x34);
});
