// The whole path a user takes: `deno task boot` (cli/boot.ts) loads the committed guest with the
// bzImage loader into the machine, the kernel boots to the guest's shell, commands piped to stdin
// run on COM1, and `poweroff -f` ends the command with status 0. One boot (30-60 s here) serves
// every assertion below; corrupt images and bad flags are tests/cli/boot_args_test.ts's.
// Skipped until runtime/machine.ts exists.
import assert from "node:assert/strict";
import { runBootCli } from "../lib/cli_run.ts";

const root = new URL("../../", import.meta.url);
const haveMachine = (() => {
  try {
    return Deno.statSync(new URL("runtime/machine.ts", root)).isFile;
  } catch {
    return false;
  }
})();

const boot = (stdin: string, ...args: string[]) => runBootCli(args, stdin, 400_000);

// Each command's output follows a marker line "@@name" and ends at the next prompt. The console
// echoes the command lines (`echo @@""name`), which therefore never match a marker. Kernel
// messages share the console and can land in the middle (the i8042 probe ends seconds after boot
// on a loaded host): they are not the command's output.
const section = (stdout: string, name: string): string => {
  const m = stdout.split(/\r?\n/).filter((l) => !/^\[\s*\d+\.\d+\] /.test(l));
  const i = m.indexOf(`@@${name}`);
  if (i < 0) return "";
  const j = m.findIndex((l, k) => k > i && /^(@@\w+$|\/ # )/.test(l));
  return m.slice(i + 1, j < 0 ? undefined : j).join("\n");
};

// total of the per-CPU counts of the /proc/interrupts rows for the timers (IRQ0, local APIC)
const timerCount = (text: string): number => {
  let n = 0;
  for (const line of text.split("\n")) {
    const m = /^\s*(0|LOC):((?:\s+\d+)+)/.exec(line);
    if (m) { for (const v of m[2].trim().split(/\s+/)) n += Number(v); }
  }
  return n;
};

const APPEND = "console=ttyS0 ring3.probe=forty-two";
const SCRIPT = [
  "uname -m; echo $((6*7))",
  'echo @@""cmdline; cat /proc/cmdline',
  'echo @@""irq1; cat /proc/interrupts; sleep 1',
  'echo @@""irq2; cat /proc/interrupts',
  'echo @@""date; date -u +%Y-%m-%dT%H:%M:%SZ',
  'echo @@""pci; for d in /sys/bus/pci/devices/*; do echo "${d##*/} $(cat $d/vendor):$(cat $d/device) $(cat $d/class)"; done',
  'echo @@""end',
  "poweroff -f",
  "",
].join("\n");

Deno.test({
  name: "deno task boot: the default guest boots to its shell, runs piped commands on COM1 and powers off",
  ignore: !haveMachine,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const r = await boot(SCRIPT, "--timing", "--append", APPEND);
    const ctx = `\n--- stderr ---\n${r.stderr}\n--- console (tail) ---\n${r.stdout.slice(-4000)}`;

    await t.step("exit 0 after the kernel's power-off, timing on stderr", () => {
      assert.equal(r.code, 0, ctx);
      assert.match(r.stdout, /reboot: Power down/, ctx);
      assert.match(
        r.stderr,
        /^ring3: first kernel output after [\d.]+ s\nring3: 'ring3: userspace up' after [\d.]+ s\n/,
      );
      assert.match(r.stderr, /'ring3: shell ready' after/);
    });

    await t.step("kernel banner, shell, and the commands' output", () => {
      assert.match(r.stdout, /Linux version 6\.1\.\d+ \(ring3@ring3\)/);
      assert.match(r.stdout, /ring3: shell ready/);
      assert.match(r.stdout, /\ni686\r?\n42\r?\n/, ctx);
      assert.match(r.stdout, /\n@@end\r?\n/, ctx);
    });

    await t.step("--append reaches the kernel and /proc/cmdline", () => {
      assert.match(r.stdout, new RegExp(`Kernel command line: ${APPEND}\\r?\\n`));
      assert.equal(section(r.stdout, "cmdline").trim(), APPEND, ctx);
    });

    await t.step("a real PC's boot log: no timer calibration or clocksource complaints", () => {
      for (
        const bad of [
          /Fast TSC calibration failed/,
          /Unable to calibrate against PIT/,
          /PM-Timer running at invalid rate/,
          /Marking TSC unstable/,
          /Marking clocksource .* as unstable/,
          /timekeeping watchdog/,
          /MP-BIOS bug/,
          /IRQ\d+: nobody cared/,
          /Kernel panic|BUG:|Oops|WARNING:/,
        ]
      ) assert.doesNotMatch(r.stdout, bad);
      assert.match(r.stdout, /tsc: Detected (999|1000)\.\d+ MHz processor/);
      assert.match(r.stdout, /clocksource: Switched to clocksource tsc\r?\n/, "the TSC ends up the clocksource");
    });

    await t.step("/proc/interrupts: the timer ticks between two reads a second apart", () => {
      const a = timerCount(section(r.stdout, "irq1"));
      const b = timerCount(section(r.stdout, "irq2"));
      assert.ok(a > 0, ctx);
      // HZ=100: a second of sleep is about 100 ticks (fewer with a tickless idle, never 0)
      assert.ok(b > a, `timer counts ${a} then ${b}${ctx}`);
    });

    await t.step("date: the guest's clock is the host's (RTC at boot, then the TSC)", () => {
      const text = section(r.stdout, "date").trim();
      const guest = Date.parse(text);
      assert.ok(!Number.isNaN(guest), `date printed '${text}'${ctx}`);
      // the command ran before the process ended; the boot took less than the test's timeout
      assert.ok(guest <= r.end + 2000, `guest ${text}, host ${new Date(r.end).toISOString()}`);
      assert.ok(guest >= r.end - 120_000, `guest ${text}, host ${new Date(r.end).toISOString()}`);
    });

    await t.step("PCI enumeration in sysfs: the i440FX host bridge and the PIIX3", () => {
      const pci = section(r.stdout, "pci");
      assert.match(pci, /^0000:00:00\.0 0x8086:0x1237 0x060000$/m, ctx);
      assert.match(pci, /^0000:00:01\.0 0x8086:0x7000 0x060100$/m, ctx);
    });
  },
});
