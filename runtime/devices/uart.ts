// National Semiconductor 16550A UART (COM1 0x3F8/IRQ4, COM2 0x2F8/IRQ3). Transmission is
// instantaneous: a byte written to THR goes to the host sink at once and the transmitter is
// empty again, so LSR always shows THRE|TEMT. Reception goes through the 16-byte FIFO with the
// FCR trigger level and the character timeout; bytes beyond the FIFO wait in a host queue (no
// overruns from a fast host). Interrupt identification follows the 16550A priority order, and
// the THRE interrupt behaves as Linux's 8250 driver tests for: it is pending whenever THR is
// empty and ETBEI was just enabled, cleared by reading IIR (while it is the reported source) or
// by writing THR. The IRQ line is gated by MCR.OUT2 as on the PC; loopback mode (MCR bit 4)
// routes THR to RBR and the modem control outputs to the modem status inputs.
import type { IoBus, IoHandler } from "../bus.ts";
import type { Timer, TimerQueue } from "../clock.ts";
import type { IrqLine } from "../irq.ts";
import { type DeviceState, expectVersion, pick, put, timerRestore, timerSave } from "../snapshot/persist.ts";

const IER_RDI = 1, IER_THRI = 2, IER_RLSI = 4, IER_MSI = 8;
const LSR_DR = 1, LSR_OE = 2, LSR_BI = 0x10, LSR_THRE = 0x20, LSR_TEMT = 0x40;
const RX_BREAK = 0x100; // a received break in the queues: reads as a zero byte with LSR BI
const MCR_LOOP = 0x10, MCR_OUT2 = 0x08;
const FIFO_SIZE = 16;
const TRIGGER = [1, 4, 8, 14];
const UART_CLOCK = 1843200 / 16; // 115200 baud at divisor 1

export class Uart implements IoHandler {
  ier = 0;
  lcr = 0;
  mcr = 0;
  lsrErr = 0; // OE latched until LSR is read
  msr = 0;
  scr = 0;
  dll = 0x0c; // 9600 baud until the guest programs it
  dlm = 0;
  fifoEnabled = false;
  trigger = 1;
  private readonly rx: number[] = []; // the receive FIFO (or the single RBR without FIFOs)
  private readonly pending: number[] = []; // host bytes not yet in the FIFO
  private thrIntr = false; // THRE interrupt pending
  private timeout = false; // character timeout indication
  private readonly toTimer?: Timer;
  private irqLevel = false;
  onOutput: (byte: number) => void = () => {};
  // called when the guest drains input so a host source can offer more
  onRxSpace: () => void = () => {};

  constructor(readonly base: number, private readonly irq?: IrqLine, private readonly timers?: TimerQueue) {
    this.toTimer = timers?.timer(() => {
      if (this.rx.length) this.timeout = true;
      this.update();
    });
    this.reset();
  }

  attach(io: IoBus): void {
    io.register(this.base, 8, this);
  }

  reset(): void {
    this.ier =
      this.lcr =
      this.mcr =
      this.lsrErr =
      this.scr =
        0;
    this.dll = 0x0c;
    this.dlm = 0;
    this.fifoEnabled = false;
    this.trigger = 1;
    this.rx.length = 0;
    this.thrIntr = false;
    this.timeout = false;
    this.toTimer?.cancel();
    this.msr = this.modemInputs();
    this.update();
  }

  // host -> guest
  receive(bytes: Uint8Array | number[]): void {
    for (const b of bytes) this.pending.push(b & 0xff);
    this.fill();
  }

  // host -> guest: a break condition (a zero character with LSR BI), e.g. for Linux's magic SysRq
  receiveBreak(): void {
    this.pending.push(RX_BREAK);
    this.fill();
  }

  get rxQueued(): number {
    return this.rx.length + this.pending.length;
  }

  private get capacity(): number {
    return this.fifoEnabled ? FIFO_SIZE : 1;
  }

  private fill(): void {
    if (this.mcr & MCR_LOOP) return;
    let moved = false;
    while (this.pending.length && this.rx.length < this.capacity) {
      this.rx.push(this.pending.shift()!);
      moved = true;
    }
    if (moved) this.armTimeout();
    this.update();
  }

  private loopbackByte(b: number): void {
    if (this.rx.length < this.capacity) this.rx.push(b);
    else this.lsrErr |= LSR_OE;
    this.armTimeout();
  }

  // four character times without FIFO activity
  private armTimeout(): void {
    this.timeout = false;
    if (!this.toTimer) return;
    const div = (this.dlm << 8 | this.dll) || 0x10000;
    const charNs = 10 * 1e9 * div / UART_CLOCK;
    this.toTimer.set(this.timers!.clock.now() + 4 * charNs);
  }

  private modemInputs(): number {
    if (this.mcr & MCR_LOOP) {
      const m = this.mcr;
      // RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD
      return (m & 2 ? 0x10 : 0) | (m & 1 ? 0x20 : 0) | (m & 4 ? 0x40 : 0) | (m & 8 ? 0x80 : 0);
    }
    return 0xb0; // a terminal is attached: DCD, DSR, CTS
  }

  private setModemInputs(): void {
    const now = this.modemInputs();
    const old = this.msr & 0xf0;
    let delta = (now ^ old) >> 4 & 0x0b; // DCTS, DDSR, DDCD
    if (old & 0x40 && !(now & 0x40)) delta |= 4; // TERI: trailing edge of RI
    this.msr = now | (this.msr & 0x0f) | delta;
  }

  private get dataReady(): boolean {
    return this.rx.length > 0;
  }

  // the interrupt the IIR would report now: 0x06 RLS, 0x04 RDA, 0x0C timeout, 0x02 THRE,
  // 0x00 modem status, 0x01 none
  private iirId(): number {
    if (this.ier & IER_RLSI && this.lsrErr) return 0x06;
    if (this.ier & IER_RDI) {
      if (this.rx.length >= (this.fifoEnabled ? this.trigger : 1)) return 0x04;
      if (this.fifoEnabled && this.timeout && this.rx.length) return 0x0c;
    }
    if (this.ier & IER_THRI && this.thrIntr) return 0x02;
    if (this.ier & IER_MSI && this.msr & 0x0f) return 0x00;
    return 0x01;
  }

  private update(): void {
    const level = this.iirId() !== 0x01 && (this.mcr & MCR_OUT2) !== 0 && !(this.mcr & MCR_LOOP);
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq?.set(level);
    }
  }

  read(port: number, _size: number): number {
    const dlab = (this.lcr & 0x80) !== 0;
    switch (port - this.base) {
      case 0: {
        if (dlab) return this.dll;
        const b = this.rx.length ? this.rx.shift()! & 0xff : 0;
        this.timeout = false;
        if (this.rx.length) this.armTimeout();
        else this.toTimer?.cancel();
        this.fill();
        this.update();
        if (this.pending.length === 0 && this.rx.length < this.capacity) this.onRxSpace();
        return b;
      }
      case 1:
        return dlab ? this.dlm : this.ier;
      case 2: {
        const id = this.iirId();
        if (id === 0x02) { // reading IIR while it reports THRE clears that interrupt
          this.thrIntr = false;
          this.update();
        }
        return id | (this.fifoEnabled ? 0xc0 : 0);
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5: {
        const brk = this.rx.length && this.rx[0] & RX_BREAK ? LSR_BI : 0;
        const v = (this.dataReady ? LSR_DR : 0) | this.lsrErr | brk | LSR_THRE | LSR_TEMT;
        this.lsrErr = 0;
        this.update();
        return v;
      }
      case 6: {
        const v = this.msr;
        this.msr &= 0xf0;
        this.update();
        return v;
      }
      default:
        return this.scr;
    }
  }

  write(port: number, _size: number, value: number): void {
    value &= 0xff;
    const dlab = (this.lcr & 0x80) !== 0;
    switch (port - this.base) {
      case 0:
        if (dlab) {
          this.dll = value;
          break;
        }
        if (this.mcr & MCR_LOOP) this.loopbackByte(value);
        else this.onOutput(value);
        // the byte leaves at once: THR is empty again and raises THRE
        this.thrIntr = true;
        break;
      case 1:
        if (dlab) {
          this.dlm = value;
          break;
        }
        // enabling ETBEI while THR is empty raises THRE again (what Linux's THRE test expects)
        if (value & IER_THRI && !(this.ier & IER_THRI)) this.thrIntr = true;
        this.ier = value & 0x0f;
        break;
      case 2: { // FCR
        const wasEnabled = this.fifoEnabled;
        this.fifoEnabled = (value & 1) !== 0;
        if (this.fifoEnabled !== wasEnabled || value & 2) {
          this.rx.length = 0;
          this.timeout = false;
          this.toTimer?.cancel();
        }
        if (value & 4) this.thrIntr = true; // transmitter FIFO cleared: empty
        this.trigger = TRIGGER[value >> 6];
        this.fill();
        break;
      }
      case 3:
        this.lcr = value;
        break;
      case 4: {
        const wasLoop = (this.mcr & MCR_LOOP) !== 0;
        this.mcr = value & 0x1f;
        this.setModemInputs();
        if (wasLoop && !(this.mcr & MCR_LOOP)) this.fill();
        break;
      }
      case 5:
      case 6:
        break; // LSR and MSR are read-only (factory test writes ignored)
      default:
        this.scr = value;
    }
    this.update();
  }
}

// ---- persist (ARCHITECTURE.md, "Snapshots"): registers, both receive queues, the timeout timer --
const UART_FIELDS = [
  "ier",
  "lcr",
  "mcr",
  "lsrErr",
  "msr",
  "scr",
  "dll",
  "dlm",
  "fifoEnabled",
  "trigger",
  "rx",
  "pending",
  "thrIntr",
  "timeout",
  "irqLevel",
];
export function saveUart(u: Uart): DeviceState {
  return { v: 1, ...pick(u, UART_FIELDS), toTimer: timerSave((u as unknown as { toTimer?: Timer }).toTimer) };
}
export function restoreUart(u: Uart, state: DeviceState): void {
  const s = expectVersion(`UART ${u.base.toString(16)}`, state, 1);
  put(u, UART_FIELDS, s, `UART ${u.base.toString(16)}`);
  timerRestore((u as unknown as { toTimer?: Timer }).toTimer, s.toTimer);
}
