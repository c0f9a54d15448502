// A TSC Linux trusts without `tsc=reliable` on a loaded host (issue 17 item 6). Linux's checks
// compare the TSC with the 8254, the PM timer and jiffies: quick_pit_calibrate and
// pit_calibrate_tsc time the 8254 against the TSC a few instructions apart ("Fast TSC calibration
// failed", "Unable to calibrate against PIT" when a host stall shows), and the clocksource
// watchdog compares the TSC with jiffies every half second ("Marking TSC unstable" when ticks
// were lost). Two fixes make them pass: host stalls hidden from guest time
// (runtime/clock.ts StallAccount, with guest time standing still over a stall) and lost periodic
// ticks sent again (devices/lapic.ts, devices/pit.ts).
//   - always: the default kernel with --smp 2 and the command line "console=ttyS0" boots 20
//     times beside a busy loop (three busy threads and the device thread on the host's two
//     cores, more with the rest of the suite); every boot's calibration passes, and the
//     watchdog keeps the TSC (the last clocksource is tsc) in at least 19 of the 20. (Limit: on a
//     host loaded so far that a vCPU thread waits more than ~60 ms for a core, the watchdog can
//     still catch jiffies that far off: ARCHITECTURE.md, "Lost ticks are sent again"; measured
//     alone 20 of 20 in every run, with a second copy of this test beside it 40 of 40.)
//     Without stall hiding every boot fails the calibration; without lost ticks sent again
//     nearly every boot fails the watchdog.
//   - opt-in, RING3_TSC_BOOTS=N: Debian 12's stock 686-pae kernel (tests/boot/debian_kernels.ts)
//     the same way, N times (half a minute each), every boot clean.
import assert from "node:assert/strict";
import { runBootCli } from "../lib/cli_run.ts";
import { kernel } from "./debian_kernels.ts";

const BOOTS = Number(Deno.env.get("RING3_TSC_BOOTS") ?? 0);
const k = BOOTS > 0 ? await kernel("686-pae") : { note: "set RING3_TSC_BOOTS=N to run it" };
if (k.note && BOOTS > 0) console.warn(`tsc_smp_test: skipped: ${k.note}`);

// after userspace is up, a few seconds of the clocksource watchdog comparing TSC and PM timer
const SCRIPT = [
  "sleep 4",
  'echo @@""dmesg; dmesg',
  'echo @@""end',
  "poweroff -f",
  "",
].join("\n");

// the TSC calibrations against the 8254 (quick_pit_calibrate, pit_calibrate_tsc)
const BAD_CALIBRATION = [/Fast TSC calibration failed/, /Unable to calibrate against PIT/];
// the clocksource watchdog (TSC against jiffies, then the PM timer) and the TSC sync check
const BAD_WATCHDOG = [
  /[Mm]arking TSC unstable/,
  /TSC synchronization.*turning off TSC clock/,
  /clocksource.*unstable/,
  /timekeeping watchdog/,
];

// a boot's log: it ran to the end on two CPUs, and the PIT calibration ran and passed
function checkCalibration(log: string, ctx: string): void {
  assert.match(log, /\n@@end\r?\n/, ctx);
  assert.doesNotMatch(log, /tsc=reliable/, ctx);
  assert.match(log, /smpboot: Total of 2 processors activated/, ctx);
  for (const bad of BAD_CALIBRATION) assert.doesNotMatch(log, bad, ctx);
  assert.match(log, /tsc: Detected [\d.]+ MHz processor/, ctx);
  assert.doesNotMatch(log, /using PMTIMER reference calibration|using HPET reference calibration/, ctx);
}
// nothing distrusted the TSC, and the last clocksource chosen is the TSC ("" when so, else why not)
function watchdogVerdict(log: string): string {
  const bad = BAD_WATCHDOG.filter((b) => b.test(log)).map(String);
  const switches = [...log.matchAll(/clocksource: Switched to clocksource (\S+)/g)].map((m) => m[1]);
  if (switches.at(-1) !== "tsc") bad.push(`last clocksource ${switches.at(-1)} (${switches})`);
  return bad.join(", ");
}

function context(r: { stdout: string; stderr: string }, what: string): string {
  const time = r.stdout.split("\n").filter((l) => /tsc|TSC|PIT|PM-Timer|acpi_pm|calibrat|clocksource|jiffies/.test(l));
  return `${what}\n--- stderr ---\n${r.stderr.slice(-2000)}\n--- time ---\n${
    time.join("\n")
  }\n--- console (tail) ---\n${r.stdout.slice(-3000)}`;
}

const DEFAULT_BOOTS = 20;
Deno.test({
  name:
    `TSC: the default kernel on --smp 2 without tsc=reliable trusts it in ${DEFAULT_BOOTS} boots beside a busy loop`,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const busy = new Deno.Command("sh", { args: ["-c", "while :; do :; done"], stdout: "null", stderr: "null" })
      .spawn();
    // after the shell is up, three seconds of the clocksource watchdog comparing TSC and jiffies
    const script = ["sleep 3", 'echo @@""dmesg; dmesg', 'echo @@""end', "poweroff -f", ""].join("\n");
    try {
      const misses: string[] = [];
      for (let i = 0; i < DEFAULT_BOOTS; i++) {
        const r = await runBootCli(["--smp", "2", "--no-reboot", "--append", "console=ttyS0"], script, 300_000);
        const ctx = context(r, `boot ${i + 1} of ${DEFAULT_BOOTS}`);
        assert.equal(r.code, 0, ctx);
        checkCalibration(r.stdout, ctx);
        const why = watchdogVerdict(r.stdout);
        if (why) misses.push(`${ctx}\n--- watchdog: ${why}`);
        assert.ok(misses.length <= 1, `${misses.length} of ${i + 1} boots:\n${misses.join("\n")}`);
      }
      // every calibration passes; the watchdog may be caught once in 20 by a host so loaded that
      // a vCPU thread waited over ~60 ms for a core (the suite runs beside other tests)
      if (misses.length) {
        console.warn(`tsc_smp_test: the watchdog distrusted the TSC in ${misses.length} of ${DEFAULT_BOOTS} boots`);
      }
    } finally {
      busy.kill();
      await busy.status;
    }
  },
});

Deno.test({
  name: `TSC: the stock kernel on --smp 2 without tsc=reliable trusts it in ${BOOTS} boot(s) beside a busy loop`,
  ignore: BOOTS === 0 || !k.path,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const busy = new Deno.Command("sh", { args: ["-c", "while :; do :; done"], stdout: "null", stderr: "null" })
      .spawn();
    try {
      for (let i = 0; i < BOOTS; i++) {
        const r = await runBootCli(
          ["--kernel", k.path!, "--smp", "2", "--no-reboot", "--append", "console=ttyS0"],
          SCRIPT,
          900_000,
        );
        const ctx = context(r, `boot ${i + 1} of ${BOOTS}`);
        assert.equal(r.code, 0, ctx);
        checkCalibration(r.stdout, ctx);
        assert.equal(watchdogVerdict(r.stdout), "", ctx);
      }
    } finally {
      busy.kill();
      await busy.status;
    }
  },
});
