// virtio-blk throughput in the guest, ring3 against QEMU TCG on the same images: the default
// kernel and initramfs boot with two virtio disks, a 256 MiB raw target (/dev/vda, random bytes
// so no read hits a hole) and a small ext4 disk (/dev/vdb) holding bench/programs/diskio.c built
// as a static i386 program. In the guest, `diskio` times O_DIRECT sequential 1 MiB reads and
// writes and random 4 KiB reads with CLOCK_MONOTONIC (guest time follows the host's in both
// emulators). Each emulator runs ROUNDS times (default 1) back to back; the best round counts.
// Besides MB/s: each emulator process's host CPU seconds over each test (/proc/PID/stat when the
// guest's TEST and DISKIO lines arrive) and requests per interrupt (counted by the guest).
// Writes bench/results/disk.md. Run: deno run -A bench/disk_bench.ts [--rounds N]
// Needs: gcc -m32 (static glibc), mkfs.ext4, qemu-system-i386 and a guest kernel with virtio-blk.
import { parseArgs } from "node:util";

const root = new URL("../", import.meta.url).pathname;
const work = `${root}build/bench/disk`;
const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string" },
    kernel: { type: "string" },
    initrd: { type: "string" },
    prelude: { type: "string" },
  },
});
// --kernel/--initrd/--prelude: another guest (e.g. Debian's kernel with an initramfs that loads
// virtio-blk as a module: --prelude is the shell command that does it)
const KERNEL = values.kernel ?? `${root}guest/images/bzImage`;
const INITRD = values.initrd ?? `${root}guest/images/initramfs.cpio.gz`;
const PRELUDE = values.prelude ? [values.prelude] : [];
const TARGET_MIB = 256;
const SEQ_MIB = 128;
const RAND_OPS = 4000;
const TIMEOUT_MS = 900_000;

const ROUNDS = Number(values.rounds ?? 1);

function sh(cmd: string, ...args: string[]): string {
  const r = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).outputSync();
  const td = new TextDecoder();
  if (!r.success) throw new Error(`${cmd} ${args.join(" ")}: ${td.decode(r.stderr)}`);
  return td.decode(r.stdout);
}

function prepare(): void {
  Deno.mkdirSync(`${work}/tools`, { recursive: true });
  sh("gcc", "-m32", "-static", "-O2", "-o", `${work}/tools/diskio`, `${root}bench/programs/diskio.c`);
  sh("rm", "-f", `${work}/tools.img`);
  sh("mkfs.ext4", "-q", "-F", "-d", `${work}/tools`, `${work}/tools.img`, "16M");
  const target = `${work}/target.img`;
  try {
    if (Deno.statSync(target).size === TARGET_MIB << 20) return;
  } catch { /* made below */ }
  const f = Deno.openSync(target, { write: true, create: true, truncate: true });
  const chunk = new Uint8Array(1 << 20);
  for (let i = 0; i < TARGET_MIB; i++) {
    crypto.getRandomValues(chunk.subarray(0, 65536));
    for (let o = 65536; o < chunk.length; o += 65536) chunk.copyWithin(o, 0, 65536);
    chunk[0] = i;
    f.writeSync(chunk);
  }
  f.close();
}

// Each test runs under the guest's default I/O scheduler for virtio-blk (mq-deadline: requests
// are dispatched from kblockd, two context switches per request) and again with "none" (the
// submitting task issues them itself). Around each one the guest prints the completed requests
// (/sys/block/vda/stat) and the disk's interrupts (/proc/interrupts), so requests per interrupt
// come from the guest in both emulators; a random-read warm-up comes first in each emulator.
const TESTS = [
  ["seqread", `seqread ${SEQ_MIB}`],
  ["seqwrite", `seqwrite ${SEQ_MIB}`],
  ["randread", `randread ${RAND_OPS}`],
] as const;
const SCHEDS = ["mq-deadline", "none"] as const;
const SCRIPT = [
  ...PRELUDE,
  "mkdir -p /t && mount -t ext4 -o ro /dev/vdb /t",
  "st() { set -- $(cat /sys/block/vda/stat); echo \"IOSTAT $(($1+$5)) $(awk '/virtio0/ {print $2; exit}' /proc/interrupts)\"; }",
  "/t/diskio /dev/vda randread 1000 >/dev/null",
  "sleep 3", // the console has echoed every typed line before the first result
  ...SCHEDS.flatMap((sc) => [
    `echo ${sc} > /sys/block/vda/queue/scheduler`,
    ...TESTS.map(([name, args]) => `echo "TEST ${sc}:${name}"; st; /t/diskio /dev/vda ${args}; st`),
  ]),
  "echo ALL''-DONE",
  "umount /t",
  "poweroff -f",
  "",
].join("\n");

interface Fig {
  mbs: number;
  iops: number;
  cpu: number; // host CPU seconds of the emulator process over the test
  perIrq: number; // requests completed per disk interrupt
}
type Result = Record<string, Fig>; // "sched:test"

function cpuSeconds(pid: number): number {
  try {
    const f = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / 100; // utime + stime, clock ticks
  } catch {
    return NaN;
  }
}

async function runOne(cmd: string, args: string[]): Promise<Result> {
  const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
  const w = child.stdin.getWriter();
  let out = "";
  const dec = new TextDecoder();
  let sent = false;
  const cpuAt = new Map<string, number>(); // "start:label" / "end:label"
  let seen = 0;
  for await (const chunk of child.stdout) {
    out += dec.decode(chunk, { stream: true });
    // QEMU's serial takes input at once: wait for the shell in both
    if (!sent && out.includes("ring3: shell ready")) {
      sent = true;
      await new Promise((r) => setTimeout(r, 1500));
      for (const line of SCRIPT.split("\n")) {
        await w.write(new TextEncoder().encode(line + "\n"));
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    // the host CPU time when a test's TEST and DISKIO lines arrive
    const lines = out.split("\n");
    for (; seen < lines.length - 1; seen++) {
      const t = lines[seen].match(/^TEST (\S+)\r?$/), d = lines[seen].match(/^DISKIO (\S+) /);
      if (t) cpuAt.set(`start:${t[1]}`, cpuSeconds(child.pid));
      if (d) {
        const label = [...cpuAt.keys()].filter((k) => k.startsWith("start:")).pop()?.slice(6);
        if (label && !cpuAt.has(`end:${label}`)) cpuAt.set(`end:${label}`, cpuSeconds(child.pid));
      }
    }
    if (out.includes("ALL-DONE")) break;
  }
  clearTimeout(timer);
  try {
    child.kill("SIGKILL");
  } catch { /* gone */ }
  await child.status;
  await child.stderr.cancel();
  const res: Result = {};
  const re = /^TEST (\S+)\r?\nIOSTAT (\d+) (\d+)\r?\nDISKIO \S+ ([\d.]+) ([\d.]+) [\d.]+\r?\nIOSTAT (\d+) (\d+)/gm;
  for (const m of out.matchAll(re)) {
    const label = m[1];
    res[label] = {
      mbs: Number(m[4]),
      iops: Number(m[5]),
      cpu: cpuAt.get(`end:${label}`)! - cpuAt.get(`start:${label}`)!,
      perIrq: (Number(m[6]) - Number(m[2])) / Math.max(1, Number(m[7]) - Number(m[3])),
    };
  }
  const want = SCHEDS.flatMap((sc) => TESTS.map(([t]) => `${sc}:${t}`));
  const lost = want.filter((k) => !res[k]);
  if (lost.length) throw new Error(`${cmd}: no results for ${lost.join(", ")}:\n${out.slice(-3000)}`);
  return res;
}

const ring3Args = [
  "run",
  "-A",
  `${root}cli/boot.ts`,
  "--kernel",
  KERNEL,
  "--initrd",
  INITRD,
  "--disk",
  `${work}/target.img,format=raw`,
  "--disk",
  `${work}/tools.img,format=raw,readonly=on`,
];
const qemuArgs = [
  "-accel",
  "tcg",
  "-m",
  "256",
  "-nographic",
  "-no-reboot",
  "-kernel",
  KERNEL,
  "-initrd",
  INITRD,
  "-append",
  "console=ttyS0 tsc=reliable",
  "-drive",
  `file=${work}/target.img,if=virtio,format=raw,cache=writeback`,
  "-drive",
  `file=${work}/tools.img,if=virtio,format=raw,readonly=on`,
];

function missing(): string | null {
  if (!values.kernel && !/^CONFIG_VIRTIO_BLK=y$/m.test(Deno.readTextFileSync(`${root}guest/linux.config`))) {
    return "the guest kernel has no built-in virtio-blk";
  }
  for (const t of ["qemu-system-i386", "mkfs.ext4", "gcc"]) {
    try {
      new Deno.Command(t, { args: ["--version"], stdout: "null", stderr: "null" }).outputSync();
    } catch {
      return `${t} not installed`;
    }
  }
  return null;
}

const why = missing();
if (why) {
  console.log(`disk bench: skipped (${why})`);
} else {
  await main();
}

async function main(): Promise<void> {
  prepare();
  const runs: { ring3: Result[]; qemu: Result[] } = { ring3: [], qemu: [] };
  for (let i = 0; i < ROUNDS; i++) {
    runs.ring3.push(await runOne(Deno.execPath(), ring3Args));
    runs.qemu.push(await runOne("qemu-system-i386", qemuArgs));
    console.log(`round ${i + 1}: ring3 ${JSON.stringify(runs.ring3[i])}; qemu ${JSON.stringify(runs.qemu[i])}`);
  }
  // the best round of each test (highest MB/s), with that round's CPU time and interrupts
  const best = (rs: Result[], k: string): Fig => rs.map((r) => r[k]).reduce((a, b) => (b.mbs > a.mbs ? b : a));
  const rev = sh("git", "-C", root, "rev-parse", "--short", "HEAD").trim();
  const qv = sh("qemu-system-i386", "--version").split("\n")[0];
  const load = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  const name: Record<string, string> = {
    seqread: `sequential read, 1 MiB blocks, ${SEQ_MIB} MiB`,
    seqwrite: `sequential write, 1 MiB blocks, ${SEQ_MIB} MiB + fdatasync`,
    randread: `random read, 4 KiB, ${RAND_OPS} reads`,
  };
  const rows: string[] = [];
  for (const sc of SCHEDS) {
    for (const [t] of TESTS) {
      const k = `${sc}:${t}`, r = best(runs.ring3, k), q = best(runs.qemu, k);
      const mb = (x: Fig) =>
        t === "randread" ? `${x.mbs.toFixed(2)} MB/s (${x.iops.toFixed(0)} IOPS)` : `${x.mbs.toFixed(1)} MB/s`;
      rows.push(
        `| ${name[t]}, ${sc} | ${mb(r)} | ${mb(q)} | ${(r.mbs / q.mbs).toFixed(2)}x | ${r.cpu.toFixed(2)} / ${
          q.cpu.toFixed(2)
        } | ${r.perIrq.toFixed(2)} / ${q.perIrq.toFixed(2)} |`,
      );
    }
  }
  const md = [
    "# virtio-blk in the guest: ring3 vs QEMU TCG",
    "",
    `ring3 ${rev}; ${qv} (\`-accel tcg\`, virtio-blk, cache=writeback); the same kernel, initramfs and images;`,
    `best of ${ROUNDS} rounds each, run back to back on a shared 2-core host (\`deno run -A bench/disk_bench.ts\`), load average ${load} at the end.`,
    `Guest: ${values.kernel ? `${KERNEL} with ${INITRD}` : "the default kernel and initramfs"}. ` +
    `Guest program: bench/programs/diskio.c (O_DIRECT on /dev/vda, a ${TARGET_MIB} MiB raw image in the host's page cache).`,
    "",
    "| test, guest I/O scheduler | ring3 | QEMU TCG | ring3/QEMU | host CPU s ring3 / QEMU | requests per interrupt ring3 / QEMU |",
    "|---|---|---|---|---|---|",
    ...rows,
    "",
    "Every round:",
    "",
    ...runs.ring3.map((x, i) => `- round ${i + 1}: ring3 ${JSON.stringify(x)}; QEMU ${JSON.stringify(runs.qemu[i])}`),
    "",
  ].join("\n");
  Deno.writeTextFileSync(`${root}bench/results/disk.md`, md);
  console.log(md);
}
