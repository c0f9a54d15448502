// Debian 12's stock i386 kernels (linux-image-*-686-pae and -686, straight from Debian's
// packages) boot on ring3's Core Duo to the default initramfs's shell with one and two CPUs,
// and their boot log has no complaint about a feature a real Core Duo has (NX, MTRR, PAT, MCE,
// the performance counters), except the four architectural perf events ring3 cannot count
// exactly and so marks unavailable in CPUID leaf 0xA (a real Core Duo counts all seven):
// exactly those four, never the cycles or instructions it does count. The packages are fetched with `apt-get download` once and cached
// under build/debian-kernels/; without apt or a mirror the tests are skipped with a note.
import assert from "node:assert/strict";
import { runBootCli } from "../lib/cli_run.ts";
import { kernel } from "./debian_kernels.ts";

const flavours = ["686-pae", "686"];
const kernels = new Map<string, { path?: string; note?: string }>();
for (const f of flavours) {
  const k = await kernel(f);
  if (k.note) console.warn(`stock_kernel_test: skipping the ${f} kernel: ${k.note}`);
  kernels.set(f, k);
}

// Messages a Linux 6.1 kernel prints when the CPU lacks something a Core Duo has (or an MSR it
// reads does not exist), and signs of a broken boot.
const MISSING = [
  /NX \(Execute Disable\) protection missing/,
  /MTRRs disabled/,
  /MTRRs all blank/,
  /mtrr: your CPUs had inconsistent/,
  /Broken PMU hardware|no PMU driver|unsupported p6 CPU model/,
  // an architectural perf event ring3 counts (cycles, instructions), marked unavailable
  /CPUID marked event: '(cpu cycles|instructions|bus cycles|ref cycles)' unavailable/,
  /Failed to access perfctr msr/,
  /Perf NMI watchdog permanently disabled/,
  /Unable to init MCE device/,
  /unchecked MSR access error/,
  /Kernel panic|BUG:|Oops|WARNING:/,
];

const SCRIPT = [
  'echo @@""dmesg; dmesg',
  'echo @@""cpuinfo; cat /proc/cpuinfo',
  'echo @@""end',
  "poweroff -f",
  "",
].join("\n");

for (const flavour of flavours) {
  for (const smp of [1, 2]) {
    const k = kernels.get(flavour)!;
    Deno.test({
      name: `Debian 12's stock ${flavour} kernel boots to the shell with --smp ${smp}, with no missing-feature warning`,
      ignore: !k.path,
      sanitizeOps: false,
      sanitizeResources: false,
      async fn() {
        const r = await runBootCli(["--kernel", k.path!, "--smp", String(smp), "--no-reboot"], SCRIPT, 900_000);
        const ctx = `\n--- stderr ---\n${r.stderr.slice(-2000)}\n--- console (tail) ---\n${r.stdout.slice(-6000)}`;
        assert.equal(r.code, 0, ctx);
        assert.match(r.stdout, /ring3: shell ready/, ctx);
        assert.match(r.stdout, /\n@@end\r?\n/, ctx);
        assert.match(r.stdout, new RegExp(`Linux version 6\\.1\\.\\d+-\\S*${flavour}`), ctx);
        for (const bad of MISSING) assert.doesNotMatch(r.stdout, bad, ctx);
        assert.match(r.stdout, /Performance Events: Core events, core PMU driver/, ctx);
        // (each line twice: the boot log, then dmesg)
        const marked = [
          ...new Set([...r.stdout.matchAll(/CPUID marked event: '([^']+)' unavailable/g)].map((m) => m[1])),
        ]
          .sort();
        assert.deepEqual(marked, ["branch instructions", "branch misses", "cache misses", "cache references"], ctx);
        assert.match(r.stdout, /smpboot: Total of (\d+) processors activated/, ctx);
        assert.equal(Number(/smpboot: Total of (\d+) processors activated/.exec(r.stdout)![1]), smp, ctx);
        const cpu = r.stdout.slice(r.stdout.indexOf("@@cpuinfo"));
        assert.match(cpu, /model name\s*: ring3 virtual Core Duo/, ctx);
        assert.match(cpu, /cpu family\s*: 6\r?\nmodel\s*: 14\r?\n/, ctx);
        const flags = /^flags\s*: (.*)$/m.exec(cpu)?.[1].trim().split(/\s+/) ?? [];
        // (no "pat": Linux turns PAT off on family 6 before model 15 for an erratum of Core Duo)
        for (const f of ["pae", "mce", "mtrr", "mca", "nx", "arch_perfmon"]) {
          assert.ok(flags.includes(f), `${f}: ${flags}`);
        }
        if (flavour === "686-pae") assert.match(r.stdout, /NX \(Execute Disable\) protection: active/, ctx);
      },
    });
  }
}
