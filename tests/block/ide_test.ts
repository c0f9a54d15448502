// The PIIX IDE controller driven through its ports the way a driver (or a hostile guest) drives
// it: IDENTIFY, PIO and bus-master DMA reads and writes in LBA28, LBA48 and CHS addressing landing
// at the right image offsets, READ/WRITE MULTIPLE, FLUSH CACHE, the HOB task file, software reset
// signatures, and the ATAPI CD-ROM's packets (INQUIRY, READ CAPACITY, READ(10) by PIO chunks and
// by DMA, REQUEST SENSE after an error, READ TOC). Every out-of-range request gets an ATA error or
// a SCSI sense, never a host exception: sectors past the end, PRD tables outside RAM or too short,
// READ(12) of 2^32 blocks, a data port read with no data phase.
import assert from "node:assert/strict";
import { Machine } from "../../runtime/machine.ts";
import { ER_ABRT, ER_IDNF, IdeDrive, ST_DRQ, ST_ERR } from "../../runtime/devices/ide.ts";
import { parseDiskOption } from "../../runtime/block/options.ts";
import { Rng } from "../lib/rng.ts";
import { firstDiff, mustRun, randomBytes, scratchDir } from "./lib.ts";

const P = 0x1f0, PC = 0x3f6, S = 0x170;
const PRD = 0x8000, BUF = 0x100000;

function haveGenisoimage(): boolean {
  try {
    new Deno.Command("genisoimage", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync();
    return true;
  } catch {
    return false;
  }
}

function rig(opts: { diskMiB?: number; cdrom?: string; readonly?: boolean } = {}) {
  const dir = scratchDir();
  const file = `${dir}/disk.img`;
  const rng = new Rng(7);
  const content = randomBytes(rng, (opts.diskMiB ?? 4) << 20);
  Deno.writeFileSync(file, content);
  const m = new Machine({
    memMiB: 32,
    acpi: false,
    disks: [{ file, if: "ide", format: "raw", readonly: opts.readonly }],
    cdrom: opts.cdrom,
  });
  m.pci.assignResources();
  const ide = m.ide!.controller;
  ide.writeConfig(4, 2, ide.command | 0x5); // I/O, bus master
  const bm = ide.barAddress(4);
  const io = {
    in8: (p: number) => m.io.read(p, 1),
    in16: (p: number) => m.io.read(p, 2),
    out8: (p: number, v: number) => m.io.write(p, 1, v),
    out16: (p: number, v: number) => m.io.write(p, 2, v),
    out32: (p: number, v: number) => m.io.write(p, 4, v),
  };
  const readPio = (base: number, n: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i += 2) {
      const w = io.in16(base);
      b[i] = w & 0xff, b[i + 1] = w >> 8;
    }
    return b;
  };
  const writePio = (base: number, b: Uint8Array) => {
    for (let i = 0; i < b.length; i += 2) io.out16(base, b[i] | (b[i + 1] << 8));
  };
  // LBA28 task file and a command
  const lba28 = (base: number, lba: number, count: number, cmd: number) => {
    io.out8(base + 2, count & 0xff);
    io.out8(base + 3, lba & 0xff);
    io.out8(base + 4, (lba >> 8) & 0xff);
    io.out8(base + 5, (lba >> 16) & 0xff);
    io.out8(base + 6, 0xe0 | ((lba >> 24) & 0xf));
    io.out8(base + 7, cmd);
  };
  const lba48 = (base: number, lba: number, count: number, cmd: number) => {
    const hi = Math.floor(lba / 2 ** 24);
    io.out8(base + 2, count >> 8), io.out8(base + 2, count & 0xff);
    io.out8(base + 3, hi & 0xff), io.out8(base + 3, lba & 0xff);
    io.out8(base + 4, (hi >> 8) & 0xff), io.out8(base + 4, (lba >> 8) & 0xff);
    io.out8(base + 5, (hi >> 16) & 0xff), io.out8(base + 5, (lba >> 16) & 0xff);
    io.out8(base + 6, 0x40);
    io.out8(base + 7, cmd);
  };
  // a PRD table of [addr, bytes] regions, then start the engine (toMemory: a device read)
  const dma = (ch: number, regions: [number, number][], toMemory: boolean) => {
    regions.forEach(([a, n], i) => {
      m.ram.writeU32(PRD + 8 * i, a);
      m.ram.writeU16(PRD + 8 * i + 4, n & 0xffff);
      m.ram.writeU16(PRD + 8 * i + 6, i === regions.length - 1 ? 0x8000 : 0);
    });
    io.out32(bm + 8 * ch + 4, PRD);
    io.out8(bm + 8 * ch + 2, 6); // clear error and interrupt
    io.out8(bm + 8 * ch, 1 | (toMemory ? 8 : 0));
    const st = io.in8(bm + 8 * ch + 2);
    io.out8(bm + 8 * ch, 0);
    return st;
  };
  const close = () => {
    m.close();
    Deno.removeSync(dir, { recursive: true });
  };
  return { m, io, file, content, bm, readPio, writePio, lba28, lba48, dma, close, rng };
}

Deno.test("IDE disk: IDENTIFY, PIO reads and writes in LBA28, CHS and READ MULTIPLE, interrupts", () => {
  const r = rig();
  const { io, content } = r;
  try {
    assert.equal(r.m.ide!.controller.readConfig(0, 4), 0x70108086);
    // the signature of an ATA disk after power-on, the slave absent
    assert.equal(io.in8(P + 4), 0), assert.equal(io.in8(P + 5), 0);
    io.out8(P + 6, 0xa0);
    io.out8(P + 7, 0xec);
    assert.ok(r.m.irq.level(14), "IDENTIFY interrupts");
    assert.equal(io.in8(P + 7) & ST_DRQ, ST_DRQ);
    assert.ok(!r.m.irq.level(14), "reading the status acknowledges");
    const id = new Uint16Array(r.readPio(P, 512).buffer);
    const str = (a: number, n: number) =>
      [...id.subarray(a, a + n)].map((w) => String.fromCharCode(w >> 8, w & 0xff)).join("").trim();
    assert.equal(str(27, 20), "RING3 HARDDISK");
    assert.equal(id[60] | (id[61] << 16), 8192); // 4 MiB
    assert.equal(id[100], 8192);
    assert.equal(id[83] & 0x400, 0x400, "LBA48");
    assert.equal(io.in8(P + 7) & ST_DRQ, 0);

    // READ SECTORS, 3 sectors from LBA 5: one interrupt per sector
    r.lba28(P, 5, 3, 0x20);
    const got = new Uint8Array(3 * 512);
    for (let s = 0; s < 3; s++) {
      assert.ok(r.m.irq.level(14));
      io.in8(P + 7);
      got.set(r.readPio(P, 512), s * 512);
    }
    assert.equal(firstDiff(got, content.subarray(5 * 512, 8 * 512)), -1);
    assert.equal(io.in16(P), 0xffff, "no data phase: the data port floats");

    // CHS: cylinder 1, head 2, sector 3 of 16 heads x 63 sectors
    io.out8(P + 2, 1), io.out8(P + 3, 3), io.out8(P + 4, 1), io.out8(P + 5, 0), io.out8(P + 6, 0xa2);
    io.out8(P + 7, 0x20);
    const chs = (1 * 16 + 2) * 63 + 2;
    assert.equal(firstDiff(r.readPio(P, 512), content.subarray(chs * 512, chs * 512 + 512)), -1);

    // READ MULTIPLE needs SET MULTIPLE MODE first
    r.lba28(P, 0, 4, 0xc4);
    assert.equal(io.in8(P + 7) & ST_ERR, ST_ERR);
    assert.equal(io.in8(P + 1), ER_ABRT);
    io.out8(P + 2, 4), io.out8(P + 7, 0xc6);
    assert.equal(io.in8(P + 7) & ST_ERR, 0);
    r.lba28(P, 100, 6, 0xc4); // blocks of 4 and 2 sectors
    const mult = r.readPio(P, 6 * 512);
    assert.equal(firstDiff(mult, content.subarray(100 * 512, 106 * 512)), -1);

    // WRITE SECTORS then FLUSH CACHE: the image file has the bytes
    const data = randomBytes(r.rng, 2 * 512);
    r.lba28(P, 7000, 2, 0x30);
    assert.equal(io.in8(P + 7) & ST_DRQ, ST_DRQ);
    r.writePio(P, data);
    assert.equal(io.in8(P + 7) & (ST_DRQ | ST_ERR), 0);
    io.out8(P + 7, 0xe7);
    assert.equal(io.in8(P + 7) & ST_ERR, 0);
    const drive = r.m.ide!.controller.channels[0].drives[0] as IdeDrive;
    assert.equal(drive.flushes, 1);
    const onDisk = Deno.readFileSync(r.file);
    assert.equal(firstDiff(onDisk.subarray(7000 * 512, 7002 * 512), data), -1);
  } finally {
    r.close();
  }
});

Deno.test("IDE disk: bus-master DMA in LBA48 over several PRD regions; HOB registers; reset signature", () => {
  const r = rig();
  const { io, content, m } = r;
  try {
    // READ DMA EXT of 9 sectors into two regions (4096 + 512 bytes)
    r.lba48(P, 1000, 9, 0x25);
    const st = r.dma(0, [[BUF, 4096], [BUF + 0x10000, 512]], true);
    assert.equal(st & 7, 4, "interrupt, no error, not active");
    assert.equal(io.in8(P + 7) & (ST_ERR | ST_DRQ), 0);
    assert.equal(firstDiff(m.ram.read(BUF, 4096)!, content.subarray(1000 * 512, 1008 * 512)), -1);
    assert.equal(firstDiff(m.ram.read(BUF + 0x10000, 512)!, content.subarray(1008 * 512, 1009 * 512)), -1);
    // WRITE DMA (LBA28) from RAM
    const data = randomBytes(r.rng, 3 * 512);
    m.ram.write(BUF, data);
    r.lba28(P, 3, 3, 0xca);
    assert.equal(r.dma(0, [[BUF, 3 * 512]], false) & 7, 4);
    assert.equal(firstDiff(Deno.readFileSync(r.file).subarray(3 * 512, 6 * 512), data), -1);
    // the engine started before the command also works (the order SeaBIOS's DMA path uses)
    m.ram.writeU32(PRD, BUF), m.ram.writeU16(PRD + 4, 512), m.ram.writeU16(PRD + 6, 0x8000);
    io.out32(r.bm + 4, PRD), io.out8(r.bm + 2, 6), io.out8(r.bm, 9);
    r.lba28(P, 20, 1, 0xc8);
    assert.equal(io.in8(r.bm + 2) & 7, 4);
    assert.equal(firstDiff(m.ram.read(BUF, 512)!, content.subarray(20 * 512, 21 * 512)), -1);
    io.out8(r.bm, 0);
    // HOB: the previous value of each register reads back with bit 7 of device control set
    io.out8(P + 3, 0x12), io.out8(P + 3, 0x34);
    io.out8(PC, 0x80);
    assert.equal(io.in8(P + 3), 0x12);
    io.out8(PC, 0);
    assert.equal(io.in8(P + 3), 0x34);
    // software reset: the disk's signature, the CD-ROM's on the secondary channel
    io.out8(PC, 4), io.out8(PC, 0);
    assert.deepEqual([io.in8(P + 2), io.in8(P + 3), io.in8(P + 4), io.in8(P + 5)], [1, 1, 0, 0]);
    assert.equal(io.in8(S + 7), 0xff, "no drive on the secondary channel: the bus floats");
  } finally {
    r.close();
  }
});

Deno.test("IDE disk: out-of-range requests and hostile PRD tables end in errors, never host exceptions", () => {
  const r = rig({ readonly: false });
  const { io, m } = r;
  try {
    const err = () => {
      const s = io.in8(P + 7);
      return (s & ST_ERR) ? io.in8(P + 1) : 0;
    };
    r.lba28(P, 8190, 3, 0x20); // runs past sector 8191
    assert.equal(err(), ER_IDNF | ER_ABRT);
    r.lba48(P, 2 ** 40, 1, 0x24);
    assert.equal(err(), ER_IDNF | ER_ABRT);
    r.lba48(P, 0, 0, 0x25); // count 0 = 65536 sectors: 32 MiB, more than the disk
    assert.equal(err(), ER_IDNF | ER_ABRT);
    // CHS sector 0 does not exist
    io.out8(P + 2, 1), io.out8(P + 3, 0), io.out8(P + 4, 0), io.out8(P + 5, 0), io.out8(P + 6, 0xa0);
    io.out8(P + 7, 0x20);
    assert.equal(err(), ER_IDNF | ER_ABRT);
    // PRD regions outside RAM (32 MiB), a table outside RAM, a table too short for the command
    for (const regions of [[[0xfff0_0000, 512]], [[m.ram.size - 256, 512]]] as [number, number][][]) {
      r.lba28(P, 0, 1, 0xc8);
      const st = r.dma(0, regions, true);
      assert.equal(st & 2, 2, "bus-master error");
      assert.equal(err(), ER_ABRT);
    }
    r.lba28(P, 0, 4, 0xc8);
    assert.equal(r.dma(0, [[BUF, 512]], true) & 2, 2, "2048 bytes into a 512-byte table");
    io.out32(r.bm + 4, 0xfffffff0), io.out8(r.bm + 2, 6);
    r.lba28(P, 0, 1, 0xc8);
    io.out8(r.bm, 9);
    assert.equal(io.in8(r.bm + 2) & 2, 2, "table outside RAM");
    io.out8(r.bm, 0);
    // direction bit disagreeing with the command
    r.lba28(P, 0, 1, 0xca);
    assert.equal(r.dma(0, [[BUF, 512]], true) & 2, 2);
    // an unknown command, commands to the absent slave (ignored: no interrupt)
    io.out8(P + 7, 0xfe);
    assert.equal(err(), ER_ABRT);
    io.out8(P + 6, 0xb0);
    assert.equal(io.in8(P + 7), 0);
    io.out8(P + 7, 0xec);
    assert.ok(!m.irq.level(14));
  } finally {
    r.close();
  }
});

Deno.test({
  name: "ATAPI CD-ROM: INQUIRY, READ CAPACITY, READ(10) by PIO chunks and DMA, sense, TOC, bad CDBs",
  ignore: !haveGenisoimage(),
  fn() {
    const dir = scratchDir();
    Deno.mkdirSync(`${dir}/src`);
    const blob = randomBytes(new Rng(3), 100_000);
    Deno.writeFileSync(`${dir}/src/blob.bin`, blob);
    mustRun("genisoimage", "-quiet", "-o", `${dir}/t.iso`, `${dir}/src`);
    const iso = Deno.readFileSync(`${dir}/t.iso`);
    const r = rig({ cdrom: `${dir}/t.iso` });
    const { io, m } = r;
    try {
      // ATAPI signature on the secondary master
      assert.deepEqual([io.in8(S + 4), io.in8(S + 5)], [0x14, 0xeb]);
      io.out8(S + 6, 0xa0);
      io.out8(S + 7, 0xec); // IDENTIFY DEVICE is aborted on a packet device
      assert.equal(io.in8(S + 7) & ST_ERR, ST_ERR);
      io.out8(S + 7, 0xa1);
      io.in8(S + 7);
      const id = new Uint16Array(r.readPio(S, 512).buffer);
      assert.equal(id[0], 0x85c0);
      // a packet: PIO with a byte count limit (lbam/lbah), or DMA (feature bit 0)
      const packet = (cdb: number[], limit = 0xfffe, dma = false) => {
        io.out8(S + 1, dma ? 1 : 0);
        io.out8(S + 4, limit & 0xff), io.out8(S + 5, limit >> 8);
        io.out8(S + 7, 0xa0);
        assert.equal(io.in8(S + 2) & 3, 1, "interrupt reason: command packet");
        const b = new Uint8Array(12);
        b.set(cdb);
        r.writePio(S, b);
      };
      const pioData = () => {
        const out: number[] = [];
        for (let guard = 0; guard < 10000; guard++) {
          const st = io.in8(S + 7);
          if (!(st & ST_DRQ)) return { out: new Uint8Array(out), st };
          const n = io.in8(S + 4) | (io.in8(S + 5) << 8);
          out.push(...r.readPio(S, n));
        }
        throw new Error("endless data phase");
      };
      packet([0x12, 0, 0, 0, 36]);
      const inq = pioData();
      assert.equal(inq.out.length, 36);
      assert.equal(inq.out[0], 5);
      assert.equal(new TextDecoder().decode(inq.out.subarray(16, 28)), "RING3 CD-ROM");
      assert.equal(io.in8(S + 2) & 3, 3, "done: status phase");
      packet([0x25]);
      const cap = new DataView(pioData().out.buffer);
      assert.equal(cap.getUint32(0), iso.length / 2048 - 1);
      assert.equal(cap.getUint32(4), 2048);
      // READ(10) of 3 blocks from block 16 (the volume descriptor) in 1000-byte chunks
      packet([0x28, 0, 0, 0, 0, 16, 0, 0, 3], 1000);
      const rd = pioData();
      assert.equal(firstDiff(rd.out, iso.subarray(16 * 2048, 19 * 2048)), -1);
      // and by DMA
      packet([0x28, 0, 0, 0, 0, 17, 0, 0, 2], 0, true);
      assert.equal(r.dma(1, [[BUF, 4096]], true) & 7, 4);
      assert.equal(firstDiff(m.ram.read(BUF, 4096)!, iso.subarray(17 * 2048, 19 * 2048)), -1);
      // past the end: CHECK CONDITION, sense ILLEGAL REQUEST / LBA OUT OF RANGE
      packet([0x28, 0, 0, 0, 0x10, 0, 0, 0, 1]);
      assert.equal(io.in8(S + 7) & ST_ERR, ST_ERR);
      assert.equal(io.in8(S + 1) >> 4, 5);
      packet([0x03, 0, 0, 0, 18]);
      const sense = pioData().out;
      assert.deepEqual([sense[2], sense[12]], [5, 0x21]);
      // READ(12) of 2^32-1 blocks, an unknown opcode: errors, nothing read
      packet([0xa8, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
      assert.equal(io.in8(S + 7) & ST_ERR, ST_ERR);
      packet([0xff]);
      assert.equal(io.in8(S + 1) >> 4, 5);
      // READ TOC: track 1 and the lead-out at the capacity; allocation length clamps the reply
      packet([0x43, 0, 0, 0, 0, 0, 0, 0, 20]);
      const toc = pioData().out;
      assert.equal(toc.length, 20);
      assert.equal(new DataView(toc.buffer).getUint32(16), iso.length / 2048);
      packet([0x43, 0, 0, 0, 0, 0, 0, 0, 4]);
      assert.equal(pioData().out.length, 4);
      // MODE SENSE(10) capabilities page, GET CONFIGURATION's current profile, events
      packet([0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 64]);
      const ms = pioData().out;
      assert.equal(ms[8], 0x2a);
      packet([0x46, 0, 0, 0, 0, 0, 0, 0, 64]);
      assert.equal(new DataView(pioData().out.buffer).getUint16(6), 8);
      packet([0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8]);
      const ev = pioData().out;
      assert.deepEqual([ev[4], ev[5]], [2, 2], "new media, present");
      packet([0x4a, 0, 0, 0, 0x10, 0, 0, 0, 8]); // asynchronous: not supported
      assert.equal(io.in8(S + 7) & ST_ERR, ST_ERR);
      // eject is refused while locked; after an allowed eject the unit is not ready
      packet([0x1e, 0, 0, 0, 1]);
      io.in8(S + 7);
      packet([0x1b, 0, 0, 0, 2]);
      assert.equal(io.in8(S + 7) & ST_ERR, ST_ERR);
      packet([0x1e, 0, 0, 0, 0]);
      io.in8(S + 7);
      packet([0x1b, 0, 0, 0, 2]);
      assert.equal(io.in8(S + 7) & ST_ERR, 0);
      packet([0x00]);
      assert.equal(io.in8(S + 1) >> 4, 2, "NOT READY");
    } finally {
      r.close();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("IDE options: --disk if=ide parses; more than four IDE devices is refused", () => {
  assert.equal(parseDiskOption("a.img,if=ide").if, "ide");
  assert.throws(() => parseDiskOption("a.img,if=scsi"), /unknown interface 'scsi' \(virtio or ide\)/);
  const dir = scratchDir();
  try {
    const f = `${dir}/x.img`;
    Deno.writeFileSync(f, new Uint8Array(4096));
    const disks = [1, 2, 3, 4].map((i) => {
      Deno.copyFileSync(f, `${dir}/${i}.img`);
      return { file: `${dir}/${i}.img`, if: "ide" as const };
    });
    assert.throws(() => new Machine({ memMiB: 16, acpi: false, disks, cdrom: f }), /at most 4 IDE devices/);
    const m = new Machine({ memMiB: 16, acpi: false, disks: disks.slice(0, 3), cdrom: f });
    assert.deepEqual(m.disks.map((d) => d.name.split(" (")[0]), ["sda", "sdb", "sdc", "sr0"]);
    m.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name: "IDE fuzz: 200,000 random port accesses to both channels and the bus master never throw",
  ignore: !haveGenisoimage(),
  fn() {
    const dir = scratchDir();
    Deno.mkdirSync(`${dir}/src`);
    Deno.writeTextFileSync(`${dir}/src/a.txt`, "a");
    mustRun("genisoimage", "-quiet", "-o", `${dir}/t.iso`, `${dir}/src`);
    const r = rig({ cdrom: `${dir}/t.iso`, diskMiB: 1 });
    const { m } = r;
    const rng = new Rng(2026);
    const ports = [0x1f0, 0x1f1, 0x1f2, 0x1f3, 0x1f4, 0x1f5, 0x1f6, 0x1f7, 0x3f6, 0x170, 0x171, 0x172, 0x173];
    ports.push(0x174, 0x175, 0x176, 0x177, 0x376);
    for (let i = 0; i < 16; i++) ports.push(r.bm + i);
    // commands that move data are the interesting ones; packets get plausible opcodes
    const cmds = [0x20, 0x24, 0x25, 0x29, 0x30, 0x35, 0x39, 0xa0, 0xa1, 0xc4, 0xc5, 0xc6, 0xc8, 0xca, 0xec, 0xef, 0x91];
    const ops = [0x00, 0x03, 0x12, 0x1a, 0x1b, 0x1e, 0x25, 0x28, 0x2b, 0x43, 0x46, 0x4a, 0x5a, 0xa8, 0xbb];
    try {
      // PRD entries anywhere, including off the end of RAM
      for (let i = 0; i < 64; i++) {
        m.ram.writeU32(PRD + 8 * i, rng.u32() % (m.ram.size + 0x100000));
        m.ram.writeU32(PRD + 8 * i + 4, rng.u32());
      }
      for (let i = 0; i < 200_000; i++) {
        const p = ports[rng.u32() % ports.length];
        const size = [1, 2, 4][rng.u32() % 3];
        const x = rng.u32();
        if (x & 1) {
          m.io.read(p, size);
          continue;
        }
        let v = rng.u32();
        if ((p & 7) === 7 && p < 0x200 && (x & 6)) v = cmds[(x >>> 8) % cmds.length];
        if ((p & 7) === 0 && p < 0x200 && (x & 0x18) === 0x18) v = ops[(x >>> 8) % ops.length];
        if (p === r.bm + 4 || p === r.bm + 12) v = PRD;
        m.io.write(p, size, v);
      }
      // still answering: a fresh IDENTIFY after a software reset
      r.io.out8(PC, 4), r.io.out8(PC, 0);
      r.io.out8(P + 6, 0xa0), r.io.out8(P + 7, 0xec);
      const id = new Uint16Array(r.readPio(P, 512).buffer);
      assert.equal(id[60], 2048);
    } finally {
      r.close();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
