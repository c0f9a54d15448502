// 16550A driven the way Linux's 8250 driver probes and uses it.
import assert from "node:assert/strict";
import { IoBus } from "../../runtime/bus.ts";
import { ManualClock, TimerQueue } from "../../runtime/clock.ts";
import { IrqRouter } from "../../runtime/irq.ts";
import { Uart } from "../../runtime/devices/uart.ts";

const B = 0x3f8;
function setup() {
  const clock = new ManualClock(0);
  const timers = new TimerQueue(clock);
  const router = new IrqRouter({ setIrq: () => {} });
  const uart = new Uart(B, router.line(4), timers);
  const io = new IoBus();
  uart.attach(io);
  const out: number[] = [];
  uart.onOutput = (b) => out.push(b);
  const irq = () => router.level(4);
  return { clock, timers, uart, io, out, irq };
}

Deno.test("uart: Linux autoconfig sees a 16550A", () => {
  const { io } = setup();
  // scratch register
  io.write(B + 7, 1, 0xa5);
  assert.equal(io.read(B + 7, 1), 0xa5);
  // IER read-back test
  io.write(B + 1, 1, 0);
  assert.equal(io.read(B + 1, 1) & 0x0f, 0);
  io.write(B + 1, 1, 0x0f);
  assert.equal(io.read(B + 1, 1) & 0x0f, 0x0f);
  io.write(B + 1, 1, 0);
  // loopback: RTS|OUT2 appear as CTS|DCD
  io.write(B + 4, 1, 0x10 | 0x0a);
  assert.equal(io.read(B + 6, 1) & 0xf0, 0x90);
  io.write(B + 4, 1, 0);
  // FIFO: IIR bits 7:6 = 11
  io.write(B + 2, 1, 0x01);
  assert.equal(io.read(B + 2, 1) >> 6, 3);
  // with DLAB set, offset 2 still reads IIR (no EFR: not a 16650)
  io.write(B + 3, 1, 0xbf);
  assert.notEqual(io.read(B + 2, 1), 0);
  io.write(B + 3, 1, 0x03);
  assert.notEqual(io.read(B + 5, 1), 0xff);
});

Deno.test("uart: divisor latch and line control", () => {
  const { io } = setup();
  io.write(B + 3, 1, 0x80);
  io.write(B + 0, 1, 0x01);
  io.write(B + 1, 1, 0x00);
  io.write(B + 3, 1, 0x03);
  io.write(B + 3, 1, 0x83);
  assert.equal(io.read(B + 0, 1), 1);
  assert.equal(io.read(B + 1, 1), 0);
  io.write(B + 3, 1, 0x03);
  assert.equal(io.read(B + 3, 1), 0x03);
});

Deno.test("uart: THRE interrupt re-arms on IER write and clears on IIR read / THR write", () => {
  const { io, irq, out } = setup();
  io.write(B + 4, 1, 0x0b); // DTR RTS OUT2
  io.write(B + 2, 1, 0x07);
  assert.equal(io.read(B + 5, 1) & 0x60, 0x60);
  // serial8250_do_startup's THRE test
  io.write(B + 1, 1, 0x02);
  const iir1 = io.read(B + 2, 1);
  io.write(B + 1, 1, 0);
  io.write(B + 1, 1, 0x02);
  const iir = io.read(B + 2, 1);
  io.write(B + 1, 1, 0);
  assert.equal(iir1 & 0x0f, 0x02);
  assert.equal(iir & 0x0f, 0x02);
  // ETBEI on: the line rises; reading IIR (reporting THRE) drops it
  io.write(B + 1, 1, 0x02);
  assert.equal(irq(), true);
  assert.equal(io.read(B + 2, 1), 0xc2);
  assert.equal(irq(), false);
  assert.equal(io.read(B + 2, 1), 0xc1);
  // a byte sent: THR empty again -> THRE again
  io.write(B, 1, 0x41);
  assert.deepEqual(out, [0x41]);
  assert.equal(irq(), true);
  io.write(B + 1, 1, 0);
  assert.equal(irq(), false);
  // OUT2 gates the IRQ line
  io.write(B + 1, 1, 0x02);
  io.write(B + 4, 1, 0x03);
  assert.equal(irq(), false);
});

Deno.test("uart: receive FIFO trigger level, character timeout, overflow stays queued", () => {
  const { io, irq, uart, clock, timers } = setup();
  io.write(B + 3, 1, 0x03);
  io.write(B + 4, 1, 0x08);
  io.write(B + 2, 1, 0x81); // FIFO, trigger 8
  io.write(B + 1, 1, 0x01); // RDA
  uart.receive([1, 2, 3, 4, 5, 6, 7]);
  assert.equal(io.read(B + 5, 1) & 1, 1);
  assert.equal(irq(), false); // below trigger
  clock.t = timers.next();
  timers.runDue();
  assert.equal(irq(), true);
  assert.equal(io.read(B + 2, 1), 0xcc); // character timeout
  uart.receive([8]);
  assert.equal(io.read(B + 2, 1), 0xc4); // trigger level reached
  const got: number[] = [];
  while (io.read(B + 5, 1) & 1) got.push(io.read(B, 1));
  assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(irq(), false);
  // 40 bytes: 16 in the FIFO, the rest wait and follow as the guest reads
  const many = Array.from({ length: 40 }, (_, i) => i + 100);
  uart.receive(many);
  const all: number[] = [];
  while (io.read(B + 5, 1) & 1) all.push(io.read(B, 1));
  assert.deepEqual(all, many);
  assert.equal(io.read(B + 5, 1) & 0x02, 0); // no overrun
});

Deno.test("uart: loopback sends THR to RBR, not to the host", () => {
  const { io, out } = setup();
  io.write(B + 4, 1, 0x10);
  io.write(B, 1, 0x55);
  assert.deepEqual(out, []);
  assert.equal(io.read(B + 5, 1) & 1, 1);
  assert.equal(io.read(B, 1), 0x55);
});

Deno.test("uart: modem status delta bits and MSI", () => {
  const { io, irq } = setup();
  io.write(B + 4, 1, 0x18); // loopback + OUT2
  io.read(B + 6, 1);
  io.write(B + 1, 1, 0x08);
  io.write(B + 4, 1, 0x1a); // RTS -> CTS changes
  assert.equal(io.read(B + 2, 1) & 0x0f, 0x00); // modem status interrupt
  assert.equal(io.read(B + 6, 1) & 0x11, 0x11); // CTS, DCTS
  assert.equal(io.read(B + 6, 1) & 0x0f, 0);
  assert.equal(irq(), false); // loopback disconnects the IRQ pin anyway
});
