// qcow2 (QEMU copy-on-write), versions 2 and 3, as documented in QEMU's docs/interop/qcow2.txt.
// All header and table fields are big-endian.
//
// Guest offset -> host offset: the L1 table (in memory) names an L2 table per cluster_size/8
// clusters, an L2 entry maps one guest cluster:
//   0                        unallocated: the backing file's bytes, or zeros without one
//   bit 0 (v3)               reads as zeros (with or without a preallocated host cluster)
//   bits 9-55 = host offset  the cluster's data; bit 63 "copied" = its refcount is 1, so it may be
//                            written in place
//   bit 62 (compressed)      raw-deflate data of (bits x..61) + 1 sectors at (bits 0..x-1),
//                            x = 62 - (cluster_bits - 8); inflated with node:zlib
// Writes to a cluster that is not written in place (unallocated, zero, compressed, shared)
// allocate a new host cluster at the end of the file, fill it with the old contents around the
// new bytes, set its refcount, and only then point the L2 entry at it (and drop the old
// mapping's refcount). L2 tables are allocated the same way. Every table update goes to the file
// at once (the in-memory copies are caches), so a flush is one fdatasync and `qemu-img check`
// finds nothing after ring3 closed the image; after a kill -9 it can find leaked clusters (an
// allocation whose L2 entry was never written), never a corruption.
// Not done: images with internal snapshots are opened read-only only (their clusters are shared),
// refcount tables are not grown (a write needing it fails with an I/O error; one 64 KiB table
// cluster covers 16 TiB of 64 KiB clusters), encryption, external data files, extended L2
// entries and zstd compression are refused when the image is opened.
import { type BlockImage, DiskError, SECTOR } from "./image.ts";
import type { HostFile } from "./file.ts";
import { inflateRawSync, zlibConstants as zc } from "../platform/mod.ts";

const MAGIC = 0x514649fb; // "QFI\xfb"
const OFFSET_MASK = 0x00fffffffffffe00n;
const COPIED = 1n << 63n, COMPRESSED = 1n << 62n, ZERO = 1n;
const EXT_BACKING_FORMAT = 0xe2792aca;
const INCOMPAT_DIRTY = 1n, INCOMPAT_CORRUPT = 2n, INCOMPAT_EXTERNAL = 4n, INCOMPAT_COMPRESSION = 8n;
const INCOMPAT_EXTL2 = 16n;
const L2_CACHE = 64; // L2 tables kept in memory (64 KiB each with 64 KiB clusters)
const RB_CACHE = 16; // refcount blocks
const MAX_TABLE_BYTES = 64 << 20;

export function isQcow2(head: Uint8Array): boolean {
  return head.length >= 4 && new DataView(head.buffer, head.byteOffset).getUint32(0) === MAGIC;
}

// what a qcow2 image needs from whoever opens it: its backing file, opened read-only
export type OpenBacking = (path: string, format: "raw" | "qcow2" | undefined) => BlockImage;

class Qcow2Corrupt extends Error {}

export class Qcow2Image implements BlockImage {
  readonly format = "qcow2";
  readonly name: string;
  readonly size: number;
  readonly version: number;
  readonly clusterBits: number;
  readonly clusterSize: number;
  readonly backingFile: string | null = null;
  readonly backingFormat: string | null = null;
  backing: BlockImage | null = null;
  private readonly l2n: number; // entries per L2 table
  private readonly l1: BigUint64Array;
  private readonly l1Offset: number;
  private readonly rtOffset: number;
  private readonly rt: BigUint64Array; // refcount table (offsets of refcount blocks)
  private readonly refBits: number;
  private readonly perBlock: number; // refcounts per refcount block
  private readonly l2Cache = new Map<number, DataView>();
  private readonly rbCache = new Map<number, DataView>();
  private nextFree: number; // where the next cluster is allocated (the end of the file, aligned)
  private inflated: { vc: number; data: Uint8Array } | null = null; // the last decompressed cluster
  private readonly scratch: Uint8Array;

  constructor(private readonly file: HostFile, readonly readonly: boolean, openBacking?: OpenBacking) {
    this.name = file.path;
    const bad = (why: string) => new DiskError(`${file.path}: not a valid qcow2 image: ${why}`);
    const fileSize = file.size;
    if (fileSize < 72) throw bad("shorter than a qcow2 header");
    const h = new Uint8Array(Math.min(fileSize, 4096));
    file.pread(h, 0);
    const dv = new DataView(h.buffer);
    const u64 = (o: number) => Number(dv.getBigUint64(o));
    if (dv.getUint32(0) !== MAGIC) throw bad("no QFI\\xfb magic");
    this.version = dv.getUint32(4);
    if (this.version !== 2 && this.version !== 3) throw bad(`version ${this.version} (ring3 reads versions 2 and 3)`);
    this.clusterBits = dv.getUint32(20);
    if (this.clusterBits < 9 || this.clusterBits > 21) throw bad(`cluster_bits ${this.clusterBits} outside 9..21`);
    const cs = (this.clusterSize = 1 << this.clusterBits);
    this.l2n = cs / 8;
    const size = dv.getBigUint64(24);
    if (size > BigInt(Number.MAX_SAFE_INTEGER) - BigInt(cs)) throw bad(`virtual size ${size} too large`);
    this.size = Math.ceil(Number(size) / SECTOR) * SECTOR;
    if (dv.getUint32(32) !== 0) throw new DiskError(`${file.path}: encrypted qcow2 images are not supported`);
    const l1Size = dv.getUint32(36);
    this.l1Offset = u64(40);
    this.rtOffset = u64(48);
    const rtClusters = dv.getUint32(56);
    const nbSnapshots = dv.getUint32(60);
    const needL1 = Math.ceil(this.size / (cs * this.l2n));
    if (l1Size < needL1) throw bad(`L1 table of ${l1Size} entries is too small for ${this.size} bytes`);
    if (l1Size * 8 > MAX_TABLE_BYTES) throw bad(`L1 table of ${l1Size} entries too large`);
    if (this.l1Offset % cs || (l1Size && this.l1Offset === 0)) throw bad("L1 table offset not cluster-aligned");
    if (this.rtOffset % cs || this.rtOffset === 0) throw bad("refcount table offset not cluster-aligned");
    if (rtClusters === 0 || rtClusters * cs > MAX_TABLE_BYTES) throw bad(`refcount table of ${rtClusters} clusters`);
    let hdrLen = 72;
    let refOrder = 4;
    if (this.version === 3) {
      if (h.length < 104) throw bad("shorter than a version 3 header");
      const incompat = dv.getBigUint64(72);
      hdrLen = dv.getUint32(100);
      refOrder = dv.getUint32(96);
      if (hdrLen < 104 || hdrLen % 8 || hdrLen > h.length) throw bad(`header length ${hdrLen}`);
      if (incompat & INCOMPAT_CORRUPT) throw bad("marked corrupt (qemu-img check -r all may repair it)");
      if (incompat & INCOMPAT_EXTERNAL) {
        throw new DiskError(`${file.path}: qcow2 external data files are not supported`);
      }
      if (incompat & INCOMPAT_EXTL2) throw new DiskError(`${file.path}: qcow2 extended L2 entries are not supported`);
      if ((incompat & INCOMPAT_COMPRESSION) && hdrLen > 104 && h[104] !== 0) {
        throw new DiskError(`${file.path}: qcow2 compression type ${h[104]} (zstd) is not supported, only zlib`);
      }
      const unknown = incompat & ~(INCOMPAT_DIRTY | INCOMPAT_COMPRESSION);
      if (unknown) throw bad(`unknown incompatible features 0x${unknown.toString(16)}`);
      if ((incompat & INCOMPAT_DIRTY) && !readonly) {
        throw new DiskError(`${file.path}: qcow2 image is dirty (refcounts not written); run qemu-img check -r all`);
      }
      if (refOrder > 6) throw bad(`refcount_order ${refOrder}`);
    }
    this.refBits = 1 << refOrder;
    if (!readonly && this.refBits < 8) {
      throw new DiskError(`${file.path}: qcow2 refcount_bits ${this.refBits} is not supported for writing (8-64)`);
    }
    if (!readonly && nbSnapshots) {
      throw new DiskError(
        `${file.path}: qcow2 image has ${nbSnapshots} internal snapshot(s); ring3 opens it only with readonly=on or snapshot=on`,
      );
    }
    this.perBlock = (cs * 8) / this.refBits;
    // header extensions
    for (let o = hdrLen; o + 8 <= h.length;) {
      const type = dv.getUint32(o), len = dv.getUint32(o + 4);
      if (type === 0) break;
      if (o + 8 + len > h.length) throw bad("header extension runs past the first cluster");
      if (type === EXT_BACKING_FORMAT) this.backingFormat = new TextDecoder().decode(h.subarray(o + 8, o + 8 + len));
      o += 8 + Math.ceil(len / 8) * 8;
    }
    const bfOff = u64(8), bfLen = dv.getUint32(16);
    if (bfOff) {
      if (bfLen === 0 || bfLen > 1023 || bfOff + bfLen > Math.min(cs, h.length)) {
        throw bad("backing file name out of place");
      }
      this.backingFile = new TextDecoder().decode(h.subarray(bfOff, bfOff + bfLen));
    }
    // tables
    const l1b = new Uint8Array(l1Size * 8);
    file.pread(l1b, this.l1Offset);
    this.l1 = beU64s(l1b);
    const rtb = new Uint8Array(rtClusters * cs);
    file.pread(rtb, this.rtOffset);
    this.rt = beU64s(rtb);
    this.nextFree = Math.ceil(fileSize / cs) * cs;
    this.scratch = new Uint8Array(cs);
    if (!readonly && (this.version === 3 && dv.getBigUint64(88) !== 0n)) {
      // autoclear features (bitmaps, ...) ring3 does not keep up to date: clear them, as QEMU does
      file.pwrite(new Uint8Array(8), 88);
    }
    if (this.backingFile) {
      if (!openBacking) throw new DiskError(`${file.path}: has a backing file, ${this.backingFile}`);
      const fmt = this.backingFormat;
      if (fmt !== null && fmt !== "raw" && fmt !== "qcow2") {
        throw new DiskError(`${file.path}: backing file format '${fmt}' is not supported (raw or qcow2)`);
      }
      this.backing = openBacking(this.backingFile, (fmt ?? undefined) as "raw" | "qcow2" | undefined);
    }
  }

  // ---- tables ---------------------------------------------------------------------------------
  private l2Table(off: number): DataView {
    let t = this.l2Cache.get(off);
    if (t) {
      this.l2Cache.delete(off);
      this.l2Cache.set(off, t);
      return t;
    }
    if (off % this.clusterSize) throw new Qcow2Corrupt(`L2 table offset 0x${off.toString(16)} not aligned`);
    const b = new Uint8Array(this.clusterSize);
    this.file.pread(b, off);
    t = new DataView(b.buffer);
    if (this.l2Cache.size >= L2_CACHE) this.l2Cache.delete(this.l2Cache.keys().next().value!);
    this.l2Cache.set(off, t);
    return t;
  }

  private l2Entry(vc: number): bigint {
    const l1i = Math.floor(vc / this.l2n);
    if (l1i >= this.l1.length) return 0n;
    const l2off = Number(this.l1[l1i] & OFFSET_MASK);
    if (!l2off) return 0n;
    return this.l2Table(l2off).getBigUint64((vc % this.l2n) * 8);
  }

  private refBlock(off: number): DataView {
    let t = this.rbCache.get(off);
    if (t) return t;
    if (off % this.clusterSize) throw new Qcow2Corrupt(`refcount block offset 0x${off.toString(16)} not aligned`);
    const b = new Uint8Array(this.clusterSize);
    this.file.pread(b, off);
    t = new DataView(b.buffer);
    if (this.rbCache.size >= RB_CACHE) this.rbCache.delete(this.rbCache.keys().next().value!);
    this.rbCache.set(off, t);
    return t;
  }

  private getRef(t: DataView, i: number): number {
    switch (this.refBits) {
      case 8:
        return t.getUint8(i);
      case 16:
        return t.getUint16(i * 2);
      case 32:
        return t.getUint32(i * 4);
      default:
        return Number(t.getBigUint64(i * 8));
    }
  }

  // the entry's bytes, for writing them through to the file
  private setRef(t: DataView, i: number, v: number): Uint8Array {
    const w = this.refBits / 8;
    switch (this.refBits) {
      case 8:
        t.setUint8(i, v);
        break;
      case 16:
        t.setUint16(i * 2, v);
        break;
      case 32:
        t.setUint32(i * 4, v);
        break;
      default:
        t.setBigUint64(i * 8, BigInt(v));
    }
    return new Uint8Array(t.buffer, i * w, w);
  }

  refcount(host: number): number {
    const c = Math.floor(host / this.clusterSize);
    const bi = Math.floor(c / this.perBlock);
    if (bi >= this.rt.length) return 0;
    const rb = Number(this.rt[bi] & OFFSET_MASK);
    if (!rb) return 0;
    return this.getRef(this.refBlock(rb), c % this.perBlock);
  }

  private setRefcount(host: number, v: number): void {
    const cs = this.clusterSize;
    const c = Math.floor(host / cs);
    const bi = Math.floor(c / this.perBlock);
    if (bi >= this.rt.length) throw new Qcow2Corrupt("refcount table full (ring3 does not grow it)");
    let rb = Number(this.rt[bi] & OFFSET_MASK);
    if (!rb) {
      // a new refcount block at the end of the file; it counts itself when it covers itself
      rb = this.nextFree;
      this.nextFree += cs;
      const t = new DataView(new ArrayBuffer(cs));
      const self = Math.floor(rb / cs);
      if (Math.floor(self / this.perBlock) === bi) this.setRef(t, self % this.perBlock, 1);
      this.file.pwrite(new Uint8Array(t.buffer), rb);
      this.rbCache.set(rb, t);
      if (Math.floor(self / this.perBlock) !== bi) this.setRefcount(rb, 1);
      this.rt[bi] = BigInt(rb);
      this.file.pwrite(beU64(BigInt(rb)), this.rtOffset + bi * 8);
    }
    const t = this.refBlock(rb);
    const i = c % this.perBlock;
    const bytes = this.setRef(t, i, v);
    this.file.pwrite(bytes, rb + i * (this.refBits / 8));
  }

  private allocCluster(): number {
    for (;;) {
      const off = this.nextFree;
      this.nextFree += this.clusterSize;
      if (this.refcount(off) === 0) {
        this.setRefcount(off, 1);
        return off;
      }
    }
  }

  private unref(host: number): void {
    const r = this.refcount(host);
    if (r > 0) this.setRefcount(host, r - 1);
  }

  // drop the host clusters an L2 entry held
  private release(e: bigint): void {
    if (e & COMPRESSED) {
      const { off, len } = this.compressedRange(e);
      const cs = this.clusterSize;
      for (let c = Math.floor(off / cs); c <= Math.floor((off + len - 1) / cs); c++) this.unref(c * cs);
    } else {
      const off = Number(e & OFFSET_MASK);
      if (off) this.unref(off);
    }
  }

  // The L2 table for guest cluster `vc`, allocated when missing.
  private l2ForWrite(vc: number): { off: number; t: DataView } {
    const l1i = Math.floor(vc / this.l2n);
    const e = this.l1[l1i];
    let off = Number(e & OFFSET_MASK);
    if (off && !(e & COPIED)) throw new Qcow2Corrupt("L2 table shared with a snapshot");
    if (!off) {
      off = this.allocCluster();
      const b = new Uint8Array(this.clusterSize);
      this.file.pwrite(b, off);
      this.l2Cache.set(off, new DataView(b.buffer));
      this.l1[l1i] = BigInt(off) | COPIED;
      this.file.pwrite(beU64(this.l1[l1i]), this.l1Offset + l1i * 8);
    }
    return { off, t: this.l2Table(off) };
  }

  private setL2(vc: number, v: bigint): void {
    const { off, t } = this.l2ForWrite(vc);
    const i = vc % this.l2n;
    t.setBigUint64(i * 8, v);
    this.file.pwrite(new Uint8Array(t.buffer, i * 8, 8), off + i * 8);
  }

  private compressedRange(e: bigint): { off: number; len: number } {
    const x = BigInt(62 - (this.clusterBits - 8));
    const off = Number(e & ((1n << x) - 1n));
    const sectors = Number((e >> x) & ((1n << BigInt(this.clusterBits - 8)) - 1n)) + 1;
    return { off, len: sectors * SECTOR - (off % SECTOR) };
  }

  private inflate(vc: number, e: bigint): Uint8Array {
    if (this.inflated?.vc === vc) return this.inflated.data;
    const { off, len } = this.compressedRange(e);
    const src = new Uint8Array(len);
    this.file.pread(src, off);
    let out: Uint8Array;
    try {
      // a cluster inflates to at most cluster_size bytes: a hostile stream cannot make more
      out = inflateRawSync(src, { finishFlush: zc.Z_SYNC_FLUSH, maxOutputLength: this.clusterSize });
    } catch (err) {
      throw new Qcow2Corrupt(`compressed cluster at 0x${off.toString(16)}: ${(err as Error).message}`);
    }
    const data = new Uint8Array(this.clusterSize);
    data.set(out.subarray(0, this.clusterSize));
    this.inflated = { vc, data };
    return data;
  }

  // ---- I/O ------------------------------------------------------------------------------------
  // Fill dst with guest bytes [pos, pos + dst.length), all inside guest cluster vc whose L2
  // entry is e. Returns the host offset when the bytes are plain allocated data (the caller
  // batches those reads), else -1 after filling dst.
  private mapRead(vc: number, e: bigint, pos: number, dst: Uint8Array): number {
    if (e & COMPRESSED) {
      const inoff = pos % this.clusterSize;
      dst.set(this.inflate(vc, e).subarray(inoff, inoff + dst.length));
      return -1;
    }
    if (this.version === 3 && (e & ZERO)) {
      dst.fill(0);
      return -1;
    }
    const host = Number(e & OFFSET_MASK);
    if (host) {
      if (host % this.clusterSize) throw new Qcow2Corrupt(`data cluster offset 0x${host.toString(16)} not aligned`);
      return host + (pos % this.clusterSize);
    }
    this.readBacking(pos, dst);
    return -1;
  }

  private readBacking(pos: number, dst: Uint8Array): void {
    const b = this.backing;
    const n = b ? Math.max(0, Math.min(dst.length, b.size - pos)) : 0;
    if (n > 0) b!.read(pos, dst.subarray(0, n));
    dst.fill(0, n);
  }

  read(off: number, dst: Uint8Array): void {
    const cs = this.clusterSize;
    let runHost = -1, runDst = 0, runLen = 0; // contiguous host bytes not read yet
    const flushRun = () => {
      if (runLen) this.file.pread(dst.subarray(runDst, runDst + runLen), runHost);
      runLen = 0;
    };
    for (let done = 0; done < dst.length;) {
      const pos = off + done;
      const vc = Math.floor(pos / cs);
      const n = Math.min(cs - (pos % cs), dst.length - done);
      const part = dst.subarray(done, done + n);
      const host = this.mapRead(vc, this.l2Entry(vc), pos, part);
      if (host >= 0) {
        if (runLen && runHost + runLen === host && runDst + runLen === done) runLen += n;
        else {
          flushRun();
          (runHost = host), (runDst = done), (runLen = n);
        }
      }
      done += n;
    }
    flushRun();
  }

  write(off: number, src: Uint8Array): void {
    if (this.readonly) throw new Error(`${this.name}: read-only`);
    const cs = this.clusterSize;
    for (let done = 0; done < src.length;) {
      const pos = off + done;
      const vc = Math.floor(pos / cs);
      const inoff = pos % cs;
      const n = Math.min(cs - inoff, src.length - done);
      const e = this.l2Entry(vc);
      const host = Number(e & OFFSET_MASK);
      const inPlace = (e & COPIED) && !(e & COMPRESSED) && host && !(this.version === 3 && (e & ZERO));
      if (inPlace) {
        this.file.pwrite(src.subarray(done, done + n), host + inoff);
      } else {
        // a new cluster: the old contents around the new bytes, then the L2 entry
        const buf = this.scratch;
        if (n < cs) {
          const base = vc * cs;
          const h = this.mapRead(vc, e, base, buf);
          if (h >= 0) this.file.pread(buf, h);
        }
        buf.set(src.subarray(done, done + n), inoff);
        const fresh = this.allocCluster();
        this.file.pwrite(buf, fresh);
        this.setL2(vc, BigInt(fresh) | COPIED);
        if (this.inflated?.vc === vc) this.inflated = null;
        this.release(e);
      }
      done += n;
    }
  }

  flush(): void {
    if (!this.readonly) this.file.datasync();
  }

  // Whole clusters inside the range stop holding data: zero clusters (v3) or unallocated (v2
  // without a backing file; with one, v2 cannot say "zeros" and the range is left alone).
  discard(off: number, len: number): void {
    if (this.readonly) return;
    const cs = this.clusterSize;
    const first = Math.ceil(off / cs), end = Math.floor((off + len) / cs);
    for (let vc = first; vc < end; vc++) {
      const l1i = Math.floor(vc / this.l2n);
      if (!(this.l1[l1i] & OFFSET_MASK)) continue; // nothing allocated here
      const e = this.l2Entry(vc);
      const v = this.version === 3 ? ZERO : this.backing ? null : 0n;
      if (v === null || e === v) continue;
      this.setL2(vc, v);
      if (this.inflated?.vc === vc) this.inflated = null;
      this.release(e);
    }
  }

  close(): void {
    this.file.close();
    this.backing?.close();
  }
}

function beU64s(b: Uint8Array): BigUint64Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new BigUint64Array(b.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = dv.getBigUint64(i * 8);
  return out;
}

function beU64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v);
  return b;
}

export { Qcow2Corrupt };
