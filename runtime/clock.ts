// Time, all of it: the Clock every device, timer and vCPU of a machine reads (nanoseconds,
// monotonic), the timers armed on it, and the machine's clock choices:
//   HostClock     the host's monotonic clock (unit tests)
//   ManualClock   moves only when told (device tests)
//   PacedClock    single-thread runs with `clock: "host"`: host time, paced by retired instructions
//   VirtualClock  `clock: "virtual"`: retired instructions only, idle time skipped; repeatable
//   EpochClock    worker-thread SMP: host time from one absolute epoch every thread agrees on
// The machine loop fires due timers between instruction slices and sleeps until the next
// deadline while every vCPU halts.

export interface Clock {
  now(): number; // ns, monotonic
  // make now() continue from `ns` (a restored snapshot, a resumed pause): the clocks a machine runs
  // on have it; the timers' absolute deadlines stay valid across it
  setNow?(ns: number): void;
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
  setNow(ns: number): void {
    this.t = ns;
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
          try {
            t.fire(now);
          } catch (e) {
            // a device model's bug must not stop the machine (runtime/bus.ts): this timer stays
            // disarmed, the device's time stands still, the others go on
            console.error(
              `ring3: internal error in a device timer: ${e instanceof Error ? e.message : e}; the timer is stopped`,
            );
          }
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

// ---- PacedClock: the host clock as the guest sees it, paced by retired instructions ------------
//
// Reading the host's clock directly makes guest time jump whenever the host deschedules this
// process or the interpreter runs slower than expected: a timer deadline passes in the middle of
// an instruction slice, the interrupt arrives late, periodic ticks are lost, and two reads a few
// instructions apart can straddle a 10 ms jump. Linux notices all of it: "Fast TSC calibration
// failed", "PM-Timer running at invalid rate", a TSC marked unstable by the jiffies watchdog.
//
// Here guest time is a piecewise linear function of the instruction count instead: within a run
// slice every instruction advances it by the same amount (`rate`), so every clock the guest has
// (TSC, PIT, PM timer, APIC timer) moves smoothly and in step, and the run loop can end a slice on
// the exact instruction where the next timer is due. At each slice boundary the rate is set from
// the measured host throughput, stretched or shrunk so that guest time converges on host time
// (the lag is worked off over LAG_HORIZON_NS). While the CPU halts, guest time skips ahead to the
// host's time (never past the next deadline) and the loop sleeps for the rest. So over any span
// longer than a few slices guest time follows the host's clock; a slow or loaded host shows up
// as a slower CPU, not as lost interrupts.
//
// Unless the host is far slower than any real CPU (ring3 nested in its own guest retires ~10^5
// instructions a second): a guest that follows real time there takes its timer interrupts at the
// real rate and has next to nothing left between them (the nested kernel sat after `x86/fpu` for
// 25 minutes). Past SLOW_HOST_NS host ns per instruction the clock is paced by instructions alone,
// SLOW_HOST_NS guest ns each, and falls behind the host's clock for good (the lag is dropped, as
// for a paused machine), so the guest sees a slow CPU with its usual tick budget.

const LAG_HORIZON_NS = 20e6; // lag (either way) is worked off over about this much host time
const MAX_LAG_NS = 1e9; // behind by more (the process was stopped): jump, lose the ticks
const MIN_SAMPLE_NS = 2e6; // throughput samples span at least this much host time
// Linux times short instruction sequences against its clocks and rejects a clock when a few dozen
// instructions take too long: the fast TSC calibration allows ~25 µs for two PIT polling loops,
// the clocksource watchdog 100 µs for a TSC read between two PM-timer reads. A host stall must
// therefore never turn into slow guest instructions; it becomes lag, worked off at a bounded
// stretch. A sample can raise the speed estimate by at most 25% (a real slowdown still shows
// within tens of ms), and a stretched rate stays below MAX_STRETCHED_NS per instruction (unless the
// host itself is slower than that).
const MAX_SAMPLE_UP = 1.25;
const MAX_SAMPLE_DOWN = 2;
const MAX_STRETCHED_NS = 250;
const SLOW_HOST_NS = 1000; // 10^4 instructions per 10 ms tick at least

export class PacedClock implements Clock {
  private baseNs = 0; // guest time at the anchor
  private baseInsn = 0; // instruction count at the anchor
  private rate: number; // guest ns per instruction since the anchor
  private perInsn: number; // host ns per instruction, measured while the CPU runs
  private sampleHost = -1; // start of the current throughput sample (host ns), -1 none
  private sampleInsn = 0;
  private host0: number;

  // `insns`: instructions retired so far (all that advance this clock)
  constructor(
    private readonly insns: () => number,
    private readonly hostNs: () => number = () => performance.now() * 1e6,
    nsPerInsn = 50,
  ) {
    this.host0 = hostNs();
    this.rate = this.perInsn = nsPerInsn;
  }

  now(): number {
    return this.baseNs + (this.insns() - this.baseInsn) * this.rate;
  }

  private host(): number {
    return this.hostNs() - this.host0;
  }

  private anchor(t: number): void {
    this.baseNs = t;
    this.baseInsn = this.insns();
  }

  // Before a run slice: re-anchor, choose the rate for the slice, and return how many
  // instructions to run (at most `max`) so that the slice ends at `deadline` (guest ns).
  slice(deadline: number, max: number): number {
    const h = this.host();
    const i = this.insns();
    if (this.sampleHost < 0) {
      this.sampleHost = h;
      this.sampleInsn = i;
    } else if (h - this.sampleHost >= MIN_SAMPLE_NS && i > this.sampleInsn) {
      // host time per instruction, everything between slices included (the event loop,
      // device callbacks, being descheduled): that is what guest time has to cover
      let m = (h - this.sampleHost) / (i - this.sampleInsn);
      m = Math.min(this.perInsn * MAX_SAMPLE_UP, Math.max(this.perInsn / MAX_SAMPLE_DOWN, m));
      this.perInsn = 0.5 * this.perInsn + 0.5 * m;
      this.sampleHost = h;
      this.sampleInsn = i;
    }
    let g = this.now();
    if (this.perInsn > SLOW_HOST_NS) {
      this.host0 += h - g; // no lag: guest time is where the instructions have taken it
      this.sampleHost -= h - g; // (host time is counted from the new origin)
      this.anchor(g);
      this.rate = SLOW_HOST_NS;
      const d = deadline - g;
      return d < Infinity ? Math.max(1, Math.min(max, Math.ceil(d / this.rate))) : max;
    }
    let lag = h - g;
    if (lag > MAX_LAG_NS) {
      g = h - MAX_LAG_NS;
      lag = MAX_LAG_NS;
    }
    this.anchor(g);
    const stretch = Math.min(4, Math.max(0.25, 1 + lag / LAG_HORIZON_NS));
    this.rate = Math.min(this.perInsn * stretch, Math.max(this.perInsn, MAX_STRETCHED_NS));
    const d = deadline - g;
    if (!(d < Infinity)) return max;
    return Math.max(1, Math.min(max, Math.ceil(d / this.rate)));
  }

  // The CPU halts until `deadline` (guest ns, may be Infinity). Guest time skips ahead to the
  // host's time (no instruction observes the span), never past the deadline. Returns how long the
  // host must sleep (ns) before the deadline is due: 0 when it already is.
  idle(deadline: number): number {
    this.sampleHost = -1; // a sample must not include sleeping
    const g = this.now();
    const t = Math.max(g, Math.min(deadline, this.host()));
    this.anchor(t);
    return Math.max(0, deadline - t);
  }

  // After the sleep idle() asked for (or an earlier wake-up by host input).
  woke(deadline: number): void {
    const g = this.now();
    this.anchor(Math.max(g, Math.min(deadline, this.host())));
  }

  // guest time continues from `ns`, and host time is counted from here (no lag either way)
  setNow(ns: number): void {
    this.host0 = this.hostNs() - ns;
    this.sampleHost = -1;
    this.anchor(ns);
  }

  // host ns per instruction, as last measured
  get hostNsPerInsn(): number {
    return this.perInsn;
  }
  // paced by instructions alone (the host is too slow to follow real time)
  get slowHost(): boolean {
    return this.perInsn > SLOW_HOST_NS;
  }
}

// ---- VirtualClock --------------------------------------------------------------------------------
// Instruction-count clock: now() = instructions retired by all vCPUs * rate / vCPUs, plus idle
// time skipped while every vCPU halts.
export class VirtualClock implements Clock {
  skipped = 0;
  constructor(
    readonly nsPerInsn: number,
    private readonly retired: () => number, // by all vCPUs
    private readonly cpus: () => number,
  ) {}
  now(): number {
    return this.retired() * this.nsPerInsn / Math.max(1, this.cpus()) + this.skipped;
  }
  setNow(ns: number): void {
    this.skipped += ns - this.now();
  }
}

// ---- EpochClock ----------------------------------------------------------------------------------
// Host monotonic clock in ns that every thread of one machine agrees on: performance.now()
// counts from each thread's own time origin, so all threads count from one absolute epoch.
// With a StallAccount (worker-thread SMP) it is guest time: that host time less the host stalls
// the vCPU threads hid (below), never going back on one thread.
export class EpochClock implements Clock {
  private last = -Infinity;
  constructor(public epochMs: number = performance.timeOrigin + performance.now(), public stalls?: StallAccount) {}
  // host ns since the epoch
  raw(): number {
    return (performance.timeOrigin + performance.now() - this.epochMs) * 1e6;
  }
  now(): number {
    return this.at(this.raw());
  }
  // guest time at host time `raw` (read just now on this thread)
  at(raw: number): number {
    const t = this.stalls ? raw - this.stalls.hidden(raw) : raw;
    if (t > this.last) this.last = t;
    return this.last;
  }
  // (only while no vCPU worker runs: each worker copies epochMs when it starts)
  setNow(ns: number): void {
    this.stalls?.clear();
    this.epochMs = performance.timeOrigin + performance.now() - ns / 1e6;
    this.last = ns;
  }
}

// ---- host stalls hidden from the guest ---------------------------------------------------------
// Worker-thread guest time is host time, so a vCPU thread the host deschedules (or holds up in
// a device round trip, a compile, a GC) between two of its guest's clock reads would see its
// clocks jump together, and Linux's calibration loops, which time the 8254 against the TSC a few
// instructions apart, fail (ARCHITECTURE.md, "Time under host preemption"). A vCPU thread watches
// the gaps between its guest's clock reads (StallWatch): the part of a gap longer than the
// instructions retired in it can take is a stall, which goes into this machine-wide account;
// every thread's EpochClock subtracts it, so the guest's TSC, 8254, PM timer, APIC timers and
// device timers stay one clock that stood still during the stall. Host time already hidden (two
// vCPUs stalled at once) is not hidden twice: `until` is the host time up to which stalls are
// in the account, so the guest clock never runs backwards. Hidden time is given back at
// STALL_CATCH_UP of host time (guest time runs that much faster until it has caught up), so the
// guest's wall clock does not fall behind under load.
// Shared words at MACHINE + M_STALL: i32 sequence (odd while written), i32 writer lock, then f64
// hidden ns as of f64 host ns `at`, f64 `until`.
// On while the machine's vCPUs fit the host's cores (runtime/machine.ts; RING3_STALL_HIDE=1 or 0
// decides instead): the machine sets the word at +32 and the workers follow it.
export const STALL_CATCH_UP = 1 / 16;
export const STALL_ENABLED = 32;
export class StallAccount {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  constructor(buffer: ArrayBufferLike, offset: number) {
    this.i32 = new Int32Array(buffer, offset, 2);
    this.f64 = new Float64Array(buffer, offset + 8, 3);
  }
  // the machine's choice (RING3_STALL_HIDE), shared with its vCPU workers
  static enabledIn(buffer: ArrayBufferLike, offset: number): boolean {
    return Atomics.load(new Int32Array(buffer, offset + STALL_ENABLED, 1), 0) === 1;
  }
  static enable(buffer: ArrayBufferLike, offset: number, on: boolean): void {
    Atomics.store(new Int32Array(buffer, offset + STALL_ENABLED, 1), 0, on ? 1 : 0);
  }
  // ns hidden at host time `raw`
  hidden(raw: number): number {
    for (;;) {
      const s = Atomics.load(this.i32, 0);
      const h = this.hidden0(raw);
      if ((s & 1) === 0 && Atomics.load(this.i32, 0) === s) return h;
    }
  }
  // the host interval [from, to] was a stall: hide what of it is not hidden yet; returns that
  // Guest time stands still over the stall: the time given back stops at its start (giving back
  // 1/16 of the stall as it went by would leak that much of every stall to the guest, and a
  // 100 us stall between two reads of a calibration loop would show as 6 us).
  hide(from: number, to: number): number {
    let ns = 0;
    this.write(() => {
      const start = Math.max(from, this.f64[2]);
      ns = Math.max(0, to - start);
      if (ns === 0) return;
      this.f64[0] = this.hidden0(start) + ns;
      this.f64[1] = to;
      this.f64[2] = to;
    });
    return ns;
  }
  clear(): void {
    this.write(() => this.f64.fill(0));
  }
  private hidden0(raw: number): number {
    const h = this.f64[0], at = this.f64[1];
    return h <= 0 ? 0 : Math.max(0, h - Math.max(0, raw - at) * STALL_CATCH_UP);
  }
  private write(f: () => void): void {
    while (Atomics.compareExchange(this.i32, 1, 0, 1) !== 0) { /* another thread writes: spin */ }
    Atomics.add(this.i32, 0, 1);
    f();
    Atomics.add(this.i32, 0, 1);
    Atomics.store(this.i32, 1, 0);
  }
}

// One vCPU thread's watch over the gaps between its guest's clock reads (RDTSC, the PM timer,
// the 8254): `read()` is guest time for such a read, after hiding the stall before it, if any.
// Between reads fewer than DENSE instructions apart (a timing loop, not a long computation that
// happens to read the clock at its ends) the guest is shown at most SLACK plus NS_MAX per
// instruction, and the rest of the host's gap is a stall. The cap is continuous (a gap just over
// it shows as the cap), so loop times the guest measures stay within a narrow band: Linux's
// pit_calibrate_tsc rejects a run whose slowest iteration took 10 times its fastest.
// `rebase()` when the thread was away on purpose (a halt, a pause).
export class StallWatch {
  static readonly DENSE = 4096;
  static readonly SLACK_NS = 1000;
  static readonly NS_MAX = 50;
  hiddenNs = 0; // total this vCPU hid (stats, tests)
  private lastRaw = NaN;
  private lastInsn = 0n;
  constructor(private readonly clock: EpochClock, private readonly retired: () => bigint) {}
  rebase(): void {
    this.lastRaw = NaN;
  }
  read(): number {
    const raw = this.clock.raw();
    const insn = this.retired();
    const stalls = this.clock.stalls;
    if (stalls && this.lastRaw === this.lastRaw) {
      const n = Number(insn - this.lastInsn);
      const allowed = this.lastRaw + StallWatch.SLACK_NS + n * StallWatch.NS_MAX;
      if (n < StallWatch.DENSE && raw > allowed) this.hiddenNs += stalls.hide(allowed, raw);
    }
    this.lastRaw = raw;
    this.lastInsn = insn;
    return this.clock.at(raw);
  }
}

// ---- the machine-wide latest time -------------------------------------------------------------
// Time as a vCPU thread's device reads see it (the PM timer, the PIT: runtime/vcpu/imports.ts):
// the clock, but never less than the latest raw TSC or device time any vCPU read (the machine
// word M_TSC_LAST, which the core's RDTSC keeps too: core-as/ops/msr.ts), raised to it. Thread
// clocks differ by up to ~240 ns (each converts its own time origin with a double); with this a
// reading on one vCPU is never older than one another vCPU made before it, whatever the clock.
export function latestNs(memory: WebAssembly.Memory, clock: Clock, lastAt: number): () => number {
  const last = new BigInt64Array(memory.buffer, lastAt, 1);
  return () => {
    let t = BigInt(Math.floor(clock.now()));
    for (;;) {
      const seen = Atomics.load(last, 0);
      if (t <= seen) t = seen + 1n;
      if (Atomics.compareExchange(last, 0, seen, t) === seen) break;
    }
    return Number(t);
  };
}
