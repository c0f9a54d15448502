// 8254 PIT on a manual clock: counts, output levels, IRQ0 edges, and port 0x61.
import assert from "node:assert/strict";
import { IoBus } from "../../runtime/bus.ts";
import { ManualClock, TimerQueue } from "../../runtime/clock.ts";
import { IrqRouter, type IrqSink } from "../../runtime/irq.ts";
import {
  IRQ0_FREE,
  IRQ0_MASKED,
  IRQ0_WAITING,
  Pit,
  PIT_HZ,
  PitReader,
  restorePit,
  savePit,
} from "../../runtime/devices/pit.ts";

const TICK = 1e9 / PIT_HZ;

function setup() {
  const clock = new ManualClock(1e9);
  const timers = new TimerQueue(clock);
  const rises: number[] = [];
  const sink: IrqSink = { setIrq: (pin, level) => pin === 0 && level && rises.push(clock.now()) };
  const router = new IrqRouter(sink);
  const pit = new Pit(timers, router.line(0));
  const io = new IoBus();
  pit.attach(io);
  const step = (ns: number) => {
    // advance in small steps so timers fire at their deadlines
    const end = clock.now() + ns;
    for (;;) {
      const next = Math.min(timers.next(), end);
      clock.t = Math.max(clock.t, next);
      timers.runDue();
      if (next >= end) break;
    }
  };
  const latch = (ch: number) => {
    io.write(0x43, 1, ch << 6);
    return io.read(0x40 + ch, 1) | io.read(0x40 + ch, 1) << 8;
  };
  return { clock, timers, pit, io, rises, step, latch };
}

Deno.test("pit: mode 2 rate generator counts down and pulses IRQ0 once per period", () => {
  const { io, rises, step, latch } = setup();
  const n = 11932; // HZ=100
  io.write(0x43, 1, 0x34); // ch0, lobyte/hibyte, mode 2
  io.write(0x40, 1, n & 0xff);
  io.write(0x40, 1, n >> 8);
  assert.equal(latch(0), n);
  step(100 * TICK);
  assert.equal(latch(0), n - 100);
  step(101e6 - 100 * TICK); // 101 ms: ten periods of 10.0002 ms
  assert.equal(rises.length, 10);
  const periods = rises.slice(1).map((t, i) => t - rises[i]);
  for (const p of periods) assert.ok(Math.abs(p - n * TICK) < 2, `period ${p}`);
});

Deno.test("pit: mode 0 output rises at terminal count; latch holds the value", () => {
  const { io, rises, step } = setup();
  io.write(0x43, 1, 0x30); // ch0 mode 0
  io.write(0x40, 1, 0x00);
  io.write(0x40, 1, 0x10); // 4096
  io.write(0x43, 1, 0xe2); // read-back status of ch0
  const status = io.read(0x40, 1);
  assert.equal(status & 0x80, 0); // OUT low
  assert.equal(status & 0x3f, 0x30);
  io.write(0x43, 1, 0x00); // latch
  step(1000 * TICK);
  assert.equal(io.read(0x40, 1) | io.read(0x40, 1) << 8, 4096); // latched before time moved
  step(3096 * TICK + 1);
  assert.equal(rises.length, 1);
  io.write(0x43, 1, 0xe2);
  assert.equal(io.read(0x40, 1) & 0x80, 0x80);
  step(100000 * TICK);
  assert.equal(rises.length, 1); // one-shot
});

Deno.test("pit: channel 2 gate and output through port 0x61 (Linux TSC calibration)", () => {
  const { io, step } = setup();
  // pit_calibrate_tsc(): gate high, speaker off, mode 0, 50 ms latch
  io.write(0x61, 1, (io.read(0x61, 1) & ~0x02) | 0x01);
  io.write(0x43, 1, 0xb0);
  const latch = Math.floor(PIT_HZ / 20);
  io.write(0x42, 1, latch & 0xff);
  io.write(0x42, 1, latch >> 8);
  assert.equal(io.read(0x61, 1) & 0x20, 0);
  step(49e6);
  assert.equal(io.read(0x61, 1) & 0x20, 0);
  step(1.1e6);
  assert.equal(io.read(0x61, 1) & 0x21, 0x21);
  // quick_pit_calibrate(): reads the MSB and sees it fall by one every 256 ticks
  io.write(0x43, 1, 0xb0);
  io.write(0x42, 1, 0xff);
  io.write(0x42, 1, 0xff);
  const msb = () => (io.read(0x42, 1), io.read(0x42, 1));
  assert.equal(msb(), 0xff);
  step(256 * TICK);
  assert.equal(msb(), 0xfe);
  // gate low holds the count in mode 0
  io.write(0x61, 1, 0x00);
  const held = msb();
  step(5000 * TICK);
  assert.equal(msb(), held);
});

Deno.test("pit: mode 3 square wave, LSB-only and MSB-only access, BCD", () => {
  const { io, pit, clock, step } = setup();
  io.write(0x43, 1, 0x96); // ch2, LSB only, mode 3
  io.write(0x61, 1, 0x01);
  io.write(0x42, 1, 100);
  const t0 = clock.now();
  const outAt = (ticks: number) => pit.ch[2].out(t0 + ticks * TICK + 1);
  assert.equal(outAt(10), true);
  assert.equal(outAt(49), true);
  assert.equal(outAt(51), false);
  assert.equal(outAt(99), false);
  assert.equal(outAt(101), true);
  assert.equal(io.read(0x42, 1) % 2, 0); // decrements by two
  io.write(0x43, 1, 0xa0); // ch2 MSB only, mode 0
  io.write(0x42, 1, 0x12);
  assert.equal(io.read(0x42, 1), 0x12);
  step(0x200 * TICK);
  assert.equal(io.read(0x42, 1), 0x10);
  io.write(0x43, 1, 0xb1); // BCD, mode 0
  io.write(0x42, 1, 0x00);
  io.write(0x42, 1, 0x10); // 1000 decimal
  step(1 * TICK + 0.5);
  io.write(0x43, 1, 0x80);
  assert.equal(io.read(0x42, 1) | io.read(0x42, 1) << 8, 0x0999);
});

Deno.test("pit: refresh bit toggles, control port reads open bus", () => {
  const { io, step } = setup();
  const seen = new Set<number>();
  for (let i = 0; i < 8; i++) {
    seen.add(io.read(0x61, 1) & 0x10);
    step(7600);
  }
  assert.deepEqual([...seen].sort(), [0, 0x10]);
  assert.equal(io.read(0x43, 1), 0xff);
});

Deno.test("pit: read-back latches count and status of several channels at once", () => {
  const { io, step } = setup();
  io.write(0x43, 1, 0x34);
  io.write(0x40, 1, 0x00);
  io.write(0x40, 1, 0x20); // 0x2000
  io.write(0x43, 1, 0x74); // ch1 mode 2
  io.write(0x41, 1, 0x00);
  io.write(0x41, 1, 0x30);
  step(0x100 * TICK);
  io.write(0x43, 1, 0xc6); // read-back count+status, ch0 and ch1
  step(0x100 * TICK);
  assert.equal(io.read(0x40, 1), 0xb4); // status first: OUT high, lobyte/hibyte, mode 2
  assert.equal(io.read(0x40, 1) | io.read(0x40, 1) << 8, 0x1f00);
  assert.equal(io.read(0x41, 1), 0xb4);
  assert.equal(io.read(0x41, 1) | io.read(0x41, 1) << 8, 0x2f00);
});

Deno.test("pit: after Linux 6.1's clockevent_i8253_disable() counter 0 runs on without IRQ0 edges; a new count restarts it", () => {
  const { io, rises, step, latch } = setup();
  io.write(0x43, 1, 0x34); // periodic HZ=100, as during early boot
  io.write(0x40, 1, 11932 & 0xff);
  io.write(0x40, 1, 11932 >> 8);
  step(25e6);
  // mode 0 with count 0 (counts on, wrapping), then the bare control word that stops IRQ0
  io.write(0x43, 1, 0x30);
  io.write(0x40, 1, 0);
  io.write(0x40, 1, 0);
  step(100 * TICK);
  const running = latch(0);
  assert.ok(running <= 0x10000 - 99 && running >= 0x10000 - 101, `count ${running.toString(16)} after 100 ticks`);
  io.write(0x43, 1, 0x30);
  const before = latch(0);
  const n = rises.length;
  step(5000 * TICK); // a few milliseconds, as a program reading the counter twice would see
  const after = latch(0);
  assert.ok(
    Math.abs(((before - after + 0x10000) % 0x10000) - 5000) <= 2,
    `${before.toString(16)} -> ${after.toString(16)}`,
  );
  io.write(0x43, 1, 0xe2); // read-back status: OUT low, null count (no count written), LSB/MSB, mode 0
  assert.equal(io.read(0x40, 1), 0x70);
  step(200e6); // longer than a full 0x10000 wrap: the element wraps, OUT stays low
  assert.equal(rises.length, n, "no IRQ0 edge after a control word without a count");
  // writing a count starts it again: terminal count after `count` ticks
  io.write(0x40, 1, 100);
  io.write(0x40, 1, 0);
  step(50 * TICK);
  assert.ok(Math.abs(latch(0) - 50) <= 1);
  step(60 * TICK);
  assert.equal(rises.length, n + 1);
  io.write(0x43, 1, 0xe2);
  assert.equal(io.read(0x40, 1), 0xb0, "OUT high, count loaded");
});

Deno.test("pit: every mode's count runs on past terminal count (binary wraps through 0xFFFF, BCD through 9999)", () => {
  const { io, step, latch } = setup();
  for (const mode of [0, 4]) { // (modes 1 and 5 wait for a gate trigger, which counter 1 never gets)
    for (const bcd of [0, 1]) {
      io.write(0x43, 1, 0x70 | mode << 1 | bcd); // counter 1, LSB then MSB
      io.write(0x41, 1, bcd ? 0x50 : 50); // 50
      io.write(0x41, 1, 0);
      step(150 * TICK + 1);
      io.write(0x43, 1, 0x40);
      const c = io.read(0x41, 1) | io.read(0x41, 1) << 8;
      const want = bcd ? 0x9900 : 0x10000 - 100; // 50 - 150 wrapped
      assert.ok(Math.abs(c - want) <= 1, `mode ${mode} bcd ${bcd}: ${c.toString(16)}`);
    }
  }
  // a control word alone: the element keeps counting; with channel 2's gate low it holds
  io.write(0x43, 1, 0xb0);
  io.write(0x42, 1, 0x00);
  io.write(0x42, 1, 0x10);
  io.write(0x43, 1, 0xb0);
  const held = latch(2);
  step(1000 * TICK);
  assert.equal(latch(2), held, "gate low: no counting");
  io.write(0x61, 1, 1); // gate high
  step(1000 * TICK);
  const moved = latch(2);
  assert.ok(Math.abs(held - moved - 1000) <= 2, `${held} -> ${moved}`);
});

Deno.test("pit: a PitReader on the shared state (a vCPU thread's reads) sees the device's counts, latches and flip-flop", () => {
  const clock = new ManualClock(1e9);
  const buf = new SharedArrayBuffer(4096);
  const pit = new Pit(new TimerQueue(clock), undefined, { buffer: buf, offset: 1024 });
  const reader = new PitReader({ buffer: buf, offset: 1024 }, () => clock.now());
  pit.write(0x61, 1, 1); // channel 2 gate high
  pit.write(0x43, 1, 0xb0); // channel 2, LSB then MSB, mode 0
  pit.write(0x42, 1, 0xff);
  pit.write(0x42, 1, 0xff);
  clock.t += 1000 * TICK;
  const lsb = reader.read(0x42);
  const msb = pit.read(0x42, 1); // the flip-flop is shared: the device thread reads the MSB
  assert.equal(lsb | msb << 8, 0xffff - 1000);
  pit.write(0x43, 1, 0x80); // latch channel 2
  clock.t += 5000 * TICK;
  assert.equal(reader.read(0x42) | reader.read(0x42) << 8, 0xffff - 1000);
  assert.equal(reader.read(0x42) | reader.read(0x42) << 8, 0xffff - 6000);
  // port 0x61: gate, and OUT (bit 5) once mode 0 reaches terminal count
  assert.equal(reader.read(0x61) & 0x21, 0x01);
  clock.t += 0x10000 * TICK;
  assert.equal(reader.read(0x61) & 0x21, 0x21);
  assert.equal(reader.read(0x43), -1); // writes and the control port stay with the device
});

// ---- lost ticks sent again (devices/pit.ts, KVM's reinjection) ----------------------------------
// A CPU model behind an edge latch: a pulse sets IRR, the CPU takes it (when it runs) every 50 us.
function lostTicks() {
  const clock = new ManualClock(1e9);
  const timers = new TimerQueue(clock);
  const cpu = { irr: false, taken: 0, runs: true, masked: false };
  const sink: IrqSink = { setIrq: (pin, level) => pin === 0 && level && !cpu.masked && (cpu.irr = true) };
  const pit = new Pit(timers, new IrqRouter(sink).line(0));
  pit.irq0State = () => cpu.masked ? IRQ0_MASKED : cpu.irr ? IRQ0_WAITING : IRQ0_FREE;
  const io = new IoBus();
  pit.attach(io);
  // `late`: this thread (the device thread) wakes only every `late` ns
  const run = (ns: number, late = 0) => {
    const end = clock.t + ns;
    while (clock.t < end) {
      clock.t = Math.min(end, clock.t + 50_000);
      if (!late || clock.t % late < 50_000) timers.runDue();
      if (cpu.runs && cpu.irr) cpu.irr = false, cpu.taken++;
    }
  };
  const hz250 = () => {
    io.write(0x43, 1, 0x34); // ch0 mode 2, HZ=250 (Linux's periodic tick)
    io.write(0x40, 1, 4773 & 0xff);
    io.write(0x40, 1, 4773 >> 8);
  };
  return { clock, cpu, pit, io, run, hz250, period: 4773 * TICK };
}

Deno.test("pit: ticks a CPU could not take (they merged in its IRR) are sent again once it takes them (none lost, none extra)", () => {
  const { cpu, run, hz250, period, pit } = lostTicks();
  hz250();
  run(100e6);
  const before = cpu.taken; // 24 or 25
  assert.ok(Math.abs(before - 100e6 / period) <= 1, `${before}`);
  cpu.runs = false; // 30 ms without taking IRQ0 (its thread descheduled): seven rises merge
  run(30e6);
  assert.ok(pit.lost >= 6, `lost ${pit.lost}`);
  cpu.runs = true;
  run(70e6);
  // 200 ms of ticks, all taken (within the one a period boundary may hold)
  assert.ok(Math.abs(cpu.taken - 200e6 / period) <= 1, `taken ${cpu.taken}, ${200e6 / period} due`);
  assert.equal(pit.lost, 0);
});

Deno.test("pit: rises passed while the device thread slept are sent again", () => {
  const { cpu, run, hz250, period, pit } = lostTicks();
  hz250();
  run(100e6, 20e6); // the timer thread wakes only every 20 ms: five rises each time
  assert.ok(pit.lost >= 12, `lost ${pit.lost}`);
  run(100e6); // then on time
  assert.equal(pit.lost, 0);
  assert.ok(Math.abs(cpu.taken - 200e6 / period) <= 1, `taken ${cpu.taken}, ${200e6 / period} due`);
});

Deno.test("pit: a backlog is dropped while IRQ0 is masked and when channel 0 is programmed again", () => {
  const { cpu, run, hz250, pit, io } = lostTicks();
  hz250();
  cpu.runs = false; // (nothing is taken, so nothing of the backlog is sent: it stays)
  run(40e6, 20e6);
  assert.ok(pit.lost >= 6, `lost ${pit.lost}`);
  cpu.masked = true; // masked at both controllers: these ticks reach no CPU on a PC either
  run(8e6);
  assert.equal(pit.lost, 0);
  cpu.masked = false;
  cpu.irr = false;
  cpu.runs = true;
  const t0 = cpu.taken;
  run(40e6);
  assert.ok(cpu.taken - t0 <= 11, `${cpu.taken - t0} in 40 ms`); // ten periods, no backlog
  cpu.runs = false;
  run(40e6, 20e6);
  assert.ok(pit.lost >= 6, `lost ${pit.lost}`);
  io.write(0x43, 1, 0x30); // Linux's clockevent_i8253_disable(): mode 0, no count
  assert.equal(pit.lost, 0);
});

Deno.test("pit: the backlog of lost ticks survives a snapshot", () => {
  const a = lostTicks();
  a.hz250();
  a.cpu.runs = false;
  a.run(40e6, 20e6);
  const saved = JSON.parse(JSON.stringify(savePit(a.pit)));
  const b = lostTicks();
  b.clock.t = a.clock.t;
  restorePit(b.pit, saved);
  assert.equal(b.pit.lost, a.pit.lost);
  b.run(50e6);
  assert.equal(b.pit.lost, 0);
  assert.ok(b.cpu.taken >= a.pit.lost + 12, `${b.cpu.taken}`);
});
