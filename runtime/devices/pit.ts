// Intel 8254 programmable interval timer (ports 0x40-0x43) and the PC's system control port B
// (0x61: channel 2 gate, speaker enable, refresh toggle, channel 2 output). Counters are not
// stepped: each channel remembers when its count was loaded and derives the current count and
// output level from the clock, so reads are exact at any time. Channel 0's rising output edges
// are scheduled as timer events that pulse IRQ0 (the PIC and IO-APIC latch the edge).
//
// Modes 0-5, binary and BCD counting, LSB/MSB/LSB-then-MSB access, counter latch, read-back
// (count and status). Simplification: a count written in mode 2/3 while counting takes effect
// at once instead of at the end of the current period.
//
// A control word resets the control logic (OUT goes to the mode's initial state, no edges until
// a count is written: Linux's clockevent_i8253_disable() relies on that to stop IRQ0) but not
// the counting element, which goes on decrementing (wrapping through 0xFFFF, or 9999 in BCD)
// while its gate allows: a count latched twice a few milliseconds apart after Linux switched to
// the local APIC timer has moved, as on a PC.
//
// Lost ticks are sent again (KVM's PIT "reinject" policy): the periodic rises of channel 0 that
// went by while this (the device) thread was descheduled, so that its timer fired once for
// several, and the ticks that found the one before still waiting in the 8259A's or a local
// APIC's IRR (its vCPU thread descheduled, or spinning with interrupts off for one that is) are
// counted, and one is sent each time IRQ0's last edge has left the IRRs (looked at every eighth
// of a period). Without it a loaded host loses ticks, jiffies fall behind the TSC and the PM
// timer, and Linux's clocksource watchdog marks the TSC unstable (devices/lapic.ts does the same
// for the local APIC timer, the tick of an SMP kernel). A backlog is dropped when IRQ0 is masked
// at the 8259A and the IO-APIC, and when channel 0 is programmed again.
import type { IoBus, IoHandler } from "../bus.ts";
import { type Timer, TimerQueue } from "../clock.ts";
import type { IrqLine } from "../irq.ts";
import { type DeviceState, expectVersion, pick, put, timerRestore, timerSave } from "../snapshot/persist.ts";

export const PIT_HZ = 1193182;
const NS_PER_TICK = 1e9 / PIT_HZ;
const REFRESH_NS = 15085; // port 0x61 bit 4 toggles with DRAM refresh, every ~15 us
// channel 0's lost ticks: at most a second's worth are kept; while some are, IRQ0 is looked at
// every eighth of a period (at least every 500 us, at most every 100 us)
const LOST_MAX_NS = 1e9;
const RETRY_MIN_NS = 100_000, RETRY_MAX_NS = 500_000;

// Where IRQ0's last edge is (the machine answers from its 8259A, IO-APIC and local APICs)
export const IRQ0_FREE = 0; // taken by a CPU (or never sent): an edge now is a new interrupt
export const IRQ0_WAITING = 1; // still pending in an IRR: an edge now would merge with it
export const IRQ0_MASKED = 2; // masked at the 8259A and the IO-APIC: it reaches no CPU

const toBcd = (v: number): number =>
  (v % 10) | (Math.floor(v / 10) % 10) << 4 | (Math.floor(v / 100) % 10) << 8 | (Math.floor(v / 1000) % 10) << 12;
const fromBcd = (v: number): number =>
  (v & 15) + ((v >> 4) & 15) * 10 + ((v >> 8) & 15) * 100 + ((v >> 12) & 15) * 1000;

// The state lives in a Float64Array (CH_SLOTS numbers a channel, booleans as 0/1), which for a
// machine is shared memory (layout.ts PIT_STATE): the device thread writes and fires IRQ0, a
// vCPU thread serves its own reads of ports 0x40-0x42 and 0x61 from the same state (PitReader),
// with no round trip to the device thread. A read changes state too (the LSB/MSB flip-flop, the
// latches), so every access holds the state's lock.
const SLOT = {
  mode: 0,
  rw: 1,
  bcd: 2,
  reload: 3,
  counting: 4,
  free: 5,
  waiting: 6,
  start: 7,
  frozen: 8,
  gate: 9,
  nullCountUntil: 10,
  status: 11,
  readHi: 12,
  writeHi: 13,
  lsb: 14,
  heldOut: 15,
  latchN: 16,
  latch0: 17,
  latch1: 18,
} as const;
const CH_SLOTS = 20;
const SPEAKER_SLOT = 3 * CH_SLOTS;
// bytes: an Int32 lock word, padding, then the Float64 slots
export const PIT_STATE_BYTES = 8 + (SPEAKER_SLOT + 1) * 8;

class Channel {
  declare mode: number;
  declare rw: number; // 1 = LSB only, 2 = MSB only, 3 = LSB then MSB
  declare bcd: boolean;
  declare reload: number; // count value, 0 written = 0x10000 (10000 in BCD)
  declare counting: boolean; // a count has been loaded (and, in modes 1/5, the gate triggered)
  declare free: boolean; // no count since the control word: the counting element runs on from `frozen`
  declare waiting: boolean; // control word written, no count yet
  declare start: number; // ns at which the count was loaded
  declare frozen: number; // count while the gate holds it (modes 0/4) or before counting
  declare gate: boolean;
  declare nullCountUntil: number; // status bit 6 until the count reaches the counting element
  declare status: number; // latched status byte, -1 none
  declare readHi: boolean;
  declare writeHi: boolean;
  declare lsb: number;
  declare heldOut: boolean; // mode 0 OUT while the count is held (gate low or first byte written)
  declare latchN: number; // latched count bytes still to read (0-2), latch0 first
  declare latch0: number;
  declare latch1: number;
  timer?: Timer;
  // the state array and this channel's first slot (private: wiring, not state a snapshot keeps)
  readonly #f: Float64Array;
  readonly #o: number;

  static {
    const bools = ["bcd", "counting", "free", "waiting", "gate", "readHi", "writeHi", "heldOut"];
    for (const k of Object.keys(SLOT) as (keyof typeof SLOT)[]) {
      const i = SLOT[k];
      Object.defineProperty(
        Channel.prototype,
        k,
        bools.includes(k)
          ? {
            get(this: Channel) {
              return this.#f[this.#o + i] !== 0;
            },
            set(this: Channel, v: boolean) {
              this.#f[this.#o + i] = v ? 1 : 0;
            },
          }
          : {
            get(this: Channel) {
              return this.#f[this.#o + i];
            },
            set(this: Channel, v: number) {
              this.#f[this.#o + i] = v;
            },
          },
      );
    }
  }

  // the latched count bytes as a list (snapshots)
  get latch(): number[] {
    return [this.latch0, this.latch1].slice(0, this.latchN);
  }
  set latch(b: number[]) {
    this.latchN = Math.min(2, b.length);
    this.latch0 = b[0] ?? 0;
    this.latch1 = b[1] ?? 0;
  }
  private shiftLatch(): number {
    const v = this.latch0;
    this.latch0 = this.latch1;
    this.latchN--;
    return v;
  }

  // `init`: write the power-on state (the device's own channels), else adopt what is there
  constructor(readonly id: number, gate: boolean, f: Float64Array, init = true) {
    this.#f = f;
    this.#o = id * CH_SLOTS;
    if (!init) return;
    this.mode = 0;
    this.rw = 3;
    this.bcd = false;
    this.reload = 0x10000;
    this.counting = false;
    this.free = false;
    this.waiting = true;
    this.start = 0;
    this.frozen = 0;
    this.nullCountUntil = 0;
    this.latch = [];
    this.status = -1;
    this.readHi = false;
    this.writeHi = false;
    this.lsb = 0;
    this.heldOut = false;
    this.gate = gate;
  }
  private get modulus(): number {
    return this.bcd ? 10000 : 0x10000;
  }

  ticks(now: number): number {
    return Math.floor((now - this.start) / NS_PER_TICK + 1e-7);
  }

  // gate controls counting in modes 0, 2, 3 and 4; in modes 1 and 5 it triggers
  private get running(): boolean {
    return this.counting && (this.gate || this.mode === 1 || this.mode === 5);
  }

  // the counting element is clocked: gate high in modes 0, 2, 3, 4; always in modes 1 and 5
  private get clocked(): boolean {
    return this.gate || this.mode === 1 || this.mode === 5;
  }

  count(now: number): number {
    if (!this.running) {
      if (!this.free || !this.clocked) return this.frozen;
      const m = this.modulus;
      return (((this.frozen - this.ticks(now)) % m) + m) % m;
    }
    const d = this.ticks(now);
    const n = this.reload;
    switch (this.mode) {
      case 2:
        return n - (d % n);
      case 3: {
        const half = Math.ceil(n / 2);
        const h = d % n;
        return (n - 2 * (h < half ? h : h - half)) & 0x1fffe;
      }
      default: {
        const m = this.modulus;
        return (((n - d) % m) + m) % m;
      }
    }
  }

  out(now: number): boolean {
    if (this.waiting) return this.mode !== 0;
    const n = this.reload;
    switch (this.mode) {
      case 0:
        return this.running ? this.ticks(now) >= n : this.heldOut;
      case 1:
        return !this.counting || this.ticks(now) >= n;
      case 2:
        return !this.running || this.ticks(now) % n !== n - 1 || n === 1;
      case 3:
        return !this.running || this.ticks(now) % n < Math.ceil(n / 2);
      default: // 4, 5: a one-clock low strobe when the count reaches zero
        return !this.running || this.ticks(now) !== n;
    }
  }

  // tick count (from start) of the next rising edge of OUT after `now`, or Infinity
  nextRise(now: number): number {
    if (!this.running) return Infinity;
    const d = this.ticks(now);
    const n = this.reload;
    switch (this.mode) {
      case 0:
      case 1:
        return d < n ? n : Infinity;
      case 2:
      case 3:
        return (Math.floor(d / n) + 1) * n;
      default:
        return d < n + 1 ? n + 1 : Infinity;
    }
  }

  control(v: number, now: number): void {
    const rw = (v >> 4) & 3;
    if (rw === 0) { // counter latch
      if (this.latchN === 0) this.latchCount(now);
      return;
    }
    this.rw = rw;
    this.mode = (v >> 1) & 7;
    if (this.mode > 5) this.mode -= 4; // 6 and 7 alias modes 2 and 3
    this.bcd = (v & 1) !== 0;
    this.frozen = this.count(now);
    this.start = now;
    this.free = true;
    this.counting = false;
    this.heldOut = false;
    this.waiting = true;
    this.readHi = this.writeHi = false;
    this.latch = [];
    this.status = -1;
    this.nullCountUntil = Infinity;
  }

  latchCount(now: number): void {
    let c = this.count(now) & 0xffff;
    if (this.bcd) c = toBcd(c % 10000);
    this.latch = this.rw === 1 ? [c & 0xff] : this.rw === 2 ? [c >> 8] : [c & 0xff, c >> 8];
  }

  latchStatus(now: number): void {
    if (this.status >= 0) return;
    this.status = (this.out(now) ? 0x80 : 0) | (now < this.nullCountUntil ? 0x40 : 0) | this.rw << 4 |
      this.mode << 1 | (this.bcd ? 1 : 0);
  }

  read(now: number): number {
    if (this.status >= 0) {
      const s = this.status;
      this.status = -1;
      return s;
    }
    if (this.latchN > 0) return this.shiftLatch();
    let c = this.count(now) & 0xffff;
    if (this.bcd) c = toBcd(c % 10000);
    if (this.rw === 1) return c & 0xff;
    if (this.rw === 2) return c >> 8;
    this.readHi = !this.readHi;
    return this.readHi ? c & 0xff : c >> 8;
  }

  write(v: number, now: number): void {
    let value: number;
    if (this.rw === 1) value = v;
    else if (this.rw === 2) value = v << 8;
    else if (!this.writeHi) {
      this.lsb = v;
      this.writeHi = true;
      // mode 0: writing the first byte stops the count
      if (this.mode === 0 && (this.counting || this.free)) {
        this.frozen = this.count(now);
        this.counting = false;
        this.free = false;
        this.heldOut = false;
      }
      return;
    } else {
      this.writeHi = false;
      value = this.lsb | v << 8;
    }
    if (this.bcd) value = fromBcd(value);
    this.reload = value === 0 ? this.modulus : value;
    this.waiting = false;
    this.free = false;
    this.start = now;
    this.nullCountUntil = now + NS_PER_TICK;
    this.frozen = this.reload;
    // modes 1 and 5 wait for a gate trigger
    this.counting = this.mode !== 1 && this.mode !== 5;
    this.heldOut = this.mode !== 0;
  }

  setGate(level: boolean, now: number): void {
    if (level === this.gate) return;
    const wasRunning = this.running;
    if (this.free && this.mode !== 1 && this.mode !== 5) {
      // the free-running element stops and resumes with the gate
      if (!level) this.frozen = this.count(now);
      else this.start = now;
    }
    if (!level && wasRunning && (this.mode === 0 || this.mode === 4)) {
      this.heldOut = this.out(now);
      this.frozen = this.count(now);
    }
    if (level && !this.waiting) {
      if (this.mode === 0 || this.mode === 4) {
        // resume from the held count
        this.start = now - (this.reload - this.frozen) * NS_PER_TICK;
      } else {
        // modes 1, 2, 3, 5: a rising gate (re)starts the count
        this.start = now;
        this.counting = true;
      }
    }
    this.gate = level;
  }
}

// where a Pit keeps its state: a shared-memory region (a machine: layout.ts PIT_STATE), else its own
export interface PitStateRegion {
  buffer: ArrayBufferLike;
  offset: number;
}

export class Pit implements IoHandler {
  readonly ch: Channel[];
  // where IRQ0's last edge is (IRQ0_FREE, _WAITING, _MASKED); none: every edge counts as taken
  irq0State?: () => number;
  lost = 0; // channel 0's periodic ticks that reached no CPU, to be sent again
  dueAt = Infinity; // the tick (counted from channel 0's start) its timer was set for
  readonly #f: Float64Array; // (private: views of the state, not state a snapshot keeps)
  readonly #lock: Int32Array;

  // `reader`: a view of another thread's Pit (PitReader): adopts its state, owns no timer.
  // `clockNow`: the time accesses use (default: the timer queue's clock)
  constructor(
    private readonly timers: TimerQueue,
    private readonly irq0?: IrqLine,
    region?: PitStateRegion,
    reader = false,
    private readonly clockNow?: () => number,
  ) {
    const buf = region?.buffer ?? new ArrayBuffer(PIT_STATE_BYTES);
    const off = region?.offset ?? 0;
    this.#lock = new Int32Array(buf, off, 1);
    this.#f = new Float64Array(buf, off + 8, SPEAKER_SLOT + 1);
    const init = !reader;
    this.ch = [
      new Channel(0, true, this.#f, init),
      new Channel(1, true, this.#f, init),
      new Channel(2, false, this.#f, init),
    ];
    if (init) {
      Atomics.store(this.#lock, 0, 0);
      this.speaker = 0;
      this.ch[0].timer = timers.timer((now) => this.fire0(now));
    }
  }

  // port 0x61 bits 1-3 as written
  private get speaker(): number {
    return this.#f[SPEAKER_SLOT];
  }
  private set speaker(v: number) {
    this.#f[SPEAKER_SLOT] = v;
  }

  // Accesses from different threads are serialized; each holds the lock for a few hundred ns.
  private acquire(): void {
    while (Atomics.compareExchange(this.#lock, 0, 0, 1) !== 0) {
      // the holder is another thread in the middle of one port access
    }
  }
  private release(): void {
    Atomics.store(this.#lock, 0, 0);
  }

  private get now(): number {
    return this.clockNow ? this.clockNow() : this.timers.clock.now();
  }

  attach(io: IoBus): void {
    io.register(0x40, 4, this);
    io.register(0x61, 1, this);
  }

  reset(): void {
    const t = this.ch[0].timer;
    this.acquire();
    this.ch.splice(0, 3, new Channel(0, true, this.#f), new Channel(1, true, this.#f), new Channel(2, false, this.#f));
    this.speaker = 0;
    this.release();
    this.ch[0].timer = t;
    t?.cancel();
    this.lost = 0;
    this.dueAt = Infinity;
  }

  private fire0(now: number): void {
    const c = this.ch[0];
    const state = this.irq0State?.() ?? IRQ0_FREE;
    if (state === IRQ0_MASKED) this.lost = 0;
    const d = c.ticks(now);
    if (d >= this.dueAt) {
      // a rise of OUT: its edge goes out now; the rises this thread was too late for are lost,
      // and so is this one if it merges with the one before, still waiting in an IRR
      const periodic = c.mode === 2 || c.mode === 3;
      const lost = periodic ? Math.floor((d - this.dueAt) / c.reload) + (state === IRQ0_WAITING ? 1 : 0) : 0;
      if (periodic && state !== IRQ0_MASKED) {
        this.lost = Math.min(this.lost + lost, Math.ceil(LOST_MAX_NS / (c.reload * NS_PER_TICK)));
      }
      this.irq0?.pulse();
    } else if (this.lost > 0 && state === IRQ0_FREE) {
      this.lost--; // a lost tick, sent again
      this.irq0?.pulse();
    }
    this.arm0(now);
  }

  private arm0(now: number): void {
    const c = this.ch[0];
    const k = c.nextRise(now);
    this.dueAt = k;
    let t = k === Infinity ? Infinity : c.start + Math.ceil(k * NS_PER_TICK);
    if (this.lost > 0) {
      if (c.mode === 2 || c.mode === 3) {
        const retry = Math.min(RETRY_MAX_NS, Math.max(RETRY_MIN_NS, c.reload * NS_PER_TICK / 8));
        t = Math.min(t, now + retry);
      } else this.lost = 0;
    }
    if (t === Infinity) c.timer!.cancel();
    else c.timer!.set(t);
  }

  // port 0x61
  get port61(): number {
    const now = this.now;
    return this.speaker | (this.ch[2].gate ? 1 : 0) | (Math.floor(now / REFRESH_NS) & 1) << 4 |
      (this.ch[2].out(now) ? 0x20 : 0);
  }

  read(port: number, _size: number): number {
    if (port === 0x43) return 0xff; // the control register is write-only
    this.acquire();
    try {
      if (port === 0x61) return this.port61;
      return this.ch[port - 0x40].read(this.now);
    } finally {
      this.release();
    }
  }

  write(port: number, size: number, value: number): void {
    this.acquire();
    try {
      this.writeLocked(port, size, value);
    } finally {
      this.release();
    }
  }

  private writeLocked(port: number, _size: number, value: number): void {
    const now = this.now;
    value &= 0xff;
    if (port === 0x61) {
      this.speaker = value & 0x0e;
      this.ch[2].setGate((value & 1) !== 0, now);
      return;
    }
    if (port === 0x43) {
      const sc = value >> 6;
      if (sc === 3) { // read-back
        for (let i = 0; i < 3; i++) {
          if (!(value & (2 << i))) continue;
          if (!(value & 0x20) && this.ch[i].latchN === 0) this.ch[i].latchCount(now);
          if (!(value & 0x10)) this.ch[i].latchStatus(now);
        }
        return;
      }
      this.ch[sc].control(value, now);
      if (sc === 0) this.lost = 0, this.arm0(now);
      return;
    }
    const i = port - 0x40;
    this.ch[i].write(value, now);
    if (i === 0) this.lost = 0, this.arm0(now);
  }
}

// ---- persist (ARCHITECTURE.md, "Snapshots"): three channels, the speaker bits, channel 0's timer
const PIT_FIELDS = [
  "mode",
  "rw",
  "bcd",
  "reload",
  "counting",
  "free",
  "waiting",
  "start",
  "frozen",
  "gate",
  "nullCountUntil",
  "latch",
  "status",
  "readHi",
  "writeHi",
  "lsb",
  "heldOut",
] as const;
export function savePit(p: Pit): DeviceState {
  return {
    v: 1,
    ch: p.ch.map((c) => pick(c, PIT_FIELDS)),
    speaker: (p as unknown as { speaker: number }).speaker,
    timer0: timerSave(p.ch[0].timer),
    lost: p.lost,
    dueAt: Number.isFinite(p.dueAt) ? p.dueAt : null,
  };
}
export function restorePit(p: Pit, state: DeviceState): void {
  const s = expectVersion("8254 PIT", state, 1);
  const ch = s.ch as Record<string, unknown>[];
  for (let i = 0; i < 3; i++) {
    put(p.ch[i], PIT_FIELDS, ch[i], `8254 PIT channel ${i}`);
    p.ch[i].latch = ch[i].latch as number[]; // (a fresh list from the state, which put() cannot fill)
  }
  (p as unknown as { speaker: number }).speaker = Number(s.speaker);
  timerRestore(p.ch[0].timer, s.timer0);
  // (files from before lost ticks were kept: none lost, the timer was set for a rise)
  p.lost = typeof s.lost === "number" ? s.lost : 0;
  const t = p.ch[0].timer;
  p.dueAt = typeof s.dueAt === "number" ? s.dueAt : t?.armed ? p.ch[0].ticks(t.deadline) : Infinity;
}

// Reads of ports 0x40-0x42 and 0x61 on a vCPU thread, from the machine's shared PIT state (the
// device thread's Pit stays the one that handles writes and fires IRQ0). A device-thread round
// trip per read costs tens of µs when the host is busy, more than Linux's quick PIT calibration
// allows between two TSC reads ("Fast TSC calibration failed"); here a read costs what a PM
// timer read does. `now` is the machine-wide latest time (clock.ts latestNs), so a read on one
// vCPU is never older than a TSC read on another.
export class PitReader {
  private readonly pit: Pit;
  constructor(region: PitStateRegion, now: () => number) {
    this.pit = new Pit(new TimerQueue({ now }), undefined, region, true);
  }
  // the value, or -1 for a port this does not serve
  read(port: number): number {
    return (port >= 0x40 && port <= 0x42) || port === 0x61 ? this.pit.read(port, 1) : -1;
  }
}
