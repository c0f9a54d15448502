// ACPI fixed hardware (the PM1a event and control blocks and the PM timer, at the I/O ports the
// FADT advertises) and the SCI. Writing PM1a_CNT with SLP_EN and the DSDT's \_S5 sleep type
// powers the machine off; the host can press the fixed power button. The system is always in
// ACPI mode (FADT SMI_CMD = 0), so SCI_EN reads as 1.
import type { IoBus, IoHandler } from "../bus.ts";
import type { Timer, TimerQueue } from "../clock.ts";
import type { IrqLine } from "../irq.ts";
import { type DeviceState, expectVersion, pick, put, timerRestore, timerSave } from "../snapshot/persist.ts";

export const PM_BASE = 0x600;
export const PM1A_EVT = PM_BASE; // 4 bytes: PM1_STS, PM1_EN
export const PM1A_CNT = PM_BASE + 4; // 2 bytes
export const PM_TMR = PM_BASE + 8; // 4 bytes, 32-bit counter
export const PM_LEN = 12;
export const SCI_IRQ = 9;
export const SLP_TYP_S5 = 5; // the value \_S5 hands to the OS
export const PM_TIMER_HZ = 3579545;

// PM timer ticks since guest time 0 at guest time `ns`, and the 32-bit counter the guest reads:
// the one formula, used by this device and by the vCPU threads that serve PM timer reads
// themselves (runtime/vcpu/imports.ts).
export function pmTimerCount(ns: number): number {
  return Math.floor(ns * PM_TIMER_HZ / 1e9);
}
export function pmTimerTicks(ns: number): number {
  return pmTimerCount(ns) % 0x100000000;
}

const STS_TMR = 1, STS_PWRBTN = 1 << 8, STS_WAK = 1 << 15;
const CNT_SCI_EN = 1, CNT_SLP_EN = 1 << 13;

export class AcpiPm implements IoHandler {
  sts = 0;
  en = 0;
  cnt = CNT_SCI_EN;
  private lastTmrHalf = 0;
  private readonly tmrTimer: Timer;
  onPowerOff: () => void = () => {};
  onSleep: (slpTyp: number) => void = () => {};

  constructor(private readonly timers: TimerQueue, private readonly sci?: IrqLine) {
    this.tmrTimer = timers.timer((now) => {
      this.accountTimer(now);
      this.armTimer(now);
    });
  }

  attach(io: IoBus): void {
    io.register(PM_BASE, PM_LEN, this);
  }

  reset(): void {
    this.sts = this.en = 0;
    this.cnt = CNT_SCI_EN;
    this.tmrTimer.cancel();
    this.lastTmrHalf = this.tmrHalves(this.timers.clock.now());
    this.update();
  }

  timerValue(now: number): number {
    return pmTimerTicks(now);
  }

  // number of times bit 31 of the timer has toggled
  private tmrHalves(now: number): number {
    return Math.floor(pmTimerCount(now) / 0x80000000);
  }

  private accountTimer(now: number): void {
    const h = this.tmrHalves(now);
    if (h !== this.lastTmrHalf) this.sts |= STS_TMR;
    this.lastTmrHalf = h;
    this.update();
  }

  private armTimer(now: number): void {
    if (!(this.en & STS_TMR)) {
      this.tmrTimer.cancel();
      return;
    }
    const next = (this.tmrHalves(now) + 1) * 0x80000000;
    this.tmrTimer.set(Math.ceil(next * 1e9 / PM_TIMER_HZ));
  }

  pressPowerButton(): void {
    this.sts |= STS_PWRBTN;
    this.update();
  }

  private update(): void {
    this.sci?.set((this.sts & this.en & (STS_TMR | STS_PWRBTN)) !== 0 && (this.cnt & CNT_SCI_EN) !== 0);
  }

  private readByte(off: number, now: number): number {
    if (off < 2) return (this.sts >> (8 * off)) & 0xff;
    if (off < 4) return (this.en >> (8 * (off - 2))) & 0xff;
    if (off < 6) return (this.cnt >> (8 * (off - 4))) & 0xff;
    if (off < 8) return 0xff;
    return (this.timerValue(now) >>> (8 * (off - 8))) & 0xff;
  }

  read(port: number, size: number): number {
    const now = this.timers.clock.now();
    const off = port - PM_BASE;
    if (off === 8 && size === 4) return this.timerValue(now);
    if (off < 2) this.accountTimer(now);
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readByte(off + i, now) << (8 * i);
    return v >>> 0;
  }

  write(port: number, size: number, value: number): void {
    const off = port - PM_BASE;
    for (let i = 0; i < size; i++) {
      const o = off + i;
      const b = (value >>> (8 * i)) & 0xff;
      if (o < 2) this.sts &= ~(b << (8 * o)); // write 1 to clear
      else if (o < 4) this.en = (this.en & ~(0xff << (8 * (o - 2)))) | b << (8 * (o - 2));
      else if (o < 6) this.writeCnt(o - 4, b);
    }
    this.armTimer(this.timers.clock.now());
    this.update();
  }

  private writeCnt(byte: number, b: number): void {
    const v = (this.cnt & ~(0xff << (8 * byte))) | b << (8 * byte);
    this.cnt = (v & ~CNT_SLP_EN) | CNT_SCI_EN; // SLP_EN is write-only, SCI_EN fixed in ACPI mode
    if (v & CNT_SLP_EN) {
      const typ = (v >> 10) & 7;
      if (typ === SLP_TYP_S5) this.onPowerOff();
      else {
        this.onSleep(typ);
        this.sts |= STS_WAK; // nothing to sleep on: wake at once
      }
    }
  }
}

// ---- persist (ARCHITECTURE.md, "Snapshots"): PM1 status/enable/control and the timer overflow --
const ACPI_FIELDS = ["sts", "en", "cnt", "lastTmrHalf"];
export function saveAcpi(a: AcpiPm): DeviceState {
  return { v: 1, ...pick(a, ACPI_FIELDS), tmr: timerSave((a as unknown as { tmrTimer: Timer }).tmrTimer) };
}
export function restoreAcpi(a: AcpiPm, state: DeviceState): void {
  const s = expectVersion("ACPI PM", state, 1);
  put(a, ACPI_FIELDS, s, "ACPI PM");
  timerRestore((a as unknown as { tmrTimer: Timer }).tmrTimer, s.tmr);
}
