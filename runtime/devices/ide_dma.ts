// Bus-master IDE DMA (the PIIX's BAR4, SFF-8038i): per channel a command register (bit 0
// start/stop, bit 3 direction: 1 = the device writes memory), a status register (bit 0 active,
// bit 1 error, bit 2 interrupt, both write-1-to-clear; bits 5-6 "drive N can DMA", bit 7 simplex)
// and the physical address of a PRD table: 8-byte entries {u32 address, u16 byte count (0 means
// 64 KiB), u16 flags (bit 15: last entry)}.
//
// The transfer runs when both a DMA command is pending on the channel (ide.ts) and the guest has
// set the start bit, in whichever order they come. Everything in a PRD table is the guest's: the
// walk stops after MAX_PRDS entries, every region must lie inside RAM, and a device moves at most
// what its command asked for, through one bounce buffer of 64 KiB (the largest region).
import type { GuestRam } from "../memory.ts";

export const BM_CMD_START = 1, BM_CMD_TO_MEMORY = 8;
export const BM_ST_ACTIVE = 1, BM_ST_ERROR = 2, BM_ST_IRQ = 4;
const MAX_PRDS = 8192; // a table may not cross a 64 KiB boundary on hardware: 8192 entries at most
const REGION_MAX = 0x10000;

// a device's side of a transfer: `io(off, buf)` fills buf from (or stores buf to) the medium at
// byte `off` of the transfer; it may throw (an image error), which ends the transfer in error
export interface DmaJob {
  toMemory: boolean; // a read from the device
  total: number; // bytes the command moves
  io(off: number, buf: Uint8Array): void;
  done(ok: boolean): void; // the device's completion: status, interrupt
}

export class BusMasterChannel {
  cmd = 0;
  status = 0;
  prd = 0; // PRD table address
  job?: DmaJob;
  private bounce?: Uint8Array;

  constructor(
    private readonly ram: GuestRam,
    private readonly mayMaster: () => boolean, // PCI command: bus master enable
    private readonly onError: (msg: string) => void,
  ) {}

  reset(): void {
    this.cmd = 0;
    this.status &= 0x60; // the drive-capable bits are the firmware's to keep
    this.prd = 0;
    this.job = undefined;
  }

  read(off: number, size: number): number {
    switch (off) {
      case 0:
        return this.cmd;
      case 2:
        return this.status;
      case 4:
        return size === 4 ? this.prd >>> 0 : size === 2 ? this.prd & 0xffff : this.prd & 0xff;
      case 5:
        return (this.prd >>> 8) & 0xff;
      case 6:
        return size === 2 ? (this.prd >>> 16) & 0xffff : (this.prd >>> 16) & 0xff;
      case 7:
        return this.prd >>> 24;
      default:
        return 0;
    }
  }

  write(off: number, size: number, v: number): void {
    switch (off) {
      case 0: {
        const was = this.cmd;
        this.cmd = v & (BM_CMD_START | BM_CMD_TO_MEMORY);
        if (!(v & BM_CMD_START)) {
          this.status &= ~BM_ST_ACTIVE; // stop: an unfinished transfer is abandoned
          return;
        }
        if (!(was & BM_CMD_START)) {
          this.status |= BM_ST_ACTIVE;
          this.kick();
        }
        return;
      }
      case 2:
        this.status = (this.status & ~(v & (BM_ST_ERROR | BM_ST_IRQ)) & ~0x60) | (v & 0x60);
        return;
      case 4: {
        if (size === 4) this.prd = (v & ~3) >>> 0;
        else if (size === 2) this.prd = ((this.prd & 0xffff0000) | (v & 0xfffc)) >>> 0;
        else this.prd = ((this.prd & 0xffffff00) | (v & 0xfc)) >>> 0;
        return;
      }
      case 5:
        this.prd = ((this.prd & 0xffff00ff) | ((v & 0xff) << 8)) >>> 0;
        return;
      case 6:
        if (size === 2) this.prd = ((this.prd & 0xffff) | ((v & 0xffff) << 16)) >>> 0;
        else this.prd = ((this.prd & 0xff00ffff) | ((v & 0xff) << 16)) >>> 0;
        return;
      case 7:
        this.prd = ((this.prd & 0x00ffffff) | ((v & 0xff) << 24)) >>> 0;
        return;
    }
  }

  // a device posts a DMA command; it runs now if the guest already started the engine
  post(job: DmaJob): void {
    this.job = job;
    this.kick();
  }

  private kick(): void {
    const job = this.job;
    if (!job || !(this.cmd & BM_CMD_START) || !this.mayMaster()) return;
    this.job = undefined;
    const ok = this.run(job);
    this.status &= ~BM_ST_ACTIVE;
    if (!ok) this.status |= BM_ST_ERROR;
    this.status |= BM_ST_IRQ;
    job.done(ok);
  }

  // walk the PRD table, moving job.total bytes; false when the table is short, leaves RAM, the
  // direction disagrees with the command, or the medium fails
  private run(job: DmaJob): boolean {
    if (((this.cmd & BM_CMD_TO_MEMORY) !== 0) !== job.toMemory) return false;
    this.bounce ??= new Uint8Array(REGION_MAX);
    let moved = 0, entry = this.prd;
    try {
      for (let i = 0; i < MAX_PRDS && moved < job.total; i++, entry += 8) {
        if (!this.ram.contains(entry, 8)) return false;
        const addr = this.ram.readU32(entry) & ~1;
        const count = this.ram.readU16(entry + 4) || REGION_MAX;
        const last = (this.ram.readU16(entry + 6) & 0x8000) !== 0;
        const n = Math.min(count, job.total - moved);
        if (!this.ram.contains(addr, n)) return false;
        const buf = this.bounce.subarray(0, n);
        if (job.toMemory) {
          job.io(moved, buf);
          this.ram.write(addr, buf);
        } else {
          buf.set(this.ram.view(addr, n)!);
          job.io(moved, buf);
        }
        moved += n;
        if (last) break;
      }
    } catch (e) {
      this.onError((e as Error).message);
      return false;
    }
    return moved === job.total;
  }
}
