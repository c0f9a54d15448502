// A device model that throws (a bug in ring3, whatever the guest did to reach it) must not end the
// machine: the bus logs it once, the device is disabled (reads float high, writes dropped) and
// every other device goes on; a device timer that throws stops only that timer.
import assert from "node:assert/strict";
import { IoBus, MmioBus } from "../../runtime/bus.ts";
import { ManualClock, TimerQueue } from "../../runtime/clock.ts";

Deno.test("hostile guest: a throwing I/O handler is logged once and disabled, the bus goes on", () => {
  const io = new IoBus();
  const faults: string[] = [];
  io.onFault = (where, e) => faults.push(`${where}: ${(e as Error).message}`);
  let calls = 0;
  io.register(0x100, 4, {
    read: () => {
      calls++;
      throw new RangeError("model bug");
    },
    write: () => {
      calls++;
      throw new TypeError("model bug too");
    },
  });
  let good = 0;
  io.register(0x200, 1, { read: () => 0x5a, write: (_p, _s, v) => (good = v) });
  assert.equal(io.read(0x101, 1), 0xff);
  assert.equal(io.read(0x100, 4), 0xffffffff);
  io.write(0x102, 2, 7);
  assert.equal(calls, 1, "disabled after the first throw");
  assert.deepEqual(faults, ["I/O port 0x101: model bug"]);
  io.write(0x200, 1, 9);
  assert.equal(io.read(0x200, 1), 0x5a);
  assert.equal(good, 9);
});

Deno.test("hostile guest: a throwing MMIO handler is logged once and disabled", () => {
  const mmio = new MmioBus();
  const faults: string[] = [];
  mmio.onFault = (where) => faults.push(where);
  let calls = 0;
  mmio.register(0xfd000000, 0x1000, {
    read: () => {
      calls++;
      throw new Error("x");
    },
    write: () => {
      calls++;
      throw new Error("y");
    },
  });
  mmio.write(0xfd000010, 4, 1);
  assert.equal(mmio.read(0xfd000010, 4), 0xffffffff);
  assert.equal(mmio.read(0xfd000000, 2), 0xffff);
  assert.equal(calls, 1);
  assert.deepEqual(faults, ["MMIO 0xfd000000"]);
});

Deno.test("hostile guest: a device timer that throws stops only itself", () => {
  const clock = new ManualClock();
  const q = new TimerQueue(clock);
  const errors: string[] = [];
  const orig = console.error;
  console.error = (s: string) => errors.push(s);
  try {
    let good = 0;
    const bad = q.timer(() => {
      throw new Error("timer bug");
    });
    const ok = q.timer((now) => {
      good++;
      ok.set(now + 10);
    });
    bad.set(5);
    ok.set(5);
    clock.advance(100);
    q.runDue();
    assert.ok(good >= 1);
    assert.equal(bad.armed, false);
    assert.equal(errors.length, 1);
    assert.match(errors[0], /timer bug/);
  } finally {
    console.error = orig;
  }
});
