// `deno task boot`'s command line: the flags, their checks and --help. Plain functions, testable
// without a machine; a bad flag is a UsageError (exit status 2), an unusable file a BootFileError (1).
import { MAX_CPUS } from "../core-as/layout.ts";
import { JIT_DEFAULT, jitThreshold } from "../runtime/vcpu/core.ts";
import { NET_USAGE, type NetConfig, parseNetOption } from "../runtime/netopt.ts";
import { DISK_USAGE, type DiskConfig, parseDiskOption } from "../runtime/block/options.ts";
import { imageBootFiles } from "../runtime/block/boot_files.ts";
import { parseShareOption, SHARE_USAGE, type ShareConfig } from "../runtime/share/options.ts";
import { findPasst, PASST_INSTALL } from "../net/passt.ts";
import { parseControlSpec } from "../runtime/control/server.ts";
import { DEFAULT_APPEND, DEFAULT_INITRD, DEFAULT_KERNEL } from "../runtime/boot/defaults.ts";
import { host, parseArgs } from "../runtime/platform/mod.ts";

export { DEFAULT_APPEND, DEFAULT_INITRD, DEFAULT_KERNEL };
export const DEFAULT_MEM_MIB = 256;
export const MAX_SMP = MAX_CPUS; // 64: the i386 kernel's limit (BIGSMP); core-as/layout.ts
export const MIN_MEM_MIB = 16;
export const MAX_MEM_MIB = 3072;
export const MAX_BIOS = 1 << 20;

// Lines guest/init prints (see guest/init).
export const MARK_USERSPACE = "ring3: userspace up";
export const MARK_SHELL = "ring3: shell ready";

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
  --jit N|off      block compiler: compile a block after N visits of its entry (default: ${JIT_DEFAULT};
                   from N = 100 up, blocks of fewer than 32 instructions wait up to 16 times longer);
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
        dir = host.statSync(c.dir).isDirectory;
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
