// A host file under a disk image: positioned reads and writes (node:fs on the real file
// descriptor, so no seek and no shared file position), fdatasync, and an advisory lock taken
// with flock(2) through libc (Deno's FsFile.lock blocks; an image in use must fail at once):
// exclusive for an image ring3 writes, shared for one it only reads (a backing file, a
// snapshot=on base), so two ring3s never write one image, yet may share a read-only base.
// flock is not QEMU's lock (QEMU takes byte-range OFD locks), so ring3 and QEMU do not see
// each other's locks.
import { DiskError } from "./image.ts";
import { fs, host } from "../platform/mod.ts";

const LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4;
const FALLOC_PUNCH_HOLE_KEEP_SIZE = 3;

type Libc = {
  flock(fd: number, op: number): number;
  fallocate(fd: number, mode: number, off: bigint, len: bigint): number;
};
let libc: Libc | null | undefined;

function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    const lib = host.dlopen(
      "libc.so.6",
      {
        flock: { parameters: ["i32", "i32"], result: "i32" },
        fallocate: { parameters: ["i32", "i32", "i64", "i64"], result: "i32" },
      } as const,
    );
    libc = lib.symbols as unknown as Libc;
  } catch {
    libc = null;
  }
  return libc;
}

export interface OpenFileOptions {
  write: boolean; // open read-write and take the exclusive lock (else read-only, shared lock)
  sync?: boolean; // O_DSYNC: every write is durable before it returns (cache=none)
  lock?: boolean; // default true
}

export class HostFile {
  private closed = false;

  private constructor(readonly path: string, private readonly fd: number, readonly writable: boolean) {}

  static open(path: string, opts: OpenFileOptions): HostFile {
    let st: fs.Stats;
    try {
      st = fs.statSync(path);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "ENOENT") throw new DiskError(`${path}: no such file`);
      throw new DiskError(`${path}: ${(e as Error).message.split("\n")[0]}`);
    }
    if (st.isDirectory()) throw new DiskError(`${path}: is a directory`);
    let flags = opts.write ? fs.constants.O_RDWR : fs.constants.O_RDONLY;
    if (opts.sync) flags |= fs.constants.O_DSYNC;
    let fd: number;
    try {
      fd = fs.openSync(path, flags);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
        throw new DiskError(`${path}: permission denied${opts.write ? " for writing (readonly=on?)" : ""}`);
      }
      throw new DiskError(`${path}: ${(e as Error).message.split("\n")[0]}`);
    }
    if (opts.lock ?? true) {
      const c = loadLibc();
      if (!c) {
        fs.closeSync(fd);
        throw new DiskError(`${path}: cannot lock the image (ring3 needs --allow-ffi for flock)`);
      }
      if (c.flock(fd, (opts.write ? LOCK_EX : LOCK_SH) | LOCK_NB) !== 0) {
        fs.closeSync(fd);
        throw new DiskError(
          `${path}: locked by another process (another ring3 ${opts.write ? "uses" : "writes"} this image)`,
        );
      }
    }
    return new HostFile(path, fd, opts.write);
  }

  get size(): number {
    return fs.fstatSync(this.fd).size;
  }

  // Fill `dst` from `pos`; the part past the end of the file reads as zeros.
  pread(dst: Uint8Array, pos: number): void {
    let done = 0;
    while (done < dst.length) {
      const n = fs.readSync(this.fd, dst, done, dst.length - done, pos + done);
      if (n <= 0) {
        dst.fill(0, done);
        return;
      }
      done += n;
    }
  }

  pwrite(src: Uint8Array, pos: number): void {
    let done = 0;
    while (done < src.length) {
      done += fs.writeSync(this.fd, src, done, src.length - done, pos + done);
    }
  }

  datasync(): void {
    fs.fdatasyncSync(this.fd);
  }

  truncate(len: number): void {
    fs.ftruncateSync(this.fd, len);
  }

  // Give the range's blocks back to the host file system (a hole reads as zeros); false when the
  // file system cannot.
  punchHole(pos: number, len: number): boolean {
    const c = loadLibc();
    return !!c && c.fallocate(this.fd, FALLOC_PUNCH_HOLE_KEEP_SIZE, BigInt(pos), BigInt(len)) === 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd); // releases the lock
  }
}
