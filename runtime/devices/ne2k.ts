// Realtek RTL8029(AS): an NE2000-compatible PCI NIC (10ec:8029) built around a DP8390 core, as
// driven by Linux's ne2k-pci + lib8390. BAR0 is 32 I/O ports:
//   0x00-0x0f  DP8390 registers, page selected by CR bits 7:6 (pages 0-2; page 3 reads 0)
//   0x10-0x17  remote DMA data port: byte, word or dword accesses move that many bytes between
//              the port and card memory at RSAR, counting RBCR down; a byte access in word mode
//              (DCR.WTS) moves a whole word and returns its low byte, as on the 16-bit bus
//   0x18-0x1f  reset port: a read resets the NIC (ISR.RST set, stopped)
// Card memory: 0x0000-0x001f the station address PROM (each byte doubled, bytes 0x1c/0x1e 'W'),
// 0x4000-0x7fff 16 KiB of buffer RAM (pages 0x40-0x7f) holding the transmit buffers and the
// receive ring PSTART..PSTOP. Received frames get a 4-byte header (RSR, next page, byte count)
// and CURR advances; the ring never fills past BNRY: a frame that does not fit waits in a
// host-side backlog until the driver moves BNRY. Once HOLD_AT frames wait, the link to the switch
// is held (no more frames are read) until the backlog is empty, so a busy guest slows the sender
// instead of losing frames, as a NIC that cannot receive does in QEMU. The backlog's hard limit
// is above what one socket read can bring; beyond it frames are dropped and counted in CNTR2.
// CRCs are neither generated nor stored nor checked.
import { PciFunction } from "./pci.ts";
import type { NicPort } from "./nic_link.ts";
import { type DeviceState, expectVersion, pick, put } from "../snapshot/persist.ts";

const CR_STP = 0x01, CR_STA = 0x02, CR_TXP = 0x04;
const ISR_PRX = 0x01, ISR_PTX = 0x02, ISR_CNT = 0x20, ISR_RDC = 0x40, ISR_RST = 0x80;
const RCR_AB = 0x04, RCR_AM = 0x08, RCR_PRO = 0x10, RCR_MON = 0x20;
const RSR_PRX = 0x01, RSR_PHY = 0x20;
const MEM_START = 0x4000, MEM_END = 0x8000;
const HOLD_AT = 16;
const BACKLOG = 2048; // one 64 KiB socket read holds at most ~1000 minimum-size frames

// Linux's ether_crc(): CRC-32 (0x04c11db7) shifted MSB-first over bytes taken LSB-first, no
// final inversion. The top 6 bits index the 64-bit multicast filter (MAR0-7).
export function etherCrc(data: Uint8Array, len: number): number {
  let crc = -1;
  for (let i = 0; i < len; i++) {
    let b = data[i];
    for (let bit = 0; bit < 8; bit++, b >>= 1) {
      crc = (crc << 1) ^ (((crc < 0 ? 1 : 0) ^ (b & 1)) ? 0x04c11db7 : 0);
    }
  }
  return crc >>> 0;
}

export class Ne2k extends PciFunction {
  readonly mem = new Uint8Array(MEM_END);
  readonly mac: Uint8Array;
  // DP8390 registers
  cr = CR_STP | 0x20;
  isr = ISR_RST;
  imr = 0;
  dcr = 0;
  rcr = 0;
  tcr = 0;
  tsr = 0;
  rsr = 0;
  pstart = 0x40;
  pstop = 0x80;
  bnry = 0x40;
  curr = 0x41;
  tpsr = 0x40;
  tbcr = 0;
  rsar = 0;
  rbcr = 0;
  crda = 0;
  par = new Uint8Array(6);
  mar = new Uint8Array(8);
  cntr2 = 0;
  private readonly backlog: Uint8Array[] = [];
  rxDropped = 0;

  constructor(mac: Uint8Array, readonly port?: NicPort) {
    super({ vendor: 0x10ec, device: 0x8029, classCode: 0x020000, subVendor: 0x10ec, subDevice: 0x8029, pin: 1 });
    this.mac = mac.slice();
    this.defineBar(0, {
      size: 32,
      io: true,
      handler: { read: (o, s) => this.read(o, s), write: (o, s, v) => this.write(o, s, v) },
    });
    for (let i = 0; i < 6; i++) this.mem[2 * i] = this.mem[2 * i + 1] = mac[i];
    this.mem[0x1c] =
      this.mem[0x1d] =
      this.mem[0x1e] =
      this.mem[0x1f] =
        0x57; // 'W': NE2000 signature
    if (port) port.onFrame = (f) => this.receive(f);
    this.reset();
  }

  reset(): void {
    this.cr = CR_STP | 0x20;
    this.isr = ISR_RST;
    this.imr = 0;
    this.dcr = 0;
    this.rcr = 0;
    this.tcr = 0;
    this.backlog.length = 0;
    this.port?.hold(false);
    this.updateIrq();
  }

  private get running(): boolean {
    return !(this.cr & CR_STP);
  }

  private updateIrq(): void {
    this.setIntx((this.isr & this.imr & 0x7f) !== 0);
  }

  private raise(bits: number): void {
    this.isr |= bits;
    this.updateIrq();
  }

  read(off: number, size: number): number {
    if (off >= 0x10 && off < 0x18) return this.dataRead(size);
    if (off >= 0x18) {
      this.reset();
      return 0;
    }
    let v = this.reg(off);
    // a wide access to the register window reads consecutive registers
    for (let i = 1; i < size && off + i < 0x10; i++) v |= this.reg(off + i) << (8 * i);
    return v >>> 0;
  }

  write(off: number, size: number, v: number): void {
    if (off >= 0x10 && off < 0x18) return this.dataWrite(size, v);
    if (off >= 0x18) return; // the write half of the reset handshake: nothing more to do
    for (let i = 0; i < size && off + i < 0x10; i++) this.setReg(off + i, (v >>> (8 * i)) & 0xff);
  }

  private reg(off: number): number {
    if (off === 0) return this.cr;
    switch (this.cr >> 6) {
      case 0:
        switch (off) {
          case 0x01:
            return this.crda & 0xff; // CLDA: local DMA address, shown as the DMA pointer
          case 0x02:
            return this.crda >> 8;
          case 0x03:
            return this.bnry;
          case 0x04:
            return this.tsr;
          case 0x05:
            return 0; // NCR: no collisions on a switch
          case 0x06:
            return 0;
          case 0x07:
            return this.isr;
          case 0x08:
            return this.rsar & 0xff; // CRDA
          case 0x09:
            return this.rsar >> 8;
          case 0x0a:
            return 0x50; // RTL8029 ID: 'P'
          case 0x0b:
            return 0x43; // 'C'
          case 0x0c:
            return this.rsr;
          case 0x0d:
            return 0; // CNTR0 frame alignment errors
          case 0x0e:
            return 0; // CNTR1 CRC errors
          case 0x0f: {
            const n = this.cntr2;
            this.cntr2 = 0;
            this.isr &= ~ISR_CNT;
            this.updateIrq();
            return n;
          }
        }
        return 0;
      case 1:
        if (off <= 6) return this.par[off - 1];
        if (off === 7) return this.curr;
        return this.mar[off - 8];
      case 2:
        switch (off) {
          case 0x01:
            return this.pstart;
          case 0x02:
            return this.pstop;
          case 0x03:
            return 0; // RNPP
          case 0x04:
            return this.tpsr;
          case 0x05:
            return 0; // LNPP
          case 0x0c:
            return this.rcr | 0xc0;
          case 0x0d:
            return this.tcr | 0xe0;
          case 0x0e:
            return this.dcr | 0x80;
          case 0x0f:
            return this.imr | 0x80;
        }
        return 0;
    }
    return 0;
  }

  private setReg(off: number, v: number): void {
    if (off === 0) return this.crWrite(v);
    switch (this.cr >> 6) {
      case 0:
        switch (off) {
          case 0x01:
            this.pstart = v;
            break;
          case 0x02:
            this.pstop = v;
            break;
          case 0x03:
            this.bnry = v;
            this.drainBacklog(); // the driver freed ring space
            break;
          case 0x04:
            this.tpsr = v;
            break;
          case 0x05:
            this.tbcr = (this.tbcr & 0xff00) | v;
            break;
          case 0x06:
            this.tbcr = (this.tbcr & 0xff) | (v << 8);
            break;
          case 0x07:
            this.isr &= ~(v & 0x7f); // write 1 to clear; RST follows the stop state instead
            this.updateIrq();
            if (v & ISR_PRX) this.drainBacklog();
            break;
          case 0x08:
            this.rsar = (this.rsar & 0xff00) | v;
            break;
          case 0x09:
            this.rsar = (this.rsar & 0xff) | (v << 8);
            break;
          case 0x0a:
            this.rbcr = (this.rbcr & 0xff00) | v;
            break;
          case 0x0b:
            this.rbcr = (this.rbcr & 0xff) | (v << 8);
            break;
          case 0x0c:
            this.rcr = v & 0x3f;
            break;
          case 0x0d:
            this.tcr = v & 0x1f;
            break;
          case 0x0e:
            this.dcr = v & 0x7f;
            break;
          case 0x0f:
            this.imr = v & 0x7f;
            this.updateIrq();
            break;
        }
        return;
      case 1:
        if (off <= 6) this.par[off - 1] = v;
        else if (off === 7) {
          this.curr = v;
          this.drainBacklog();
        } else this.mar[off - 8] = v;
        return;
      case 2:
        // page 2 is for diagnostics; the writable ones are the local DMA pointers, not modelled
        return;
    }
  }

  private crWrite(v: number): void {
    this.cr = (this.cr & CR_TXP) | (v & ~CR_TXP);
    if (v & CR_STP) {
      this.cr = (this.cr & ~CR_STA) | CR_STP;
      this.isr |= ISR_RST;
      // a stopped NIC receives nothing: the waiting frames are lost and the link let go
      this.backlog.length = 0;
      this.port?.hold(false);
      this.updateIrq();
      return;
    }
    // STA, or neither STA nor STP (lib8390 writes E8390_NODMA+E8390_PAGE0 before a transmit):
    // the NIC runs
    this.cr = (this.cr & ~CR_STP) | CR_STA;
    if (this.isr & ISR_RST) this.isr &= ~ISR_RST;
    const rd = (v >> 3) & 7;
    if (rd === 3) {
      // send packet: point the remote DMA at the next frame in the ring (at BNRY)
      this.rsar = this.bnry << 8;
      this.rbcr = this.memRead(this.rsar + 2) | this.memRead(this.rsar + 3) << 8;
    }
    if ((rd === 1 || rd === 2 || rd === 3) && this.rbcr === 0) this.raise(ISR_RDC);
    if (v & CR_TXP) this.transmit();
    this.drainBacklog();
  }

  // ---- remote DMA -------------------------------------------------------------------------------
  // card memory at a guest-chosen address: the PROM and buffer RAM answer, the rest floats high
  private memRead(a: number): number {
    if (a < 0x20) return this.mem[a];
    if (a >= MEM_START && a < MEM_END) return this.mem[a];
    return 0xff;
  }

  private step(): void {
    this.rsar = (this.rsar + 1) & 0xffff;
    // the remote DMA wraps inside the receive ring like the local DMA does
    if (this.rsar === this.pstop << 8) this.rsar = this.pstart << 8;
  }

  private dmaDone(n: number): void {
    this.rbcr = Math.max(0, this.rbcr - n);
    if (this.rbcr === 0) this.raise(ISR_RDC);
  }

  private dataRead(size: number): number {
    const n = size === 1 && this.dcr & 1 ? 2 : size;
    let v = 0;
    for (let i = 0; i < n; i++) {
      v |= this.memRead(this.rsar) << (8 * i);
      this.step();
    }
    this.dmaDone(n);
    return size === 1 ? v & 0xff : v >>> 0;
  }

  private dataWrite(size: number, v: number): void {
    const n = size === 1 && this.dcr & 1 ? 2 : size;
    for (let i = 0; i < n; i++) {
      if (this.rsar >= MEM_START && this.rsar < MEM_END) this.mem[this.rsar] = (v >>> (8 * i)) & 0xff;
      this.step();
    }
    this.dmaDone(n);
  }

  // ---- transmit ---------------------------------------------------------------------------------
  private transmit(): void {
    const start = this.tpsr << 8;
    const len = Math.min(this.tbcr, MEM_END - start);
    if (start >= MEM_START && len > 0 && !(this.tcr & 0x06)) {
      // loopback modes (TCR.LB) keep the frame off the wire; lib8390 uses them only while stopped
      this.port?.send(this.mem.slice(start, start + len));
      this.port?.flush?.();
    }
    this.cr &= ~CR_TXP;
    this.tsr = 0x01; // PTX
    this.raise(ISR_PTX);
  }

  // ---- receive ----------------------------------------------------------------------------------
  accepts(f: Uint8Array): boolean {
    if (this.rcr & RCR_PRO) return true;
    if (f[0] & 1) {
      if (f[0] === 0xff && f[1] === 0xff && f[2] === 0xff && f[3] === 0xff && f[4] === 0xff && f[5] === 0xff) {
        return (this.rcr & RCR_AB) !== 0;
      }
      if (!(this.rcr & RCR_AM)) return false;
      const idx = etherCrc(f, 6) >>> 26;
      return (this.mar[idx >> 3] & (1 << (idx & 7))) !== 0;
    }
    for (let i = 0; i < 6; i++) if (f[i] !== this.par[i]) return false;
    return true;
  }

  receive(frame: Uint8Array): void {
    if (!this.running || frame.length < 14 || this.rcr & RCR_MON || !this.accepts(frame)) return;
    if (this.backlog.length === 0 && this.store(frame)) return;
    if (this.backlog.length >= BACKLOG) {
      this.rxDropped++;
      if (this.cntr2 < 0xc0) this.cntr2++;
      if (this.cntr2 >= 0x80) this.raise(ISR_CNT);
    } else this.backlog.push(frame);
    this.drainBacklog();
    if (this.backlog.length >= HOLD_AT) this.port?.hold(true);
  }

  // Store waiting frames while they fit. Frames still waiting mean the ring is full of frames
  // the driver has not read: PRX stays set until it has. (lib8390 reads at most 10 frames per
  // interrupt and then acknowledges PRX; on the wire the next arriving frame would interrupt
  // again, here the waiting frames do.)
  private drainBacklog(): void {
    if (!this.backlog.length || !this.running) return;
    while (this.backlog.length && this.store(this.backlog[0])) this.backlog.shift();
    if (this.backlog.length) this.raise(ISR_PRX);
    else this.port?.hold(false);
  }

  // Write one frame into the ring at CURR; false when it does not fit before BNRY. PSTART, PSTOP,
  // CURR and BNRY are the driver's: a ring outside buffer RAM takes nothing, a BNRY outside the
  // ring leaves at most the whole ring free, so the copy below never leaves PSTART..PSTOP.
  private store(frame: Uint8Array): boolean {
    const start = this.pstart, stop = this.pstop;
    if (start < 0x40 || stop > 0x80 || start >= stop || this.curr < start || this.curr >= stop) return false;
    const len = Math.max(60, frame.length); // the wire pads short frames
    const total = len + 4;
    // room for the 4-byte CRC the NIC would store after the data, as the real chip reserves it:
    // lib8390 checks the next-page pointer against this + 1 + (count >> 8), give or take one
    const pages = (total + 4 + 255) >> 8;
    const ringPages = stop - start;
    if (pages >= ringPages) {
      // it could never fit (a jumbo frame from a peer, or a tiny ring): dropped rather than left
      // at the head of the backlog, where it would hold the link for ever
      this.rxDropped++;
      return true;
    }
    const free = Math.min(
      ringPages,
      this.curr < this.bnry ? this.bnry - this.curr : ringPages - (this.curr - this.bnry),
    );
    if (pages >= free) return false;
    let next = this.curr + pages;
    if (next >= stop) next -= stop - start;
    const ringEnd = stop << 8, ringLen = (stop - start) << 8;
    let p = this.curr << 8;
    const status = RSR_PRX | (frame[0] & 1 ? RSR_PHY : 0);
    this.mem[p] = status;
    this.mem[p + 1] = next;
    this.mem[p + 2] = total & 0xff;
    this.mem[p + 3] = total >> 8;
    p += 4;
    const body = frame.length >= 60 ? frame : (() => {
      const b = new Uint8Array(60);
      b.set(frame);
      return b;
    })();
    const first = Math.min(len, ringEnd - p);
    this.mem.set(body.subarray(0, first), p);
    if (first < len) this.mem.set(body.subarray(first, len), ringEnd - ringLen);
    this.crda = next << 8;
    this.curr = next;
    this.rsr = status;
    this.raise(ISR_PRX);
    return true;
  }
}

// ---- persist (ARCHITECTURE.md, "Snapshots"): the NIC's 32 KiB buffer memory, its registers and
// the frames waiting for ring space (the PCI configuration space is saved by the bus)
const NE2K_FIELDS = [
  "mem",
  "cr",
  "isr",
  "imr",
  "dcr",
  "rcr",
  "tcr",
  "tsr",
  "rsr",
  "pstart",
  "pstop",
  "bnry",
  "curr",
  "tpsr",
  "tbcr",
  "rsar",
  "rbcr",
  "crda",
  "par",
  "mar",
  "cntr2",
  "backlog",
  "rxDropped",
];
export function saveNe2k(n: Ne2k): DeviceState {
  return { v: 1, ...pick(n, NE2K_FIELDS) };
}
export function restoreNe2k(n: Ne2k, state: DeviceState): void {
  const s = expectVersion("NE2000", state, 1);
  put(n, NE2K_FIELDS, s, "NE2000");
  const b = (n as unknown as { backlog: unknown[] }).backlog;
  for (let i = 0; i < b.length; i++) b[i] = new Uint8Array(b[i] as number[]);
}
