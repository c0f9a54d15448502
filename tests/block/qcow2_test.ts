// qcow2 against QEMU's own tools: images made by qemu-img (v2 and v3, cluster sizes from 512
// bytes to 2 MiB, a raw backing file, compressed and zero clusters) read back what qemu-img says
// they hold; after ring3 wrote to them (partial clusters, writes spanning clusters, over
// compressed, zero and backing clusters, discards) `qemu-img check` finds no error and no leak,
// and `qemu-img convert` to raw gives exactly the bytes of a reference model.
import assert from "node:assert/strict";
import { deflateRawSync } from "node:zlib";
import { openImage } from "../../runtime/block/open.ts";
import { DiskError } from "../../runtime/block/image.ts";
import { Rng } from "../lib/rng.ts";
import { firstDiff, mustRun, QEMU_IMG, randomBytes, run, scratchDir, skipNote } from "./lib.ts";

const MiB = 1 << 20;

function rawOf(dir: string, img: string): Uint8Array {
  const out = `${dir}/convert.raw`;
  mustRun("qemu-img", "convert", "-O", "raw", img, out);
  const b = Deno.readFileSync(out);
  Deno.removeSync(out);
  return b;
}

function checkClean(img: string): void {
  const r = run("qemu-img", "check", img);
  assert.equal(r.code, 0, `qemu-img check ${img}:\n${r.out}`);
  assert.match(r.out, /No errors were found/);
  assert.doesNotMatch(r.out, /leaked/);
}

// random writes (and discards) through ring3, mirrored into `model`
function storm(path: string, model: Uint8Array, rng: Rng, ops: number, discard: boolean): void {
  const img = openImage(path);
  try {
    assert.equal(img.size, model.length);
    for (let i = 0; i < ops; i++) {
      const len = rng.pick([512, 4096, 65536, 3 * 512, 200 * 1024]);
      const off = rng.below((model.length - len) / 512) * 512;
      if (discard && rng.chance(0.1)) {
        img.discard(off, len);
        // contents of a discarded range are unspecified: take what ring3 now reads as the model
        const now = new Uint8Array(len);
        img.read(off, now);
        model.set(now, off);
        continue;
      }
      const data = randomBytes(rng, len);
      img.write(off, data);
      model.set(data, off);
      if (rng.chance(0.3)) {
        const back = new Uint8Array(len);
        img.read(off, back);
        assert.equal(firstDiff(back, data), -1);
      }
    }
    img.flush();
    const all = new Uint8Array(model.length);
    img.read(0, all);
    assert.equal(firstDiff(all, model), -1, "ring3 reads back what it wrote");
  } finally {
    img.close();
  }
}

const VARIANTS: [string, number, number][] = [
  ["0.10", 65536, 16],
  ["1.1", 65536, 16],
  ["1.1", 512, 16],
  ["1.1", 4096, 64],
  ["1.1", 65536, 8],
  ["0.10", 2 * MiB, 16],
];
for (const [compat, clusterSize, refBits] of VARIANTS) {
  const opts = `compat=${compat},cluster_size=${clusterSize}` + (refBits !== 16 ? `,refcount_bits=${refBits}` : "");
  Deno.test(`qcow2 ${opts}: ring3's writes pass qemu-img check and convert`, () => {
    if (!QEMU_IMG) return skipNote("qemu-img");
    const dir = scratchDir();
    try {
      const p = `${dir}/t.qcow2`;
      const size = clusterSize === 512 ? 4 * MiB : 24 * MiB;
      mustRun(
        "qemu-img",
        "create",
        "-q",
        "-f",
        "qcow2",
        "-o",
        `compat=${compat},cluster_size=${clusterSize}`,
        p,
        String(size),
      );
      const model = new Uint8Array(size);
      storm(p, model, new Rng(clusterSize ^ compat.length ^ refBits), 120, true);
      checkClean(p);
      assert.equal(firstDiff(rawOf(dir, p), model), -1, "qemu-img convert gives the model's bytes");
      // and again on the image as ring3 left it (tables read back from the file)
      storm(p, model, new Rng(7), 60, false);
      checkClean(p);
      assert.equal(firstDiff(rawOf(dir, p), model), -1);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });
}

Deno.test("qcow2 over a raw backing file (qemu-img create -b base.img -F raw): reads, copy-on-write, check", () => {
  if (!QEMU_IMG) return skipNote("qemu-img");
  const dir = scratchDir();
  try {
    const rng = new Rng(42);
    const base = randomBytes(rng, 8 * MiB + 3 * 512); // not a whole number of clusters
    Deno.writeFileSync(`${dir}/base.img`, base);
    mustRun("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.img", "-F", "raw", `${dir}/top.qcow2`, "16M");
    const top = openImage(`${dir}/top.qcow2`);
    const all = new Uint8Array(top.size);
    top.read(0, all);
    top.close();
    const model = new Uint8Array(16 * MiB);
    model.set(base);
    assert.equal(firstDiff(all, model), -1, "unallocated clusters read the backing file, zeros past its end");
    storm(`${dir}/top.qcow2`, model, rng, 80, false);
    checkClean(`${dir}/top.qcow2`);
    assert.equal(firstDiff(rawOf(dir, `${dir}/top.qcow2`), model), -1);
    assert.equal(firstDiff(Deno.readFileSync(`${dir}/base.img`), base), -1, "the backing file is untouched");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("qcow2 compressed and zero clusters (qemu-img convert -c, qemu-io write -z) read right and take writes", () => {
  if (!QEMU_IMG) return skipNote("qemu-img");
  const dir = scratchDir();
  try {
    const rng = new Rng(9);
    const size = 4 * MiB;
    const model = new Uint8Array(size);
    // compressible data: runs of random bytes repeated
    for (let o = 0; o < size; o += 4096) {
      model.set(randomBytes(rng, 64).subarray(0, 64).map((x, i) => x ^ (o >> 12) ^ i), o);
    }
    Deno.writeFileSync(`${dir}/plain.img`, model);
    mustRun("qemu-img", "convert", "-q", "-c", "-O", "qcow2", `${dir}/plain.img`, `${dir}/c.qcow2`);
    mustRun("qemu-io", "-c", "write -z 1M 512K", `${dir}/c.qcow2`); // zero clusters (v3)
    model.fill(0, MiB, MiB + 512 * 1024);
    const img = openImage(`${dir}/c.qcow2`);
    const all = new Uint8Array(size);
    img.read(0, all);
    img.close();
    assert.equal(firstDiff(all, model), -1, "compressed and zero clusters");
    storm(`${dir}/c.qcow2`, model, rng, 60, true);
    checkClean(`${dir}/c.qcow2`);
    assert.equal(firstDiff(rawOf(dir, `${dir}/c.qcow2`), model), -1);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("qcow2: clear one-line errors for a corrupt header", () => {
  const dir = scratchDir();
  try {
    const p = `${dir}/bad.qcow2`;
    const hdr = new Uint8Array(512);
    const dv = new DataView(hdr.buffer);
    dv.setUint32(0, 0x514649fb);
    const expectErr = (re: RegExp) =>
      assert.throws(
        () => openImage(p).close(),
        (e) => e instanceof DiskError && re.test(e.message) && !e.message.includes("\n"),
      );
    Deno.writeFileSync(p, hdr.subarray(0, 40));
    expectErr(/not a valid qcow2 image: shorter than a qcow2 header/);
    dv.setUint32(4, 4);
    Deno.writeFileSync(p, hdr);
    expectErr(/version 4/);
    dv.setUint32(4, 2);
    dv.setUint32(20, 40);
    Deno.writeFileSync(p, hdr);
    expectErr(/cluster_bits 40/);
    dv.setUint32(20, 16);
    dv.setBigUint64(24, 1n << 40n); // 1 TiB with no L1 table
    Deno.writeFileSync(p, hdr);
    expectErr(/L1 table of 0 entries is too small/);
    Deno.writeFileSync(
      p,
      new TextEncoder().encode("not a qcow2 image, but long enough for a header of one: ".repeat(4)),
    );
    assert.throws(() => openImage(p, { format: "qcow2" }), /no QFI/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("qcow2 over qcow2 over raw, and snapshot=on over the chain: reads see every layer, the files stay as they were", () => {
  if (!QEMU_IMG) return skipNote("qemu-img");
  const dir = scratchDir();
  try {
    const rng = new Rng(5);
    const base = randomBytes(rng, 4 * MiB);
    Deno.writeFileSync(`${dir}/base.img`, base);
    mustRun("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.img", "-F", "raw", `${dir}/mid.qcow2`);
    const mid = randomBytes(rng, 100_000 - (100_000 % 512));
    mustRun("qemu-io", "-c", `write -P 0x77 1M 64K`, `${dir}/mid.qcow2`);
    mustRun("qemu-img", "create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", `${dir}/top.qcow2`);
    const model = base.slice();
    model.fill(0x77, MiB, MiB + 65536);
    const top = openImage(`${dir}/top.qcow2`, { snapshot: true });
    top.write(3 * MiB + 512, mid);
    model.set(mid, 3 * MiB + 512);
    const all = new Uint8Array(top.size);
    top.read(0, all);
    top.close();
    assert.equal(firstDiff(all, model), -1);
    const untouched = rawOf(dir, `${dir}/top.qcow2`);
    model.set(base.subarray(3 * MiB + 512, 3 * MiB + 512 + mid.length), 3 * MiB + 512);
    assert.equal(firstDiff(untouched, model), -1, "snapshot=on wrote nothing to the chain");
    checkClean(`${dir}/top.qcow2`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("qcow2 with hostile tables: an unaligned L2 offset and a compressed zip bomb are errors, not crashes", () => {
  if (!QEMU_IMG) return skipNote("qemu-img");
  const dir = scratchDir();
  try {
    const p = `${dir}/h.qcow2`;
    mustRun("qemu-img", "create", "-q", "-f", "qcow2", p, "1G");
    mustRun("qemu-io", "-c", "write -P 0x11 0 64K", p);
    const f = Deno.openSync(p, { read: true, write: true });
    const hdr = new Uint8Array(72);
    f.readSync(hdr);
    const dv = new DataView(hdr.buffer);
    const l1 = Number(dv.getBigUint64(40));
    const l1e = new Uint8Array(8);
    f.seekSync(l1, Deno.SeekMode.Start);
    f.readSync(l1e);
    const l2 = Number(new DataView(l1e.buffer).getBigUint64(0) & 0x00fffffffffffe00n);
    // L2 entry 1: a compressed cluster whose stream inflates to 1 MiB (a cluster is 64 KiB)
    const bomb = deflateRawSync(new Uint8Array(1 << 20));
    const end = Math.ceil(Deno.statSync(p).size / 512) * 512;
    f.seekSync(end, Deno.SeekMode.Start);
    f.writeSync(bomb);
    const sectors = Math.ceil(bomb.length / 512);
    const e = (1n << 62n) | (BigInt(sectors - 1) << 54n) | BigInt(end);
    const eb = new Uint8Array(8);
    new DataView(eb.buffer).setBigUint64(0, e);
    f.seekSync(l2 + 8, Deno.SeekMode.Start);
    f.writeSync(eb);
    // L1 entry 1: an L2 table at an unaligned offset
    new DataView(eb.buffer).setBigUint64(0, (1n << 63n) | 0x12200n);
    f.seekSync(l1 + 8, Deno.SeekMode.Start);
    f.writeSync(eb);
    f.close();
    const img = openImage(p, { readonly: true });
    try {
      const b = new Uint8Array(4096);
      img.read(0, b);
      assert.ok(b.every((x) => x === 0x11), "the good cluster still reads");
      assert.throws(() => img.read(65536, b), /compressed cluster/);
      assert.throws(() => img.read(8192 * 65536, b), /not aligned/); // the second L1 entry: from 512 MiB
    } finally {
      img.close();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
