// IDE under a real guest: the default kernel's ata_piix finds the PIIX IDE controller's ATA disk
// (/dev/sda) and ATAPI CD-ROM (/dev/sr0) and sets them to DMA; the guest mounts an ISO 9660 image
// made on the host (genisoimage) and reads a file whose md5 the host knows; it writes 1 MB of
// random data to sda, drops its caches, reads it back, and the host finds the same bytes in the
// image file. Skipped (with a note) when genisoimage is missing.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { runBootCli } from "../lib/cli_run.ts";
import { haveTool, mustRun, randomBytes, scratchDir } from "./lib.ts";
import { Rng } from "../lib/rng.ts";

const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");

Deno.test({
  name: "IDE guest: ata_piix sees sda and sr0, reads a file off an ISO, writes and reads back sda",
  ignore: !haveTool("genisoimage"),
  async fn() {
    const dir = scratchDir();
    try {
      Deno.mkdirSync(`${dir}/src/sub`, { recursive: true });
      const blob = randomBytes(new Rng(11), 300_000);
      Deno.writeFileSync(`${dir}/src/sub/blob.bin`, blob);
      Deno.writeTextFileSync(`${dir}/src/hello.txt`, "hello from an ISO\n");
      mustRun("genisoimage", "-quiet", "-R", "-J", "-V", "RING3TEST", "-o", `${dir}/t.iso`, `${dir}/src`);
      const disk = `${dir}/disk.img`;
      Deno.writeFileSync(disk, new Uint8Array(0));
      Deno.truncateSync(disk, 16 << 20);
      const script = [
        "cat /proc/partitions",
        "mkdir /m && mount -t iso9660 -o ro /dev/sr0 /m && cat /m/hello.txt && md5sum /m/sub/blob.bin",
        "dd if=/dev/urandom of=/tmp/x bs=4k count=256 2>/dev/null; md5sum /tmp/x",
        "dd if=/tmp/x of=/dev/sda bs=4k seek=100 conv=fsync 2>/dev/null; echo 3 > /proc/sys/vm/drop_caches",
        "dd if=/dev/sda bs=4k skip=100 count=256 2>/dev/null | md5sum",
        "for d in 1 2; do echo ata$d xfer $(cat /sys/class/ata_device/dev$d.0/xfer_mode); done",
        "exit",
        "",
      ].join("\n");
      const r = await runBootCli(
        ["--disk", `${disk},if=ide,format=raw`, "--cdrom", `${dir}/t.iso`],
        script,
        400_000,
      );
      const out = r.stdout;
      assert.equal(r.code, 0, `ring3 exit ${r.code}\n${r.stderr}\n${out.slice(-3000)}`);
      assert.match(out, /\s8\s+0\s+16384 sda\r?\n/, out);
      assert.match(out, /\s11\s+0\s+\d+ sr0\r?\n/, out);
      assert.match(out, /ata1\.00: ATA-7: RING3 HARDDISK/, out);
      assert.match(out, /ata2\.00: ATAPI: RING3 CD-ROM/, out);
      assert.match(out, /^ata1 xfer XFER_MW_DMA_2\r?$/m, out);
      assert.match(out, /^ata2 xfer XFER_MW_DMA_2\r?$/m, out);
      assert.match(out, /hello from an ISO/, out);
      assert.ok(out.includes(`${md5(blob)}  /m/sub/blob.bin`), out);
      const sums = [...out.matchAll(/^([0-9a-f]{32}) {2}(\/tmp\/x|-)\r?$/gm)];
      assert.equal(sums.length, 2, out);
      assert.equal(sums[0][1], sums[1][1], "read back what was written");
      const img = Deno.readFileSync(disk);
      assert.equal(md5(img.subarray(100 * 4096, 356 * 4096)), sums[0][1], "the image file holds it");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
