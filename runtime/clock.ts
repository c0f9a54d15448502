// Time for the device models. Every device reads one Clock (nanoseconds, monotonic) and arms
// Timers on it; the machine loop fires due timers between instruction slices and sleeps until
// the next deadline while the CPU halts. Tests inject a ManualClock so nothing depends on the
// wall clock, and the machine can run on a virtual clock derived from retired instructions.

export interface Clock {
  now(): number; // ns, monotonic
}

export class HostClock implements Clock {
  private readonly t0 = performance.now();
  now(): number {
    return (performance.now() - this.t0) * 1e6;
  }
}

// Time moves only when a test (or the virtual-time machine loop) says so.
export class ManualClock implements Clock {
  constructor(public t = 0) {}
  now(): number {
    return this.t;
  }
  advance(ns: number): void {
    this.t += ns;
  }
}

export class Timer {
  deadline = Infinity;
  constructor(private readonly q: TimerQueue, readonly fire: (now: number) => void) {}
  // arm at an absolute deadline (ns); re-arming replaces the old deadline
  set(deadline: number): void {
    this.deadline = deadline;
    this.q.dirty = true;
  }
  cancel(): void {
    this.deadline = Infinity;
  }
  get armed(): boolean {
    return this.deadline !== Infinity;
  }
}

// A handful of timers (one or two per device): a linear scan is cheaper than a heap.
export class TimerQueue {
  private readonly timers: Timer[] = [];
  dirty = false;
  constructor(readonly clock: Clock) {}

  timer(fire: (now: number) => void): Timer {
    const t = new Timer(this, fire);
    this.timers.push(t);
    return t;
  }

  next(): number {
    let d = Infinity;
    for (const t of this.timers) if (t.deadline < d) d = t.deadline;
    return d;
  }

  // Fire every timer whose deadline has passed. A timer is disarmed before its callback runs,
  // so the callback re-arms it for periodic behaviour. Returns the number fired.
  runDue(now = this.clock.now()): number {
    let n = 0;
    for (let round = 0; round < 64; round++) {
      let fired = false;
      for (const t of this.timers) {
        if (t.deadline <= now) {
          t.deadline = Infinity;
          t.fire(now);
          fired = true;
          n++;
        }
      }
      if (!fired) break;
    }
    return n;
  }
}

// Wall-clock source for the RTC: milliseconds since the Unix epoch.
export type WallClock = () => number;
