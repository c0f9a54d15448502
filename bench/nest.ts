// deno task nest: ring3 inside ring3. Boots a Debian 12 i386 disk image with Node.js on ring3
// (the outer level), and in it runs the bundled ring3 (`node boot.mjs`, build/dist from
// `deno task bundle`) which boots the default guest (the inner level) to its shell, runs
// `uname -a; echo NESTED-$((6*7))` and powers off; then the outer guest powers off. Prints the
// inner guest's output, how long each level took and the inner level's instructions per second.
//
//   deno task nest [--initramfs] [--suite smoke] [--smp N] [--inner-smp N] [-m MiB] [--inner-mem MiB]
//                  [--inner-args FLAGS] [--image FILE] [--timeout MIN]
//
// --suite smoke: instead of the demo, the inner level runs the project's smoke suite with the
// bundle's smoke.mjs (cli/smoke.ts): the default guest on --smp 2 runs a command, two guests on a
// switch ping each other; success is its "SMOKE passed 2 of 2" line.
//
// The image is build/images/debian-i386-nest.img: `deno task image --add nodejs` (guest/image/
// build.sh; built here when missing, about 20 minutes the first time). The bundle goes to the
// outer guest on a second, read-only virtio disk (an ext4 file system made with mkfs.ext4 -d, no
// root needed), mounted at /mnt. Node in the outer guest is Debian's i386 nodejs 18, whose V8 has
// no WebAssembly SIMD on ring3's Core Duo (no SSE4.1): the inner ring3 runs the scalar core
// (runtime/vcpu/simd.ts). Times are host seconds, from the outer console's lines as they reach
// this process; the instruction counts come from --icount-at at each level.
//
// --initramfs: the quick variant for development: the outer level is the default guest's
// initramfs with Debian's i386 nodejs (guest/node/fetch.sh) and the bundle (at /dist) appended,
// on Debian 12's stock 686-pae kernel (tests/boot/debian_kernels.ts: apt-get download, cached in
// build/debian-kernels/); no disk image, the outer shell in seconds instead of minutes. Not the
// committed kernel: it is built without madvise (CONFIG_ADVISE_SYSCALLS), and V8's garbage
// collector stops with a fatal "Check failed: DiscardSystemPages" when madvise fails.
import { parseArgs } from "node:util";
import { kernel } from "../tests/boot/debian_kernels.ts";
import { imageBootFiles } from "../runtime/block/boot_files.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const { values: o } = parseArgs({
  args: Deno.args,
  options: {
    smp: { type: "string", default: "1" },
    "inner-smp": { type: "string", default: "1" },
    "inner-args": { type: "string", default: "" }, // more flags for the inner ring3 (e.g. --smp-threads 1)
    mem: { type: "string", short: "m", default: "1536" },
    "inner-mem": { type: "string", default: "128" },
    image: { type: "string", default: `${ROOT}build/images/debian-i386-nest.img` },
    timeout: { type: "string", default: "60" },
    suite: { type: "string" },
    "no-bundle": { type: "boolean", default: false },
    initramfs: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (o.help) {
  console.log(
    "deno task nest [--initramfs] [--suite smoke] [--smp N] [--inner-smp N] [-m MiB] [--inner-mem MiB] [--inner-args FLAGS] [--image FILE] [--timeout MIN] [--no-bundle]",
  );
  Deno.exit(0);
}
// --suite smoke: the inner level runs the smoke suite (cli/smoke.ts, the bundle's smoke.mjs)
// instead of the NESTED-42 demo: the default guest on --smp 2, then two guests on a switch
if (o.suite !== undefined && o.suite !== "smoke") {
  console.error(`nest: --suite ${o.suite}: only "smoke" (the project's smoke suite inside the guest)`);
  Deno.exit(2);
}
const suite = o.suite === "smoke";

const say = (s: string) => console.error(`nest: ${s}`);
const exists = (p: string) => {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
};
async function run(cmd: string, args: string[]): Promise<void> {
  const r = await new Deno.Command(cmd, { args, cwd: ROOT, stdout: "inherit", stderr: "inherit" }).output();
  if (!r.success) throw new Error(`${cmd} ${args.join(" ")}: exit status ${r.code}`);
}

// ---- 1. the image, the bundle and the disk that carries it ----------------------------------
if (!o.initramfs && !exists(o.image)) {
  say(`building ${o.image} (Debian 12 i386 with nodejs; about 20 minutes the first time)`);
  await run("bash", [`${ROOT}guest/image/build.sh`, "--add", "nodejs", "--out", o.image]);
}
const dist = `${ROOT}build/dist/`;
if (!o["no-bundle"] || !exists(`${dist}boot.mjs`)) {
  say("deno task bundle");
  await run(Deno.execPath(), ["run", "-A", `${ROOT}cli/bundle.ts`, dist]);
}
const distImg = `${ROOT}build/nest/dist.img`;
const nestInitrd = `${ROOT}build/nest/initramfs-nest.cpio.gz`;
Deno.mkdirSync(`${ROOT}build/nest`, { recursive: true });
let outerKernel = "";
if (o.initramfs) {
  const k = await kernel("686-pae");
  if (!k.path) throw new Error(`no Debian 686-pae kernel for the outer level: ${k.note}`);
  outerKernel = k.path;
  const nodeInitrd = `${ROOT}build/node-i386/initramfs-node.cpio.gz`;
  if (!exists(nodeInitrd)) await run("bash", [`${ROOT}guest/node/fetch.sh`]);
  // the node initramfs, then the bundle under /dist as one more gzip'd cpio archive
  await run("bash", [
    "-c",
    `set -e; t=$(mktemp -d); mkdir "$t/dist"; cp -r "$1"/. "$t/dist/"; cp "$2" "$3"; ` +
    `(cd "$t" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip) >> "$3"; rm -rf "$t"`,
    "nest",
    dist,
    nodeInitrd,
    nestInitrd,
  ]);
}
let bytes = 0;
for (const e of Deno.readDirSync(dist)) {
  if (e.isFile) bytes += Deno.statSync(dist + e.name).size;
  else if (e.isDirectory) {
    for (const f of Deno.readDirSync(dist + e.name)) bytes += Deno.statSync(`${dist}${e.name}/${f.name}`).size;
  }
}
try {
  Deno.removeSync(distImg);
} catch { /* none */ }
if (!o.initramfs) {
  await run("mkfs.ext4", ["-q", "-F", "-L", "ring3-dist", "-d", dist, distImg, `${Math.ceil(bytes / 2 ** 20) + 32}M`]);
}

// ---- 2. the outer level ----------------------------------------------------------------------
// An inner SMP machine runs its vCPUs on one thread, on the instruction-paced virtual clock: its
// worker threads would each follow the host's clock, and the inner level retires some 10^5
// instructions per host second, too few to take real-time timer interrupts and still boot (a
// single-thread machine paces its own clock by instructions on so slow a host, runtime/clock.ts).
const innerThreads = Number(o["inner-smp"]) > 1 && !/--smp-threads|--vcpu-thread/.test(o["inner-args"])
  ? "--smp-threads 1"
  : "";
const INNER = [
  `--smp ${Number(o["inner-smp"])}`,
  innerThreads,
  `-m ${Number(o["inner-mem"])}`,
  "--icount-at '[    0.000000] Linux version'",
  "--icount-at NESTED-",
  o["inner-args"],
].join(" ");
// the smoke suite's inner machines: one thread for their vCPUs (as innerThreads above; its boot
// check uses --smp 2), each check bounded by the whole run's timeout
const SMOKE_INNER = [/--smp-threads|--vcpu-thread/.test(o["inner-args"]) ? "" : "--smp-threads 1", o["inner-args"]]
  .join(" ").trim();
const SCRIPT = [
  o.initramfs ? "ln -s /dist /mnt; node --version" : "mount -o ro /dev/vdb /mnt && node --version",
  "grep -c ^processor /proc/cpuinfo; free -m | head -2",
  // the markers are printed with '' inside so that the echoed command lines never match them
  suite
    ? `echo NEST''-START; node /mnt/smoke.mjs '--boot-args=${SMOKE_INNER}' --timeout ${
      Number(o.timeout)
    } 2>&1; echo NEST''-END $?`
    : `echo NEST''-START; (echo 'uname -a; echo NESTED-$((6*7))'; echo 'poweroff -f') | node /mnt/boot.mjs ${INNER} 2>&1; echo NEST''-END $?`,
  "poweroff -f",
];
// The outer kernel is Debian's 686-pae, whose Meltdown and Spectre mitigations are on for a Core
// Duo: page-table isolation switches CR3 (a whole TLB flush in ring3) at every system call,
// interrupt and page fault, and node makes many (mprotect around code writes, futexes).
// mitigations=off, as one would in a VM that runs one trusted program.
function outerBoot(): string[] {
  const extra = "mitigations=off";
  if (o.initramfs) {
    return ["--kernel", outerKernel, "--initrd", nestInitrd, "--append", `console=ttyS0 tsc=reliable ${extra}`];
  }
  // the kernel, initrd and command line the image's extlinux.conf names, read as ring3 would
  const b = imageBootFiles(o.image);
  if (!b) throw new Error(`${o.image}: no extlinux configuration on a Linux partition`);
  return [
    "--disk",
    `${o.image},snapshot=on`,
    "--disk",
    `${distImg},readonly=on`,
    "--kernel",
    b.kernel,
    ...(b.initrd ? ["--initrd", b.initrd] : []),
    "--append",
    `${b.append} ${extra}`,
  ];
}
const outerArgs = [
  "run",
  "-A",
  `${ROOT}cli/boot.ts`,
  ...outerBoot(),
  "-m",
  String(Number(o.mem)),
  "--smp",
  String(Number(o.smp)),
  "--icount-at",
  "NEST-START",
  "--icount-at",
  "NEST-END",
];
say(`outer: deno run cli/boot.ts ${outerArgs.slice(3).join(" ")}`);
const t0 = performance.now();
const child = new Deno.Command(Deno.execPath(), {
  args: outerArgs,
  cwd: ROOT,
  stdin: "piped",
  stdout: "piped",
  stderr: "piped",
}).spawn();
const timer = setTimeout(() => {
  say(`time limit (${o.timeout} min): stopping the outer ring3`);
  child.kill("SIGKILL");
}, Number(o.timeout) * 60_000);
const w = child.stdin.getWriter();
const enc = new TextEncoder(), dec = new TextDecoder();
const at: Record<string, number> = {}; // host seconds since t0 when a line first arrived
const mark = (k: string) => at[k] ??= (performance.now() - t0) / 1000;
let errText = "";
const errDone = (async () => {
  for await (const c of child.stderr) errText += dec.decode(c, { stream: true });
})();

// the outer shell's prompt (busybox ash asks for the cursor position after it: ESC [6n)
const SHELL_INITRAMFS = new RegExp("ring3: shell ready[\\s\\S]*/ # (\x1b\\[6n)?$");
const SHELL_DEBIAN = /root@ring3-debian:~# $/;
let out = "", line = "", sent = false;
const innerLines: string[] = [];
const icount: { level: string; line: string; n: number; t: number }[] = [];
for await (const chunk of child.stdout) {
  const s = dec.decode(chunk, { stream: true });
  out += s;
  await Deno.stdout.write(enc.encode(s)); // the outer console as it goes
  for (const ch of s) {
    if (ch !== "\n") {
      line += ch;
      continue;
    }
    // (the inner console's lines end in \r\r: the inner guest's tty and then the outer one's;
    // Debian's bash wraps its prompt in bracketed-paste escapes, ESC [?2004h / ESC [?2004l, and
    // goes back to the line's start with \r: what shows is what follows the last \r)
    // deno-lint-ignore no-control-regex
    const raw = line.replace(/\r+$/, "").replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
    const l = raw.slice(raw.lastIndexOf("\r") + 1);
    line = "";
    if (l === "NEST-START") mark("start");
    else if (/^NEST-END \d+$/.test(l)) mark("end");
    else if (at.start !== undefined && at.end === undefined) {
      innerLines.push(l);
      if (/Linux version/.test(l)) mark("innerLinux");
      if (/^NESTED-42$/.test(l)) mark("nested");
      // (the inner ring3's stderr shares the outer console with its stdout: mid-line at times)
      const m = /ring3: icount (\d+) after '(.*)'$/.exec(l);
      if (m) icount.push({ level: "inner", line: m[2], n: Number(m[1]), t: (performance.now() - t0) / 1000 });
    }
  }
  if (!sent && (o.initramfs ? SHELL_INITRAMFS : SHELL_DEBIAN).test(out)) {
    sent = true;
    mark("outerShell");
    for (const cmd of SCRIPT) {
      await w.write(enc.encode(cmd + "\n"));
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}
const status = await child.status;
clearTimeout(timer);
mark("outerOff");
await errDone;
w.releaseLock();

// ---- 3. the figures ----------------------------------------------------------------------------
const outerCounts = [...errText.matchAll(/ring3: icount (\d+) after '(NEST-\w+)/g)].map((m) => ({
  line: m[2],
  n: Number(m[1]),
}));
const f = (x: number | undefined) => x === undefined ? "–" : x.toFixed(1);
const nested = suite
  ? innerLines.some((l) => /^SMOKE passed 2 of 2$/.test(l))
  : innerLines.some((l) => /^NESTED-42$/.test(l));
console.log("\n==== inner guest's output ====");
console.log(innerLines.filter((l) => !/^ring3: icount/.test(l)).join("\n"));
console.log("==== figures (host seconds) ====");
console.log(`outer: Debian boot to its root shell     ${f(at.outerShell)} s`);
console.log(
  `inner: node boot.mjs to the inner poweroff ${f(at.end !== undefined ? at.end - at.start : undefined)} s ` +
    `(to 'Linux version' ${f(at.innerLinux !== undefined ? at.innerLinux - at.start : undefined)} s, ` +
    `to NESTED-42 ${f(at.nested !== undefined ? at.nested - at.start : undefined)} s)`,
);
console.log(`outer: whole run to the outer poweroff   ${f(at.outerOff)} s (exit status ${status.code})`);
const a = icount.find((c) => c.line.includes("Linux version")), b = icount.find((c) => c.line.startsWith("NESTED-"));
if (a && b && b.t > a.t) {
  console.log(
    `inner: ${((b.n - a.n) / 1e6).toFixed(0)} M instructions from 'Linux version' to NESTED-42: ` +
      `${((b.n - a.n) / (b.t - a.t) / 1e6).toFixed(2)} M instructions/s (host time)`,
  );
}
const s0 = outerCounts.find((c) => c.line === "NEST-START"), s1 = outerCounts.find((c) => c.line === "NEST-END");
if (s0 && s1 && at.end !== undefined) {
  console.log(
    `outer: ${((s1.n - s0.n) / 1e9).toFixed(2)}·10⁹ instructions while the inner level ran: ` +
      `${((s1.n - s0.n) / (at.end - at.start) / 1e6).toFixed(0)} M instructions/s`,
  );
}
if (!nested || status.code !== 0) {
  const missing = suite ? "no 'SMOKE passed 2 of 2' line; " : "no NESTED-42 line; ";
  console.error(`nest: failed (${nested ? "" : missing}outer exit status ${status.code})`);
  console.error(errText.slice(-3000));
  Deno.exit(1);
}
