// A PIIX3-style PCI IDE controller (8086:7010, function 00:01.1 beside the ISA bridge) in legacy
// mode: the primary channel at ports 0x1F0-0x1F7 / 0x3F6 on IRQ 14, the secondary at 0x170-0x177
// / 0x376 on IRQ 15, bus-master DMA in BAR4 (ide_dma.ts). Each channel has a master and a slave;
// a drive is an ATA disk (this file) or an ATAPI CD-ROM (its packets: ide_atapi.ts).
//
// The ATA command set is what Linux's ata_piix/libata and SeaBIOS use: IDENTIFY (PACKET) DEVICE,
// READ/WRITE SECTORS, MULTIPLE and DMA in LBA28, LBA48 (EXT) and CHS addressing, READ VERIFY,
// FLUSH CACHE (EXT) (fdatasync of the image), SET FEATURES, SET MULTIPLE MODE, INITIALIZE DEVICE
// PARAMETERS, READ NATIVE MAX ADDRESS (EXT), CHECK POWER MODE, the idle/standby family, SEEK,
// RECALIBRATE, EXECUTE DEVICE DIAGNOSTIC, DEVICE RESET, PACKET; software reset through the
// device control register; the LBA48 high-order bytes (HOB) of the task file.
//
// Commands complete synchronously in the guest's port write (the image is read or written then),
// so BSY is never seen; the interrupt follows as on hardware (INTRQ until the status register is
// read, masked by nIEN). Every count and address in the task file is checked against the disk
// before the image is touched (a bad one is IDNF/ABRT, never a host exception); PIO moves at most
// MAX_MULT sectors (or a 64 KiB ATAPI chunk) through one buffer per drive.
import type { IoBus, IoHandler } from "../bus.ts";
import type { IrqLine } from "../irq.ts";
import type { GuestRam } from "../memory.ts";
import type { BlockImage } from "../block/image.ts";
import { PciFunction } from "./pci.ts";
import { BusMasterChannel, type DmaJob } from "./ide_dma.ts";
import { AtapiCd, type AtapiResult } from "./ide_atapi.ts";
import { type DeviceState, expectVersion, pick, put, SnapshotError } from "../snapshot/persist.ts";

export const IDE_SLOT = 1, IDE_FN = 1; // 00:01.1, as on QEMU's pc machine
export const IDE_PORTS = [{ cmd: 0x1f0, ctl: 0x3f6, irq: 14 }, { cmd: 0x170, ctl: 0x376, irq: 15 }];
export const ST_BSY = 0x80, ST_DRDY = 0x40, ST_DSC = 0x10, ST_DRQ = 0x08, ST_ERR = 0x01;
export const ER_ABRT = 0x04, ER_IDNF = 0x10;
const CTL_NIEN = 2, CTL_SRST = 4, CTL_HOB = 0x80;
export const MAX_MULT = 16; // sectors per READ/WRITE MULTIPLE block
const SECTOR = 512;
export const MAX_LBA48_SECTORS = 2 ** 48;

type Done = () => void;

export class IdeDrive {
  status = 0;
  error = 1;
  // a PIO data phase: buf[pos..end) to be read (in) or filled (out); `next` runs when it is
  dir: 0 | 1 | 2 = 0; // none, in (device to host), out
  pos = 0;
  end = 0;
  next?: Done;
  readonly buf: Uint8Array;
  mult = 0; // READ/WRITE MULTIPLE block size (0: not set)
  readonly sectors: number;
  readonly cyls: number;
  heads = 16; // the current (logical) geometry, INITIALIZE DEVICE PARAMETERS
  spt = 63;
  dmaMode = 0x22; // SET FEATURES transfer mode: MWDMA2
  writeCache = true;
  readonly atapi?: AtapiCd;
  // counters (tests, statistics)
  reads = 0;
  writes = 0;
  flushes = 0;
  errors = 0;

  constructor(readonly kind: "disk" | "cdrom", readonly image: BlockImage | undefined, readonly serial: string) {
    this.buf = new Uint8Array(kind === "cdrom" ? 0x10000 : MAX_MULT * SECTOR);
    this.sectors = kind === "disk" ? Math.floor(image!.size / SECTOR) : 0;
    this.cyls = Math.max(1, Math.min(16383, Math.floor(this.sectors / (16 * 63))));
    if (kind === "cdrom") this.atapi = new AtapiCd(image);
  }

  reset(): void {
    this.dir = 0;
    this.next = undefined;
    this.mult = 0;
    this.heads = 16;
    this.spt = 63;
    this.atapi?.reset();
  }

  // IDENTIFY (PACKET) DEVICE: 256 little-endian words
  identify(): Uint8Array {
    const w = new Uint16Array(256);
    const str = (at: number, words: number, text: string) => {
      const c = (i: number) => i < text.length ? text.charCodeAt(i) & 0xff : 0x20;
      for (let i = 0; i < words; i++) w[at + i] = (c(2 * i) << 8) | c(2 * i + 1);
    };
    str(10, 10, this.serial);
    str(23, 4, "1.0");
    const mw = this.dmaMode >> 3 === 4 ? 1 << (this.dmaMode & 7) : 0; // MWDMA mode selected
    const ud = this.dmaMode >> 3 === 8 ? 1 << (this.dmaMode & 7) : 0; // UDMA mode selected
    if (this.kind === "cdrom") {
      w[0] = 0x85c0; // ATAPI, CD-ROM, removable, DRQ within 50 us, 12-byte packets
      str(27, 20, "RING3 CD-ROM");
      w[49] = 0x0300; // LBA, DMA
      w[53] = 0x0006; // words 64-70 and 88 valid
      w[63] = 0x0007 | (mw << 8);
      w[64] = 0x0003; // PIO 3, 4
      w[65] =
        w[66] =
        w[67] =
        w[68] =
          120;
      w[71] = 30, w[72] = 30;
      w[80] = 0x001e; // ATA/ATAPI-1..4
      w[82] = 0x4214; // NOP, DEVICE RESET, PACKET, removable media
      w[85] = 0x4214;
      w[88] = 0x003f | (ud << 8);
    } else {
      const s = this.sectors;
      w[0] = 0x0040; // fixed disk
      w[1] = this.cyls, w[3] = 16, w[6] = 63;
      str(27, 20, "RING3 HARDDISK");
      w[47] = 0x8000 | MAX_MULT;
      w[49] = 0x0300; // LBA, DMA
      w[53] = 0x0007; // words 54-58, 64-70, 88 valid
      const cur = this.curCyls();
      w[54] = cur, w[55] = this.heads, w[56] = this.spt;
      const chs = cur * this.heads * this.spt;
      w[57] = chs & 0xffff, w[58] = chs >>> 16;
      w[59] = this.mult ? 0x100 | this.mult : 0;
      const l28 = Math.min(s, 0x0fffffff);
      w[60] = l28 & 0xffff, w[61] = l28 >>> 16;
      w[63] = 0x0007 | (mw << 8);
      w[64] = 0x0003;
      w[65] =
        w[66] =
        w[67] =
        w[68] =
          120;
      w[80] = 0x00f0; // ATA/ATAPI-4..7
      w[81] = 0x0016;
      w[82] = 0x4020 | (1 << 3); // NOP, write cache, power management
      w[83] = 0x7400; // FLUSH CACHE EXT, FLUSH CACHE, 48-bit addresses
      w[84] = 0x4000;
      w[85] = 0x4008 | (this.writeCache ? 0x20 : 0);
      w[86] = 0x3400;
      w[87] = 0x4000;
      w[88] = 0x003f | (ud << 8);
      w[93] = 0x6001 | 0x4000; // 80-wire cable detected, device 0 passed
      for (let i = 0; i < 4; i++) w[100 + i] = Math.floor(s / 2 ** (16 * i)) & 0xffff;
    }
    return new Uint8Array(w.buffer);
  }

  curCyls(): number {
    return Math.max(1, Math.min(65535, Math.floor(Math.min(this.sectors, 16514064) / (this.heads * this.spt))));
  }
}

export class IdeChannel {
  readonly drives: [IdeDrive | undefined, IdeDrive | undefined];
  // the task file (both drives latch every write, so it is kept once) with its LBA48 history
  feature = 0;
  nsect = 0;
  lbal = 0;
  lbam = 0;
  lbah = 0;
  hobFeature = 0;
  hobNsect = 0;
  hobLbal = 0;
  hobLbam = 0;
  hobLbah = 0;
  dev = 0;
  ctl = 0;
  private pending = false;
  readonly bm: BusMasterChannel;

  constructor(
    readonly index: number,
    ram: GuestRam,
    readonly irq: IrqLine | undefined,
    drives: [IdeDrive | undefined, IdeDrive | undefined],
    mayMaster: () => boolean,
    private readonly log: (line: string) => void,
  ) {
    this.drives = drives;
    this.bm = new BusMasterChannel(ram, mayMaster, (msg) => this.log(`ring3: IDE DMA: ${msg}`));
    this.reset();
  }

  get drive(): IdeDrive | undefined {
    return this.drives[(this.dev >> 4) & 1];
  }

  private get empty(): boolean {
    return !this.drives[0] && !this.drives[1];
  }

  reset(): void {
    this.ctl = 0;
    this.dev = 0;
    this.feature = this.hobFeature = 0;
    this.pending = false;
    this.irq?.set(false);
    this.bm.reset();
    for (const d of this.drives) d?.reset();
    this.signature();
  }

  // the state after a reset or EXECUTE DEVICE DIAGNOSTIC: device type in the task file
  private signature(): void {
    const d = this.drive;
    this.nsect = this.lbal = 1;
    this.hobNsect =
      this.hobLbal =
      this.hobLbam =
      this.hobLbah =
        0;
    this.lbam = d?.kind === "cdrom" ? 0x14 : 0;
    this.lbah = d?.kind === "cdrom" ? 0xeb : 0;
    this.dev &= 0x10;
    for (const x of this.drives) {
      if (!x) continue;
      x.error = 1;
      x.status = x.kind === "cdrom" ? 0 : ST_DRDY | ST_DSC;
      x.dir = 0;
      x.next = undefined;
    }
  }

  private raise(): void {
    this.pending = true;
    this.updateIrq();
  }

  private updateIrq(): void {
    this.irq?.set(this.pending && !(this.ctl & CTL_NIEN));
  }

  // ---- registers ----------------------------------------------------------------------------
  // the command block: reg 0 data .. 7 status/command
  readReg(reg: number, size: number): number {
    if (this.empty) return size === 2 ? 0xffff : size === 4 ? 0xffffffff : 0xff;
    const d = this.drive;
    if (reg === 0) return d ? this.readData(d, size) : 0;
    if (!d) return 0; // the selected device is absent: its partner drives nothing
    const hob = (this.ctl & CTL_HOB) !== 0;
    switch (reg) {
      case 1:
        return d.error;
      case 2:
        return hob ? this.hobNsect : this.nsect;
      case 3:
        return hob ? this.hobLbal : this.lbal;
      case 4:
        return hob ? this.hobLbam : this.lbam;
      case 5:
        return hob ? this.hobLbah : this.lbah;
      case 6:
        return this.dev | 0xa0;
      default:
        this.pending = false;
        this.updateIrq();
        return d.status;
    }
  }

  writeReg(reg: number, size: number, v: number): void {
    if (reg === 0) {
      const d = this.drive;
      if (d) this.writeData(d, size, v);
      return;
    }
    v &= 0xff;
    if (reg >= 1 && reg <= 5) this.ctl &= ~CTL_HOB;
    switch (reg) {
      case 1:
        this.hobFeature = this.feature, this.feature = v;
        return;
      case 2:
        this.hobNsect = this.nsect, this.nsect = v;
        return;
      case 3:
        this.hobLbal = this.lbal, this.lbal = v;
        return;
      case 4:
        this.hobLbam = this.lbam, this.lbam = v;
        return;
      case 5:
        this.hobLbah = this.lbah, this.lbah = v;
        return;
      case 6:
        this.dev = v & 0x5f;
        return;
      case 7:
        this.command(v);
        return;
    }
  }

  readAltStatus(): number {
    if (this.empty) return 0xff;
    return this.drive?.status ?? 0;
  }

  writeControl(v: number): void {
    const was = this.ctl;
    this.ctl = v & (CTL_NIEN | CTL_SRST | CTL_HOB);
    if (v & CTL_SRST && !(was & CTL_SRST)) {
      for (const d of this.drives) if (d) d.status = ST_BSY, d.dir = 0, d.next = undefined;
      this.pending = false;
    } else if (!(v & CTL_SRST) && was & CTL_SRST) {
      for (const d of this.drives) d?.reset();
      this.signature();
    }
    this.updateIrq();
  }

  // ---- PIO data ------------------------------------------------------------------------------
  private readData(d: IdeDrive, size: number): number {
    if (d.dir !== 1) return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    const b = d.buf, p = d.pos;
    const n = Math.min(size, d.end - p);
    let v = 0;
    for (let i = 0; i < n; i++) v |= b[p + i] << (8 * i);
    d.pos = p + n;
    if (d.pos >= d.end) this.phaseDone(d);
    return v >>> 0;
  }

  private writeData(d: IdeDrive, size: number, v: number): void {
    if (d.dir !== 2) return;
    const n = Math.min(size, d.end - d.pos);
    for (let i = 0; i < n; i++) d.buf[d.pos + i] = (v >>> (8 * i)) & 0xff;
    d.pos += n;
    if (d.pos >= d.end) this.phaseDone(d);
  }

  private phaseDone(d: IdeDrive): void {
    d.dir = 0;
    d.status &= ~ST_DRQ;
    const next = d.next;
    d.next = undefined;
    next?.();
  }

  private pioIn(d: IdeDrive, len: number, next?: Done): void {
    d.dir = 1, d.pos = 0, d.end = len, d.next = next;
    d.status = ST_DRDY | ST_DSC | ST_DRQ;
  }

  private pioOut(d: IdeDrive, len: number, next: Done): void {
    d.dir = 2, d.pos = 0, d.end = len, d.next = next;
    d.status = ST_DRDY | ST_DSC | ST_DRQ;
  }

  private ok(d: IdeDrive, irq = true): void {
    d.status = ST_DRDY | ST_DSC;
    d.dir = 0;
    if (irq) this.raise();
  }

  private abort(d: IdeDrive, err = ER_ABRT): void {
    d.error = err;
    d.status = ST_DRDY | ST_ERR;
    d.dir = 0;
    d.next = undefined;
    d.errors++;
    this.raise();
  }

  // ---- commands ------------------------------------------------------------------------------
  private command(cmd: number): void {
    const d = this.drive;
    if (cmd === 0x90) return this.diagnostic();
    if (!d) return; // a command to an absent device: nobody answers
    d.error = 0;
    d.dir = 0;
    d.next = undefined;
    this.bm.job = undefined;
    if (d.kind === "cdrom") return this.atapiCommand(d, cmd);
    switch (cmd) {
      case 0xec: // IDENTIFY DEVICE
        d.buf.set(d.identify());
        this.pioIn(d, 512, () => this.ok(d, false));
        return this.raise();
      case 0x20:
      case 0x21: // READ SECTORS
        return this.rw(d, false, false, 1, "pio");
      case 0x24: // READ SECTORS EXT
        return this.rw(d, false, true, 1, "pio");
      case 0xc4: // READ MULTIPLE
      case 0x29: // READ MULTIPLE EXT
        if (!d.mult) return this.abort(d);
        return this.rw(d, false, cmd === 0x29, d.mult, "pio");
      case 0x30:
      case 0x31: // WRITE SECTORS
        return this.rw(d, true, false, 1, "pio");
      case 0x34: // WRITE SECTORS EXT
        return this.rw(d, true, true, 1, "pio");
      case 0xc5: // WRITE MULTIPLE
      case 0x39: // WRITE MULTIPLE EXT
        if (!d.mult) return this.abort(d);
        return this.rw(d, true, cmd === 0x39, d.mult, "pio");
      case 0xc8:
      case 0xc9: // READ DMA
        return this.rw(d, false, false, 0, "dma");
      case 0x25: // READ DMA EXT
        return this.rw(d, false, true, 0, "dma");
      case 0xca:
      case 0xcb: // WRITE DMA
        return this.rw(d, true, false, 0, "dma");
      case 0x35: // WRITE DMA EXT
        return this.rw(d, true, true, 0, "dma");
      case 0x40:
      case 0x41: // READ VERIFY SECTORS
        return this.rw(d, false, false, 0, "verify");
      case 0x42: // READ VERIFY SECTORS EXT
        return this.rw(d, false, true, 0, "verify");
      case 0xe7: // FLUSH CACHE
      case 0xea: // FLUSH CACHE EXT
        try {
          d.image!.flush();
          d.flushes++;
        } catch (e) {
          this.log(`ring3: IDE ${d.image!.name}: ${(e as Error).message}`);
          return this.abort(d);
        }
        return this.ok(d);
      case 0xef: // SET FEATURES
        return this.setFeatures(d);
      case 0xc6: { // SET MULTIPLE MODE
        const n = this.nsect;
        if (n > MAX_MULT || (n & (n - 1))) return this.abort(d);
        d.mult = n;
        return this.ok(d);
      }
      case 0x91: // INITIALIZE DEVICE PARAMETERS
        if (this.nsect === 0) return this.abort(d);
        d.heads = (this.dev & 0xf) + 1;
        d.spt = this.nsect;
        return this.ok(d);
      case 0xf8: // READ NATIVE MAX ADDRESS
      case 0x27: { // READ NATIVE MAX ADDRESS EXT
        const max = d.sectors - 1;
        this.lbal = max & 0xff, this.lbam = (max >>> 8) & 0xff, this.lbah = (max >>> 16) & 0xff;
        if (cmd === 0x27) {
          const hi = Math.floor(max / 2 ** 24);
          this.hobLbal = hi & 0xff, this.hobLbam = (hi >>> 8) & 0xff, this.hobLbah = (hi >>> 16) & 0xff;
        } else this.dev = (this.dev & 0xf0) | ((max >>> 24) & 0xf);
        return this.ok(d);
      }
      case 0xe5: // CHECK POWER MODE
        this.nsect = 0xff; // active or idle
        return this.ok(d);
      case 0xe0:
      case 0xe1:
      case 0xe2:
      case 0xe3:
      case 0xe6:
      case 0x94:
      case 0x95:
      case 0x96:
      case 0x97:
      case 0x70: // SEEK
        return this.ok(d);
      default:
        if (cmd >= 0x10 && cmd <= 0x1f) return this.ok(d); // RECALIBRATE
        return this.abort(d);
    }
  }

  private diagnostic(): void {
    this.dev &= ~0x10;
    this.signature();
    const d = this.drives[0] ?? this.drives[1];
    if (d) this.raise();
  }

  private setFeatures(d: IdeDrive): void {
    switch (this.feature) {
      case 0x03: { // set transfer mode
        const mode = this.nsect, kind = mode >> 3;
        if (kind === 4 && (mode & 7) <= 2) d.dmaMode = mode;
        else if (kind === 8 && (mode & 7) <= 5) d.dmaMode = mode;
        else if (kind > 1) return this.abort(d);
        return this.ok(d);
      }
      case 0x02:
        d.writeCache = true;
        return this.ok(d);
      case 0x82:
        d.writeCache = false;
        return this.ok(d);
      case 0x55:
      case 0xaa:
      case 0x66:
      case 0xcc:
      case 0x05:
      case 0x85:
      case 0x31:
      case 0x95:
        return this.ok(d);
      default:
        return this.abort(d);
    }
  }

  // the addressed sector range of a read/write command, or undefined when it is not on the disk
  private range(d: IdeDrive, ext: boolean): { lba: number; count: number } | undefined {
    let lba: number, count: number;
    if (ext) {
      lba = (this.hobLbah * 2 ** 40) + (this.hobLbam * 2 ** 32) + (this.hobLbal * 2 ** 24) +
        ((this.lbah << 16) | (this.lbam << 8) | this.lbal);
      count = ((this.hobNsect << 8) | this.nsect) || 65536;
    } else {
      count = this.nsect || 256;
      if (this.dev & 0x40) lba = ((this.dev & 0xf) << 24 | this.lbah << 16 | this.lbam << 8 | this.lbal) >>> 0;
      else {
        // CHS in the current geometry; sectors count from 1
        const cyl = (this.lbah << 8) | this.lbam, head = this.dev & 0xf, sec = this.lbal;
        if (sec === 0 || sec > d.spt || head >= d.heads) return undefined;
        lba = (cyl * d.heads + head) * d.spt + sec - 1;
      }
    }
    return lba + count <= d.sectors ? { lba, count } : undefined;
  }

  private rw(d: IdeDrive, write: boolean, ext: boolean, block: number, mode: "pio" | "dma" | "verify"): void {
    const r = this.range(d, ext);
    if (!r) return this.abort(d, ER_IDNF | ER_ABRT);
    if (write && d.image!.readonly) return this.abort(d);
    if (mode === "verify") return this.ok(d);
    const img = d.image!, base = r.lba * SECTOR;
    const fail = (e: unknown) => {
      this.log(`ring3: IDE ${img.name}: ${(e as Error).message}`);
      this.abort(d);
    };
    if (mode === "dma") {
      d.status = ST_DRDY | ST_DSC | ST_DRQ;
      const job: DmaJob = {
        toMemory: !write,
        total: r.count * SECTOR,
        io: write ? (off, buf) => img.write(base + off, buf) : (off, buf) => img.read(base + off, buf),
        done: (ok) => {
          if (!ok) return this.abort(d);
          if (write) d.writes++;
          else d.reads++;
          this.ok(d);
        },
      };
      return this.bm.post(job);
    }
    let done = 0;
    if (!write) {
      const step = () => {
        const n = Math.min(block, r.count - done);
        try {
          img.read(base + done * SECTOR, d.buf.subarray(0, n * SECTOR));
        } catch (e) {
          return fail(e);
        }
        done += n;
        this.pioIn(d, n * SECTOR, () => done < r.count ? step() : this.ok(d, false));
        this.raise();
      };
      d.reads++;
      return step();
    }
    const step = () => {
      const n = Math.min(block, r.count - done);
      this.pioOut(d, n * SECTOR, () => {
        try {
          img.write(base + done * SECTOR, d.buf.subarray(0, n * SECTOR));
        } catch (e) {
          return fail(e);
        }
        done += n;
        if (done < r.count) {
          step();
          this.raise();
        } else this.ok(d);
      });
    };
    d.writes++;
    step(); // the first block needs no interrupt: DRQ is up at once
  }

  // ---- ATAPI ---------------------------------------------------------------------------------
  private atapiCommand(d: IdeDrive, cmd: number): void {
    switch (cmd) {
      case 0xa1: // IDENTIFY PACKET DEVICE
        d.buf.set(d.identify());
        this.pioIn(d, 512, () => this.ok(d, false));
        return this.raise();
      case 0xa0: { // PACKET
        const dma = (this.feature & 1) !== 0;
        this.nsect = 1; // interrupt reason: command packet, host to device
        this.pioOut(d, 12, () => this.packet(d, dma, d.buf.slice(0, 12)));
        return;
      }
      case 0x08: // DEVICE RESET
        this.signature();
        return;
      case 0xec: // IDENTIFY DEVICE: not an ATA disk; the signature says what it is
        this.signature();
        return this.abort(d);
      case 0xef: // SET FEATURES
        return this.setFeatures(d);
      case 0xe5:
        this.nsect = 0xff;
        return this.ok(d);
      case 0xe0:
      case 0xe1:
      case 0xe2:
      case 0xe3:
      case 0xe6:
      case 0x00:
        return cmd === 0 ? this.abort(d) : this.ok(d);
      default:
        return this.abort(d);
    }
  }

  private packet(d: IdeDrive, dma: boolean, cdb: Uint8Array): void {
    let r: AtapiResult;
    try {
      r = d.atapi!.command(cdb);
    } catch (e) {
      this.log(`ring3: IDE CD-ROM: ${(e as Error).message}`);
      r = { kind: "error", key: 3 }; // MEDIUM ERROR
    }
    const complete = () => {
      this.nsect = 3; // command done, device to host
      this.ok(d);
    };
    const error = (key: number) => {
      this.nsect = 3;
      this.abort(d, (key << 4) | ER_ABRT);
    };
    if (r.kind === "ok") return complete();
    if (r.kind === "error") return error(r.key);
    const data = r;
    if (dma) {
      d.status = ST_DRDY | ST_DSC | ST_DRQ;
      d.reads++;
      return this.bm.post({
        toMemory: true,
        total: data.total,
        io: (off, buf) => data.read(off, buf),
        done: (ok) => ok ? complete() : error(3),
      });
    }
    // PIO: chunks of at most the byte count limit the driver put in LBA mid/high
    let limit = (this.lbah << 8) | this.lbam;
    if (limit === 0 || limit > 0xfffe) limit = 0xfffe;
    if (limit < 2) limit = 2; // a one-byte limit would leave only empty chunks
    let off = 0;
    const step = () => {
      let n = Math.min(data.total - off, limit);
      if (n < data.total - off) n &= ~1;
      try {
        data.read(off, d.buf.subarray(0, n));
      } catch (e) {
        this.log(`ring3: IDE CD-ROM: ${(e as Error).message}`);
        return error(3);
      }
      off += n;
      this.nsect = 2; // data, device to host
      this.lbam = n & 0xff, this.lbah = n >> 8;
      this.pioIn(d, n, () => off < data.total ? step() : complete());
      this.raise();
    };
    d.reads++;
    step();
  }
}

// The PCI function with its two channels; `attach` claims the legacy ports.
export class PiixIde extends PciFunction {
  readonly channels: IdeChannel[];

  constructor(
    ram: GuestRam,
    irqs: [IrqLine | undefined, IrqLine | undefined],
    drives: (IdeDrive | undefined)[], // primary master, primary slave, secondary master, secondary slave
    log: (line: string) => void = (l) => console.error(l),
  ) {
    super({ vendor: 0x8086, device: 0x7010, classCode: 0x010180 }); // IDE, legacy mode, bus master
    for (let i = 0x40; i < 0x48; i++) this.wmask[i] = 0xff; // IDETIM, SIDETIM, UDMA control/timing
    this.cfg[0x41] = this.cfg[0x43] = 0x80; // both channels decoded
    const mayMaster = () => (this.command & 4) !== 0;
    this.channels = [0, 1].map((c) =>
      new IdeChannel(c, ram, irqs[c], [drives[2 * c], drives[2 * c + 1]], mayMaster, log)
    );
    this.channels.forEach((ch, c) => {
      ch.bm.status = (drives[2 * c] ? 0x20 : 0) | (drives[2 * c + 1] ? 0x40 : 0);
    });
    this.defineBar(4, {
      size: 16,
      io: true,
      handler: {
        read: (off, size) => this.channels[off >> 3].bm.read(off & 7, size),
        write: (off, size, v) => this.channels[off >> 3].bm.write(off & 7, size, v),
      },
    });
  }

  attach(io: IoBus): void {
    IDE_PORTS.forEach((p, c) => {
      const ch = this.channels[c];
      const cmd: IoHandler = {
        read: (port, size) => ch.readReg(port - p.cmd, size),
        write: (port, size, v) => ch.writeReg(port - p.cmd, size, v),
      };
      io.register(p.cmd, 8, cmd);
      io.register(p.ctl, 1, {
        read: () => ch.readAltStatus(),
        write: (_port, _size, v) => ch.writeControl(v),
      });
    });
  }

  reset(): void {
    for (const ch of this.channels) ch.reset();
  }
}

// ---- persist (ARCHITECTURE.md, "Snapshots"): each channel's task file and interrupt latch, each
// drive's registers, PIO buffer and settings, the CD-ROM's sense and media state, each bus-master
// engine's registers (the PCI configuration space is the bus's, the disks' bytes are in their
// image files, flushed here). A command whose next step is still pending (a PIO block with more to
// come, a DMA job waiting for its start bit) is host code, not data: such a snapshot is refused,
// and the guest is a few instructions away from a state that can be saved.
const CHANNEL_FIELDS = [
  "feature",
  "nsect",
  "lbal",
  "lbam",
  "lbah",
  "hobFeature",
  "hobNsect",
  "hobLbal",
  "hobLbam",
  "hobLbah",
  "dev",
  "ctl",
  "pending",
];
const DRIVE_FIELDS = [
  "status",
  "error",
  "dir",
  "pos",
  "end",
  "buf",
  "mult",
  "heads",
  "spt",
  "dmaMode",
  "writeCache",
  "reads",
  "writes",
  "flushes",
  "errors",
];
const ATAPI_FIELDS = ["senseKey", "asc", "ascq", "present", "locked", "newMedia", "reads"];
const BM_FIELDS = ["cmd", "status", "prd"];
export function saveIde(c: PiixIde): DeviceState {
  return {
    v: 1,
    channels: c.channels.map((ch) => {
      if (ch.bm.job) throw new SnapshotError(`IDE channel ${ch.index}: a DMA command is in progress; save again`);
      return {
        ...pick(ch, CHANNEL_FIELDS),
        bm: pick(ch.bm, BM_FIELDS),
        drives: ch.drives.map((d) => {
          if (!d) return null;
          if (d.next) throw new SnapshotError(`IDE channel ${ch.index}: a PIO command is in progress; save again`);
          if (d.image && !d.image.readonly) d.image.flush();
          return { kind: d.kind, ...pick(d, DRIVE_FIELDS), ...(d.atapi ? { atapi: pick(d.atapi, ATAPI_FIELDS) } : {}) };
        }),
      };
    }),
  };
}
export function restoreIde(c: PiixIde, state: DeviceState): void {
  const s = expectVersion("IDE", state, 1);
  const chs = s.channels as Record<string, unknown>[];
  if (!Array.isArray(chs) || chs.length !== c.channels.length) throw new SnapshotError("IDE: wrong channel count");
  c.channels.forEach((ch, i) => {
    const cs = chs[i];
    put(ch, CHANNEL_FIELDS, cs, `IDE channel ${i}`);
    put(ch.bm, BM_FIELDS, cs.bm as Record<string, unknown>, `IDE channel ${i} bus master`);
    ch.bm.job = undefined;
    const ds = cs.drives as (Record<string, unknown> | null)[];
    ch.drives.forEach((d, j) => {
      const x = ds?.[j];
      if (!d && !x) return;
      if (!d || !x || x.kind !== d.kind) throw new SnapshotError(`IDE channel ${i} drive ${j}: not the saved device`);
      put(d, DRIVE_FIELDS, x, `IDE channel ${i} drive ${j}`);
      d.next = undefined;
      if (d.atapi) put(d.atapi, ATAPI_FIELDS, x.atapi as Record<string, unknown>, "IDE CD-ROM");
    });
  });
}
