// Local APIC of one vCPU (xAPIC, MMIO page at IA32_APIC_BASE, normally 0xFEE00000). The
// register file lives in the vCPU's state block page (layout.ts S_LAPIC) at the MMIO offsets,
// so a later in-core fast path (TPR, EOI) sees the same registers; this host model owns the
// behaviour: ID, version, TPR/APR/PPR, EOI (with EOI broadcast to the IO-APIC for level-
// triggered vectors), LDR/DFR (flat and cluster logical destinations), SVR software enable,
// ISR/TMR/IRR, ESR, ICR (fixed, lowest priority, NMI, INIT/SIPI handed to the machine), the LVT
// (timer, thermal, performance, LINT0/LINT1, error) and the timer in one-shot and periodic mode
// with the divide configuration register, counting against the machine clock.
//
// SMP: every bit of state lives in the shared register page, so the owning vCPU's thread serves
// its own APIC while other threads deliver into it: IRR/TMR bits and the NMI/ExtINT/SIPI words
// below the register file change only with atomics (see apicAccept and runtime/vcpu/apicbus.ts).
// The owner alone writes everything else.
import type { Timer, TimerQueue } from "../clock.ts";
import type { ApicMessage } from "./ioapic.ts";

export const LAPIC_BASE = 0xfee00000;
export const APIC_BASE_ENABLE = 0x800;
export const APIC_BASE_BSP = 0x100;
// the APIC timer's input clock (the "bus clock"): 1 GHz, so one tick is one nanosecond
export const LAPIC_TIMER_HZ = 1e9;

export const R = {
  ID: 0x020,
  VERSION: 0x030,
  TPR: 0x080,
  APR: 0x090,
  PPR: 0x0a0,
  EOI: 0x0b0,
  RRD: 0x0c0,
  LDR: 0x0d0,
  DFR: 0x0e0,
  SVR: 0x0f0,
  ISR: 0x100,
  TMR: 0x180,
  IRR: 0x200,
  ESR: 0x280,
  CMCI: 0x2f0,
  ICR_LO: 0x300,
  ICR_HI: 0x310,
  LVT_TIMER: 0x320,
  LVT_THERMAL: 0x330,
  LVT_PERF: 0x340,
  LVT_LINT0: 0x350,
  LVT_LINT1: 0x360,
  LVT_ERROR: 0x370,
  TIMER_INIT: 0x380,
  TIMER_CUR: 0x390,
  TIMER_DIV: 0x3e0,
} as const;

// words past the architectural registers (the page is 4 KiB, the registers end at 0x400)
export const LX_EXTINT = 0x800; // an ExtINT message arrived: the vector comes from the 8259A
export const LX_NMI = 0x804; // an NMI message arrived
export const LX_SIPI = 0x808; // vector of the last STARTUP IPI
export const LX_STATE = 0x80c; // CPU run state, CPU_* below
export const LX_TIMER_START = 0x810; // f64: clock time the current count started from
export const LX_DEADLINE = 0x818; // f64: when the timer fires next (Infinity: not armed)
export const LX_TIMER_SEEN = 0x820; // f64: periodic mode: periods since the start counted, plus 1 (0: none yet)
export const LX_TIMER_LOST = 0x828; // f64: periodic ticks lost, to be sent again
export const CPU_RUNNING = 0, CPU_WAIT_SIPI = 1, CPU_STOPPED = 2;

const MASK = 1 << 16;
// lost periodic ticks: at most a second's worth are kept; while some are, the IRR is looked at
// every quarter period (at least every 1 ms, at most every 100 us)
const LOST_MAX_NS = 1e9;
const RETRY_MIN_NS = 100_000, RETRY_MAX_NS = 1_000_000;
const SVR_ENABLE = 0x100;
const LVT_OFFSETS = [R.CMCI, R.LVT_TIMER, R.LVT_THERMAL, R.LVT_PERF, R.LVT_LINT0, R.LVT_LINT1, R.LVT_ERROR];
// bits the guest can write in each LVT entry (delivery status and remote IRR are read-only)
const LVT_WMASK: Record<number, number> = {
  [R.LVT_TIMER]: 0x700ff,
  [R.LVT_THERMAL]: 0x107ff,
  [R.LVT_PERF]: 0x107ff,
  [R.LVT_LINT0]: 0x1a7ff,
  [R.LVT_LINT1]: 0x1a7ff,
  [R.LVT_ERROR]: 0x100ff,
  [R.CMCI]: 0x107ff,
};

export interface LapicHost {
  // an interrupt may now be deliverable to this CPU: set ATTN_IRQ
  kick(): void;
  // EOI of a level-triggered vector: tell the IO-APIC(s)
  eoiBroadcast(vector: number): void;
  // interprocessor interrupt from this APIC's ICR
  ipi(from: Lapic, m: ApicMessage, shorthand: number): void;
  // periodic ticks lost to a late thread are dropped (merged into the one sent), not sent again:
  // for vCPU threads that outnumber the host's cores (see timerFire)
  dropLostTicks?: boolean;
}

// Fixed/lowest-priority acceptance into a register page from any thread; the caller then sets
// ATTN_IRQ on the owner. TMR before IRR: the owner never sees the vector without its trigger mode.
export function apicAccept(regs: Uint32Array, vector: number, level: boolean): boolean {
  if (vector < 16) {
    Atomics.or(regs, R.ESR >> 2, 0x40); // received illegal vector
    return false;
  }
  const i = (vector >> 5) << 2, bit = 1 << (vector & 31);
  if (level) Atomics.or(regs, (R.TMR >> 2) + i, bit);
  else Atomics.and(regs, (R.TMR >> 2) + i, ~bit);
  Atomics.or(regs, (R.IRR >> 2) + i, bit);
  return true;
}

export class Lapic {
  private readonly timer: Timer;
  private readonly f64: Float64Array;

  // regs: the 4 KiB register page (1024 words) of this vCPU. `fresh`: false when the page
  // already holds this APIC's state (a vCPU thread taking it over) and must not be reset.
  constructor(
    readonly regs: Uint32Array,
    readonly cpu: number,
    private readonly timers: TimerQueue,
    private readonly host: LapicHost,
    fresh = true,
  ) {
    this.f64 = new Float64Array(regs.buffer, regs.byteOffset, regs.length >> 1);
    this.timer = timers.timer((now) => this.timerFire(now));
    if (fresh) this.reset(cpu === 0);
    else this.armTimer(timers.clock.now(), false);
  }

  get extIntPending(): boolean {
    return Atomics.load(this.regs, LX_EXTINT >> 2) !== 0;
  }
  set extIntPending(v: boolean) {
    Atomics.store(this.regs, LX_EXTINT >> 2, v ? 1 : 0);
  }
  get nmiPending(): boolean {
    return Atomics.load(this.regs, LX_NMI >> 2) !== 0;
  }
  set nmiPending(v: boolean) {
    Atomics.store(this.regs, LX_NMI >> 2, v ? 1 : 0);
  }
  private get timerStart(): number {
    return this.f64[LX_TIMER_START >> 3];
  }
  private set timerStart(t: number) {
    this.f64[LX_TIMER_START >> 3] = t;
  }
  // divide configuration register: 2, 4, ... 128, or 1
  private get timerDiv(): number {
    const v = this.r(R.TIMER_DIV);
    const x = (v & 3) | ((v & 8) >> 1);
    return x === 7 ? 1 : 2 << x;
  }
  // when the timer fires next, for threads that wake this vCPU at its deadline
  get deadline(): number {
    return this.f64[LX_DEADLINE >> 3];
  }
  private setDeadline(t: number): void {
    this.f64[LX_DEADLINE >> 3] = t;
    if (t === Infinity) this.timer.cancel();
    else this.timer.set(t);
  }

  private r(off: number): number {
    return this.regs[off >> 2];
  }
  private w(off: number, v: number): void {
    this.regs[off >> 2] = v >>> 0;
  }

  get id(): number {
    return this.r(R.ID) >>> 24;
  }

  // power-on / INIT state. The BSP's LINT0 is left in virtual-wire mode (ExtINT) and LINT1 as
  // NMI, the way PC firmware programs them before an OS starts.
  reset(bsp: boolean): void {
    this.regs.fill(0, 0, 0x400 >> 2);
    // LX_SIPI is bus message data, not APIC state: Linux may send INIT and STARTUP so close
    // together that the STARTUP vector lands before this CPU's thread acts on the INIT
    this.regs.fill(0, LX_EXTINT >> 2, LX_SIPI >> 2);
    this.timerStart = 0;
    this.f64[LX_TIMER_SEEN >> 3] = this.f64[LX_TIMER_LOST >> 3] = 0;
    this.w(R.ID, this.cpu << 24);
    this.w(R.VERSION, 0x00050014); // integrated APIC, 6 LVT entries
    this.w(R.DFR, 0xffffffff);
    this.w(R.SVR, 0xff);
    for (const o of LVT_OFFSETS) this.w(o, MASK);
    if (bsp) {
      this.w(R.LVT_LINT0, 0x700);
      this.w(R.LVT_LINT1, 0x400);
    }
    this.setDeadline(Infinity);
  }

  get softwareEnabled(): boolean {
    return (this.r(R.SVR) & SVR_ENABLE) !== 0;
  }

  // ---- vector bitmaps ------------------------------------------------------------------------
  private testBit(base: number, v: number): boolean {
    return (Atomics.load(this.regs, (base >> 2) + ((v >> 5) << 2)) & (1 << (v & 31))) !== 0;
  }
  // atomic: other threads set IRR/TMR bits concurrently
  private setBit(base: number, v: number, on: boolean): void {
    const i = (base >> 2) + ((v >> 5) << 2);
    if (on) Atomics.or(this.regs, i, 1 << (v & 31));
    else Atomics.and(this.regs, i, ~(1 << (v & 31)));
  }
  private highest(base: number): number {
    for (let w = 7; w >= 0; w--) {
      const x = Atomics.load(this.regs, (base >> 2) + (w << 2));
      if (x) return (w << 5) + 31 - Math.clz32(x);
    }
    return -1;
  }

  get ppr(): number {
    const tpr = this.r(R.TPR) & 0xff;
    const isrv = Math.max(this.highest(R.ISR), 0);
    return (tpr & 0xf0) >= (isrv & 0xf0) ? tpr : isrv & 0xf0;
  }

  // ---- interrupt acceptance and delivery ------------------------------------------------------
  // A fixed/lowest-priority interrupt message for this APIC.
  accept(vector: number, level: boolean): void {
    if (apicAccept(this.regs, vector, level)) this.host.kick();
  }

  message(m: ApicMessage): void {
    switch (m.mode) {
      case 0:
      case 1:
        this.accept(m.vector, m.level);
        break;
      case 4:
        this.nmiPending = true;
        this.host.kick();
        break;
      case 7:
        this.extIntPending = true;
        this.host.kick();
        break;
      default:
        break; // SMI; INIT and SIPI are handled by the machine
    }
  }

  // highest pending vector that beats the processor priority, or -1
  deliverable(): number {
    if (!this.softwareEnabled) return -1;
    const v = this.highest(R.IRR);
    if (v < 0 || (v & 0xf0) <= (this.ppr & 0xf0)) return -1;
    return v;
  }

  // INTA: move the vector from IRR to ISR
  ack(): number {
    const v = this.deliverable();
    if (v < 0) return -1;
    this.setBit(R.IRR, v, false);
    this.setBit(R.ISR, v, true);
    return v;
  }

  // LINT0 passes the 8259A's INTR (virtual wire mode)
  get picRouted(): boolean {
    const l = this.r(R.LVT_LINT0);
    return !(l & MASK) && ((l >> 8) & 7) === 7;
  }

  // ---- logical/physical destination ------------------------------------------------------------
  matches(dest: number, logical: boolean): boolean {
    if (!logical) return dest === 0xff || dest === this.id;
    if (dest === 0xff) return true;
    const ldr = this.r(R.LDR) >>> 24;
    if ((this.r(R.DFR) >>> 28) === 0xf) return (ldr & dest) !== 0; // flat model
    // cluster model: high nibble = cluster, low nibble = members
    return ((dest >> 4) === (ldr >> 4) || (dest >> 4) === 0xf) && (ldr & dest & 0xf) !== 0;
  }

  // ---- timer ------------------------------------------------------------------------------------
  private get tickNs(): number {
    return this.timerDiv * 1e9 / LAPIC_TIMER_HZ;
  }

  private timerMode(): number {
    return (this.r(R.LVT_TIMER) >> 17) & 3;
  }

  currentCount(now: number): number {
    const init = this.r(R.TIMER_INIT);
    if (init === 0) return 0;
    const ticks = Math.floor((now - this.timerStart) / this.tickNs);
    if (this.timerMode() === 1) return init - (ticks % init);
    return Math.max(0, init - ticks);
  }

  // `reprogrammed`: the count, mode or rate changed (periods are counted again from here, and
  // ticks lost before are dropped)
  private armTimer(now: number, reprogrammed = true): void {
    const init = this.r(R.TIMER_INIT);
    if (reprogrammed) this.f64[LX_TIMER_SEEN >> 3] = this.f64[LX_TIMER_LOST >> 3] = 0;
    if (init === 0) {
      this.setDeadline(Infinity);
      return;
    }
    const period = init * this.tickNs;
    const elapsed = now - this.timerStart;
    if (this.timerMode() === 1) {
      const k = Math.floor(elapsed / period);
      if (!this.f64[LX_TIMER_SEEN >> 3]) this.f64[LX_TIMER_SEEN >> 3] = k + 1;
      let t = this.timerStart + (k + 1) * period;
      if (this.f64[LX_TIMER_LOST >> 3] > 0) {
        t = Math.min(t, now + Math.min(RETRY_MAX_NS, Math.max(RETRY_MIN_NS, period / 4)));
      }
      this.setDeadline(t);
    } else if (elapsed < period) {
      this.setDeadline(this.timerStart + period);
    } else {
      this.setDeadline(Infinity);
    }
  }

  // Periodic mode sends lost ticks again (KVM's reinjection; devices/pit.ts does it for IRQ0):
  // the periods that passed while this vCPU's thread was descheduled (its timer fires late, once)
  // and the ticks that merged with one still waiting in the IRR (the guest spinning with
  // interrupts off, perhaps for a vCPU the host descheduled: far longer than on a PC) are counted
  // and sent one by one, each when the guest has ended the one before with an EOI (or at a retry
  // a quarter period on, if the IRR is free by then).
  // Not when the host says dropLostTicks (vCPU threads outnumber the host's cores, runtime/vcpu/
  // worker.ts): a vCPU there gets a small share of a core, and a guest tick handler that costs
  // more than that share of a period fell further behind with every tick sent again; 64 vCPUs on
  // 2 cores ran nothing but tick handlers (an RCU stall at one EIP for minutes). KVM merges a
  // late LAPIC tick too.
  private timerFire(now: number): void {
    this.f64[LX_DEADLINE >> 3] = Infinity; // the queue disarmed it; periodic mode re-arms below
    const lvt = this.r(R.LVT_TIMER);
    const masked = (lvt & MASK) !== 0;
    if (this.timerMode() !== 1) {
      if (!masked) this.accept(lvt & 0xff, false);
      return;
    }
    const period = this.r(R.TIMER_INIT) * this.tickNs;
    const k = Math.floor((now - this.timerStart) / period);
    const rises = k + 1 - this.f64[LX_TIMER_SEEN >> 3];
    if (masked) this.f64[LX_TIMER_LOST >> 3] = 0;
    else if (rises > 0) {
      // a period's tick, the ones this thread was too late for, and this one too if it merges
      // with the one before, still waiting in the IRR
      const vector = lvt & 0xff;
      this.f64[LX_TIMER_SEEN >> 3] = k + 1;
      if (!this.host.dropLostTicks) {
        this.f64[LX_TIMER_LOST >> 3] = Math.min(
          this.f64[LX_TIMER_LOST >> 3] + rises - 1 + (this.testBit(R.IRR, vector) ? 1 : 0),
          Math.ceil(LOST_MAX_NS / period),
        );
      }
      this.accept(vector, false);
    } else if (this.f64[LX_TIMER_LOST >> 3] > 0) this.resendLost(lvt);
    this.armTimer(now, false);
  }

  // ---- register access --------------------------------------------------------------------------
  read(off: number, size: number): number {
    const reg = off & 0xff0;
    let v: number;
    switch (reg) {
      case R.PPR:
        v = this.ppr;
        break;
      case R.APR:
        v = this.r(R.TPR) & 0xff;
        break;
      case R.TIMER_CUR:
        v = this.currentCount(this.timers.clock.now());
        break;
      case R.EOI:
      case R.RRD:
        v = 0;
        break;
      default:
        v = reg < 0x400 ? this.r(reg) : 0;
    }
    const sh = 8 * (off & 3);
    return size === 4 ? v >>> 0 : (v >>> sh) & (size === 2 ? 0xffff : 0xff);
  }

  write(off: number, _size: number, v: number): void {
    const reg = off & 0xff0;
    v >>>= 0;
    const now = this.timers.clock.now();
    switch (reg) {
      case R.ID:
        this.w(R.ID, v & 0xff000000);
        break;
      case R.TPR:
        this.w(R.TPR, v & 0xff);
        break;
      case R.EOI:
        this.eoi();
        break;
      case R.LDR:
        this.w(R.LDR, v & 0xff000000);
        break;
      case R.DFR:
        this.w(R.DFR, v | 0x0fffffff);
        break;
      case R.SVR: {
        this.w(R.SVR, v & 0x13ff);
        if (!(v & SVR_ENABLE)) { for (const o of LVT_OFFSETS) this.w(o, this.r(o) | MASK); }
        break;
      }
      case R.ESR:
        Atomics.store(this.regs, R.ESR >> 2, 0);
        break; // a write latches (here: clears) the error status
      case R.ICR_LO:
        this.w(R.ICR_LO, v & 0xccfff);
        this.sendIpi();
        break;
      case R.ICR_HI:
        this.w(R.ICR_HI, v & 0xff000000);
        break;
      case R.TIMER_INIT:
        this.w(R.TIMER_INIT, v);
        this.timerStart = now;
        this.armTimer(now);
        break;
      case R.TIMER_DIV: {
        // keep the count where it is and continue at the new rate
        const cur = this.currentCount(now);
        this.w(R.TIMER_DIV, v & 0xb);
        const init = this.r(R.TIMER_INIT);
        if (init) this.timerStart = now - (init - cur) * this.tickNs;
        this.armTimer(now);
        break;
      }
      default:
        if (reg in LVT_WMASK) {
          const old = this.r(reg);
          let nv = (old & ~LVT_WMASK[reg]) | (v & LVT_WMASK[reg]);
          if (!this.softwareEnabled) nv |= MASK;
          this.w(reg, nv);
          if (reg === R.LVT_TIMER && ((old ^ nv) >> 17) & 3) this.armTimer(now);
        }
        // everything else is read-only
    }
    this.host.kick();
  }

  private eoi(): void {
    const v = this.highest(R.ISR);
    if (v < 0) return;
    this.setBit(R.ISR, v, false);
    if (this.testBit(R.TMR, v)) this.host.eoiBroadcast(v);
    // the timer's tick handled: a lost one follows at once (as fast as the guest takes them)
    const lvt = this.r(R.LVT_TIMER);
    if ((lvt & 0xff) === v && this.f64[LX_TIMER_LOST >> 3] > 0) this.resendLost(lvt);
  }

  // one lost periodic tick sent again, when the one before is no longer waiting in the IRR
  private resendLost(lvt: number): void {
    const vector = lvt & 0xff;
    if (this.timerMode() !== 1 || lvt & MASK || this.testBit(R.IRR, vector)) return;
    this.f64[LX_TIMER_LOST >> 3]--;
    this.accept(vector, false);
  }

  private sendIpi(): void {
    const lo = this.r(R.ICR_LO);
    const m: ApicMessage = {
      vector: lo & 0xff,
      mode: (lo >> 8) & 7,
      logical: (lo & (1 << 11)) !== 0,
      dest: this.r(R.ICR_HI) >>> 24,
      level: (lo & (1 << 15)) !== 0,
    };
    // an INIT level de-assert is a no-op on P6 and later
    if (m.mode === 5 && m.level && !(lo & (1 << 14))) return;
    this.host.ipi(this, { ...m, level: false }, (lo >> 18) & 3);
  }
}

// ---- persist (ARCHITECTURE.md, "Snapshots"): every register, the run state and the timer's start
// and deadline live in the vCPU's state page, which the snapshot saves with the vCPU; restoring
// only arms the host timer again at the saved deadline.
export function restoreLapicTimer(l: Lapic): void {
  const t = (l as unknown as { timer: Timer }).timer;
  const d = l.deadline;
  if (d === Infinity || Number.isNaN(d)) t.cancel();
  else t.set(d);
}
