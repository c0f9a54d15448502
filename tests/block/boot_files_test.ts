// A disk that boots itself (runtime/block/boot_files.ts): the extlinux configuration's default
// label is parsed, the first Linux partition found in the MBR, and the kernel and initrd it names
// are read out of an ext4 partition inside a raw image with debugfs; `deno task boot`'s argument
// parsing takes them when no --kernel is given. A disk without them boots the default guest.
import assert from "node:assert/strict";
import { imageBootFiles, linuxPartition, parseExtlinux } from "../../runtime/block/boot_files.ts";
import { parseBootArgs } from "../../cli/boot.ts";
import { E2FS, mustRun, scratchDir, skipNote } from "./lib.ts";

Deno.test("extlinux.conf: the DEFAULT label's LINUX, INITRD, APPEND", () => {
  const conf =
    `SERIAL 0 115200\nDEFAULT two\n# a comment\nLABEL one\n  LINUX /a\nLABEL two\n  kernel /boot/vmlinuz-2\n` +
    `  INITRD /boot/initrd-2\n  APPEND root=LABEL=x console=ttyS0\n`;
  assert.deepEqual(parseExtlinux(conf), {
    kernel: "/boot/vmlinuz-2",
    initrd: "/boot/initrd-2",
    append: "root=LABEL=x console=ttyS0",
  });
  assert.deepEqual(parseExtlinux("LABEL only\nLINUX /k\n"), { kernel: "/k", initrd: null, append: "" });
  assert.equal(parseExtlinux("DEFAULT x\n"), null);
  const mbr = new Uint8Array(512);
  assert.equal(linuxPartition(mbr), null, "no signature");
  mbr[510] = 0x55, mbr[511] = 0xaa;
  mbr[446 + 16 + 4] = 0x83;
  new DataView(mbr.buffer).setUint32(446 + 16 + 8, 4096, true);
  assert.equal(linuxPartition(mbr), 4096 * 512);
});

Deno.test("a raw disk with extlinux on an ext4 partition gives its kernel, initrd and command line", () => {
  if (!E2FS) return skipNote("e2fsprogs");
  const dir = scratchDir();
  try {
    Deno.mkdirSync(`${dir}/root/boot/extlinux`, { recursive: true });
    const kernel = new Uint8Array(70_000).map((_, i) => i & 0xff), initrd = new Uint8Array(5000).fill(7);
    Deno.writeFileSync(`${dir}/root/boot/vmlinuz-9`, kernel);
    Deno.writeFileSync(`${dir}/root/boot/initrd-9`, initrd);
    Deno.writeTextFileSync(
      `${dir}/root/boot/extlinux/extlinux.conf`,
      "DEFAULT d\nLABEL d\n LINUX /boot/vmlinuz-9\n INITRD /boot/initrd-9\n APPEND root=LABEL=t quiet\n",
    );
    mustRun("mkfs.ext4", "-q", "-F", "-d", `${dir}/root`, `${dir}/part`, "8M");
    const part = Deno.readFileSync(`${dir}/part`);
    const img = new Uint8Array(2048 * 512 + part.length);
    img[510] = 0x55, img[511] = 0xaa, img[446 + 4] = 0x83;
    new DataView(img.buffer).setUint32(446 + 8, 2048, true);
    img.set(part, 2048 * 512);
    Deno.writeFileSync(`${dir}/disk.img`, img);
    const b = imageBootFiles(`${dir}/disk.img`)!;
    assert.ok(b);
    assert.equal(b.append, "root=LABEL=t quiet");
    assert.deepEqual(Deno.readFileSync(b.kernel), kernel);
    assert.deepEqual(Deno.readFileSync(b.initrd!), initrd);
    const cfg = parseBootArgs(["--disk", `${dir}/disk.img,if=ide`]);
    assert.equal(cfg.append, "root=LABEL=t quiet");
    assert.deepEqual(Deno.readFileSync(cfg.kernel!), kernel);
    // --kernel or --bios: the disk's own files are not used; a disk without them: the default guest
    assert.notEqual(parseBootArgs(["--disk", `${dir}/disk.img`, "--append", "x"]).append, b.append);
    Deno.writeFileSync(`${dir}/plain.img`, new Uint8Array(1 << 20));
    assert.equal(imageBootFiles(`${dir}/plain.img`), null);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
