// The files a boot reads (kernel, initrd, BIOS ROM), read and checked before a machine is built:
// a missing, empty, truncated or foreign file is a BootFileError, one line.
import { BootImageError, parseBzImage } from "../runtime/boot/bzimage.ts";
import { host } from "../runtime/platform/mod.ts";
import { type BootConfig, BootFileError, MARK_SHELL, MAX_BIOS } from "./options.ts";

export interface BootFiles {
  kernel: Uint8Array | null; // null: firmware boot
  initrd: Uint8Array | null;
  bios: Uint8Array | null;
  kernelVersion: string; // "" for a firmware boot
  shellMarker: boolean; // the initrd's init prints MARK_SHELL (ours: guest/init)
}

async function readFile(what: string, path: string): Promise<Uint8Array> {
  try {
    const st = await host.stat(path);
    if (!st.isFile) throw new BootFileError(`${what} ${path}: not a regular file`);
    return await host.readFile(path);
  } catch (e) {
    if (e instanceof BootFileError) throw e;
    if (e instanceof host.errors.NotFound) throw new BootFileError(`${what} ${path}: no such file`);
    if (e instanceof host.errors.PermissionDenied) throw new BootFileError(`${what} ${path}: permission denied`);
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

export function latin1(b: Uint8Array): string {
  return new TextDecoder("latin1").decode(b);
}
