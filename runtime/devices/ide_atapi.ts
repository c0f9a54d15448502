// The SCSI/MMC side of the ATAPI CD-ROM (ide.ts carries the 12-byte packets and the data): the
// commands Linux's sr/cdrom drivers and SeaBIOS's El Torito boot send. TEST UNIT READY, REQUEST
// SENSE, INQUIRY, READ CAPACITY, READ(10)/(12), MODE SENSE(6)/(10) (pages 01h, 2Ah, 3Fh), GET
// CONFIGURATION, READ TOC (formats 0 and 1, LBA and MSF), GET EVENT STATUS NOTIFICATION (media
// class, polled), START STOP UNIT (eject and load), PREVENT ALLOW MEDIUM REMOVAL, SEEK, SET CD
// SPEED; anything else is ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE. 2048-byte blocks.
//
// Every count in a CDB is the guest's: a command answers with a description of its data (a small
// array, or a reader over the image for READ) whose length is clamped to the allocation length;
// reads are checked against the capacity before anything is read.
import type { BlockImage } from "../block/image.ts";

export const CD_BLOCK = 2048;
// sense keys
const NOT_READY = 2, ILLEGAL_REQUEST = 5;

export type AtapiResult =
  | { kind: "ok" }
  | { kind: "error"; key: number }
  | { kind: "data"; total: number; read(off: number, dst: Uint8Array): void };

const be16 = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];
const be32 = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8, b[o + 1] = v;
}
function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24, b[o + 1] = v >>> 16, b[o + 2] = v >>> 8, b[o + 3] = v;
}
function ascii(b: Uint8Array, o: number, len: number, s: string): void {
  for (let i = 0; i < len; i++) b[o + i] = i < s.length ? s.charCodeAt(i) : 0x20;
}

export class AtapiCd {
  private senseKey = 0;
  private asc = 0;
  private ascq = 0;
  private present: boolean;
  private locked = false;
  private newMedia = true; // GET EVENT STATUS reports NewMedia once
  // counters (tests)
  reads = 0;

  constructor(readonly image: BlockImage | undefined) {
    this.present = image !== undefined;
  }

  get blocks(): number {
    return this.image ? Math.floor(this.image.size / CD_BLOCK) : 0;
  }

  get senseByte(): number {
    return this.senseKey;
  }

  reset(): void {
    this.senseKey = this.asc = this.ascq = 0;
    this.locked = false;
    this.present = this.image !== undefined;
  }

  private fail(key: number, asc: number, ascq = 0): AtapiResult {
    this.senseKey = key, this.asc = asc, this.ascq = ascq;
    return { kind: "error", key };
  }

  private bytes(b: Uint8Array, alloc: number): AtapiResult {
    const total = Math.min(b.length, alloc);
    if (total === 0) return { kind: "ok" };
    return { kind: "data", total, read: (off, dst) => dst.set(b.subarray(off, off + dst.length)) };
  }

  private noMedia(): AtapiResult | null {
    return this.present ? null : this.fail(NOT_READY, 0x3a); // MEDIUM NOT PRESENT
  }

  command(cdb: Uint8Array): AtapiResult {
    const op = cdb[0];
    if (op !== 0x03) this.senseKey = this.asc = this.ascq = 0; // REQUEST SENSE reads the last one
    switch (op) {
      case 0x00: // TEST UNIT READY
        return this.noMedia() ?? { kind: "ok" };
      case 0x03: { // REQUEST SENSE
        const b = new Uint8Array(18);
        b[0] = 0x70, b[2] = this.senseKey, b[7] = 10, b[12] = this.asc, b[13] = this.ascq;
        this.senseKey = this.asc = this.ascq = 0;
        return this.bytes(b, cdb[4]);
      }
      case 0x12: { // INQUIRY
        if (cdb[1] & 1) return this.fail(ILLEGAL_REQUEST, 0x24); // no vital product data pages
        const b = new Uint8Array(36);
        b[0] = 0x05, b[1] = 0x80, b[2] = 0x00, b[3] = 0x21, b[4] = 31;
        ascii(b, 8, 8, "RING3");
        ascii(b, 16, 16, "RING3 CD-ROM");
        ascii(b, 32, 4, "1.0");
        return this.bytes(b, be16(cdb, 3));
      }
      case 0x1a: // MODE SENSE(6)
      case 0x5a: // MODE SENSE(10)
        return this.modeSense(cdb, op === 0x5a);
      case 0x1b: { // START STOP UNIT
        const loej = (cdb[4] & 2) !== 0, start = (cdb[4] & 1) !== 0;
        if (loej && !start) {
          if (this.locked) return this.fail(ILLEGAL_REQUEST, 0x53, 0x02); // MEDIUM REMOVAL PREVENTED
          this.present = false;
        } else if (loej && start && this.image) {
          if (!this.present) this.newMedia = true;
          this.present = true;
        }
        return { kind: "ok" };
      }
      case 0x1e: // PREVENT ALLOW MEDIUM REMOVAL
        this.locked = (cdb[4] & 1) !== 0;
        return { kind: "ok" };
      case 0x25: { // READ CAPACITY
        const e = this.noMedia();
        if (e) return e;
        const b = new Uint8Array(8);
        put32(b, 0, this.blocks - 1);
        put32(b, 4, CD_BLOCK);
        return this.bytes(b, 8);
      }
      case 0x28: // READ(10)
        return this.read(be32(cdb, 2), be16(cdb, 7));
      case 0xa8: // READ(12)
        return this.read(be32(cdb, 2), be32(cdb, 6));
      case 0x2b: // SEEK(10)
        return this.noMedia() ?? (be32(cdb, 2) < this.blocks ? { kind: "ok" } : this.fail(ILLEGAL_REQUEST, 0x21));
      case 0x43: // READ TOC/PMA/ATIP
        return this.readToc(cdb);
      case 0x46: // GET CONFIGURATION
        return this.getConfiguration(cdb);
      case 0x4a: // GET EVENT STATUS NOTIFICATION
        return this.eventStatus(cdb);
      case 0xbb: // SET CD SPEED
        return { kind: "ok" };
      default:
        return this.fail(ILLEGAL_REQUEST, 0x20); // INVALID COMMAND OPERATION CODE
    }
  }

  private read(lba: number, count: number): AtapiResult {
    const e = this.noMedia();
    if (e) return e;
    if (lba + count > this.blocks) return this.fail(ILLEGAL_REQUEST, 0x21); // LBA OUT OF RANGE
    if (count === 0) return { kind: "ok" };
    this.reads++;
    const img = this.image!;
    return { kind: "data", total: count * CD_BLOCK, read: (off, dst) => img.read(lba * CD_BLOCK + off, dst) };
  }

  private modeSense(cdb: Uint8Array, ten: boolean): AtapiResult {
    const pc = cdb[2] >> 6, page = cdb[2] & 0x3f;
    if (pc === 3) return this.fail(ILLEGAL_REQUEST, 0x39); // SAVING PARAMETERS NOT SUPPORTED
    const pages: number[] = [];
    if (page === 0x01 || page === 0x3f) {
      pages.push(0x01, 0x06, 0x00, 0x05, 0, 0, 0, 0); // read-write error recovery: 5 retries
    }
    if (page === 0x2a || page === 0x3f) {
      const p = new Uint8Array(20);
      p[0] = 0x2a, p[1] = 18;
      p[2] = 0x03; // reads CD-R, CD-RW
      p[4] = 0x71; // audio play, multi-session, mode 2 form 1/2
      p[5] = 0x60; // ISRC, UPC
      p[6] = 0x29 | (this.locked ? 2 : 0); // tray, eject, lock (locked)
      put16(p, 8, 706); // max speed (4x), KB/s
      put16(p, 10, 2); // volume levels
      put16(p, 12, 512); // buffer KB
      put16(p, 14, 706); // current speed
      pages.push(...p);
    }
    if (!pages.length) return this.fail(ILLEGAL_REQUEST, 0x24); // INVALID FIELD IN CDB
    const hl = ten ? 8 : 4;
    const b = new Uint8Array(hl + pages.length);
    b.set(pages, hl);
    if (ten) {
      put16(b, 0, b.length - 2);
      b[2] = this.present ? 0x01 : 0x70; // medium type: 120 mm data disc, or door closed, no disc
    } else {
      b[0] = b.length - 1;
      b[1] = this.present ? 0x01 : 0x70;
    }
    return this.bytes(b, ten ? be16(cdb, 7) : cdb[4]);
  }

  private readToc(cdb: Uint8Array): AtapiResult {
    const e = this.noMedia();
    if (e) return e;
    const msf = (cdb[1] & 2) !== 0;
    const format = (cdb[2] & 0x0f) || (cdb[9] >> 6);
    const alloc = be16(cdb, 7);
    const addr = (b: Uint8Array, o: number, lba: number) => {
      if (!msf) return put32(b, o, lba);
      const f = lba + 150;
      b[o] = 0, b[o + 1] = Math.floor(f / 4500), b[o + 2] = Math.floor(f / 75) % 60, b[o + 3] = f % 75;
    };
    if (format === 0) {
      const start = cdb[6];
      if (start > 1 && start !== 0xaa) return this.fail(ILLEGAL_REQUEST, 0x24);
      const tracks = start <= 1 ? [1, 0xaa] : [0xaa];
      const b = new Uint8Array(4 + 8 * tracks.length);
      put16(b, 0, b.length - 2);
      b[2] = 1, b[3] = 1;
      tracks.forEach((t, i) => {
        const o = 4 + 8 * i;
        b[o + 1] = 0x14, b[o + 2] = t; // ADR 1 (Q sub-channel: position), control 4: a data track
        addr(b, o + 4, t === 1 ? 0 : this.blocks);
      });
      return this.bytes(b, alloc);
    }
    if (format === 1) { // multi-session information: one session starting at track 1
      const b = new Uint8Array(12);
      put16(b, 0, 10);
      b[2] = 1, b[3] = 1, b[5] = 0x14, b[6] = 1;
      addr(b, 8, 0);
      return this.bytes(b, alloc);
    }
    return this.fail(ILLEGAL_REQUEST, 0x24);
  }

  private getConfiguration(cdb: Uint8Array): AtapiResult {
    const rt = cdb[1] & 3, first = be16(cdb, 2);
    const dvd = this.blocks > 400_000; // more than a CD holds: say DVD-ROM, as QEMU does
    const current = this.present ? (dvd ? 0x0010 : 0x0008) : 0;
    const features: number[][] = [
      // profile list: DVD-ROM, CD-ROM (the current one flagged)
      [0, 0, 0x03, 8, 0x00, 0x10, current === 0x10 ? 1 : 0, 0, 0x00, 0x08, current === 0x08 ? 1 : 0, 0],
      [0, 1, 0x0b, 8, 0, 0, 0, 2, 1, 0, 0, 0], // core: ATAPI, DBE
      [0, 3, 0x03, 4, 0x29, 0, 0, 0], // removable medium: tray, eject, lock
    ];
    const chosen = features.filter((f) => {
      const code = (f[0] << 8) | f[1];
      return rt === 2 ? code === first : code >= first;
    });
    const body = chosen.flat();
    const b = new Uint8Array(8 + body.length);
    put32(b, 0, b.length - 4);
    put16(b, 6, current);
    b.set(body, 8);
    return this.bytes(b, be16(cdb, 7));
  }

  private eventStatus(cdb: Uint8Array): AtapiResult {
    if (!(cdb[1] & 1)) return this.fail(ILLEGAL_REQUEST, 0x24); // only polled operation
    const alloc = be16(cdb, 7);
    if (!(cdb[4] & 0x10)) {
      const b = new Uint8Array([0, 2, 0x80, 0x10]); // no event of the asked classes; media supported
      return this.bytes(b, alloc);
    }
    const b = new Uint8Array(8);
    put16(b, 0, 6);
    b[2] = 4, b[3] = 0x10; // media class
    b[4] = this.newMedia && this.present ? 2 : 0; // NewMedia
    b[5] = this.present ? 2 : 0; // media present
    if (alloc >= 8) this.newMedia = false;
    return this.bytes(b, alloc);
  }
}
