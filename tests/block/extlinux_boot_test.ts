// Firmware boot through a real boot loader: SeaBIOS -> SYSLINUX's MBR -> extlinux (ldlinux.sys,
// which goes back and forth between real and protected mode for every BIOS call) -> the Linux
// kernel, on the IDE disk and on virtio-blk. This stalled right after "Booting from 0000:7c00"
// until real mode stopped checking the code-segment type a protected-mode trip leaves in the CS
// cache (tests/system/realmode_cs_write_test.ts has the instruction).
//
// The disk is made here: an MBR partition table with syslinux's mbr.bin, one ext4 partition
// holding the default guest's kernel and an extlinux.conf, extlinux installed into it. extlinux
// only installs into a mounted file system, so this needs root and loop mounts, plus extlinux,
// syslinux-common (mbr.bin), e2fsprogs and seabios: skipped with a note otherwise. When
// `deno task image` has built build/images/debian-i386.img, it boots that too (to the kernel).
import assert from "node:assert/strict";
import { Machine } from "../../runtime/machine.ts";
import { haveTool, run, scratchDir } from "./lib.ts";

const root = new URL("../../", import.meta.url).pathname;
const BIOS = "/usr/share/seabios/bios.bin";
const MBR = "/usr/lib/syslinux/mbr/mbr.bin";
const KERNEL = `${root}guest/images/bzImage`;
const DEBIAN = Deno.env.get("RING3_DEBIAN_IMAGE") ?? `${root}build/images/debian-i386.img`;
const PART_START = 2048; // sectors

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function missing(): string | undefined {
  for (const f of [BIOS, MBR, KERNEL]) if (!exists(f)) return f;
  for (const t of ["extlinux", "mkfs.ext4", "mount", "umount"]) if (!haveTool(t)) return t;
  if (Deno.uid?.() !== 0) return "root (extlinux installs into a mounted file system)";
  return undefined;
}

// a 24 MiB disk: MBR + one bootable ext4 partition with extlinux and the kernel
function makeDisk(dir: string): string | undefined {
  const part = `${dir}/part.img`, mnt = `${dir}/mnt`, disk = `${dir}/disk.img`;
  const partBytes = 23 << 20;
  Deno.writeFileSync(part, new Uint8Array(0));
  Deno.truncateSync(part, partBytes);
  const mk = run("mkfs.ext4", "-q", "-F", "-L", "ring3-xl", part);
  if (mk.code !== 0) throw new Error(mk.out);
  Deno.mkdirSync(mnt);
  const m = run("mount", "-o", "loop", part, mnt);
  if (m.code !== 0) return `loop mount (${m.out.trim()})`;
  try {
    Deno.mkdirSync(`${mnt}/boot/extlinux`, { recursive: true });
    Deno.copyFileSync(KERNEL, `${mnt}/boot/bzImage`);
    Deno.writeTextFileSync(
      `${mnt}/boot/extlinux/extlinux.conf`,
      "SERIAL 0 115200\nDEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL /boot/bzImage\n" +
        "  APPEND console=ttyS0\n",
    );
    const x = run("extlinux", "--install", `${mnt}/boot/extlinux`);
    if (x.code !== 0) throw new Error(`extlinux: ${x.out}`);
  } finally {
    run("umount", mnt);
  }
  const img = new Uint8Array(PART_START * 512 + partBytes);
  img.set(Deno.readFileSync(MBR).subarray(0, 440));
  const pe = new DataView(img.buffer, 446, 16); // partition 1: active, type 0x83, LBA start/size
  pe.setUint8(0, 0x80);
  pe.setUint8(4, 0x83);
  for (const o of [1, 2, 3, 5, 6, 7]) pe.setUint8(o, 0xff); // CHS: "use LBA"
  pe.setUint32(8, PART_START, true);
  pe.setUint32(12, partBytes / 512, true);
  img[510] = 0x55, img[511] = 0xaa;
  img.set(Deno.readFileSync(part), PART_START * 512);
  Deno.writeFileSync(disk, img);
  return undefined;
}

// boots through SeaBIOS until the kernel prints its version line (or the time runs out)
async function bootToKernel(file: string, bus: "ide" | "virtio", memMiB = 128): Promise<string> {
  let out = "";
  const m = await Machine.create({
    memMiB,
    acpi: false,
    disks: [{ file, if: bus, format: "raw", snapshot: true }],
    serialOut: (b) => {
      out += new TextDecoder().decode(b);
      if (/Linux version \d/.test(out)) m.stop();
    },
  });
  m.loadBios(await Deno.readFile(BIOS));
  const timer = setTimeout(() => m.stop(), 240_000);
  try {
    await m.run();
  } finally {
    clearTimeout(timer);
    m.close();
  }
  return out;
}

Deno.test("SeaBIOS boots extlinux from an MBR disk to the Linux kernel, on IDE and on virtio-blk", async () => {
  const why = missing();
  if (why) {
    console.log(`  (skipped: needs ${why}; apt-get install extlinux syslinux-common e2fsprogs seabios)`);
    return;
  }
  const dir = scratchDir();
  try {
    const no = makeDisk(dir);
    if (no) {
      console.log(`  (skipped: no ${no})`);
      return;
    }
    for (const bus of ["ide", "virtio"] as const) {
      const out = await bootToKernel(`${dir}/disk.img`, bus);
      assert.match(out, /SYSLINUX \d+\.\d+/, `${bus}: extlinux did not start:\n${out}`);
      assert.ok(out.includes("Loading /boot/bzImage... ok"), `${bus}: kernel not loaded:\n${out}`);
      assert.match(out, /Linux version \d+\.\d+\.\d+/, `${bus}: the kernel did not start:\n${out}`);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("SeaBIOS boots deno task image's Debian disk through extlinux to its kernel", async () => {
  if (!exists(DEBIAN) || !exists(BIOS)) {
    console.log(`  (skipped: no ${exists(BIOS) ? DEBIAN + "; build it with deno task image" : BIOS})`);
    return;
  }
  const out = await bootToKernel(DEBIAN, "ide", 512);
  assert.match(out, /Linux version \d+\.\d+\.\d+/, `the kernel did not start:\n${out.slice(-3000)}`);
});
