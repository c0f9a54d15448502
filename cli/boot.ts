// `deno task boot`: boot a Linux bzImage on ring3 with QEMU-like flags. The console is COM1: on a
// terminal it is interactive (raw mode, Ctrl-A x quits); otherwise stdin feeds COM1 and the guest's
// output goes to stdout, so `echo 'uname -a; poweroff -f' | deno task boot` works in scripts.
// Exits 0 when the guest powers off. `--bios FILE` instead powers on a PC with that ROM and lets
// the CPU start at the reset vector, as QEMU's -bios without -kernel does. Argument parsing and
// file checks are plain functions so they are testable without a machine; the machine is imported
// only when a boot really starts.
import { parseArgs } from "node:util";
import { MAX_CPUS } from "../core-as/layout.ts";
import { JIT_DEFAULT, jitThreshold } from "../runtime/vcpu/core.ts";
import { bootBzImage, BootImageError, E820_RAM, parseBzImage, type Region } from "../runtime/boot/bzimage.ts";
import { NET_USAGE, type NetConfig, parseNetOption } from "../runtime/netopt.ts";
import { DISK_USAGE, type DiskConfig, parseDiskOption } from "../runtime/block/options.ts";
import { imageBootFiles } from "../runtime/block/boot_files.ts";
import { parseShareOption, SHARE_USAGE, type ShareConfig } from "../runtime/share/options.ts";
import { findPasst, PASST_INSTALL } from "../net/passt.ts";
import type { GuestRam } from "../runtime/memory.ts";
import type { Machine } from "../runtime/machine.ts";
import { Vm, type VmOutcome } from "../runtime/control/vm.ts";
import { ControlError, ControlServer, parseControlSpec } from "../runtime/control/server.ts";
import { handleLine } from "../runtime/control/commands.ts";
import { SnapshotError } from "../runtime/snapshot/persist.ts";
import type { SnapshotHeader } from "../runtime/snapshot/snapshot.ts";
import { RING3_VERSION } from "../runtime/version.ts";

import { DEFAULT_APPEND, DEFAULT_INITRD, DEFAULT_KERNEL } from "../runtime/boot/defaults.ts";
export { DEFAULT_APPEND, DEFAULT_INITRD, DEFAULT_KERNEL };
export const DEFAULT_MEM_MIB = 256;
export const MAX_SMP = MAX_CPUS; // 64: the i386 kernel's limit (BIGSMP); core-as/layout.ts
export const MIN_MEM_MIB = 16;
export const MAX_MEM_MIB = 3072;
const MAX_BIOS = 1 << 20;

// Lines guest/init prints (see guest/init).
export const MARK_USERSPACE = "ring3: userspace up";
export const MARK_SHELL = "ring3: shell ready";
const PROMPT_WAIT_MS = 5000; // after MARK_SHELL, held input waits at most this long for a prompt
// the end of a shell prompt: "# " or "$ ", or busybox ash's cursor-position query after it
// deno-lint-ignore no-control-regex -- ESC [ 6 n is busybox's cursor-position query
const PROMPT_END = /([#$] |\x1b\[6n)$/;

export const USAGE = `usage: deno task boot [options]
Boot a Linux/x86 bzImage on ring3. The console is the first serial port (COM1).

  --kernel FILE    bzImage (default: guest/images/bzImage)
  --initrd FILE    initramfs (default: guest/images/initramfs.cpio.gz; --initrd= for none)
  --append TEXT    kernel command line (default: "${DEFAULT_APPEND}")
  -m, --mem SIZE   guest RAM: MiB, or with a suffix M or G (256M, 1G; default: ${DEFAULT_MEM_MIB}; ${MIN_MEM_MIB}..${MAX_MEM_MIB} MiB)
  --smp N          number of CPUs (default: 1; 1..${MAX_SMP})
  --smp-threads 1  run every CPU on one thread, round-robin on the virtual clock: repeatable runs
  --vcpu-thread    run even a single CPU in its own thread, devices (NICs, disks) on the main one
${NET_USAGE}
${DISK_USAGE}
${SHARE_USAGE}
                   A disk built by \`deno task image\` boots straight: without --kernel, --initrd,
                   --append and --bios, the kernel, initrd and command line named by the first
                   disk's /boot/extlinux/extlinux.conf (first Linux partition, read with debugfs).
  --bios FILE      firmware boot: a raw ROM image (4 KiB..1 MiB) mapped at the top of 4 GiB,
                   its last 128 KiB also at 0xE0000..0xFFFFF; the CPU starts at the reset vector
                   F000:FFF0 in real mode with no firmware tables installed. Without --bios the
                   kernel is started directly. --kernel, --initrd and --append cannot go with
                   it: ring3 has no fw_cfg through which firmware could fetch a kernel
  --debugcon FILE  bytes the guest writes to I/O port 0x402 go to FILE (QEMU's isa-debugcon: SeaBIOS
                   logs there; /dev/stderr works); reading the port gives 0xE9
  --jit N|off      block compiler: compile a block after N visits of its entry (default: ${JIT_DEFAULT});
                   off runs the interpreter alone (as RING3_JIT=N|off does for every tool)
  --no-reboot      exit when the guest resets instead of booting again (status 4 for a triple fault)
  --on-panic exit|reboot|pause
                   what a guest kernel panic (reported through the pvpanic device) does: end ring3
                   at once with status 3 and the panic line on stderr (default), reboot the guest,
                   or stop the CPUs and wait for Ctrl-A x
  --exit-port PORT an isa-debug-exit device at I/O port PORT (QEMU's is 0x501): a guest write of V
                   ends ring3 with exit status (V << 1) | 1
  --timing         print the time to the first kernel output and to the shell marker (stderr)
  --icount-at TEXT after each console line starting with TEXT, print the instructions all CPUs
                   have retired so far (stderr: ring3: icount N after 'LINE'); repeatable
  --control unix:PATH  a control socket (JSON lines; mode 0600): deno task ctl PATH help
  --restore FILE   resume a machine saved by savevm (no kernel needed; CPUs, RAM, NICs from FILE)
  --version        ring3's version
  -h, --help       this text

On a terminal: Ctrl-A x quits, Ctrl-A h lists the keys (Ctrl-A c: monitor prompt, Ctrl-A b: SysRq). Otherwise stdin is fed to COM1 once the
guest's shell prompts (after guest/init's shell marker; at once for other initrds), console on stdout.
The default guest runs scripted with --append "console=ttyS0 ring3.run=bench" (or =info, =poweroff).
Exit status: 0 when the guest powers off, halts with interrupts off after printing something, or
resets (other than by a triple fault) under --no-reboot; 1 on a boot failure, including a guest
that halts before printing anything; 2 on bad usage; 3 when the guest kernel panics; 4 for a
triple fault under --no-reboot; (V << 1) | 1 from --exit-port; 128+N when ended by signal N
(SIGTERM, SIGHUP, SIGINT); 141 when the console's output pipe closes.`;

export interface BootConfig {
  help: boolean;
  kernel: string | null; // null: firmware boot (--bios)
  initrd: string | null; // null: no initrd
  append: string;
  memMiB: number;
  smp: number;
  smpThreads: number; // 0: a thread per CPU; 1: one thread, deterministic
  vcpuWorker: boolean; // --vcpu-thread: a single CPU in its own thread too
  net: NetConfig[]; // --net, one per NIC
  disks: DiskConfig[]; // --disk, one per disk (virtio-blk: /dev/vda, vdb, ...; if=ide: /dev/sda, ...)
  cdrom: string | null; // --cdrom: an ISO on the IDE CD-ROM
  boot: string | null; // --boot c|d|n: the firmware's first boot device
  shares: ShareConfig[]; // --share, one per host folder (virtio-9p)
  bios: string | null;
  debugcon: string | null; // file that receives port 0x402 output
  noReboot: boolean;
  onPanic: "exit" | "reboot" | "pause";
  exitPort: number | null; // isa-debug-exit I/O port
  timing: boolean;
  icountAt: string[]; // console line prefixes that report the retired-instruction count
  jit: number | null; // block-compiler threshold (0 = off), null = RING3_JIT or the default
  version: boolean;
  control: string | null; // control socket path
  restore: string | null; // snapshot to resume
  memGiven: boolean; // --mem / --smp given explicitly (a restore checks them against the file)
  smpGiven: boolean;
}

// Bad command line: printed as one line, exit status 2.
export class UsageError extends Error {
  override name = "UsageError";
}
// A file that cannot be used (missing, unreadable, corrupt): one line, exit status 1.
export class BootFileError extends Error {
  override name = "BootFileError";
}

function intArg(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`--${name} wants a whole number, got '${text}'`);
  const n = Number(text.trim());
  if (n < min || n > max) throw new UsageError(`--${name} ${n} is out of range (${min}..${max})`);
  return n;
}

// --mem: MiB, or a size with a suffix (M/MiB, G/GiB, either case); whole MiB only
export function parseMem(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([mMgG]?)(?:i?[bB])?\s*$/.exec(text);
  if (!m) throw new UsageError(`--mem wants a size in MiB or with a suffix (256M, 1G), got '${text}'`);
  const mib = Number(m[1]) * (m[2].toLowerCase() === "g" ? 1024 : 1);
  if (!Number.isInteger(mib)) throw new UsageError(`--mem ${text} is not a whole number of MiB`);
  if (mib < MIN_MEM_MIB || mib > MAX_MEM_MIB) {
    throw new UsageError(`--mem ${text} is out of range (${MIN_MEM_MIB}..${MAX_MEM_MIB} MiB)`);
  }
  return mib;
}

const OPTION_NAMES = [
  "kernel",
  "initrd",
  "append",
  "mem",
  "smp",
  "smp-threads",
  "vcpu-thread",
  "net",
  "disk",
  "cdrom",
  "boot",
  "share",
  "bios",
  "debugcon",
  "no-reboot",
  "timing",
  "icount-at",
  "jit",
  "help",
  "version",
  "control",
  "restore",
  "on-panic",
  "exit-port",
];
// QEMU options with no ring3 twin, and what to do instead
const QEMU_ONLY: Record<string, string> = {
  nographic: "the console is always COM1 on this terminal",
  serial: "COM1 is this terminal",
  "enable-kvm": "ring3 is an interpreter with a block compiler",
  accel: "ring3 is an interpreter with a block compiler",
  hda: "use --disk FILE,if=ide",
  drive: "use --disk FILE[,if=ide|virtio]",
  netdev: "use --net switch=HOST:PORT",
  nic: "use --net switch=HOST:PORT",
  device: "NICs come with --net",
  cpu: "ring3 is an i386-class CPU",
  machine: "ring3 is a PC",
  monitor: "Ctrl-A c opens the monitor; --control unix:PATH gives a control socket",
  qmp: "--control unix:PATH gives a JSON control socket",
  loadvm: "use --restore FILE",
};

// A QEMU spelling (-kernel, -append, -nographic): say what ring3 calls it.
function qemuHint(argv: string[]): void {
  for (const a of argv) {
    if (a === "--") return;
    const m = /^-([a-z][a-z-]+)(=.*)?$/.exec(a);
    if (!m) continue;
    const name = m[1] === "m" ? "mem" : m[1];
    if (OPTION_NAMES.includes(name)) {
      throw new UsageError(`${a.split("=")[0]} is QEMU's spelling; ring3 says --${name} (see --help)`);
    }
    if (name in QEMU_ONLY) {
      throw new UsageError(`${a.split("=")[0]} is a QEMU option ring3 does not have: ${QEMU_ONLY[name]}`);
    }
  }
}

export function parseBootArgs(argv: string[]): BootConfig {
  qemuHint(argv);
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        kernel: { type: "string" },
        initrd: { type: "string" },
        append: { type: "string" },
        mem: { type: "string", short: "m" },
        smp: { type: "string" },
        "smp-threads": { type: "string" },
        "vcpu-thread": { type: "boolean" },
        net: { type: "string", multiple: true },
        disk: { type: "string", multiple: true },
        cdrom: { type: "string" },
        boot: { type: "string" },
        share: { type: "string", multiple: true },
        bios: { type: "string" },
        debugcon: { type: "string" },
        "no-reboot": { type: "boolean" },
        "on-panic": { type: "string" },
        "exit-port": { type: "string" },
        timing: { type: "boolean" },
        "icount-at": { type: "string", multiple: true },
        jit: { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
        control: { type: "string" },
        restore: { type: "string" },
      },
    }));
  } catch (e) {
    throw new UsageError(parseArgsMessage(e));
  }
  if (values.kernel === "") throw new UsageError("--kernel needs a file name");
  if (values.bios === "") throw new UsageError("--bios needs a file name");
  if (values.debugcon === "") throw new UsageError("--debugcon needs a file name");
  if (values.restore === "") throw new UsageError("--restore needs a snapshot file");
  if (values.restore !== undefined) {
    const extra = (["kernel", "initrd", "append", "bios"] as const).find((k) => values[k] !== undefined);
    if (extra) throw new UsageError(`--restore resumes a saved machine and cannot take --${extra}`);
  }
  let control: string | null = null;
  if (values.control !== undefined) {
    try {
      control = parseControlSpec(values.control);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const firmware = values.bios !== undefined;
  if (firmware) {
    const extra = (["kernel", "initrd", "append"] as const).find((k) => values[k] !== undefined);
    if (extra) {
      throw new UsageError(
        `--bios boots the firmware from the reset vector and cannot take --${extra} (ring3 has no fw_cfg)`,
      );
    }
  }
  if (values.jit === undefined) {
    try {
      jitThreshold(); // a bad RING3_JIT is a usage error too
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const disks = (values.disk ?? []).map((d) => {
    try {
      return parseDiskOption(d);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  });
  if (values.cdrom === "") throw new UsageError("--cdrom needs an ISO file name");
  if (values.boot !== undefined && !/^[cdn]$/.test(values.boot)) {
    throw new UsageError(`--boot ${values.boot}: c (hard disk), d (CD-ROM) or n (network)`);
  }
  // a disk image from `deno task image` brings its own kernel, initrd and command line
  const own = !firmware && values.kernel === undefined && values.initrd === undefined && values.append === undefined
    ? diskBootFiles(disks[0]?.file)
    : null;
  const kernel = firmware ? null : own?.kernel ?? values.kernel ?? DEFAULT_KERNEL;
  const initrd = firmware || values.initrd === "" ? null : own ? own.initrd : values.initrd ?? DEFAULT_INITRD;
  return {
    help: values.help ?? false,
    kernel,
    initrd,
    append: own?.append ?? values.append ?? DEFAULT_APPEND,
    memMiB: values.mem === undefined ? DEFAULT_MEM_MIB : parseMem(values.mem),
    smp: values.smp === undefined ? 1 : intArg("smp", values.smp, 1, MAX_SMP),
    smpThreads: values["smp-threads"] === undefined ? 0 : intArg("smp-threads", values["smp-threads"], 1, 1),
    vcpuWorker: values["vcpu-thread"] ?? false,
    net: (values.net ?? []).map((n) => {
      let c: NetConfig;
      try {
        c = parseNetOption(n);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      if (c.user && !findPasst()) throw new UsageError(`--net ${n}: user networking needs passt: ${PASST_INSTALL}`);
      return c;
    }),
    disks,
    cdrom: values.cdrom ?? null,
    boot: values.boot ?? null,
    shares: (values.share ?? []).map((spec, i) => {
      let c: ShareConfig;
      try {
        c = parseShareOption(spec, i);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      let dir = false;
      try {
        dir = Deno.statSync(c.dir).isDirectory;
      } catch { /* reported below */ }
      if (!dir) throw new UsageError(`--share ${spec}: ${c.dir} is not a folder`);
      return c;
    }),
    bios: values.bios ?? null,
    debugcon: values.debugcon ?? null,
    noReboot: values["no-reboot"] ?? false,
    onPanic: panicAction(values["on-panic"]),
    exitPort: values["exit-port"] === undefined ? null : portArg("exit-port", values["exit-port"]),
    timing: values.timing ?? false,
    icountAt: (values["icount-at"] ?? []).filter((t) => t !== ""),
    jit: values.jit === undefined ? null : values.jit === "off" ? 0 : intArg("jit", values.jit, 1, 1_000_000),
    version: values.version ?? false,
    control,
    restore: values.restore ?? null,
    memGiven: values.mem !== undefined,
    smpGiven: values.smp !== undefined,
  };
}

function panicAction(v: string | undefined): BootConfig["onPanic"] {
  if (v === undefined) return "exit";
  if (v === "exit" || v === "reboot" || v === "pause") return v;
  throw new UsageError(`--on-panic must be exit, reboot or pause, not '${v}'`);
}

// an I/O port: decimal or 0x hex, 0..0xFFFE (the device takes two ports)
function portArg(name: string, v: string): number {
  const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : /^[0-9]+$/.test(v) ? parseInt(v, 10) : NaN;
  if (!(n >= 0 && n <= 0xfffe)) {
    throw new UsageError(`--${name} must be an I/O port 0..0xfffe (e.g. 0x501), not '${v}'`);
  }
  return n;
}

// A disk that boots itself (runtime/block/boot_files.ts): the kernel, initrd and command line
// its extlinux configuration names, read from the image's Linux partition with debugfs.
export function diskBootFiles(
  image: string | undefined,
): { kernel: string; initrd: string | null; append: string } | null {
  if (!image) return null;
  try {
    return imageBootFiles(image);
  } catch (e) {
    throw new BootFileError((e as Error).message);
  }
}

// node:util's messages are long and suggest "--" tricks; say it in one short line.
function parseArgsMessage(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const msg = String(err?.message ?? e);
  const opt = /'(-[^']*)'/.exec(msg)?.[1];
  switch (err?.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${opt ?? ""} (see --help)`.replace("  ", " ");
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument ${opt ?? /'([^']*)'/.exec(msg)?.[1] ?? ""} (options start with --; see --help)`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return `${msg.split(/[.\n]/)[0]} (see --help)`;
    default:
      return msg.split("\n")[0];
  }
}

export interface BootFiles {
  kernel: Uint8Array | null; // null: firmware boot
  initrd: Uint8Array | null;
  bios: Uint8Array | null;
  kernelVersion: string; // "" for a firmware boot
  shellMarker: boolean; // the initrd's init prints MARK_SHELL (ours: guest/init)
}

async function readFile(what: string, path: string): Promise<Uint8Array> {
  try {
    const st = await Deno.stat(path);
    if (!st.isFile) throw new BootFileError(`${what} ${path}: not a regular file`);
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof BootFileError) throw e;
    if (e instanceof Deno.errors.NotFound) throw new BootFileError(`${what} ${path}: no such file`);
    if (e instanceof Deno.errors.PermissionDenied) throw new BootFileError(`${what} ${path}: permission denied`);
    throw new BootFileError(`${what} ${path}: ${(e as Error).message.split("\n")[0]}`);
  }
}

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
const isCpio = (b: Uint8Array) => b.length >= 6 && /^07070[12]$/.test(new TextDecoder().decode(b.subarray(0, 6)));
// other compressors the kernel may be built to unpack: xz, zstd, bzip2, lzma, lz4 (legacy), lzo
const isOtherCompressed = (b: Uint8Array) =>
  b.length >= 4 && (
    (b[0] === 0xfd && b[1] === 0x37 && b[2] === 0x7a && b[3] === 0x58) ||
    (b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) ||
    (b[0] === 0x42 && b[1] === 0x5a && b[2] === 0x68) ||
    (b[0] === 0x5d && b[1] === 0x00 && b[2] === 0x00) ||
    (b[0] === 0x02 && b[1] === 0x21 && b[2] === 0x4c && b[3] === 0x18) ||
    (b[0] === 0x89 && b[1] === 0x4c && b[2] === 0x5a && b[3] === 0x4f)
  );

// Read and check every file before a machine is built. Throws BootFileError.
export async function loadBootFiles(cfg: BootConfig): Promise<BootFiles> {
  let kernel: Uint8Array | null = null;
  let kernelVersion = "";
  if (cfg.kernel !== null) {
    kernel = await readFile("kernel", cfg.kernel);
    try {
      kernelVersion = parseBzImage(kernel).header.kernelVersion;
    } catch (e) {
      if (e instanceof BootImageError) throw new BootFileError(`kernel ${cfg.kernel}: ${e.message}`);
      throw e;
    }
  }
  let initrd: Uint8Array | null = null;
  if (cfg.initrd !== null) {
    initrd = await readFile("initrd", cfg.initrd);
    if (initrd.length === 0) throw new BootFileError(`initrd ${cfg.initrd}: empty file`);
    if (!isGzip(initrd) && !isCpio(initrd) && !isOtherCompressed(initrd)) {
      throw new BootFileError(`initrd ${cfg.initrd}: not a cpio archive (plain or compressed)`);
    }
    if (isGzip(initrd)) checkGzipTrailer(cfg.initrd, initrd);
  }
  let bios: Uint8Array | null = null;
  if (cfg.bios !== null) {
    bios = await readFile("BIOS", cfg.bios);
    if (bios.length === 0 || bios.length > MAX_BIOS || bios.length % 4096 !== 0) {
      throw new BootFileError(
        `BIOS ${cfg.bios}: ${bios.length} bytes; a ROM image is 4 KiB..1 MiB in 4 KiB units`,
      );
    }
  }
  const shellMarker = initrd !== null && (await initrdMentions(initrd, MARK_SHELL));
  return { kernel, initrd, bios, kernelVersion, shellMarker };
}

// Whether the (possibly gzip-compressed) initrd contains `text`: tells an initramfs made by
// guest/build.sh, whose init announces its shell, from others.
async function initrdMentions(initrd: Uint8Array, text: string): Promise<boolean> {
  let data = initrd;
  if (isGzip(initrd)) {
    try {
      const stream = new Blob([initrd as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
        new DecompressionStream("gzip"),
      );
      data = new Uint8Array(await new Response(stream).arrayBuffer());
    } catch {
      return false;
    }
  }
  return latin1(data).includes(text);
}

// A gzip member ends with the uncompressed size mod 2^32; a truncated file almost never ends in a
// plausible one. Catches cut-off downloads early instead of as a kernel panic much later.
function checkGzipTrailer(path: string, b: Uint8Array): void {
  if (b.length < 18) throw new BootFileError(`initrd ${path}: truncated gzip file`);
  const isize = new DataView(b.buffer, b.byteOffset + b.length - 4, 4).getUint32(0, true);
  // compression ratio of a cpio of binaries is far below 1000:1
  if (isize < 16 || isize > b.length * 1000) throw new BootFileError(`initrd ${path}: truncated or corrupt gzip file`);
}

// ---- the machine glue: the only part that knows the machine's API ------------------------------

// What the CLI needs from runtime/machine.ts. Kept small so the integrator can adapt it.
export interface MachineLike {
  ram: GuestRam;
  core: Parameters<typeof bootBzImage>[1] & { icount?: bigint };
  ncpu?: number;
  retired?(cpu: number): number; // instructions retired by one vCPU so far
  serial: {
    input(data: Uint8Array): void;
    onOutput: ((data: Uint8Array) => void) | null;
  };
  // the machine's physical memory map (RAM entries are ignored: the loader derives RAM from `ram`)
  e820?(): Region[];
  tables?: { rsdp: number }; // ACPI tables the machine installed
  loadBios?(image: Uint8Array): void;
  io?: { register(base: number, len: number, h: PortHandler): void };
  // resolves on power-off or reset: { kind: "poweroff" | "reset" | "halt" | "stopped" } or that string
  run(): Promise<RunOutcome>;
  reset?(): void | Promise<void>; // devices and RAM back to power-on, before booting again
  stop?(): void;
}
export interface PortHandler {
  read(port: number, size: number): number;
  write(port: number, size: number, value: number): void;
}
export type RunOutcome = string | { kind: string; reason?: string } | void;

export interface MachineOptions {
  memMiB: number;
  smp: number;
  smpThreads?: number;
  vcpuWorker?: boolean;
  net?: NetConfig[];
  disks?: DiskConfig[];
  cdrom?: string;
  boot?: string;
  shares?: ShareConfig[];
  acpi?: boolean; // false: no built-in firmware tables (the ROM makes its own)
}
export type MachineFactory = (opts: MachineOptions) => Promise<MachineLike>;

interface MachineModule {
  Machine: {
    new (opts: MachineOptions): MachineLike;
    create?(opts: MachineOptions): Promise<MachineLike>;
  };
}

async function importMachine(opts: MachineOptions): Promise<MachineLike> {
  let mod: MachineModule;
  try {
    mod = await import(new URL("../runtime/machine.ts", import.meta.url).href) as MachineModule;
  } catch (e) {
    throw new BootFileError(`cannot load the machine (runtime/machine.ts): ${(e as Error).message.split("\n")[0]}`);
  }
  try {
    return mod.Machine.create ? await mod.Machine.create(opts) : new mod.Machine(opts);
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message.split("\n")[0]);
    if ((e as Error)?.name === "DiskError") throw new BootFileError(`disk ${(e as Error).message}`);
    throw e;
  }
}

// Firmware, kernel, initrd, zero page into RAM and the boot CPU at the kernel's entry; or, for a
// firmware boot, only the ROM: the machine's power-on (and reset) state is already the reset vector.
function loadGuest(m: MachineLike, cfg: BootConfig, files: BootFiles): void {
  if (files.bios) {
    if (!m.loadBios) throw new BootFileError("--bios: this machine cannot map a BIOS image");
    try {
      m.loadBios(files.bios);
    } catch (e) {
      throw new BootFileError(`BIOS ${cfg.bios}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  if (!files.kernel) return;
  try {
    bootBzImage(m.ram, m.core, files.kernel, {
      cmdline: cfg.append,
      initrd: files.initrd ?? undefined,
      regions: (m.e820?.() ?? []).filter((e) => e.type !== E820_RAM),
      acpiRsdp: m.tables?.rsdp,
    });
  } catch (e) {
    if (e instanceof BootImageError) throw new BootFileError(`kernel ${cfg.kernel}: ${e.message}`);
    throw e;
  }
}

// QEMU's isa-debugcon: firmware and test ROMs print to port 0x402 without setting up a UART, and
// probe for the console by reading 0xE9 back.
const DEBUGCON_PORT = 0x402;

function openDebugcon(path: string): Deno.FsFile {
  try {
    return Deno.openSync(path, { write: true, create: true, truncate: true });
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no such directory"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : (e as Error).message.split("\n")[0];
    throw new BootFileError(`--debugcon ${path}: cannot write: ${why}`);
  }
}

function attachDebugcon(m: MachineLike, file: Deno.FsFile): void {
  if (!m.io) throw new BootFileError("--debugcon: this machine has no I/O port bus");
  const byte = new Uint8Array(1);
  m.io.register(DEBUGCON_PORT, 1, {
    read: () => 0xe9,
    write: (_port, _size, value) => {
      byte[0] = value;
      file.writeSync(byte);
    },
  });
}

// ---- console ----------------------------------------------------------------------------------
const CTRL_A = 0x01;
const KEYS_HELP = [
  "C-a h    this help",
  "C-a x    quit ring3",
  "C-a s    status of every vCPU (instructions, state) and the time",
  "C-a b    send a break (then a key within 5 s: Linux's magic SysRq, e.g. h for its help)",
  "C-a c    monitor prompt with the control commands (help lists them; C-a c again leaves it)",
  "C-a C-a  send C-a to the guest",
];

// Output to a closed pipe (`deno task boot | head`): end quietly, as a Unix filter would.
export class BrokenPipe extends Error {
  override name = "BrokenPipe";
}
export const EXIT_BROKEN_PIPE = 141; // 128 + SIGPIPE, what a shell reports for a filter cut short

class Console {
  private tail = "";
  private recent = ""; // the last few KiB of console text (the panic line)
  printed = false; // the guest wrote anything to the console since (re)boot
  private t0 = performance.now();
  private firstOutput = false;
  private marks = new Set<string>();
  private pending: Uint8Array[] = [];
  private released: boolean;
  private escape = false;
  private monitor: string | null = null; // the monitor line being typed, null: keys go to the guest
  private line = ""; // the console line being written, for --icount-at
  private enc = new TextEncoder();
  quit: (() => void) | null = null;
  brokenPipe: (() => void) | null = null;

  constructor(
    private vm: Vm,
    private cfg: BootConfig,
    private tty: boolean,
    private holdInput: boolean,
  ) {
    // Input that arrives before the guest's shell reads its terminal can be lost (CI saw a piped
    // script vanish once); for the default guest hold piped input until its shell prompts.
    this.released = tty || !holdInput;
  }

  private get m(): MachineLike {
    return this.vm.machine as unknown as MachineLike;
  }

  private err(line: string): void {
    try {
      Deno.stderr.writeSync(this.enc.encode(line + (this.tty ? "\r\n" : "\n")));
    } catch { /* stderr closed: nothing to tell */ }
  }

  private elapsed(): string {
    return ((performance.now() - this.t0) / 1000).toFixed(2) + " s";
  }

  restartClock(): void {
    this.t0 = performance.now();
    this.firstOutput = false;
    this.printed = false;
    this.recent = "";
    this.marks.clear();
    clearTimeout(this.promptTimer);
    this.promptTimer = undefined;
    this.released = this.tty || !this.holdInput; // a rebooted guest needs its shell again
  }

  output(data: Uint8Array): void {
    try {
      writeAll(Deno.stdout, data);
    } catch (e) {
      if (e instanceof Deno.errors.BrokenPipe) {
        this.brokenPipe?.();
        return;
      }
      throw e;
    }
    this.printed = true;
    this.recent = (this.recent + latin1(data)).slice(-8192);
    if (this.cfg.timing && !this.firstOutput) {
      this.firstOutput = true;
      this.err(`ring3: first kernel output after ${this.elapsed()}`);
    }
    if (this.cfg.icountAt.length) this.icountLines(data);
    this.tail = (this.tail + latin1(data)).slice(-256);
    for (const mark of [MARK_USERSPACE, MARK_SHELL]) {
      if (!this.marks.has(mark) && this.tail.includes(mark)) {
        this.marks.add(mark);
        if (this.cfg.timing) this.err(`ring3: '${mark}' after ${this.elapsed()}`);
        if (mark === MARK_SHELL) this.awaitPrompt();
      }
    }
    // the shell prints its prompt (busybox ash then asks the terminal for the cursor position)
    // once it reads its terminal: piped input goes in then, not while the shell is still starting
    if (this.promptTimer !== undefined && PROMPT_END.test(this.tail)) this.release();
  }

  // the kernel's "Kernel panic - not syncing: ..." line, if it reached the console
  panicLine(): string | null {
    const lines = this.recent.split(/\r?\n/).filter((l) => l.includes("Kernel panic"));
    return lines.length ? lines[lines.length - 1].replace(/^\[[ 0-9.]+\] /, "").trim() : null;
  }

  private promptTimer: ReturnType<typeof setTimeout> | undefined;
  private awaitPrompt(): void {
    if (this.released) return;
    // a shell whose prompt looks different gets the input after a while all the same
    const t = this.promptTimer = setTimeout(() => this.release(), PROMPT_WAIT_MS);
    Deno.unrefTimer(t); // (it must not keep a powered-off machine's process alive)
    if (PROMPT_END.test(this.tail)) this.release();
  }

  // The count is taken when the line's newline arrives, so a workload bracketed by two marked
  // lines is counted whole (bench/peers/race.ts divides it by the host time between them).
  private icountLines(data: Uint8Array): void {
    for (const b of data) {
      if (b === 13) continue;
      if (b !== 10) {
        if (this.line.length < 200) this.line += String.fromCharCode(b);
        continue;
      }
      const line = this.line;
      this.line = "";
      if (this.cfg.icountAt.some((p) => line.startsWith(p))) this.err(`ring3: icount ${this.icount()} after '${line}'`);
    }
  }

  private icount(): number {
    if (!this.m.retired) return Number(this.m.core.icount ?? 0n);
    let n = 0;
    for (let c = 0; c < (this.m.ncpu ?? 1); c++) n += this.m.retired(c);
    return n;
  }

  private release(): void {
    clearTimeout(this.promptTimer);
    this.promptTimer = undefined;
    if (this.released) return;
    this.released = true;
    for (const d of this.pending) this.vm.input(d);
    this.pending = [];
  }

  // Ctrl-A s: one line per vCPU
  private status(): void {
    const m = this.m;
    const n = m.ncpu ?? 1;
    this.err(`ring3: ${this.elapsed()} since boot, ${n} vCPU${n > 1 ? "s" : ""}, ${this.vm.state}`);
    const real = this.vm.machine as Machine;
    for (let c = 0; c < n; c++) {
      const insns = m.retired ? m.retired(c) : Number(m.core.icount ?? 0n);
      const v = real.vcpus?.[c];
      const state = v
        ? (["running", "waiting for SIPI", "stopped"][v.state] ?? "?") + (v.halted ? ", halted" : "")
        : "";
      const eip = v ? `, EIP ${v.core.eip.toString(16).padStart(8, "0")}` : "";
      this.err(`  CPU ${c}: ${insns} instructions${state ? `, ${state}` : ""}${eip}`);
    }
  }

  // a key typed at the monitor prompt
  private monitorKey(b: number): void {
    if (b === 13 || b === 10) {
      const line = this.monitor!.trim();
      this.monitor = "";
      this.err("");
      if (line) {
        void handleLine(this.vm, line).then((reply) => {
          const r = JSON.parse(reply);
          const text = r.ok ? JSON.stringify(r.result, null, 2) : `error: ${r.error}`;
          for (const l of text.split("\n")) this.err(l);
          this.prompt();
        });
      } else this.prompt();
      return;
    }
    if (b === 0x7f || b === 8) {
      if (this.monitor!.length) {
        this.monitor = this.monitor!.slice(0, -1);
        this.rawErr("\b \b");
      }
      return;
    }
    if (b < 0x20) return;
    this.monitor += String.fromCharCode(b);
    this.rawErr(String.fromCharCode(b));
  }
  private prompt(): void {
    if (this.monitor !== null) this.rawErr("(ring3) ");
  }
  private rawErr(s: string): void {
    try {
      Deno.stderr.writeSync(this.enc.encode(s));
    } catch { /* stderr closed */ }
  }

  // bytes from the host's stdin
  input(data: Uint8Array): void {
    if (!this.tty) {
      if (this.released) this.vm.input(data);
      else this.pending.push(data.slice());
      return;
    }
    const out: number[] = [];
    for (const b of data) {
      if (this.escape) {
        this.escape = false;
        const k = String.fromCharCode(b | 0x20);
        if (b === CTRL_A) {
          if (this.monitor === null) out.push(CTRL_A);
        } else if (k === "x") {
          this.err("\r\nring3: quit");
          this.quit?.();
          return;
        } else if (k === "h") { for (const l of KEYS_HELP) this.err(l); }
        else if (k === "s") this.status();
        else if (k === "b") {
          (this.vm.machine as Machine).com1?.receiveBreak();
          this.err("ring3: break sent (a key within 5 s is Linux's SysRq)");
        } else if (k === "c") {
          if (this.monitor === null) {
            this.monitor = "";
            this.err("\r\nring3 monitor: control commands (help lists them); C-a c returns to the guest");
            this.prompt();
          } else {
            this.monitor = null;
            this.err("\r\nring3: back to the guest");
          }
        }
        continue;
      }
      if (b === CTRL_A) this.escape = true;
      else if (this.monitor !== null) this.monitorKey(b);
      else out.push(b);
    }
    if (out.length) this.vm.input(new Uint8Array(out));
  }
}

function latin1(b: Uint8Array): string {
  return new TextDecoder("latin1").decode(b);
}

function writeAll(w: { writeSync(p: Uint8Array): number }, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += w.writeSync(data.subarray(off));
}

async function pumpStdin(con: Console): Promise<void> {
  const buf = new Uint8Array(4096);
  for (;;) {
    let n: number | null;
    try {
      n = await Deno.stdin.read(buf);
    } catch {
      return; // stdin closed under us (e.g. on quit)
    }
    if (n === null) return; // EOF: the guest keeps running until it powers off
    con.input(buf.subarray(0, n));
  }
}

// Boot and run until power-off (or reset with --no-reboot, or Ctrl-A x). Returns the exit status.
export async function runGuest(
  cfg: BootConfig,
  files: BootFiles,
  factory: MachineFactory = importMachine,
): Promise<number> {
  const debugcon = cfg.debugcon === null ? null : openDebugcon(cfg.debugcon);
  // the machine's memory and every vCPU worker read the threshold from the environment
  if (cfg.jit !== null) Deno.env.set("RING3_JIT", cfg.jit === 0 ? "off" : String(cfg.jit));
  try {
    const m = await factory({
      memMiB: cfg.memMiB,
      smp: cfg.smp,
      smpThreads: cfg.smpThreads,
      ...(cfg.vcpuWorker ? { vcpuWorker: true } : {}),
      net: cfg.net,
      disks: cfg.disks,
      ...(cfg.cdrom === null ? {} : { cdrom: cfg.cdrom }),
      ...(cfg.shares.length ? { shares: cfg.shares } : {}),
      // --boot c: the hard disk first, then the CD-ROM and the network (QEMU's order letters)
      ...(cfg.boot === null ? {} : { boot: { c: "cdn", d: "dcn", n: "ncd" }[cfg.boot] }),
      acpi: files.bios === null,
      ...(cfg.exitPort === null ? {} : { exitPort: cfg.exitPort }),
    });
    if (debugcon) attachDebugcon(m, debugcon);
    loadGuest(m, cfg, files);
    return await runMachine(m, cfg, files, null);
  } finally {
    debugcon?.close();
  }
}

// --restore: the machine from a snapshot, running where it was saved.
export async function restoreGuest(cfg: BootConfig): Promise<number> {
  if (cfg.jit !== null) Deno.env.set("RING3_JIT", cfg.jit === 0 ? "off" : String(cfg.jit));
  const { machine, header } = await Vm.machineFromSnapshot(cfg.restore!, { smpThreads: cfg.smpThreads });
  const c = header.config;
  if ((cfg.smpGiven && cfg.smp !== c.smp) || (cfg.memGiven && cfg.memMiB !== c.memMiB)) {
    machine.close();
    throw new UsageError(
      `--restore ${cfg.restore}: the snapshot is a machine with --smp ${c.smp} --mem ${c.memMiB}; leave those out or match them`,
    );
  }
  // a reboot of the restored guest boots what the saved one booted
  const b = header.boot ?? {};
  const bootCfg: BootConfig = {
    ...cfg,
    kernel: typeof b.kernel === "string" ? b.kernel : DEFAULT_KERNEL,
    initrd: typeof b.initrd === "string" ? b.initrd : b.initrd === null ? null : DEFAULT_INITRD,
    append: typeof b.append === "string" ? b.append : DEFAULT_APPEND,
    bios: typeof b.bios === "string" ? b.bios : null,
    memMiB: c.memMiB,
    smp: c.smp,
  };
  if (bootCfg.bios) bootCfg.kernel = bootCfg.initrd = null;
  return await runMachine(machine as unknown as MachineLike, bootCfg, null, header);
}

function bootNotes(cfg: BootConfig): Record<string, unknown> {
  return { kernel: cfg.kernel, initrd: cfg.initrd, append: cfg.append, bios: cfg.bios };
}

async function runMachine(
  m: MachineLike,
  cfg: BootConfig,
  bootFiles: BootFiles | null,
  restoredFrom: SnapshotHeader | null,
): Promise<number> {
  const restored = restoredFrom !== null;
  const tty = Deno.stdin.isTerminal();
  let files = bootFiles;
  // a reset: devices and RAM back to power-on, then the guest is loaded again
  const reboot = async (mm: Machine) => {
    files ??= await loadBootFiles(cfg);
    loadGuest(mm as unknown as MachineLike, cfg, files);
    con.restartClock();
  };
  const vm = new Vm(m as unknown as Machine, {
    noReboot: cfg.noReboot,
    reboot,
    boot: bootNotes(cfg),
    hostOptions: { smpThreads: cfg.smpThreads }, // for the machines loadvm builds
  });
  if (restoredFrom) vm.setRetiredBefore(restoredFrom);
  const con = new Console(vm, cfg, tty, !restored && (files?.shellMarker ?? false));
  vm.onOutput((d) => con.output(d));
  let server: ControlServer | null = null;
  let exitCode: number | null = null;
  let quitted!: () => void;
  const quitSeen = new Promise<void>((r) => (quitted = r)); // (--on-panic pause waits for it)
  const stop = (code: number) => {
    exitCode ??= code;
    vm.quit();
    quitted();
  };
  con.quit = () => stop(0);
  con.brokenPipe = () => stop(EXIT_BROKEN_PIPE);
  const note = (msg: string) => {
    try {
      Deno.stderr.writeSync(new TextEncoder().encode(`ring3: ${msg}${tty ? "\r\n" : "\n"}`));
    } catch { /* stderr closed */ }
  };
  // the terminal comes back in its normal mode however ring3 ends
  const signals: [Deno.Signal, number][] = [["SIGTERM", 143], ["SIGHUP", 129], ["SIGINT", 130]];
  const handlers = signals.map(([sig, code]) => {
    const h = () => {
      if (tty) Deno.stdin.setRaw(false);
      note(`${sig}: quitting`);
      stop(code);
    };
    Deno.addSignalListener(sig, h);
    return [sig, h] as const;
  });
  if (tty) Deno.stdin.setRaw(true, { cbreak: false });
  try {
    if (cfg.control) server = await ControlServer.listen(vm, cfg.control);
    void pumpStdin(con);
    con.restartClock();
    for (;;) {
      const o: VmOutcome = await vm.run();
      if (exitCode !== null) return exitCode;
      switch (o.kind) {
        case "quit":
        case "poweroff":
        case "stopped":
          return 0;
        case "halt": // e.g. `halt`, or `poweroff` on a machine without ACPI: nothing more can happen
          if (!con.printed && !restored) {
            // a kernel that dies before its first line (a corrupt payload, a wrong image) is a failure
            note("guest halted before printing anything (every CPU stopped with interrupts off): boot failed");
            return 1;
          }
          note("guest halted (every CPU stopped with interrupts off)");
          return 0;
        case "panic": {
          const line = con.panicLine() ?? "Kernel panic (the message did not reach the console)";
          if (cfg.onPanic === "reboot") {
            note(`guest panicked: ${line}; rebooting (--on-panic reboot)`);
            await vm.machine.reset();
            await reboot(vm.machine);
            continue;
          }
          if (cfg.onPanic === "pause") {
            note(`guest panicked: ${line}; CPUs stopped (--on-panic pause), Ctrl-A x quits`);
            await quitSeen;
            return exitCode !== null && exitCode !== 0 ? exitCode : 3;
          }
          note(`guest panicked: ${line}`);
          return 3;
        }
        case "exit": {
          const code = (o as { code?: number }).code ?? 1;
          note(`guest wrote to the exit port: exit status ${code}`);
          return code;
        }
        case "reset": {
          const reason = (o as { reason?: string }).reason;
          note(`guest reset${reason ? ` (${reason})` : ""}, --no-reboot`);
          return /triple fault/.test(reason ?? "") ? 4 : 0;
        }
        default: {
          const x = o as { kind: string; reason?: string };
          note(`machine stopped: ${x.kind}${x.reason ? ` (${x.reason})` : ""}`);
          return 1;
        }
      }
    }
  } finally {
    if (tty) Deno.stdin.setRaw(false);
    for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
    await server?.close();
    if (restored || vm.machine !== (m as unknown)) vm.machine.close?.();
  }
}

export function versionText(): string {
  let commit = "";
  try {
    const r = new Deno.Command("git", {
      args: ["-C", new URL("..", import.meta.url).pathname, "describe", "--always", "--dirty"],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    if (r.success) commit = ` (${new TextDecoder().decode(r.stdout).trim()})`;
  } catch { /* no git: the version alone */ }
  return `ring3 ${RING3_VERSION}${commit}\ndeno ${Deno.version.deno}, V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript}`;
}

export async function main(argv: string[], factory?: MachineFactory): Promise<number> {
  const say = (msg: string) => {
    try {
      console.error(`ring3: ${msg}`);
    } catch { /* stderr closed */ }
  };
  try {
    const cfg = parseBootArgs(argv);
    if (cfg.help) {
      console.log(USAGE);
      return 0;
    }
    if (cfg.version) {
      console.log(versionText());
      return 0;
    }
    if (cfg.restore !== null) return await restoreGuest(cfg);
    const files = await loadBootFiles(cfg);
    return await runGuest(cfg, files, factory);
  } catch (e) {
    if (e instanceof UsageError) {
      say(e.message);
      return 2;
    }
    if (e instanceof BootFileError || e instanceof BootImageError || e instanceof SnapshotError) {
      say(e.message);
      return 1;
    }
    if (e instanceof ControlError) {
      say(e.message);
      return 1;
    }
    if (e instanceof Deno.errors.BrokenPipe) return EXIT_BROKEN_PIPE;
    say(`internal error: ${(e as Error)?.message?.split("\n")[0] ?? e}`);
    if (Deno.env.get("RING3_DEBUG")) console.error(e);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
