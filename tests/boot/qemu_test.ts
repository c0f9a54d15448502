// Cross-check of the bzImage loader on a real x86 machine model: the memory image our loader
// builds (GDT, zero page with e820 map, command line, kernel, initrd) is put into QEMU's RAM, a
// 64 KiB stub "BIOS" (qemu_entry.asm) enters the kernel the way the 32-bit boot protocol says, and
// the committed guest must boot to its init and report what it was given. Skipped when
// qemu-system-i386 or nasm is not installed.
import assert from "node:assert/strict";
import { loadBzImage, parseBzImage, type Region } from "../../runtime/boot/bzimage.ts";
import { GuestRam } from "../../runtime/memory.ts";

const IMAGES = new URL("../../guest/images/", import.meta.url);
const has = (cmd: string) => {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" }).outputSync().success;
  } catch {
    return false;
  }
};
const ready = has("qemu-system-i386") && has("nasm");

async function bootInQemu(memMiB: number, cmdline: string, regions: Region[], until: RegExp) {
  const dir = await Deno.makeTempDir({ prefix: "ring3-qemu-" });
  try {
    const kernel = await Deno.readFile(new URL("bzImage", IMAGES));
    const initrd = await Deno.readFile(new URL("initramfs.cpio.gz", IMAGES));
    const ram = new Uint8Array(memMiB << 20);
    const lay = loadBzImage(new GuestRam(ram), kernel, { cmdline, initrd, regions });
    const pmLen = kernel.length - parseBzImage(kernel).header.setupBytes;
    await Deno.writeFile(`${dir}/low.bin`, ram.subarray(0x1000, 0x21000));
    await Deno.writeFile(`${dir}/kernel.bin`, ram.subarray(0x100000, 0x100000 + pmLen));
    await Deno.writeFile(`${dir}/initrd.bin`, ram.subarray(lay.initrdAddr, lay.initrdAddr + lay.initrdSize));
    const asm = new URL("./qemu_entry.asm", import.meta.url).pathname;
    const nasm = await new Deno.Command("nasm", { args: ["-f", "bin", asm, "-o", `${dir}/entry.bin`] }).output();
    assert.ok(nasm.success, new TextDecoder().decode(nasm.stderr));

    const child = new Deno.Command("qemu-system-i386", {
      args: [
        "-accel",
        "tcg",
        "-m",
        String(memMiB),
        "-nographic",
        "-no-reboot",
        "-monitor",
        "none",
        "-bios",
        `${dir}/entry.bin`,
        "-device",
        `loader,file=${dir}/low.bin,addr=0x1000,force-raw=on`,
        "-device",
        `loader,file=${dir}/kernel.bin,addr=0x100000,force-raw=on`,
        "-device",
        `loader,file=${dir}/initrd.bin,addr=${lay.initrdAddr},force-raw=on`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let out = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    const dec = new TextDecoder();
    for await (const chunk of child.stdout) {
      out += dec.decode(chunk, { stream: true });
      if (until.test(out)) break;
    }
    clearTimeout(timer);
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await child.stderr.cancel();
    return { out, lay };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const hex16 = (n: number) => "0x" + n.toString(16).padStart(16, "0");

Deno.test({
  name: "QEMU boots the committed guest from our loader's memory image",
  ignore: !ready,
  async fn() {
    const top = 128 << 20;
    // a reserved block at the top of RAM, where a machine would keep its ACPI tables
    const regions = [{ addr: top - 0x100000, size: 0x100000 }];
    const { out, lay } = await bootInQemu(128, "console=ttyS0 ring3.run=info", regions, /ring3: exit \d+/);
    assert.match(out, /ring3: userspace up/, out.slice(-2000));
    assert.match(out, /ring3: exit 0/, out.slice(-2000));
    if (Deno.env.get("RING3_QEMU_LOG")) Deno.writeTextFileSync(Deno.env.get("RING3_QEMU_LOG")!, out);
    assert.ok(out.includes("Kernel command line: console=ttyS0 ring3.run=info"));
    // the kernel saw exactly our e820 map
    for (const e of lay.e820) {
      const kind = e.type === 1 ? "usable" : e.type === 3 ? "ACPI data" : "reserved";
      const line = `BIOS-e820: [mem ${hex16(e.addr)}-${hex16(e.addr + e.size - 1)}] ${kind}`;
      assert.ok(out.includes(line), `missing '${line}'`);
    }
    assert.equal(lay.initrdAddr + lay.initrdSize <= top - 0x100000, true);
    // ... and our initrd where we put it
    const rd = `RAMDISK: [mem 0x${lay.initrdAddr.toString(16).padStart(8, "0")}-`;
    assert.ok(out.includes(rd), `missing '${rd}'`);
    assert.doesNotMatch(out, /Kernel panic|Initramfs unpacking failed/);
  },
});
