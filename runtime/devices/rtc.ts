// Motorola MC146818 real-time clock and CMOS RAM (index port 0x70 with the NMI mask in bit 7,
// data port 0x71; the upper 128 bytes through 0x72/0x73). The time is the host's wall clock
// (UTC) at power-on advanced by the machine clock, plus whatever offset the guest sets.
// Register A: UIP flag during the last 244 us of each second, DV and the periodic rate;
// register B: SET (freezes the time registers for setting), PIE/AIE/UIE, binary vs. BCD, 12/24
// hour; register C: IRQF/PF/AF/UF, cleared by reading; register D: VRT. The IRQ8 line follows
// IRQF. Flags for events nobody asked an interrupt for are computed when register C is read.
import type { IoBus, IoHandler } from "../bus.ts";
import type { Timer, TimerQueue, WallClock } from "../clock.ts";
import type { IrqLine } from "../irq.ts";
import { type DeviceState, expectVersion, pick, put, timerRestore, timerSave } from "../snapshot/persist.ts";

const REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d;
export const CMOS_CENTURY = 0x32;
const B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_DM_BINARY = 0x04, B_24H = 0x02;
const C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10;
const UIP_NS = 244_000;

interface Fields {
  sec: number;
  min: number;
  hour: number;
  day: number;
  mon: number; // 1..12
  year: number; // four digits
}

const bcd = (v: number): number => ((v / 10) | 0) << 4 | v % 10;
const unbcd = (v: number): number => (v >> 4) * 10 + (v & 15);

export class Rtc implements IoHandler {
  readonly cmos = new Uint8Array(256);
  index = 0;
  index2 = 0;
  nmiMasked = true;
  private offsetMs = 0; // guest time - (power-on wall time + machine time)
  private wall0: number;
  private frozen: Fields | null = null; // the time registers while SET = 1
  private lastPeriod = 0;
  private lastSecond = 0;
  private readonly timer: Timer;

  constructor(private readonly timers: TimerQueue, private readonly irq?: IrqLine, wall: WallClock = Date.now) {
    this.wall0 = wall();
    this.timer = timers.timer((now) => this.tick(now));
    this.reset();
  }

  attach(io: IoBus): void {
    io.register(0x70, 4, this);
  }

  reset(): void {
    const c = this.cmos;
    c[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
    c[REG_B] = B_24H;
    c[REG_C] = 0;
    c[REG_D] = 0x80; // valid RAM and time
    this.frozen = null;
    const now = this.clockNs();
    this.lastPeriod = this.periodIndex(now);
    this.lastSecond = Math.floor(this.guestMs(now) / 1000);
    this.timer.cancel();
    this.irq?.lower();
  }

  // Memory size fields the BIOS would leave behind (harmless for Linux, used by some tools).
  setMemory(ramBytes: number): void {
    const c = this.cmos;
    const kb = Math.min(0xffff, Math.max(0, (ramBytes - 0x100000) >> 10));
    c[0x15] = 640 & 0xff;
    c[0x16] = 640 >> 8;
    c[0x17] = c[0x30] = kb & 0xff;
    c[0x18] = c[0x31] = kb >> 8;
    const above16 = Math.min(0xffff, Math.max(0, (ramBytes - 0x1000000) >> 16));
    c[0x34] = above16 & 0xff;
    c[0x35] = above16 >> 8;
    c[0x14] = 0x02; // equipment: math coprocessor present
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += c[i];
    c[0x2e] = (sum >> 8) & 0xff;
    c[0x2f] = sum & 0xff;
  }

  private clockNs(): number {
    return this.timers.clock.now();
  }

  guestMs(now: number): number {
    return this.wall0 + now / 1e6 + this.offsetMs;
  }

  private fields(now: number): Fields {
    if (this.frozen) return { ...this.frozen };
    const d = new Date(Math.floor(this.guestMs(now)));
    return {
      sec: d.getUTCSeconds(),
      min: d.getUTCMinutes(),
      hour: d.getUTCHours(),
      day: d.getUTCDate(),
      mon: d.getUTCMonth() + 1,
      year: d.getUTCFullYear(),
    };
  }

  private setFields(f: Fields, now: number): void {
    if (this.frozen) {
      this.frozen = f;
      return;
    }
    const ms = Date.UTC(f.year, f.mon - 1, f.day, f.hour, f.min, f.sec);
    // setting the time restarts the second: the next update is a full second away
    this.offsetMs = ms - (this.wall0 + now / 1e6);
    this.lastSecond = Math.floor(this.guestMs(now) / 1000);
    this.arm(now);
  }

  private get binary(): boolean {
    return (this.cmos[REG_B] & B_DM_BINARY) !== 0;
  }

  private enc(v: number): number {
    return this.binary ? v : bcd(v);
  }

  private dec(v: number): number {
    return this.binary ? v : unbcd(v);
  }

  private encHour(h: number): number {
    if (this.cmos[REG_B] & B_24H) return this.enc(h);
    return this.enc(h % 12 || 12) | (h >= 12 ? 0x80 : 0);
  }

  private decHour(v: number): number {
    if (this.cmos[REG_B] & B_24H) return this.dec(v);
    const h = this.dec(v & 0x7f) % 12;
    return v & 0x80 ? h + 12 : h;
  }

  private readTime(reg: number, now: number): number {
    const f = this.fields(now);
    switch (reg) {
      case 0:
        return this.enc(f.sec);
      case 2:
        return this.enc(f.min);
      case 4:
        return this.encHour(f.hour);
      case 6:
        return new Date(Date.UTC(f.year, f.mon - 1, f.day)).getUTCDay() + 1;
      case 7:
        return this.enc(f.day);
      case 8:
        return this.enc(f.mon);
      case 9:
        return this.enc(f.year % 100);
      default:
        return this.enc(Math.floor(f.year / 100)); // century
    }
  }

  private writeTime(reg: number, v: number, now: number): void {
    const f = this.fields(now);
    switch (reg) {
      case 0:
        f.sec = this.dec(v & 0x7f);
        break;
      case 2:
        f.min = this.dec(v);
        break;
      case 4:
        f.hour = this.decHour(v);
        break;
      case 6:
        return; // day of week follows from the date
      case 7:
        f.day = this.dec(v);
        break;
      case 8:
        f.mon = this.dec(v);
        break;
      case 9:
        f.year = Math.floor(f.year / 100) * 100 + this.dec(v);
        break;
      default:
        f.year = this.dec(v) * 100 + f.year % 100;
    }
    this.setFields(f, now);
  }

  private periodNs(): number {
    const rs = this.cmos[REG_A] & 15;
    if (rs === 0 || (this.cmos[REG_A] & 0x70) !== 0x20) return 0;
    return (1 << (rs < 3 ? rs + 6 : rs - 1)) * 1e9 / 32768;
  }

  private periodIndex(now: number): number {
    const p = this.periodNs();
    return p ? Math.floor(now / p) : 0;
  }

  private alarmMatches(now: number): boolean {
    const c = this.cmos;
    const f = this.fields(now);
    const m = (alarm: number, v: number) => (alarm & 0xc0) === 0xc0 || alarm === v;
    return m(c[5], this.encHour(f.hour)) && m(c[3], this.enc(f.min)) && m(c[1], this.enc(f.sec));
  }

  // bring the C flags up to date with the time `now`
  private account(now: number): void {
    const c = this.cmos;
    const p = this.periodIndex(now);
    if (this.periodNs() && p > this.lastPeriod) c[REG_C] |= C_PF;
    this.lastPeriod = p;
    if (!this.frozen && (c[REG_A] & 0x70) === 0x20) {
      const s = Math.floor(this.guestMs(now) / 1000);
      if (s > this.lastSecond) {
        c[REG_C] |= C_UF;
        if (this.alarmMatches(now)) c[REG_C] |= C_AF;
      }
      this.lastSecond = s;
    }
    this.updateIrq();
  }

  private updateIrq(): void {
    const c = this.cmos;
    const pending = c[REG_C] & c[REG_B] & (C_PF | C_AF | C_UF);
    if (pending) c[REG_C] |= C_IRQF;
    else c[REG_C] &= ~C_IRQF;
    this.irq?.set(pending !== 0);
  }

  private tick(now: number): void {
    this.account(now);
    this.arm(now);
  }

  private arm(now: number): void {
    const b = this.cmos[REG_B];
    let d = Infinity;
    const p = this.periodNs();
    if (b & B_PIE && p) d = (Math.floor(now / p) + 1) * p;
    if (b & (B_UIE | B_AIE) && !this.frozen) {
      const nextSec = (Math.floor(this.guestMs(now) / 1000) + 1) * 1000;
      d = Math.min(d, now + (nextSec - this.guestMs(now)) * 1e6);
    }
    if (d === Infinity) this.timer.cancel();
    else this.timer.set(Math.ceil(d));
  }

  readReg(reg: number): number {
    const now = this.clockNs();
    const c = this.cmos;
    switch (reg) {
      case 0:
      case 2:
      case 4:
      case 6:
      case 7:
      case 8:
      case 9:
      case CMOS_CENTURY:
        return this.readTime(reg, now);
      case REG_A: {
        const uip = !this.frozen && (c[REG_A] & 0x70) === 0x20 &&
          (this.guestMs(now) % 1000) * 1e6 >= 1e9 - UIP_NS;
        return (c[REG_A] & 0x7f) | (uip ? 0x80 : 0);
      }
      case REG_C: {
        this.account(now);
        const v = c[REG_C];
        c[REG_C] = 0;
        this.updateIrq();
        this.arm(now);
        return v;
      }
      default:
        return c[reg];
    }
  }

  writeReg(reg: number, v: number): void {
    const now = this.clockNs();
    const c = this.cmos;
    switch (reg) {
      case 0:
      case 2:
      case 4:
      case 6:
      case 7:
      case 8:
      case 9:
      case CMOS_CENTURY:
        this.writeTime(reg, v, now);
        return;
      case REG_A:
        this.account(now);
        c[REG_A] = v & 0x7f;
        this.lastPeriod = this.periodIndex(now);
        this.arm(now);
        return;
      case REG_B: {
        this.account(now);
        if (v & B_SET) {
          if (!this.frozen) this.frozen = this.fields(now);
          v &= ~B_UIE;
          c[REG_B] = v;
        } else {
          c[REG_B] = v; // mode bits first: the frozen fields are numbers, not encodings
          if (this.frozen) {
            const f = this.frozen;
            this.frozen = null;
            this.setFields(f, now);
          }
        }
        this.updateIrq();
        this.arm(now);
        return;
      }
      case REG_C:
      case REG_D:
        return; // read-only
      default:
        c[reg] = v;
    }
  }

  read(port: number, _size: number): number {
    switch (port) {
      case 0x71:
        return this.readReg(this.index);
      case 0x73:
        return this.cmos[0x80 | this.index2];
      default:
        return 0xff; // the index registers are write-only
    }
  }

  write(port: number, _size: number, value: number): void {
    value &= 0xff;
    switch (port) {
      case 0x70:
        this.index = value & 0x7f;
        this.nmiMasked = (value & 0x80) !== 0;
        break;
      case 0x71:
        this.writeReg(this.index, value);
        break;
      case 0x72:
        this.index2 = value & 0x7f;
        break;
      case 0x73:
        this.cmos[0x80 | this.index2] = value;
        break;
    }
  }
}

// ---- persist (ARCHITECTURE.md, "Snapshots"): CMOS, index, the guest's time offset and the power-on
// wall time (a restored guest's RTC goes on from the saved moment, as its other clocks do)
const RTC_FIELDS = ["cmos", "index", "index2", "nmiMasked", "offsetMs", "wall0", "frozen", "lastPeriod", "lastSecond"];
export function saveRtc(r: Rtc): DeviceState {
  return { v: 1, ...pick(r, RTC_FIELDS), timer: timerSave((r as unknown as { timer: Timer }).timer) };
}
export function restoreRtc(r: Rtc, state: DeviceState): void {
  const s = expectVersion("MC146818 RTC", state, 1);
  put(r, RTC_FIELDS, s, "MC146818 RTC");
  timerRestore((r as unknown as { timer: Timer }).timer, s.timer);
}
