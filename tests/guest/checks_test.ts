// Boots the default kernel with the test initramfs (guest/build-tests.sh) in ring3 with
// `ring3.run=checks` and requires every check of guest/tests/*.c to pass: precise exceptions as
// SA_SIGINFO signals (sigcheck) and privileged instructions and user port I/O (iocheck).
// The expected check names come from native runs of the same programs (tests/guest/checks_lib.ts),
// so a check that silently stops running in the guest is a failure too.
//
// Skipped, with the reason printed, while the boot machinery (runtime/machine.ts,
// runtime/boot/bzimage.ts) or the images (guest/images/) are not in the tree.
// RING3_CHECKS_TIMEOUT=seconds bounds the boot (default 900); RING3_CHECKS_CONSOLE=1 prints the
// guest's console.
import assert from "node:assert/strict";
import {
  type Check,
  describe,
  expectedCheckNames,
  GUEST_DIR,
  gunzip,
  parseChecks,
  readCpio,
  sourcesDigest,
} from "./checks_lib.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const KERNEL = GUEST_DIR + "images/bzImage";
const BASE_INITRD = GUEST_DIR + "images/initramfs.cpio.gz";
const TEST_INITRD = GUEST_DIR + "images/initramfs-tests.cpio.gz";
const MACHINE = ROOT + "runtime/machine.ts";
const LOADER = ROOT + "runtime/boot/bzimage.ts";
// loglevel=3 keeps the kernel's "attempts to use CLI/STI" notice (KERN_ERR) off the console
const APPEND = "console=ttyS0 loglevel=3 ring3.run=checks";
const TIMEOUT_S = Number(Deno.env.get("RING3_CHECKS_TIMEOUT") ?? 900);
const MARKERS = ["<<r3 com1 outb>>", "<<r3 com1 rep outsb>>"];

const exists = async (p: string) => {
  try {
    return (await Deno.stat(p)).isFile;
  } catch {
    return false;
  }
};
const missing: string[] = [];
for (const p of [MACHINE, LOADER, KERNEL, TEST_INITRD]) if (!(await exists(p))) missing.push(p.slice(ROOT.length));
const skipBoot = missing.length > 0 ? `not in the tree yet: ${missing.join(", ")}` : null;
if (skipBoot) console.log(`guest checks in ring3 skipped: ${skipBoot}`);

// ---- the committed test image is built from the current sources ---------------------------------
Deno.test({
  name: "guest checks: the committed test initramfs matches guest/tests and the default initramfs",
  ignore: !(await exists(TEST_INITRD)),
  async fn() {
    const image = await Deno.readFile(TEST_INITRD);
    let overlayAt: number;
    if (await exists(BASE_INITRD)) {
      const base = await Deno.readFile(BASE_INITRD);
      assert.ok(
        image.length > base.length && base.every((b, i) => image[i] === b),
        "initramfs-tests.cpio.gz does not start with the current initramfs.cpio.gz: run guest/build-tests.sh",
      );
      overlayAt = base.length;
    } else {
      // no base to compare with: the overlay is the last gzip member; find the 10-byte header
      // build-tests.sh's `gzip -9 -n` writes (deflate, no flags, no time, XFL 2, OS Unix)
      const hdr = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3];
      overlayAt = -1;
      for (let i = image.length - 18; i > 0 && overlayAt < 0; i--) {
        if (hdr.every((b, k) => image[i + k] === b)) overlayAt = i;
      }
      assert.ok(overlayAt > 0, "no second gzip member in initramfs-tests.cpio.gz");
    }
    const files = readCpio(await gunzip(image.subarray(overlayAt)));
    const dec = new TextDecoder();
    assert.equal(
      dec.decode(files.get("opt/tests/SOURCES")),
      await sourcesDigest(),
      "guest/tests or build-tests.sh changed since the test initramfs was built: run guest/build-tests.sh",
    );
    assert.equal(dec.decode(files.get("init")), await Deno.readTextFile(GUEST_DIR + "tests/init"));
    assert.ok(files.get("init.default")?.length, "no /init.default");
    for (const p of ["sigcheck", "iocheck"]) {
      const bin = files.get(`opt/tests/${p}`);
      assert.ok(bin && bin.length > 1000, `no /opt/tests/${p}`);
      assert.deepEqual([...bin.subarray(0, 5)], [0x7f, 0x45, 0x4c, 0x46, 1], `${p}: not a 32-bit ELF`);
      assert.equal(bin[18], 3, `${p}: not i386`);
    }
  },
});

// ---- booting it -----------------------------------------------------------------------------------

// What this test needs of the machine; the fields it probes are optional so that it follows the
// machine's API as it settles (see cli/boot.ts's MachineLike).
interface MachineLike {
  ram: Uint8Array;
  core: unknown;
  serial: { onOutput?: ((d: Uint8Array) => void) | null };
  bootRegions?: { addr: number; size: number; type?: number }[];
  acpiRsdp?: number;
  tables?: { rsdp?: number; reserved?: [number, number] };
  run(): Promise<unknown>;
  stop?(): void;
}

interface BootResult {
  console: string;
  outcome: string;
  seconds: number;
}

async function bootChecks(): Promise<BootResult> {
  const { Machine } = await import(MACHINE);
  const { bootBzImage } = await import(LOADER);
  // virtual time: deterministic and no waiting in HLT; a fixed wall clock for the RTC
  const opts = { memMiB: 256, smp: 1, clock: "virtual", wallClock: () => Date.UTC(2025, 0, 1) };
  const m: MachineLike = Machine.create ? await Machine.create(opts) : new Machine(opts);
  const t0 = performance.now();
  let text = "";
  let stopReason = "";
  const stop = (why: string) => {
    if (stopReason) return;
    stopReason = why;
    m.stop?.();
  };
  let grace: ReturnType<typeof setTimeout> | undefined;
  const dec = new TextDecoder("latin1");
  m.serial.onOutput = (d) => {
    text += dec.decode(d);
    if (/Kernel panic/.test(text.slice(-4096))) setTimeout(() => stop("kernel panic"), 200);
    // init powers off after its last line; if power-off does not end the run, stop anyway
    if (grace === undefined && text.includes("ring3: exit ")) grace = setTimeout(() => stop("no power-off"), 30_000);
  };
  const regions = m.bootRegions ??
    (m.tables?.reserved
      ? [{ addr: m.tables.reserved[0], size: m.tables.reserved[1] - m.tables.reserved[0] }]
      : undefined);
  bootBzImage(m.ram, m.core, await Deno.readFile(KERNEL), {
    cmdline: APPEND,
    initrd: await Deno.readFile(TEST_INITRD),
    regions,
    acpiRsdp: m.acpiRsdp ?? m.tables?.rsdp,
  });
  const timer = setTimeout(() => stop(`timeout after ${TIMEOUT_S} s`), TIMEOUT_S * 1000);
  let outcome: unknown;
  try {
    outcome = await m.run();
  } finally {
    clearTimeout(timer);
    clearTimeout(grace);
  }
  const kind = typeof outcome === "string" ? outcome : (outcome as { kind?: string } | undefined)?.kind ?? "?";
  return { console: text, outcome: stopReason || kind, seconds: (performance.now() - t0) / 1000 };
}

const tail = (s: string, n = 3000) => (s.length > n ? "...\n" + s.slice(-n) : s);

Deno.test({
  name: "guest checks: every check passes in ring3 (ring3.run=checks)",
  ignore: skipBoot !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const expected = await expectedCheckNames();
    const boot = await bootChecks();
    const report = parseChecks(boot.console);
    if (Deno.env.get("RING3_CHECKS_CONSOLE")) console.log(boot.console);
    const ctx = `(outcome ${boot.outcome} after ${boot.seconds.toFixed(1)} s)\n--- console ---\n${tail(boot.console)}`;
    console.log(
      `guest checks: ${report.checks.length} reported, outcome ${boot.outcome}, ${boot.seconds.toFixed(1)} s`,
    );

    await t.step("userspace came up and ran the checks", () => {
      assert.ok(boot.console.includes("ring3: userspace up"), `no "ring3: userspace up" ${ctx}`);
      assert.ok(report.checks.length > 0, `no CHECK lines ${ctx}`);
    });

    await t.step("no check failed or was skipped", () => {
      const bad = report.checks.filter((c: Check) => c.status !== "PASS");
      assert.equal(bad.length, 0, `not passing in ring3:\n${describe(bad)}\n${ctx}`);
    });

    await t.step("every check reported exactly once", () => {
      const names = report.checks.map((c) => c.name);
      const dup = names.filter((n, i) => names.indexOf(n) !== i);
      assert.deepEqual(dup, [], `reported more than once: ${dup.join(", ")}`);
      if (expected) {
        const absent = expected.filter((n) => !names.includes(n));
        assert.deepEqual(absent, [], `never reported in ring3: ${absent.join(", ")} ${ctx}`);
      }
      assert.equal(report.summaries.length, 2, `want a SUMMARY line per program ${ctx}`);
      for (const s of report.summaries) assert.match(s, / 0 failed, 0 skipped$/);
    });

    await t.step("COM1 writes from user mode reached the console", () => {
      for (const mk of MARKERS) assert.ok(boot.console.includes(mk), `"${mk}" not on the console ${ctx}`);
    });

    await t.step("the programs exited 0 and the guest powered off", () => {
      assert.match(boot.console, /ring3: checks done 0 program\(s\) failed/, ctx);
      assert.equal(boot.outcome, "poweroff", ctx);
    });
  },
});
