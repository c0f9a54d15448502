// Host stalls hidden from worker-thread guest time (runtime/clock.ts StallAccount, StallWatch):
// a vCPU thread's guest sees its clocks stand still over a gap between two clock reads that its
// instructions cannot explain, every thread's clock agrees on that, the hidden time is given back
// at STALL_CATCH_UP, and gaps a halt, a long computation or the instructions explain are not
// hidden. The host clock is a field the test moves (EpochClock.raw overridden).
import assert from "node:assert/strict";
import * as L from "../../core-as/layout.ts";
import { EpochClock, STALL_CATCH_UP, StallAccount, StallWatch } from "../../runtime/clock.ts";
import { Machine } from "../../runtime/machine.ts";

class TestClock extends EpochClock {
  t = 0;
  override raw(): number {
    return this.t;
  }
}

function rig() {
  const account = new StallAccount(new SharedArrayBuffer(64), 0);
  const vcpu = new TestClock(0, account); // a vCPU thread's clock
  const dev = new TestClock(0, account); // the device thread's, same host time
  let insn = 0n;
  const watch = new StallWatch(vcpu, () => insn);
  const at = (ns: number) => {
    vcpu.t = ns;
    dev.t = ns;
  };
  const run = (n: number) => {
    insn += BigInt(n);
  };
  return { account, vcpu, dev, watch, at, run };
}

Deno.test("stall clock: a descheduled vCPU thread's guest sees its clocks stand still, the device thread agrees", () => {
  const r = rig();
  r.at(1_000_000);
  const g0 = r.watch.read();
  assert.equal(g0, 1_000_000);
  // 10 instructions later (a timing loop's PIT read after its RDTSC) but 5 ms of host time
  r.run(10);
  r.at(6_000_000);
  const g1 = r.watch.read();
  const cap = StallWatch.SLACK_NS + 10 * StallWatch.NS_MAX;
  assert.equal(g1 - g0, cap, "the guest sees at most what its instructions could take");
  assert.equal(r.watch.hiddenNs, 5_000_000 - cap);
  assert.equal(r.dev.now(), g1, "the device thread's clock is the same guest time");
  // the loop goes on undisturbed: 1 µs of host time for 20 instructions is what the guest sees
  r.run(20);
  r.at(6_001_000);
  const g2 = r.watch.read();
  assert.ok(Math.abs(g2 - g1 - 1000 * (1 + STALL_CATCH_UP)) < 1e-6, `${g2 - g1}`);
});

Deno.test("stall clock: two vCPUs stalled over the same host time hide it once; guest time never runs back", () => {
  const r = rig();
  let insn2 = 0n;
  const other = new StallWatch(r.vcpu, () => insn2);
  r.at(1_000_000);
  r.watch.read();
  other.read();
  // both threads descheduled for the same 4 ms
  r.run(5);
  insn2 += 5n;
  r.at(5_000_000);
  const a = r.watch.read();
  const b = other.read();
  const cap = StallWatch.SLACK_NS + 5 * StallWatch.NS_MAX;
  assert.equal(r.watch.hiddenNs, 4_000_000 - cap);
  assert.equal(other.hiddenNs, 0, "the second thread's stall was hidden already");
  assert.ok(b >= a && b - a < 1, `${a} ${b}`);
  assert.ok(r.dev.now() >= 1_000_000 + cap - 1, "the device thread's clock did not run back");
});

Deno.test("stall clock: hidden time is given back at the catch-up rate, never going backwards", () => {
  const r = rig();
  r.at(0);
  r.watch.read();
  r.run(1);
  r.at(4_000_000);
  r.watch.read();
  const hidden = r.account.hidden(4_000_000);
  assert.equal(hidden, 4_000_000 - StallWatch.SLACK_NS - StallWatch.NS_MAX);
  let last = r.dev.now();
  for (let t = 4_000_000; t <= 4_000_000 + hidden / STALL_CATCH_UP + 1e6; t += 250_000) {
    r.at(t);
    const g = r.dev.now();
    assert.ok(g >= last, `guest time went back at host ${t}: ${g} < ${last}`);
    last = g;
  }
  assert.equal(r.account.hidden(r.dev.t), 0);
  assert.equal(r.dev.now(), r.dev.t, "caught up: guest time is host time again");
});

Deno.test("stall clock: gaps explained by a halt, a long computation or the instructions are not hidden", () => {
  const r = rig();
  r.at(0);
  r.watch.read();
  // a long computation: many instructions between reads
  r.run(StallWatch.DENSE);
  r.at(3_000_000);
  assert.equal(r.watch.read(), 3_000_000);
  // a gap the instructions explain
  r.run(10);
  r.at(3_000_000 + StallWatch.SLACK_NS + 10 * StallWatch.NS_MAX);
  assert.equal(r.watch.read(), 3_000_000 + StallWatch.SLACK_NS + 10 * StallWatch.NS_MAX);
  // a halt (the worker rebases after it sleeps)
  r.watch.rebase();
  r.run(1);
  r.at(50_000_000);
  assert.equal(r.watch.read(), 50_000_000);
  assert.equal(r.watch.hiddenNs, 0);
  // a restored snapshot or resumed pause clears the account
  r.run(1);
  r.at(60_000_000);
  r.watch.read();
  assert.ok(r.watch.hiddenNs > 0);
  r.vcpu.setNow(123);
  assert.equal(r.account.hidden(60_000_000), 0);
});

Deno.test("stall clock: while hidden time is being given back, a new stall still shows only the cap (none of it leaks)", () => {
  const r = rig();
  r.at(1_000_000);
  r.watch.read();
  r.run(5);
  r.at(3_000_000); // a first stall: 2 ms hidden, given back from here on at STALL_CATCH_UP
  r.watch.read();
  // Linux's quick_pit_calibrate loop: reads a few instructions apart; one of them waits 100 us
  const cap = StallWatch.SLACK_NS + 4 * StallWatch.NS_MAX;
  let t = 3_000_000;
  for (let i = 0; i < 50; i++) {
    const g0 = r.watch.read();
    r.run(4);
    t += i === 25 ? 100_000 : 800; // host time between two reads
    r.at(t);
    const g1 = r.watch.read();
    const want = (i === 25 ? cap : 800) * (1 + STALL_CATCH_UP); // (the catch-up goes on outside the stall)
    assert.ok(Math.abs(g1 - g0 - want) < 1e-6, `read ${i}: the guest saw ${g1 - g0} ns, not ${want}`);
  }
});

Deno.test("stall clock: on for a threaded machine whose vCPUs fit the host's cores, off for more vCPUs than cores", () => {
  const cores = navigator.hardwareConcurrency;
  const on = (smp: number) => {
    const m = new Machine({ memMiB: 16, smp });
    try {
      assert.equal(m.threaded, true);
      return StallAccount.enabledIn(m.memory.buffer, L.MACHINE + L.M_STALL);
    } finally {
      m.close();
    }
  };
  if (Deno.env.get("RING3_STALL_HIDE") === undefined) {
    if (cores >= 2) assert.equal(on(Math.min(cores, 64)), true, `--smp ${cores} on ${cores} cores`);
    if (cores < 64) assert.equal(on(cores + 1), false, `--smp ${cores + 1} on ${cores} cores`);
  }
});
