// IO-APIC redirection and local APIC acceptance, priority, EOI and timer.
import assert from "node:assert/strict";
import { MmioBus } from "../../runtime/bus.ts";
import { ManualClock, TimerQueue } from "../../runtime/clock.ts";
import { type ApicMessage, IoApic, IOAPIC_BASE } from "../../runtime/devices/ioapic.ts";
import { Lapic, R } from "../../runtime/devices/lapic.ts";

function setup(dropLostTicks = false) {
  const clock = new ManualClock(0);
  const timers = new TimerQueue(clock);
  const eois: number[] = [];
  let kicks = 0;
  const targets: Lapic[] = [];
  const ioapic = new IoApic((m: ApicMessage) => {
    for (const l of targets) if (l.matches(m.dest, m.logical)) l.message(m);
  });
  const lapic = new Lapic(new Uint32Array(1024), 0, timers, {
    kick: () => kicks++,
    eoiBroadcast: (v) => (eois.push(v), ioapic.eoi(v)),
    ipi: (from, m) => from.message(m),
    dropLostTicks,
  });
  targets.push(lapic);
  const mmio = new MmioBus();
  ioapic.attach(mmio);
  const ioreg = (r: number, v?: number) => {
    mmio.write(IOAPIC_BASE, 4, r);
    if (v === undefined) return mmio.read(IOAPIC_BASE + 0x10, 4);
    mmio.write(IOAPIC_BASE + 0x10, 4, v);
    return 0;
  };
  const lw = (off: number, v: number) => lapic.write(off, 4, v);
  const lr = (off: number) => lapic.read(off, 4);
  lw(R.SVR, 0x1ff);
  return { clock, timers, ioapic, lapic, ioreg, lw, lr, eois, kicks: () => kicks };
}

Deno.test("ioapic: id, version, entries reset masked", () => {
  const { ioreg } = setup();
  assert.equal(ioreg(1), 0x00170011);
  assert.equal(ioreg(0x10) & 0x10000, 0x10000);
  ioreg(0, 0x02000000);
  assert.equal(ioreg(0), 0x02000000);
});

Deno.test("ioapic: edge pin delivers to the LAPIC; masked edges wait", () => {
  const { ioapic, ioreg, lapic, lw } = setup();
  ioreg(0x10 + 2 * 2, 0x10030); // pin 2 vector 0x30, masked
  ioreg(0x11 + 2 * 2, 0);
  ioapic.setIrq(2, true);
  ioapic.setIrq(2, false);
  assert.equal(lapic.deliverable(), -1);
  ioreg(0x10 + 2 * 2, 0x00030); // unmask: the latched edge goes out
  assert.equal(lapic.deliverable(), 0x30);
  assert.equal(lapic.ack(), 0x30);
  assert.equal(lapic.deliverable(), -1);
  lw(R.EOI, 0);
  assert.equal(lapic.read(R.ISR + 0x10, 4), 0);
});

Deno.test("ioapic: level pin holds Remote IRR until EOI, then re-delivers if still asserted", () => {
  const { ioapic, ioreg, lapic, lw, eois } = setup();
  ioreg(0x10 + 2 * 10, 0xa000 | 0x41); // level, active low, vector 0x41
  ioreg(0x11 + 2 * 10, 0);
  ioapic.setIrq(10, true);
  assert.equal(ioreg(0x10 + 2 * 10) & 0x4000, 0x4000);
  assert.equal(lapic.ack(), 0x41);
  assert.equal(lapic.read(R.TMR + 0x20, 4) & 2, 2);
  lw(R.EOI, 0);
  assert.deepEqual(eois, [0x41]);
  assert.equal(lapic.deliverable(), 0x41); // line still high: sent again
  assert.equal(lapic.ack(), 0x41);
  ioapic.setIrq(10, false);
  lw(R.EOI, 0);
  assert.equal(ioreg(0x10 + 2 * 10) & 0x4000, 0);
  assert.equal(lapic.deliverable(), -1);
});

Deno.test("lapic: TPR/PPR gate delivery by priority class; EOI clears the highest ISR", () => {
  const { lapic, lw, lr } = setup();
  lapic.accept(0x51, false);
  lapic.accept(0x62, false);
  assert.equal(lapic.ack(), 0x62);
  assert.equal(lr(R.PPR), 0x60);
  assert.equal(lapic.deliverable(), -1); // 0x51 is below the class in service
  lw(R.EOI, 0);
  lw(R.TPR, 0x50);
  assert.equal(lapic.deliverable(), -1);
  lw(R.TPR, 0x4f);
  assert.equal(lapic.ack(), 0x51);
  lw(R.EOI, 0);
  lw(R.TPR, 0);
  assert.equal(lr(R.ISR + 0x20), 0);
  // vectors below 16 are illegal
  lapic.accept(5, false);
  assert.equal(lapic.deliverable(), -1);
  assert.equal(lr(R.ESR) & 0x40, 0x40);
});

Deno.test("lapic: software disable masks the LVT and refuses delivery", () => {
  const { lapic, lw, lr } = setup();
  assert.equal(lapic.picRouted, true); // BSP LINT0 left in virtual wire mode
  lw(R.LVT_TIMER, 0x20);
  assert.equal(lr(R.LVT_TIMER), 0x20);
  lw(R.SVR, 0xff);
  assert.equal(lr(R.LVT_TIMER) & 0x10000, 0x10000);
  lapic.accept(0x40, false);
  assert.equal(lapic.deliverable(), -1);
  lw(R.SVR, 0x1ff);
  assert.equal(lapic.deliverable(), 0x40);
  assert.equal(lapic.picRouted, false); // disabling masked LINT0 too
});

Deno.test("lapic: timer one-shot and periodic with divide configuration", () => {
  const { lapic, lw, lr, clock, timers } = setup();
  lw(R.TIMER_DIV, 0x3); // divide by 16
  lw(R.LVT_TIMER, 0xef); // one-shot
  lw(R.TIMER_INIT, 1000);
  clock.t = 16 * 500;
  assert.equal(lr(R.TIMER_CUR), 500);
  clock.t = timers.next();
  assert.equal(clock.t, 16000);
  timers.runDue();
  assert.equal(lapic.ack(), 0xef);
  lw(R.EOI, 0);
  assert.equal(lr(R.TIMER_CUR), 0);
  assert.equal(timers.next(), Infinity);
  // periodic, divide by 1
  lw(R.TIMER_DIV, 0xb);
  lw(R.LVT_TIMER, 0x200ee);
  lw(R.TIMER_INIT, 100);
  let n = 0;
  const start = clock.t;
  while (timers.next() <= start + 1000) {
    clock.t = timers.next();
    timers.runDue();
    if (lapic.ack() === 0xee) n++;
    lw(R.EOI, 0);
  }
  assert.equal(n, 10);
  clock.t = start + 1030;
  assert.equal(lr(R.TIMER_CUR), 70);
  // masked: counts but does not interrupt
  lw(R.LVT_TIMER, 0x300ee);
  clock.t = timers.next();
  timers.runDue();
  assert.equal(lapic.deliverable(), -1);
});

// (devices/lapic.ts: periodic ticks lost to a descheduled vCPU thread are sent again)
Deno.test("lapic: periodic ticks that went by while the vCPU's thread was away are sent again, one per EOI", () => {
  const { lapic, lw, clock, timers } = setup();
  lw(R.TIMER_DIV, 0xb); // divide by 1: 1 ns a count
  lw(R.LVT_TIMER, 0x200ee); // periodic, vector 0xEE
  lw(R.TIMER_INIT, 1_000_000); // 1 ms
  // the thread was descheduled for 20 ms: its timer fires once, late
  clock.t = 20_000_500;
  timers.runDue();
  let taken = 0;
  for (let v = lapic.ack(); v === 0xee; v = lapic.ack()) {
    taken++;
    lw(R.EOI, 0); // each EOI lets the next lost tick in at once
  }
  assert.equal(taken, 20);
  // on time from here: one a period, none extra
  for (let i = 0; i < 10; i++) {
    clock.t += 1_000_000;
    timers.runDue();
    assert.equal(lapic.ack(), 0xee);
    lw(R.EOI, 0);
    assert.equal(lapic.ack(), -1, `period ${i}: one tick`);
  }
});

// (vCPU threads that outnumber the host's cores: runtime/vcpu/worker.ts)
Deno.test("lapic: with dropLostTicks a late or merged periodic tick is one tick, and the periods go on", () => {
  const { lapic, lw, clock, timers } = setup(true);
  lw(R.TIMER_DIV, 0xb);
  lw(R.LVT_TIMER, 0x200ee);
  lw(R.TIMER_INIT, 1_000_000);
  clock.t = 20_000_500; // 20 periods late
  timers.runDue();
  assert.equal(lapic.ack(), 0xee);
  lw(R.EOI, 0);
  assert.equal(lapic.ack(), -1, "the 19 lost ticks are not sent again");
  // the guest takes nothing for 10 ms: the ticks merge into the one waiting
  for (let i = 0; i < 100; i++) clock.t += 100_000, timers.runDue();
  assert.equal(lapic.ack(), 0xee);
  lw(R.EOI, 0);
  assert.equal(lapic.ack(), -1);
  // still periodic: the next period's tick comes, once
  clock.t = timers.next();
  timers.runDue();
  assert.equal(lapic.ack(), 0xee);
  lw(R.EOI, 0);
  assert.equal(lapic.ack(), -1);
});

Deno.test("lapic: periodic ticks that merged with one still waiting are sent again; masking and a new count drop a backlog", () => {
  const { lapic, lw, lr, clock, timers } = setup();
  lw(R.TIMER_DIV, 0xb);
  lw(R.LVT_TIMER, 0x200ee);
  lw(R.TIMER_INIT, 1_000_000);
  // the thread runs on time but the guest takes nothing for 10 ms (interrupts off, perhaps
  // spinning for a vCPU the host descheduled): nine ticks merge with the first, kept for later
  for (let i = 0; i < 100; i++) clock.t += 100_000, timers.runDue();
  let taken = 0;
  for (let v = lapic.ack(); v === 0xee; v = lapic.ack()) taken++, lw(R.EOI, 0);
  assert.equal(taken, 10);
  // a late thread, then the timer masked: the backlog goes
  clock.t += 10_000_000;
  timers.runDue();
  lw(R.LVT_TIMER, 0x300ee);
  clock.t = timers.next();
  timers.runDue();
  lw(R.LVT_TIMER, 0x200ee);
  assert.equal(lapic.ack(), 0xee); // (the tick that was waiting)
  lw(R.EOI, 0);
  assert.equal(lapic.ack(), -1, "no backlog after masking");
  // a late thread, then a new count: the backlog goes
  clock.t += 10_000_000;
  timers.runDue();
  lw(R.TIMER_INIT, 2_000_000);
  assert.equal(lapic.ack(), 0xee);
  lw(R.EOI, 0);
  assert.equal(lapic.ack(), -1, "no backlog after a new count");
  assert.ok(lr(R.TIMER_CUR) > 0);
});

Deno.test("lapic: logical destinations in flat and cluster models; self IPI", () => {
  const { lapic, lw } = setup();
  lw(R.LDR, 0x01000000);
  assert.equal(lapic.matches(0x01, true), true);
  assert.equal(lapic.matches(0x02, true), false);
  assert.equal(lapic.matches(0x00, false), true);
  assert.equal(lapic.matches(0x01, false), false);
  lw(R.DFR, 0x0fffffff);
  lw(R.LDR, 0x21000000); // cluster 2, member 1
  assert.equal(lapic.matches(0x21, true), true);
  assert.equal(lapic.matches(0x11, true), false);
  assert.equal(lapic.matches(0xf1, true), true);
  lw(R.ICR_HI, 0);
  lw(R.ICR_LO, 0x40000 | 0xfd); // self, fixed
  assert.equal(lapic.ack(), 0xfd);
});
