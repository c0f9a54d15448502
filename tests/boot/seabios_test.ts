// Debian's SeaBIOS (the firmware QEMU ships) as the ROM of a firmware boot: it runs POST from the
// reset vector, finds the RAM size in CMOS, enumerates PCI, the CPUs, serial ports and the PS/2
// keyboard, builds its e820 map, and tries to boot from a floppy and a hard disk, which this
// machine does not have. Its debug log goes to port 0x402 (QEMU's debugcon). The virtual clock
// skips its 2.5 s boot-menu wait. Skipped when the seabios package is not installed.
import assert from "node:assert/strict";
import { Machine } from "../../runtime/machine.ts";

const BIOS = "/usr/share/seabios/bios.bin";
const installed = (() => {
  try {
    return Deno.statSync(BIOS).isFile;
  } catch {
    return false;
  }
})();

const DONE = "No bootable device.";

Deno.test({
  name: "SeaBIOS POSTs on ring3 and looks for a boot disk",
  ignore: !installed,
  async fn() {
    const m = await Machine.create({ memMiB: 128, acpi: false, clock: "virtual" });
    let log = "";
    m.io.register(0x402, 1, {
      read: () => 0xe9,
      write: (_port, _size, v) => {
        log += String.fromCharCode(v & 0xff);
        if (log.endsWith(DONE)) m.stop();
      },
    });
    m.loadBios(await Deno.readFile(BIOS));
    const timer = setTimeout(() => m.stop(), 60_000);
    const outcome = await m.run();
    clearTimeout(timer);
    m.close();
    const ctx = `\n--- SeaBIOS log ---\n${log}`;
    assert.deepEqual(outcome, { kind: "stopped" });
    assert.match(log, /^SeaBIOS \(version [^)]+\)\n/, ctx);
    assert.match(log, /^RamSize: 0x08000000 \[cmos\]$/m, ctx);
    assert.match(log, /^Found 3 PCI devices/m, ctx); // host bridge, ISA bridge, pvpanic
    assert.match(log, /^PCI: init bdf=00:00\.0 id=8086:1237$/m, ctx);
    assert.match(log, /^PCI: init bdf=00:01\.0 id=8086:7000$/m, ctx);
    assert.match(log, /^PCI: init bdf=00:1e\.0 id=1b36:0011$/m, ctx);
    assert.match(log, /^Found 1 cpu\(s\)/m, ctx);
    assert.match(log, /^Found 2 serial ports$/m, ctx);
    assert.match(log, /^PS2 keyboard initialized$/m, ctx);
    assert.match(log, /^ {2}\d: 0000000000100000 - 0000000008000000 = 1 RAM$/m, ctx);
    assert.match(log, /^Booting from Hard Disk\.\.\.$/m, ctx);
    assert.ok(log.endsWith(DONE), ctx);
  },
});
