// virtio-blk throughput in the guest, ring3 against QEMU TCG on the same images: the default
// kernel and initramfs boot with two virtio disks, a 256 MiB raw target (/dev/vda, random bytes
// so no read hits a hole) and a small ext4 disk (/dev/vdb) holding bench/programs/diskio.c built
// as a static i386 program. In the guest, `diskio` times O_DIRECT sequential 1 MiB reads and
// writes and random 4 KiB reads with CLOCK_MONOTONIC (guest time follows the host's in both
// emulators). Each emulator runs ROUNDS times back to back; the best round counts. Writes
// bench/results/disk.md. Run: deno run -A bench/disk_bench.ts [--rounds N]
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

const ROUNDS = Number(values.rounds ?? 3);

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

const SCRIPT = [
  ...PRELUDE,
  "mkdir -p /t && mount -t ext4 -o ro /dev/vdb /t",
  `/t/diskio /dev/vda seqread ${SEQ_MIB}`,
  `/t/diskio /dev/vda seqwrite ${SEQ_MIB}`,
  `/t/diskio /dev/vda randread ${RAND_OPS}`,
  "umount /t",
  "poweroff -f",
  "",
].join("\n");

interface Result {
  seqread: number;
  seqwrite: number;
  randread: number; // MB/s
  randIops: number;
}

async function runOne(cmd: string, args: string[]): Promise<Result> {
  const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
  const w = child.stdin.getWriter();
  let out = "";
  const dec = new TextDecoder();
  let sent = false;
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
  }
  clearTimeout(timer);
  await child.status;
  const fig = (t: string) => out.match(new RegExp(`DISKIO ${t} ([\\d.]+) ([\\d.]+)`));
  const r = { seqread: fig("seqread"), seqwrite: fig("seqwrite"), randread: fig("randread") };
  if (!r.seqread || !r.seqwrite || !r.randread) throw new Error(`${cmd}: no results:\n${out.slice(-3000)}`);
  return {
    seqread: Number(r.seqread[1]),
    seqwrite: Number(r.seqwrite[1]),
    randread: Number(r.randread[1]),
    randIops: Number(r.randread[2]),
  };
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
  const best = (rs: Result[]): Result => ({
    seqread: Math.max(...rs.map((r) => r.seqread)),
    seqwrite: Math.max(...rs.map((r) => r.seqwrite)),
    randread: Math.max(...rs.map((r) => r.randread)),
    randIops: Math.max(...rs.map((r) => r.randIops)),
  });
  const runs: { ring3: Result[]; qemu: Result[] } = { ring3: [], qemu: [] };
  for (let i = 0; i < ROUNDS; i++) {
    runs.ring3.push(await runOne(Deno.execPath(), ring3Args));
    runs.qemu.push(await runOne("qemu-system-i386", qemuArgs));
    console.log(`round ${i + 1}: ring3 ${JSON.stringify(runs.ring3[i])}; qemu ${JSON.stringify(runs.qemu[i])}`);
  }
  const r = best(runs.ring3), q = best(runs.qemu);
  const rev = sh("git", "-C", root, "rev-parse", "--short", "HEAD").trim();
  const qv = sh("qemu-system-i386", "--version").split("\n")[0];
  const row = (name: string, a: number, b: number, unit = "MB/s") =>
    `| ${name} | ${a.toFixed(1)} ${unit} | ${b.toFixed(1)} ${unit} | ${(a / b).toFixed(2)}x |`;
  const md = [
    "# virtio-blk in the guest: ring3 vs QEMU TCG",
    "",
    `ring3 ${rev}; ${qv} (\`-accel tcg\`, virtio-blk, cache=writeback); the same kernel, initramfs and images;`,
    `best of ${ROUNDS} rounds each, run back to back on a shared 2-core host (\`deno run -A bench/disk_bench.ts\`).`,
    `Guest: ${values.kernel ? `${KERNEL} with ${INITRD}` : "the default kernel and initramfs"}. ` +
    `Guest program: bench/programs/diskio.c (O_DIRECT on /dev/vda, a ${TARGET_MIB} MiB raw image in the host's page cache).`,
    "",
    "| test | ring3 | QEMU TCG | ring3/QEMU |",
    "|---|---|---|---|",
    row(`sequential read, 1 MiB blocks, ${SEQ_MIB} MiB`, r.seqread, q.seqread),
    row(`sequential write, 1 MiB blocks, ${SEQ_MIB} MiB + fdatasync`, r.seqwrite, q.seqwrite),
    row(`random read, 4 KiB, ${RAND_OPS} reads`, r.randread, q.randread),
    row("random read IOPS", r.randIops, q.randIops, "IOPS"),
    "",
    "Every round:",
    "",
    ...runs.ring3.map((x, i) => `- round ${i + 1}: ring3 ${JSON.stringify(x)}; QEMU ${JSON.stringify(runs.qemu[i])}`),
    "",
  ].join("\n");
  Deno.writeTextFileSync(`${root}bench/results/disk.md`, md);
  console.log(md);
}
