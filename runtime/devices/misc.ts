// Small motherboard functions: the POST code port 0x80, system control port A (0x92: fast A20
// gate and fast reset), and an i8042 keyboard controller at 0x60/0x64 with just enough of a
// keyboard behind it for Linux's i8042/atkbd probes to finish at once: controller commands
// (command byte, self tests, port enable/disable, output port with A20 and the reset line,
// 0xFE pulse reset), keyboard replies (ACK, reset BAT, ID), and an absent mouse that answers
// every byte with a timeout-flagged NAK. IRQ1/IRQ12 follow a full output buffer when the
// command byte enables them.
import type { IoBus, IoHandler } from "../bus.ts";
import type { IrqLine } from "../irq.ts";
import { type DeviceState, expectVersion, pick, put } from "../snapshot/persist.ts";

export interface BoardEvents {
  reset(why: string): void;
  a20(enabled: boolean): void;
}

export class PostPort implements IoHandler {
  code = 0;
  onCode: (code: number) => void = () => {};
  attach(io: IoBus): void {
    io.register(0x80, 1, this);
  }
  read(): number {
    return this.code;
  }
  write(_p: number, _s: number, v: number): void {
    this.code = v & 0xff;
    this.onCode(this.code);
  }
}

export class PortA implements IoHandler {
  value = 0x02; // A20 on: the machine starts with the gate open, as after a BIOS
  constructor(private readonly ev: BoardEvents) {}
  attach(io: IoBus): void {
    io.register(0x92, 1, this);
  }
  read(): number {
    return this.value & ~1;
  }
  write(_p: number, _s: number, v: number): void {
    const old = this.value;
    this.value = v & 0xff;
    if ((old ^ v) & 2) this.ev.a20((v & 2) !== 0);
    if (v & 1 && !(old & 1)) this.ev.reset("port 0x92 fast reset");
  }
}

const ST_OBF = 0x01, ST_SYS = 0x04, ST_CMD = 0x08, ST_UNLOCKED = 0x10, ST_AUXB = 0x20, ST_TIMEOUT = 0x40;
const CCB_KBDINT = 0x01, CCB_AUXINT = 0x02, CCB_SYS = 0x04, CCB_KBDDIS = 0x10, CCB_AUXDIS = 0x20;

interface OutByte {
  v: number;
  aux: boolean;
  timeout: boolean;
}

export class I8042 implements IoHandler {
  ccb = CCB_KBDINT | CCB_SYS | CCB_AUXDIS | 0x40; // translate to set 1, as a BIOS leaves it
  private readonly ram = new Uint8Array(32);
  private out: OutByte[] = [];
  private lastWasCmd = false;
  private expect = 0; // controller command waiting for its data byte
  private kbdExpect = 0; // keyboard command waiting for its parameter
  private a20 = true;
  private head?: OutByte;

  constructor(private readonly ev: BoardEvents, private readonly irq1?: IrqLine, private readonly irq12?: IrqLine) {}

  attach(io: IoBus): void {
    io.register(0x60, 1, this);
    io.register(0x64, 1, this);
  }

  reset(): void {
    this.out = [];
    this.head = undefined;
    this.expect = this.kbdExpect = 0;
    this.ccb = CCB_KBDINT | CCB_SYS | CCB_AUXDIS | 0x40;
    this.update();
  }

  // queue a byte for the guest (also the host side of a keyboard: scan codes)
  push(v: number, aux = false, timeout = false): void {
    this.out.push({ v: v & 0xff, aux, timeout });
    this.update();
  }

  private update(): void {
    this.head = this.out[0];
    const h = this.head;
    this.irq1?.set(!!h && !h.aux && (this.ccb & CCB_KBDINT) !== 0);
    this.irq12?.set(!!h && h.aux && (this.ccb & CCB_AUXINT) !== 0);
  }

  get status(): number {
    const h = this.head;
    return (h ? ST_OBF : 0) | (h?.aux ? ST_AUXB : 0) | (h?.timeout ? ST_TIMEOUT : 0) |
      (this.ccb & CCB_SYS ? ST_SYS : 0) | (this.lastWasCmd ? ST_CMD : 0) | ST_UNLOCKED;
  }

  read(port: number, _size: number): number {
    if (port === 0x64) return this.status;
    const h = this.out.shift();
    this.update();
    return h ? h.v : 0;
  }

  write(port: number, _size: number, v: number): void {
    v &= 0xff;
    if (port === 0x64) {
      this.lastWasCmd = true;
      this.command(v);
    } else {
      this.lastWasCmd = false;
      this.data(v);
    }
    this.update();
  }

  private command(c: number): void {
    this.expect = 0;
    if (c >= 0x20 && c <= 0x3f) {
      this.push(c === 0x20 ? this.ccb : this.ram[c & 0x1f]);
      return;
    }
    if (c >= 0x60 && c <= 0x7f) {
      this.expect = c;
      return;
    }
    switch (c) {
      case 0xa7:
        this.ccb |= CCB_AUXDIS;
        break;
      case 0xa8:
        this.ccb &= ~CCB_AUXDIS;
        break;
      case 0xa9:
        this.push(0x00);
        break; // aux interface test: no error
      case 0xaa:
        this.ccb |= CCB_SYS;
        this.push(0x55);
        break; // self test passed
      case 0xab:
        this.push(0x00);
        break; // keyboard interface test: no error
      case 0xad:
        this.ccb |= CCB_KBDDIS;
        break;
      case 0xae:
        this.ccb &= ~CCB_KBDDIS;
        break;
      case 0xc0:
        this.push(0x80);
        break; // input port: keyboard not inhibited
      case 0xd0:
        this.push(0x01 | (this.a20 ? 2 : 0) | (this.ccb & CCB_KBDINT ? 0x10 : 0) | (this.ccb & CCB_AUXINT ? 0x20 : 0));
        break;
      case 0xd1:
      case 0xd2:
      case 0xd3:
      case 0xd4:
        this.expect = c;
        break;
      case 0xdd:
        this.setA20(false);
        break;
      case 0xdf:
        this.setA20(true);
        break;
      default:
        // 0xF0-0xFF pulse output port lines low for 6 us: bit 0 is the CPU reset line
        if (c >= 0xf0 && !(c & 1)) this.ev.reset("i8042 reset pulse");
    }
  }

  private setA20(on: boolean): void {
    if (on !== this.a20) {
      this.a20 = on;
      this.ev.a20(on);
    }
  }

  private data(v: number): void {
    const e = this.expect;
    this.expect = 0;
    if (e >= 0x60 && e <= 0x7f) {
      if (e === 0x60) this.ccb = v;
      else this.ram[e & 0x1f] = v;
      return;
    }
    switch (e) {
      case 0xd1:
        this.setA20((v & 2) !== 0);
        if (!(v & 1)) this.ev.reset("i8042 output port reset line");
        return;
      case 0xd2:
        this.push(v);
        return;
      case 0xd3:
        this.push(v, true);
        return;
      case 0xd4:
        this.push(0xfe, true, true);
        return; // no mouse: every byte times out
    }
    this.keyboard(v);
  }

  // the keyboard itself (port 0x60 writes without a pending controller command)
  private keyboard(v: number): void {
    if (this.kbdExpect) {
      const cmd = this.kbdExpect;
      this.kbdExpect = 0;
      this.push(0xfa);
      if (cmd === 0xf0 && v === 0) this.push(0x02); // current scan code set
      return;
    }
    switch (v) {
      case 0xff:
        this.push(0xfa);
        this.push(0xaa);
        break; // reset: ACK, then BAT passed
      case 0xf2:
        this.push(0xfa);
        this.push(0xab);
        this.push(0x83);
        break; // ID: MF2 keyboard
      case 0xee:
        this.push(0xee);
        break; // echo
      case 0xed:
      case 0xf0:
      case 0xf3:
        this.kbdExpect = v;
        this.push(0xfa);
        break;
      default:
        this.push(0xfa);
    }
  }
}

// ---- persist (ARCHITECTURE.md, "Snapshots"): POST code, port 0x92, the i8042's controller state
const I8042_FIELDS = ["ccb", "ram", "out", "lastWasCmd", "expect", "kbdExpect", "a20", "head"];
export function saveMisc(post: PostPort, portA: PortA, kbc: I8042): DeviceState {
  return { v: 1, post: post.code, portA: portA.value, i8042: pick(kbc, I8042_FIELDS) };
}
export function restoreMisc(post: PostPort, portA: PortA, kbc: I8042, state: DeviceState): void {
  const s = expectVersion("POST/0x92/i8042", state, 1);
  post.code = Number(s.post);
  portA.value = Number(s.portA);
  put(kbc, I8042_FIELDS, s.i8042 as Record<string, unknown>, "i8042");
}
