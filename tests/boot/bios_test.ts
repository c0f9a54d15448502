// `deno task boot --bios ROM`: a firmware boot the way a real PC starts. reset_rom.asm (built here
// with nasm) checks the reset state, uses the 8259A, PIT, ACPI PM timer, RTC and COM1, enters
// protected mode, and then powers off or resets on a command byte read from COM1. Three runs of
// the real command, side by side: power off; reset (which reboots into the ROM, which then halts
// with interrupts off); and reset under --no-reboot.
import assert from "node:assert/strict";
import { nasm } from "../lib/tools.ts";
import { runBootCli } from "../lib/cli_run.ts";

const PM_TIMER_HZ = 3579545;

async function boot(rom: string, stdin: string, ...args: string[]) {
  const r = await runBootCli(["--bios", rom, ...args], stdin, 60_000);
  return { ...r, ctx: `\n${r.stdout}` };
}

// the value after "rom: KEY " on the first line that has one
const field = (out: string, key: string): string | undefined =>
  new RegExp(`^rom: ${key} (\\S*)\\r?$`, "m").exec(out)?.[1];

Deno.test({
  name: "--bios: the ROM runs from the reset vector with the PC's devices, then powers off, resets or halts",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const image = await nasm(await Deno.readTextFile(new URL("./reset_rom.asm", import.meta.url)));
    assert.equal(image.length, 0x10000);
    const rom = await Deno.makeTempFile({ prefix: "ring3-rom-", suffix: ".bin" });
    const debugcon = rom + ".debugcon";
    try {
      await Deno.writeFile(rom, image);
      const [off, reset, once] = await Promise.all([
        boot(rom, "p", "--debugcon", debugcon),
        boot(rom, "r"),
        boot(rom, "r", "--no-reboot"),
      ]);

      await t.step("reset state: CS F000 with the ROM below 4 GiB, CR0, EDX = CPU signature", () => {
        assert.equal(field(off.stdout, "cs"), "0000f000", off.ctx);
        assert.equal(field(off.stdout, "cr0"), "60000010", off.ctx); // CD, NW, ET
        assert.equal(field(off.stdout, "edx"), "000006e8", off.ctx); // Core Duo family 6 model 14 stepping 8
        // the reset vector's write through CS went to read-only ROM, not to the copy below 1 MiB
        assert.equal(field(off.stdout, "probe"), "55", off.ctx);
      });

      await t.step("--debugcon: port 0x402 output goes to the file, the port reads 0xE9", async () => {
        assert.equal(await Deno.readTextFile(debugcon), "reset rom on the debug console\n");
        assert.equal(field(off.stdout, "debugcon"), "e9", off.ctx);
        assert.equal(field(reset.stdout, "debugcon"), "ff", reset.ctx); // no device: open bus
      });

      await t.step("PIT interrupts through the 8259A: 10 ticks at 100 Hz = 100 ms of ACPI PM timer", () => {
        const n = parseInt(field(off.stdout, "pmtimer per 10 ticks") ?? "", 16);
        assert.ok(Math.abs(n / PM_TIMER_HZ - 0.1) < 0.005, `${n} PM timer counts${off.ctx}`);
      });

      await t.step("RTC: the host's date and time (UTC)", () => {
        const text = field(off.stdout, "rtc") ?? "";
        const ms = Date.parse(text + "Z");
        assert.ok(!Number.isNaN(ms), `rtc '${text}'${off.ctx}`);
        assert.ok(
          ms <= off.end + 1000 && ms >= off.end - 60_000,
          `rtc ${text}, host ${new Date(off.end).toISOString()}`,
        );
      });

      await t.step("protected mode: RAM above 1 MiB, the ROM through its 4 GiB alias", () => {
        assert.equal(field(off.stdout, "protected mode, cr0"), "60000011", off.ctx);
        assert.equal(field(off.stdout, "above 1 MiB"), "600dbeef", off.ctx);
        const vec = new DataView(image.buffer).getUint32(0xfff0, true);
        assert.equal(field(off.stdout, "high alias"), vec.toString(16).padStart(8, "0"), off.ctx);
      });

      await t.step("COM1 input, then ACPI S5: exit 0 and nothing on stderr", () => {
        assert.match(off.stdout, /^rom: command\? p\r?\nrom: power off\r?\n$/m, off.ctx);
        assert.doesNotMatch(off.stdout, /still running/);
        assert.equal(off.code, 0, off.stderr);
        assert.equal(off.stderr, "");
      });

      await t.step("i8042 reset: the machine starts again at the reset vector (CMOS kept)", () => {
        assert.equal(reset.code, 0, reset.stderr + reset.ctx);
        assert.match(reset.stdout, /rom: reset\r?\n\r?\nrom: cs 0000f000\r?\n/, reset.ctx);
        assert.equal(reset.stdout.match(/rom: probe 55/g)?.length, 2, reset.ctx);
        assert.match(reset.stdout, /rom: warm boot, halting\r?\n$/, reset.ctx);
      });

      await t.step("every CPU halted with interrupts off: exit 0 with a note", () => {
        assert.equal(reset.stderr, "ring3: guest halted (every CPU stopped with interrupts off)\n");
      });

      await t.step("--no-reboot: a reset ends the run", () => {
        assert.equal(once.code, 0, once.stderr);
        assert.equal(once.stderr, "ring3: guest reset (i8042 reset pulse), --no-reboot\n");
        assert.match(once.stdout, /rom: reset\r?\n$/, once.ctx);
      });
    } finally {
      await Deno.remove(rom);
      await Deno.remove(debugcon).catch(() => {});
    }
  },
});
