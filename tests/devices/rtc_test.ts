// MC146818 RTC with an injected wall clock and a manual machine clock.
import assert from "node:assert/strict";
import { IoBus } from "../../runtime/bus.ts";
import { ManualClock, TimerQueue } from "../../runtime/clock.ts";
import { IrqRouter } from "../../runtime/irq.ts";
import { Rtc } from "../../runtime/devices/rtc.ts";

function setup(wallMs: number) {
  const clock = new ManualClock(0);
  const timers = new TimerQueue(clock);
  const levels: boolean[] = [];
  const router = new IrqRouter({ setIrq: (pin, l) => pin === 8 && levels.push(l) });
  const rtc = new Rtc(timers, router.line(8), () => wallMs);
  const io = new IoBus();
  rtc.attach(io);
  const rd = (r: number) => (io.write(0x70, 1, r), io.read(0x71, 1));
  const wr = (r: number, v: number) => (io.write(0x70, 1, r), io.write(0x71, 1, v));
  const step = (ns: number) => {
    const end = clock.t + ns;
    while (timers.next() <= end) {
      clock.t = timers.next();
      timers.runDue();
    }
    clock.t = end;
  };
  return { clock, rtc, io, rd, wr, step, levels, router };
}

Deno.test("rtc: time registers match the host date in BCD, 24 h", () => {
  const now = Date.now();
  const { rd } = setup(now);
  const d = new Date(now);
  const bcd = (v: number) => ((v / 10) | 0) << 4 | v % 10;
  assert.equal(rd(9), bcd(d.getUTCFullYear() % 100));
  assert.equal(rd(0x32), bcd(Math.floor(d.getUTCFullYear() / 100)));
  assert.equal(rd(8), bcd(d.getUTCMonth() + 1));
  assert.equal(rd(7), bcd(d.getUTCDate()));
  assert.equal(rd(6), d.getUTCDay() + 1);
  assert.equal(rd(4), bcd(d.getUTCHours()));
  assert.equal(rd(2), bcd(d.getUTCMinutes()));
  assert.equal(rd(0), bcd(d.getUTCSeconds()));
  assert.equal(rd(0x0d), 0x80);
});

Deno.test("rtc: time advances with the clock across a leap-day rollover; binary and 12 h modes", () => {
  const { rd, wr, step } = setup(Date.UTC(2024, 1, 29, 23, 59, 58, 500));
  assert.deepEqual([rd(4), rd(2), rd(0), rd(7), rd(8)], [0x23, 0x59, 0x58, 0x29, 0x02]);
  step(1.6e9);
  assert.deepEqual([rd(4), rd(2), rd(0), rd(7), rd(8), rd(9)], [0x00, 0x00, 0x00, 0x01, 0x03, 0x24]);
  wr(0x0b, 0x04); // binary, 12 hour
  assert.equal(rd(4), 0x0c); // 12 AM
  step(13 * 3600e9);
  assert.equal(rd(4), 0x81); // 1 PM
  assert.equal(rd(7), 1);
  assert.equal(rd(9), 24);
});

Deno.test("rtc: UIP is set during the last 244 us before an update", () => {
  const { rd, step } = setup(Date.UTC(2023, 0, 1, 0, 0, 0, 0));
  assert.equal(rd(0x0a) & 0x80, 0);
  step(999.8e6);
  assert.equal(rd(0x0a) & 0x80, 0x80);
  assert.equal(rd(0x0a) & 0x7f, 0x26);
  step(0.3e6);
  assert.equal(rd(0x0a) & 0x80, 0);
});

Deno.test("rtc: SET freezes the time; writing it moves the clock", () => {
  const { rd, wr, step } = setup(Date.UTC(2023, 5, 15, 10, 20, 30));
  wr(0x0b, 0x82); // SET, 24 h, BCD
  wr(0x00, 0x00);
  wr(0x02, 0x45);
  wr(0x04, 0x08);
  wr(0x07, 0x31);
  wr(0x08, 0x12);
  wr(0x09, 0x99);
  wr(0x32, 0x19);
  step(5e9);
  assert.equal(rd(0x00), 0x00); // frozen
  wr(0x0b, 0x02);
  step(2.5e9);
  assert.deepEqual([rd(9), rd(0x32), rd(8), rd(7), rd(4), rd(2), rd(0)], [0x99, 0x19, 0x12, 0x31, 0x08, 0x45, 0x02]);
  assert.equal(rd(6), 6); // 31 Dec 1999 was a Friday
});

Deno.test("rtc: periodic interrupt raises IRQ8 until register C is read", () => {
  const { rd, wr, step, router } = setup(Date.UTC(2023, 0, 1));
  wr(0x0a, 0x26); // 1024 Hz
  rd(0x0c);
  wr(0x0b, 0x42); // PIE
  step(0.5e6);
  assert.equal(router.level(8), false);
  step(0.6e6);
  assert.equal(router.level(8), true);
  assert.equal(rd(0x0c), 0xc0); // IRQF | PF
  assert.equal(router.level(8), false);
  assert.equal(rd(0x0c), 0x00);
  // 1024 Hz over 1.024 s: 1048.6 periods
  let n = 0;
  for (let i = 0; i < 2048; i++) {
    step(0.5e6);
    if (rd(0x0c) & 0x40) n++;
  }
  assert.ok(n === 1048 || n === 1049, `${n}`);
});

Deno.test("rtc: update-ended and alarm interrupts", () => {
  const { rd, wr, step, router } = setup(Date.UTC(2023, 0, 1, 12, 0, 0, 250));
  wr(0x01, 0x03); // alarm at xx:xx:03 (don't-care hours and minutes)
  wr(0x03, 0xc0);
  wr(0x05, 0xff);
  rd(0x0c);
  wr(0x0b, 0x12); // UIE
  step(0.8e9);
  assert.equal(router.level(8), true);
  assert.equal(rd(0x0c) & 0xb0, 0x90); // IRQF | UF (PF is set too: it runs without PIE)
  wr(0x0b, 0x22); // AIE only
  step(1e9);
  assert.equal(router.level(8), false); // second 2: no alarm
  step(1e9);
  assert.equal(router.level(8), true);
  assert.equal(rd(0x0c) & 0xa0, 0xa0);
});

Deno.test("rtc: NMI mask bit, CMOS RAM and memory size bytes", () => {
  const { io, rtc, rd, wr } = setup(0);
  io.write(0x70, 1, 0x80 | 0x0f);
  assert.equal(rtc.nmiMasked, true);
  io.write(0x70, 1, 0x0f);
  assert.equal(rtc.nmiMasked, false);
  wr(0x40, 0x5a);
  assert.equal(rd(0x40), 0x5a);
  io.write(0x72, 1, 0x10);
  io.write(0x73, 1, 0xa5);
  assert.equal(rtc.cmos[0x90], 0xa5);
  rtc.setMemory(256 << 20);
  assert.equal(rd(0x15) | rd(0x16) << 8, 640);
  assert.equal(rd(0x17) | rd(0x18) << 8, 0xffff);
  assert.equal(rd(0x34) | rd(0x35) << 8, (256 - 16) * 16);
});
