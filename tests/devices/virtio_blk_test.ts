// virtio-blk driven the way a driver (or a hostile guest) drives it: rings and requests written
// straight into a machine's RAM, the queue notified through the PCI I/O BAR. Reads and writes
// land in the image file at the right offsets, GET_ID returns the serial, discards punch holes,
// and every malformed or oversized request is answered with an error status (never a host
// exception, never an allocation the guest sized). The image layer's open errors are one line.
import assert from "node:assert/strict";
import { Machine } from "../../runtime/machine.ts";
import {
  MAX_REQUEST,
  S_IOERR,
  S_OK,
  S_UNSUPP,
  T_DISCARD,
  T_FLUSH,
  T_GET_ID,
  T_IN,
  T_OUT,
  VirtioBlk,
} from "../../runtime/devices/virtio_blk.ts";
import { openImage } from "../../runtime/block/open.ts";
import { DiskError } from "../../runtime/block/image.ts";
import { parseDiskOption } from "../../runtime/block/options.ts";
import { Rng } from "../lib/rng.ts";
import { firstDiff, randomBytes, scratchDir } from "../block/lib.ts";

const PFN = 0x08, QSEL = 0x0e, NOTIFY = 0x10, STATUS = 0x12, ISR = 0x13, CONFIG = 0x14;
const QSIZE = 256;
const RING = 0x10000;
const HDR = 0x40000, DATA = 0x100000, ST = 0x80000;
const F_NEXT = 1, F_WRITE = 2;
const MiB = 1 << 20;

function rig(imageFile: string, opts: { readonly?: boolean; snapshot?: boolean } = {}) {
  const m = new Machine({ memMiB: 32, acpi: false, disks: [{ file: imageFile, if: "virtio", ...opts }] });
  const dev = m.disks[0].device as VirtioBlk;
  m.pci.assignResources();
  dev.writeConfig(4, 2, dev.command | 0x5);
  const base = dev.barAddress(0);
  const io = {
    in8: (o: number) => m.io.read(base + o, 1),
    in32: (o: number) => m.io.read(base + o, 4),
    out8: (o: number, v: number) => m.io.write(base + o, 1, v),
    out16: (o: number, v: number) => m.io.write(base + o, 2, v),
    out32: (o: number, v: number) => m.io.write(base + o, 4, v),
  };
  io.out8(STATUS, 0);
  io.out8(STATUS, 1 | 2);
  io.out32(0x04, io.in32(0x00)); // accept every feature
  io.out16(QSEL, 0);
  io.out32(PFN, RING >> 12);
  io.out8(STATUS, 1 | 2 | 4);
  const ram = m.ram;
  const avail = RING + 16 * QSIZE;
  const used = Math.ceil((avail + 6 + 2 * QSIZE) / 4096) * 4096;
  let next = 0; // next free descriptor
  const desc = (addr: number, len: number, flags: number) => {
    const i = next++ % QSIZE;
    const a = RING + 16 * i;
    ram.writeU32(a, addr), ram.writeU32(a + 4, 0), ram.writeU32(a + 8, len);
    ram.writeU16(a + 12, flags), ram.writeU16(a + 14, (i + 1) % QSIZE);
    return i;
  };
  // one request: header, data buffers, status; returns the status byte and the used length
  const request = (
    type: number,
    sector: number | bigint,
    bufs: { addr: number; len: number; write: boolean }[],
    noStatus = false,
  ) => {
    ram.writeU32(HDR, type), ram.writeU32(HDR + 4, 0);
    const big = BigInt(sector);
    ram.writeU32(HDR + 8, Number(big & 0xffffffffn)), ram.writeU32(HDR + 12, Number(big >> 32n));
    ram.writeU8(ST, 0xee);
    const head = desc(HDR, 16, F_NEXT);
    bufs.forEach((b, k) =>
      desc(b.addr, b.len, (b.write ? F_WRITE : 0) | (noStatus && k === bufs.length - 1 ? 0 : F_NEXT))
    );
    if (!noStatus) desc(ST, 1, F_WRITE);
    const idx = ram.readU16(avail + 2);
    ram.writeU16(avail + 4 + 2 * (idx % QSIZE), head);
    ram.writeU16(avail + 2, (idx + 1) & 0xffff);
    const before = ram.readU16(used + 2);
    io.out16(NOTIFY, 0);
    assert.equal(ram.readU16(used + 2), (before + 1) & 0xffff, "the request was used");
    const e = used + 4 + 8 * (before % QSIZE);
    assert.equal(ram.readU32(e), head);
    return { status: ram.readU8(ST), len: ram.readU32(e + 4) };
  };
  const read = (sector: number | bigint, len: number) => request(T_IN, sector, [{ addr: DATA, len, write: true }]);
  const write = (sector: number, data: Uint8Array) => {
    ram.write(DATA, data);
    return request(T_OUT, sector, [{ addr: DATA, len: data.length, write: false }]);
  };
  return { m, dev, io, ram, request, read, write };
}

function withImage(size: number, fn: (path: string, dir: string) => void) {
  const dir = scratchDir();
  try {
    const p = `${dir}/disk.img`;
    Deno.writeFileSync(p, new Uint8Array(0));
    Deno.truncateSync(p, size);
    fn(p, dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("virtio-blk: config space, reads and writes at their sectors, GET_ID, flush, interrupt", () => {
  withImage(8 * MiB, (p) => {
    const r = rig(p);
    try {
      const capLo = r.io.in32(CONFIG), capHi = r.io.in32(CONFIG + 4);
      assert.equal(capLo + capHi * 2 ** 32, (8 * MiB) / 512);
      assert.equal(r.io.in32(CONFIG + 20), 512, "blk_size");
      const feats = r.io.in32(0);
      assert.ok(feats & (1 << 9) && feats & (1 << 13) && !(feats & (1 << 5)), "FLUSH and DISCARD, not RO");
      const rng = new Rng(1);
      const data = randomBytes(rng, 64 * 1024);
      const w = r.write(100, data);
      assert.deepEqual(w, { status: S_OK, len: 1 });
      assert.equal(r.io.in8(ISR) & 1, 1, "a used-buffer interrupt");
      const file = Deno.readFileSync(p);
      assert.equal(firstDiff(file.subarray(100 * 512, 100 * 512 + data.length), data), -1, "bytes at sector 100");
      r.ram.fill(DATA, data.length, 0);
      const rd = r.read(100, data.length);
      assert.deepEqual(rd, { status: S_OK, len: data.length + 1 });
      assert.equal(firstDiff(r.ram.read(DATA, data.length)!, data), -1);
      // the last sector of the disk reads; one past it does not
      assert.equal(r.read((8 * MiB) / 512 - 1, 512).status, S_OK);
      assert.equal(r.request(T_FLUSH, 0, []).status, S_OK);
      assert.equal(r.dev.flushes, 1);
      const id = r.request(T_GET_ID, 0, [{ addr: DATA, len: 20, write: true }]);
      assert.equal(id.status, S_OK);
      assert.equal(new TextDecoder().decode(r.ram.read(DATA, 9)!), "ring3-vda");
    } finally {
      r.m.close();
    }
  });
});

Deno.test("virtio-blk: hostile requests get IOERR/UNSUPP, never a host exception", () => {
  withImage(MiB, (p) => {
    const r = rig(p);
    try {
      const sectors = MiB / 512;
      assert.equal(r.read(sectors, 512).status, S_IOERR, "one past the end");
      assert.equal(r.read(sectors - 1, 1024).status, S_IOERR, "runs past the end");
      assert.equal(r.read(2 ** 53, 512).status, S_IOERR, "huge sector");
      assert.equal(r.read(0xffffffffffffffffn, 512).status, S_IOERR, "sector 2^64-1");
      assert.equal(r.read(0, 100).status, S_IOERR, "not whole sectors");
      // larger than the device allows, split over many buffers (the guest may name any lengths)
      const big = Array.from({ length: 70 }, (_, k) => ({ addr: 0x200000 + k * 0x10000, len: 0x10000, write: true }));
      assert.equal(MAX_REQUEST < 70 * 0x10000, true);
      assert.equal(r.request(T_IN, 0, big).status, S_IOERR, "request above MAX_REQUEST");
      assert.equal(r.request(99, 0, []).status, S_UNSUPP, "unknown type");
      assert.equal(r.request(T_DISCARD, 0, [{ addr: DATA, len: 15, write: false }]).status, S_IOERR, "ragged discard");
      r.ram.writeU32(DATA, sectors), r.ram.writeU32(DATA + 4, 0), r.ram.writeU32(DATA + 8, 8);
      assert.equal(
        r.request(T_DISCARD, 0, [{ addr: DATA, len: 16, write: false }]).status,
        S_IOERR,
        "discard past the end",
      );
      // a chain without a writable status byte: used with length 0, nothing written
      const noStatus = r.request(T_OUT, 0, [{ addr: DATA, len: 512, write: false }], true);
      assert.equal(noStatus.len, 0);
      assert.ok(r.dev.errors >= 9);
      // and the device still works
      assert.equal(r.write(1, new Uint8Array(512).fill(7)).status, S_OK);
    } finally {
      r.m.close();
    }
  });
});

Deno.test("virtio-blk: readonly=on offers RO and refuses writes; discard punches holes", () => {
  withImage(MiB, (p) => {
    Deno.writeFileSync(p, new Uint8Array(MiB).fill(0x5a));
    const ro = rig(p, { readonly: true });
    try {
      assert.ok(ro.io.in32(0) & (1 << 5), "VIRTIO_BLK_F_RO");
      assert.equal(ro.write(0, new Uint8Array(512)).status, S_IOERR);
      assert.equal(ro.read(0, 512).status, S_OK);
    } finally {
      ro.m.close();
    }
    assert.equal(Deno.readFileSync(p)[0], 0x5a, "nothing written");
    const r = rig(p);
    try {
      r.ram.writeU32(DATA, 8), r.ram.writeU32(DATA + 4, 0), r.ram.writeU32(DATA + 8, 16), r.ram.writeU32(DATA + 12, 0);
      assert.equal(r.request(T_DISCARD, 0, [{ addr: DATA, len: 16, write: false }]).status, S_OK);
      const f = Deno.readFileSync(p);
      assert.equal(f[8 * 512 - 1], 0x5a);
      assert.ok(f.subarray(8 * 512, 24 * 512).every((b) => b === 0), "the discarded 8 KiB read as zeros");
    } finally {
      r.m.close();
    }
  });
});

Deno.test("snapshot=on: the guest's writes read back, the image file stays as it was", () => {
  withImage(MiB, (p) => {
    const r = rig(p, { snapshot: true });
    try {
      assert.equal(r.write(3, new Uint8Array(1536).fill(9)).status, S_OK);
      assert.equal(r.read(2, 4096).status, S_OK);
      const got = r.ram.read(DATA, 4096)!;
      assert.ok(got.subarray(0, 512).every((b) => b === 0) && got.subarray(512, 2048).every((b) => b === 9));
      assert.equal(r.request(T_FLUSH, 0, []).status, S_OK);
    } finally {
      r.m.close();
    }
    assert.ok(Deno.readFileSync(p).every((b) => b === 0), "the file is untouched");
  });
});

function afterClose<T>(open: () => T): T {
  const until = performance.now() + 2000;
  for (;;) {
    try {
      return open();
    } catch (e) {
      if (!(e instanceof DiskError) || !/locked/.test(e.message) || performance.now() > until) throw e;
    }
  }
}

Deno.test("images: exclusive lock, clear one-line errors", () => {
  withImage(MiB, (p, dir) => {
    const a = openImage(p);
    try {
      const oneLine = (re: RegExp) => (e: unknown) =>
        e instanceof DiskError && re.test(e.message) && !e.message.includes("\n");
      assert.throws(() => openImage(p), oneLine(/locked by another process/));
      assert.throws(() => openImage(p, { readonly: true }), oneLine(/locked by another process/));
      assert.throws(() => openImage(`${dir}/nope.img`), oneLine(/nope\.img: no such file/));
      assert.throws(() => openImage(dir), oneLine(/is a directory/));
    } finally {
      a.close();
    }
    // readers share: two read-only opens at once. (A process that another test forks in the
    // instant between our open and close holds a copy of the locked file until it execs, so an
    // open right after a close may have to wait for that: retry "locked" for up to 2 s.)
    const r1 = afterClose(() => openImage(p, { readonly: true })), r2 = openImage(p, { snapshot: true });
    assert.throws(() => openImage(p), /locked/);
    r1.close(), r2.close();
    afterClose(() => openImage(p)).close(); // and the lock is gone with the last close
  });
});

Deno.test("--disk parsing: QEMU-like options, one-line errors", () => {
  assert.deepEqual(parseDiskOption("a.img"), { file: "a.img", if: "virtio" });
  assert.deepEqual(parseDiskOption("file=x,,y.qcow2,format=qcow2,snapshot=on,cache=none,readonly=off"), {
    file: "x,y.qcow2",
    if: "virtio",
    format: "qcow2",
    snapshot: true,
    cache: "none",
    readonly: false,
  });
  assert.throws(() => parseDiskOption("a.img,format=vmdk"), /unknown format 'vmdk'/);
  assert.equal(parseDiskOption("a.img,if=ide").if, "ide");
  assert.throws(() => parseDiskOption("a.img,if=scsi"), /unknown interface 'scsi'/);
  assert.throws(() => parseDiskOption("a.img,snapshot=maybe"), /on or off/);
  assert.throws(() => parseDiskOption("format=raw"), /missing the image file name/);
  assert.throws(() => parseDiskOption("a.img,bogus=1"), /unknown option 'bogus'/);
});
