// A disk that boots itself: the kernel, initrd and command line of a raw disk image whose first
// Linux partition holds extlinux's configuration (/boot/extlinux/extlinux.conf, as
// `deno task image` writes it), so `deno task boot --disk IMAGE` starts that kernel directly,
// without firmware. The partition is read on the host with e2fsprogs' debugfs (`FILE?offset=N`
// names a file system inside the image), the same files the boot loader would load: the DEFAULT
// label's (or the first label's) LINUX, INITRD and APPEND lines. Kernel and initrd are copied
// into a temporary folder that is removed when the process ends.
//
// Why not a boot loader path? Firmware boots work (--bios with SeaBIOS and extlinux), but
// SeaBIOS reads the kernel and initrd through INT 13h, sector by sector in real mode, which costs
// ring3 many seconds; the direct boot starts the same kernel in well under one.
import { host } from "../platform/mod.ts";
const SECTOR = 512;

export interface ImageBoot {
  kernel: string;
  initrd: string | null;
  append: string;
}

// the byte offset of the first Linux (0x83) partition of an MBR disk, or null
export function linuxPartition(mbr: Uint8Array): number | null {
  if (mbr.length < 512 || mbr[510] !== 0x55 || mbr[511] !== 0xaa) return null;
  const dv = new DataView(mbr.buffer, mbr.byteOffset, 512);
  for (let i = 0; i < 4; i++) {
    const e = 446 + 16 * i;
    if (mbr[e + 4] === 0x83 && dv.getUint32(e + 8, true) > 0) return dv.getUint32(e + 8, true) * SECTOR;
  }
  return null;
}

// extlinux.conf: the default label's kernel, initrd and append line
export function parseExtlinux(conf: string): ImageBoot | null {
  const labels: { name: string; kernel?: string; initrd?: string; append?: string }[] = [];
  let def: string | undefined;
  for (const raw of conf.split("\n")) {
    const line = raw.trim();
    const m = /^(\S+)\s*(.*)$/.exec(line);
    if (!m || line.startsWith("#")) continue;
    const key = m[1].toUpperCase(), val = m[2].trim();
    if (key === "DEFAULT") def = val;
    else if (key === "LABEL") labels.push({ name: val });
    else if (labels.length && (key === "LINUX" || key === "KERNEL")) labels[labels.length - 1].kernel = val;
    else if (labels.length && key === "INITRD") labels[labels.length - 1].initrd = val;
    else if (labels.length && key === "APPEND") labels[labels.length - 1].append = val;
  }
  const l = labels.find((x) => x.name === def) ?? labels[0];
  if (!l?.kernel) return null;
  return { kernel: l.kernel, initrd: l.initrd ?? null, append: l.append ?? "" };
}

function debugfs(spec: string, request: string): { ok: boolean; out: Uint8Array; err: string } {
  try {
    const o = new host.Command("debugfs", { args: ["-R", request, spec], stdout: "piped", stderr: "piped" })
      .outputSync();
    const err = new TextDecoder().decode(o.stderr);
    // debugfs exits 0 even when the file is missing; it says so on stderr
    return { ok: o.success && !/not found|File not found|Bad magic|cannot/i.test(err), out: o.stdout, err };
  } catch {
    return { ok: false, out: new Uint8Array(0), err: "debugfs not found (apt-get install e2fsprogs)" };
  }
}

// null when the image is not a raw MBR disk with an extlinux configuration on a Linux partition
export function imageBootFiles(image: string): ImageBoot | null {
  let mbr: Uint8Array;
  try {
    const f = host.openSync(image, { read: true });
    mbr = new Uint8Array(512);
    const n = f.readSync(mbr);
    f.close();
    if (n !== 512) return null;
  } catch {
    return null;
  }
  const off = linuxPartition(mbr);
  if (off === null) return null;
  const spec = `${image}?offset=${off}`;
  const conf = debugfs(spec, "cat /boot/extlinux/extlinux.conf");
  if (!conf.ok) return null;
  const boot = parseExtlinux(new TextDecoder().decode(conf.out));
  if (!boot) return null;
  const dir = host.makeTempDirSync({ prefix: "ring3-boot-" });
  host.onExit(() => {
    try {
      host.removeSync(dir, { recursive: true });
    } catch { /* gone */ }
  });
  const dump = (path: string, name: string): string => {
    const out = `${dir}/${name}`;
    const r = debugfs(spec, `dump ${path.startsWith("/") ? path : `/${path}`} ${out}`);
    if (!r.ok || !host.statSync(out).size) {
      throw new Error(`${image}: cannot read ${path} from the disk: ${r.err.trim()}`);
    }
    return out;
  };
  return {
    kernel: dump(boot.kernel, "vmlinuz"),
    initrd: boot.initrd ? dump(boot.initrd, "initrd.img") : null,
    append: boot.append,
  };
}
