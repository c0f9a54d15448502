// Firmware boots from IDE: Debian's SeaBIOS finds the PIIX IDE disk and CD-ROM, and boots
//  - an MBR disk (`--disk FILE,if=ide`, boot order c): the boot sector (tests/boot/boot_sector.asm)
//    prints on COM1 and reads the disk's sector 1 through INT 13h AH=42h;
//  - an El Torito ISO made with genisoimage (`--cdrom`, boot order d): the no-emulation boot image
//    (the same source, -DCDROM) prints and reads the CD's sector 16 ("CD001") through INT 13h.
// Both tests attach both media, so the boot order (c, d) decides. The same through the CLI (`deno task boot --bios ... --boot d`) ends with
// status 0 (the guest halts after printing). Skipped when seabios, nasm or genisoimage is missing.
import assert from "node:assert/strict";
import { Machine } from "../../runtime/machine.ts";
import { haveTool, mustRun, scratchDir } from "../block/lib.ts";
import { runBootCli } from "../lib/cli_run.ts";

const BIOS = "/usr/share/seabios/bios.bin";
const ASM = new URL("./boot_sector.asm", import.meta.url).pathname;
const ready = (() => {
  try {
    return Deno.statSync(BIOS).isFile && haveTool("nasm") && haveTool("genisoimage");
  } catch {
    return false;
  }
})();
const MESSAGE = "a message in sector 1 of the boot disk";

function makeMedia(dir: string): { disk: string; iso: string } {
  mustRun("nasm", "-f", "bin", "-o", `${dir}/mbr.bin`, ASM);
  mustRun("nasm", "-DCDROM", "-f", "bin", "-o", `${dir}/src/boot.bin`, ASM);
  const disk = `${dir}/disk.img`;
  const img = new Uint8Array(1 << 20);
  img.set(Deno.readFileSync(`${dir}/mbr.bin`));
  img.set(new TextEncoder().encode(MESSAGE + "\0"), 512);
  Deno.writeFileSync(disk, img);
  Deno.writeTextFileSync(`${dir}/src/readme.txt`, "an El Torito test disc\n");
  const iso = `${dir}/boot.iso`;
  mustRun(
    "genisoimage",
    ...["-quiet", "-o", iso, "-b", "boot.bin", "-no-emul-boot", "-boot-load-size", "4", `${dir}/src`],
  );
  return { disk, iso };
}

async function firmwareBoot(opts: { disk: string; iso?: string; boot: string }): Promise<string> {
  let out = "";
  const m = await Machine.create({
    memMiB: 64,
    acpi: false,
    clock: "virtual",
    disks: [{ file: opts.disk, if: "ide", format: "raw", readonly: true }],
    cdrom: opts.iso,
    boot: opts.boot,
    serialOut: (b) => (out += new TextDecoder().decode(b)),
  });
  m.loadBios(await Deno.readFile(BIOS));
  const timer = setTimeout(() => m.stop(), 120_000);
  const outcome = await m.run();
  clearTimeout(timer);
  m.close();
  assert.deepEqual(outcome, { kind: "halt" }, out);
  return out;
}

Deno.test({
  name: "SeaBIOS boots an MBR disk on the IDE controller; the boot sector reads through INT 13h",
  ignore: !ready,
  async fn() {
    const dir = scratchDir();
    try {
      Deno.mkdirSync(`${dir}/src`);
      const { disk, iso } = makeMedia(dir);
      const out = await firmwareBoot({ disk, iso, boot: "cdn" }); // the CD is there too: c wins
      assert.match(out, /ring3 MBR boot: running from the disk\r\ndisk sector 1: (.*)\r\n/, out);
      assert.ok(out.includes(`disk sector 1: ${MESSAGE}\r\n`), out);
      assert.ok(!out.includes("El Torito"), out);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "SeaBIOS boots an El Torito ISO from the ATAPI CD-ROM with boot order d",
  ignore: !ready,
  async fn() {
    const dir = scratchDir();
    try {
      Deno.mkdirSync(`${dir}/src`);
      const { disk, iso } = makeMedia(dir);
      const out = await firmwareBoot({ disk, iso, boot: "dcn" });
      assert.ok(out.includes("ring3 El Torito boot: running from the CD\r\nCD sector 16: CD001\r\n"), out);
      assert.ok(!out.includes("MBR boot"), out);
      // the CLI: --bios, --cdrom, --boot d; the guest halts after printing: exit status 0
      const r = await runBootCli(
        ["--bios", BIOS, "--disk", `${disk},if=ide,readonly=on`, "--cdrom", iso, "--boot", "d"],
        "",
        180_000,
      );
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.ok(r.stdout.includes("CD sector 16: CD001"), r.stdout);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
