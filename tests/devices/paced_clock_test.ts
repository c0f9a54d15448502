// The host-mode machine clock (runtime/clock.ts PacedClock) on a simulated CPU and host clock: guest
// time is linear in instructions within a slice, slices end on the deadline's instruction, guest
// time converges on host time and never goes backwards, idle skips ahead without passing a deadline.
import assert from "node:assert/strict";
import { PacedClock } from "../../runtime/clock.ts";

function sim(hostNsPerInsn: number) {
  const s = { insns: 0, host: 0, perInsn: hostNsPerInsn };
  const clock = new PacedClock(() => s.insns, () => s.host, 50);
  // run n instructions; the host spends perInsn each, plus `overhead` ns after the slice
  const run = (n: number, overhead = 0) => {
    s.insns += n;
    s.host += n * s.perInsn + overhead;
  };
  return { s, clock, run };
}

Deno.test("paced clock: linear within a slice, the slice ends on the deadline", () => {
  const { s, clock } = sim(50);
  const t0 = clock.now();
  const n = clock.slice(t0 + 1e6, 1e9);
  const a = clock.now();
  s.insns += 10;
  const b = clock.now();
  s.insns += 10;
  assert.equal(clock.now() - b, b - a, "same step per instruction");
  s.insns += n - 20;
  assert.ok(clock.now() >= t0 + 1e6, "deadline reached after n instructions");
  s.insns -= 1;
  assert.ok(clock.now() < t0 + 1e6, "but not one instruction earlier");
  assert.equal(clock.slice(Infinity, 1234), 1234);
});

Deno.test("paced clock: follows the host through throughput swings and stalls, monotonic", () => {
  const { s, clock, run } = sim(20);
  let last = clock.now();
  let maxLagLate = 0;
  for (let k = 0; k < 4000; k++) {
    if (k === 200) s.host += 300e6; // descheduled for 300 ms
    if (k === 1000) s.perInsn = 200; // the interpreter gets 10x slower (host load)
    if (k === 2000) s.perInsn = 10;
    if (k === 3100) s.host += 300e6;
    const n = clock.slice(clock.now() + 1e6, 20000); // a timer every guest millisecond
    run(n, 5000);
    const g = clock.now();
    assert.ok(g >= last, `went backwards at slice ${k}`);
    last = g;
    if (k % 1000 > 800) maxLagLate = Math.max(maxLagLate, Math.abs(s.host - g));
  }
  assert.ok(maxLagLate < 5e6, `guest within 5 ms of the host once settled (worst ${maxLagLate / 1e6} ms)`);
});

Deno.test("paced clock: a stopped process loses at most a second of ticks", () => {
  const { s, clock, run } = sim(20);
  clock.slice(Infinity, 1000);
  run(1000);
  s.host += 60e9; // SIGSTOP for a minute
  clock.slice(Infinity, 1000);
  assert.ok(s.host - clock.now() <= 1e9 + 1);
  assert.ok(s.host - clock.now() > 0.9e9);
});

Deno.test("paced clock: idle skips to the host's time but never past the deadline", () => {
  const { s, clock, run } = sim(20);
  clock.slice(Infinity, 1000);
  run(1000);
  s.host += 10e6; // guest is 10 ms behind
  const g = clock.now();
  // deadline 3 ms ahead of the guest: due at once, time stops at the deadline
  assert.equal(clock.idle(g + 3e6), 0);
  assert.equal(clock.now(), g + 3e6);
  // deadline 5 ms past the host's time: skip to the host, sleep the rest
  const wait = clock.idle(s.host + 5e6);
  assert.equal(clock.now(), s.host);
  assert.equal(wait, 5e6);
  s.host += 7e6; // overslept by 2 ms
  clock.woke(s.host - 2e6);
  assert.equal(clock.now(), s.host - 2e6);
  // woken early by input: guest time is the host's
  const t = clock.now();
  clock.idle(t + 50e6);
  s.host += 1e6;
  clock.woke(t + 50e6);
  assert.equal(clock.now(), s.host);
});

// A process descheduled for tens of ms on a loaded CI host made the next samples' speed estimate
// 10-100x too slow, so a dozen guest instructions spanned tens of µs and Linux printed "Fast TSC
// calibration failed". A stall is lag, not slow instructions.
Deno.test("paced clock: stalls inside a sample do not slow the guest's instructions", () => {
  const { s, clock, run } = sim(20);
  let worst = 0;
  let away = 50e6;
  for (let k = 0; k < 5000; k++) {
    const n = clock.slice(clock.now() + 1e6, 20000);
    const g0 = clock.now();
    run(n, 5000);
    if (s.host >= away) { // a loaded host: every 50 ms this process waits 30 ms for a core
      s.host += 30e6;
      away = s.host + 50e6;
    }
    worst = Math.max(worst, (clock.now() - g0) / n);
  }
  assert.ok(worst <= 250 + 1e-6, `guest ns per instruction at most 250 (worst ${worst.toFixed(0)})`);
  assert.ok(Math.abs(s.host - clock.now()) < 40e6, "time still follows the host");
});

Deno.test("paced clock: on a slow host a stall is worked off more slowly, not by slower instructions", () => {
  const { s, clock, run } = sim(200);
  for (let k = 0; k < 100; k++) run(clock.slice(clock.now() + 1e6, 20000), 5000);
  s.host += 300e6;
  let settled = -1;
  for (let k = 0; k < 3000 && settled < 0; k++) {
    const n = clock.slice(clock.now() + 1e6, 20000);
    const g0 = clock.now();
    run(n, 5000);
    const per = (clock.now() - g0) / n;
    assert.ok(per <= 250 + 1e-6, `at most 250 ns per instruction (${per.toFixed(1)} at slice ${k})`);
    if (Math.abs(s.host - clock.now()) < 5e6) settled = k;
  }
  assert.ok(settled > 0, "caught up with the host");
});

// ring3 nested in its own guest retires ~10^5 instructions per host second: following real time
// there left the guest kernel nothing between its timer interrupts. Past 1000 host ns per
// instruction the guest's time is paced by instructions (1000 ns each) and falls behind the host.
Deno.test("paced clock: a host far slower than any CPU gets instruction-paced time, no catch-up", () => {
  const { s, clock, run } = sim(10000); // 10^5 instructions per second
  let last = clock.now();
  for (let k = 0; k < 400; k++) {
    const n = clock.slice(clock.now() + 10e6, 100000); // a 10 ms tick
    const g0 = clock.now();
    run(n, 5000);
    const per = (clock.now() - g0) / n;
    assert.ok(clock.now() >= last);
    last = clock.now();
    if (k > 100) {
      assert.ok(per <= 1000 + 1e-6, `at most 1000 guest ns per instruction (${per.toFixed(0)} at ${k})`);
      assert.ok(n >= 9000, `a tick leaves the guest ~10^4 instructions (${n} at ${k})`);
    }
  }
  assert.ok(
    s.host - clock.now() > 2e9,
    `guest time fell behind the host's (${s.host / 1e9} s, guest ${clock.now() / 1e9} s)`,
  );
  assert.equal(clock.slowHost, true);
  // the host speeds up (the nested level's code got compiled): real time again, from here on
  s.perInsn = 20;
  const behind = s.host - clock.now();
  for (let k = 0; k < 3000; k++) run(clock.slice(clock.now() + 1e6, 20000), 5000);
  assert.equal(clock.slowHost, false);
  const lag = s.host - clock.now();
  assert.ok(lag < behind && lag >= 0, "no jump forward to make up the lost time beyond the usual bound");
});
