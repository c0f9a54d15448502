// A 9P2000.L file server over one host folder (the share's root), for virtio-9p (virtio_9p.ts):
// `handle(request, maxReply)` turns one T-message into one R-message. What Linux's v9fs uses for
// ls, cat, writes, mkdir, rm, rename, stat, links: version, attach, walk, getattr, setattr, lopen,
// lcreate, read, write, readdir, mkdir, unlinkat, renameat, rename, remove, symlink, readlink,
// link, statfs, fsync, clunk, flush, xattrwalk (no extended attributes), lock/getlock (advisory
// locks always granted: one client). Errors are Rlerror with a Linux errno.
//
// Containment: a fid is a list of names below the root, never a host path the guest wrote.
// Names are single components (no "/", NUL, "." or ".." in creations); ".." in a walk goes up one
// level and stops at the root. The server never follows a symbolic link: a walk does not pass
// through one (ENOTDIR), opening, truncating, chmod or utimes of one is refused (ELOOP), and
// readlink hands the target to the guest, which resolves it in its own namespace. Before every
// host call the directory holding the name must resolve (realpath) to exactly root + its names,
// so a directory swapped for a symlink after the walk (by the guest or the host) is refused.
// readonly=on refuses every change with EROFS. chown is ignored and set-id bits are stripped
// (ring3 may run as root: a guest must not make set-uid files on the host).
import { P9Short, type Qid, Reader, Writer } from "./wire.ts";
import { type FileInfo, type FsFile, host } from "../platform/mod.ts";
import { type DeviceState, expectVersion, SnapshotError } from "../snapshot/persist.ts";

// Linux errno values
export const EPERM = 1, ENOENT = 2, EIO = 5, EBADF = 9, EACCES = 13, EEXIST = 17, EXDEV = 18, ENOTDIR = 20;
export const EISDIR = 21, EINVAL = 22, EMFILE = 24, ENOSPC = 28, EROFS = 30, ENAMETOOLONG = 36, ENOSYS = 38;
export const ENOTEMPTY = 39, ELOOP = 40, ENODATA = 61, EPROTO = 71, EOPNOTSUPP = 95;
const EBUSY_ROOT = 16; // EBUSY: the share's root cannot be removed or renamed

const ERRNO: Record<string, number> = {
  EPERM,
  ENOENT,
  EIO,
  EBADF,
  EACCES,
  EEXIST,
  EXDEV,
  ENOTDIR,
  EISDIR,
  EINVAL,
  ENOSPC,
  EROFS,
  ENAMETOOLONG,
  ENOTEMPTY,
  ELOOP,
  EMFILE,
  EFBIG: 27,
  ETXTBSY: 26,
  EBUSY: 16,
};

export class P9Error extends Error {
  constructor(readonly errno: number, msg = `errno ${errno}`) {
    super(msg);
  }
}

function errnoOf(e: unknown): number {
  if (e instanceof P9Error) return e.errno;
  const code = (e as { code?: string })?.code;
  if (code && code in ERRNO) return ERRNO[code];
  switch ((e as Error)?.name) {
    case "NotFound":
      return ENOENT;
    case "AlreadyExists":
      return EEXIST;
    case "PermissionDenied":
      return EACCES;
    case "NotADirectory":
      return ENOTDIR;
    case "IsADirectory":
      return EISDIR;
    default:
      return EIO;
  }
}

// message types
const Tstatfs = 8, Tlopen = 12, Tlcreate = 14, Tsymlink = 16, Tmknod = 18, Trename = 20, Treadlink = 22;
const Tgetattr = 24, Tsetattr = 26, Txattrwalk = 30, Txattrcreate = 32, Treaddir = 40, Tfsync = 50, Tlock = 52;
const Tgetlock = 54, Tlink = 70, Tmkdir = 72, Trenameat = 74, Tunlinkat = 76, Tversion = 100, Tauth = 102;
const Tattach = 104, Tflush = 108, Twalk = 110, Tread = 116, Twrite = 118, Tclunk = 120, Tremove = 122;
const Rlerror = 7;

export const MAX_MSIZE = 512 * 1024;
const HDR = 7;
const IOHDR = 11; // size, type, tag, count: what precedes read data
const MAX_FIDS = 4096;
const MAX_WALK = 16; // names in one Twalk (the protocol's MAXWELEM)
const NAME_MAX = 255;
const O_ACCMODE = 3, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0o100, O_EXCL = 0o200, O_TRUNC = 0o1000, O_APPEND = 0o2000;
const AT_REMOVEDIR = 0x200;
const S_IFMT = 0o170000, S_IFDIR = 0o040000, S_IFLNK = 0o120000;

interface Fid {
  names: string[];
  file?: FsFile;
  mode?: OpenMode; // how `file` was opened (a restored snapshot opens it again the same way)
  dir?: { entries: { name: string; names: string[] }[] }; // an open directory's listing
  xattr?: boolean;
}

interface OpenMode {
  read: boolean;
  write: boolean;
  append: boolean;
}

export interface ShareOptions {
  readonly?: boolean;
}

export class P9Server {
  readonly root: string; // the share's real path
  readonly readonly: boolean;
  private msize = 8192;
  private readonly fids = new Map<number, Fid>();
  // counters (tests, statistics)
  requests = 0;
  errors = 0;

  constructor(dir: string, opts: ShareOptions = {}) {
    let real: string;
    try {
      real = host.realPathSync(dir);
    } catch (e) {
      throw new Error(`share ${dir}: ${(e as Error).message.split(",")[0]}`);
    }
    if (!host.statSync(real).isDirectory) throw new Error(`share ${dir}: not a folder`);
    this.root = real;
    this.readonly = opts.readonly ?? false;
  }

  close(): void {
    for (const f of this.fids.values()) this.release(f);
    this.fids.clear();
  }

  // One request (a whole T-message) to its reply; never throws. `maxReply`: the room the guest
  // gave for the reply.
  handle(req: Uint8Array, maxReply: number): Uint8Array {
    this.requests++;
    let tag = 0xffff;
    try {
      const r = new Reader(req);
      const size = r.u32(), type = r.u8();
      tag = r.u16();
      if (size !== req.length) throw new P9Error(EPROTO, "size field disagrees with the message");
      const w = new Writer();
      this.dispatch(type, r, w, Math.max(0, Math.min(maxReply, this.msize) - IOHDR));
      return w.message(type + 1, tag);
    } catch (e) {
      this.errors++;
      if (host.env.get("RING3_P9_DEBUG")) console.error(e);
      const errno = e instanceof P9Short ? EPROTO : errnoOf(e);
      return new Writer().u32(errno).message(Rlerror, tag);
    }
  }

  // ---- paths ----------------------------------------------------------------------------------
  private host(names: string[]): string {
    return names.length ? `${this.root}/${names.join("/")}` : this.root;
  }

  // the host path of `names`, after checking that its folder has no symlink on the way
  private safe(names: string[]): string {
    if (names.length) {
      const parent = this.host(names.slice(0, -1));
      let real: string;
      try {
        real = host.realPathSync(parent);
      } catch (e) {
        throw new P9Error(errnoOf(e));
      }
      if (real !== parent) throw new P9Error(EACCES, "a folder on the way is a symbolic link");
    }
    return this.host(names);
  }

  private lstat(names: string[]): FileInfo {
    try {
      return host.lstatSync(this.safe(names));
    } catch (e) {
      throw new P9Error(errnoOf(e));
    }
  }

  private notLink(names: string[]): FileInfo {
    const st = this.lstat(names);
    if (st.isSymlink) throw new P9Error(ELOOP, "a symbolic link");
    return st;
  }

  private static qid(st: FileInfo): Qid {
    return {
      type: st.isDirectory ? 0x80 : st.isSymlink ? 0x02 : 0,
      version: st.mtime ? Math.floor(st.mtime.getTime() / 1000) >>> 0 : 0,
      path: st.ino ?? 0,
    };
  }

  private static checkName(name: string): string {
    if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0")) {
      throw new P9Error(EINVAL, `bad name '${name}'`);
    }
    if (new TextEncoder().encode(name).length > NAME_MAX) throw new P9Error(ENAMETOOLONG);
    return name;
  }

  private writable(): void {
    if (this.readonly) throw new P9Error(EROFS);
  }

  private fid(n: number): Fid {
    const f = this.fids.get(n);
    if (!f) throw new P9Error(EBADF, `no fid ${n}`);
    return f;
  }

  private newFid(n: number, f: Fid): void {
    if (this.fids.has(n)) throw new P9Error(EBADF, `fid ${n} in use`);
    if (this.fids.size >= MAX_FIDS) throw new P9Error(EMFILE);
    this.fids.set(n, f);
  }

  private release(f: Fid): void {
    try {
      f.file?.close();
    } catch { /* already closed */ }
    f.file = undefined;
    f.dir = undefined;
  }

  // ---- requests -------------------------------------------------------------------------------
  private dispatch(type: number, r: Reader, w: Writer, room: number): void {
    switch (type) {
      case Tversion: {
        const msize = r.u32(), version = r.str();
        for (const f of this.fids.values()) this.release(f);
        this.fids.clear();
        this.msize = Math.max(4096, Math.min(msize, MAX_MSIZE));
        w.u32(this.msize).str(version.startsWith("9P2000.L") ? "9P2000.L" : "unknown");
        return;
      }
      case Tauth:
        throw new P9Error(EOPNOTSUPP);
      case Tattach: {
        const fid = r.u32();
        this.newFid(fid, { names: [] });
        w.qid(P9Server.qid(this.lstat([])));
        return;
      }
      case Tflush:
        return; // requests complete at once: nothing is in flight
      case Twalk:
        return this.walk(r, w);
      case Tgetattr:
        return this.getattr(r, w);
      case Tsetattr:
        return this.setattr(r);
      case Tlopen:
        return this.lopen(r, w);
      case Tlcreate:
        return this.lcreate(r, w);
      case Tread:
        return this.read(r, w, room);
      case Twrite:
        return this.write(r, w);
      case Treaddir:
        return this.readdir(r, w, room);
      case Tclunk: {
        const n = r.u32();
        this.release(this.fid(n));
        this.fids.delete(n);
        return;
      }
      case Tremove: {
        const n = r.u32();
        const f = this.fid(n);
        this.release(f);
        this.fids.delete(n); // clunked even when the removal fails
        this.writable();
        if (!f.names.length) throw new P9Error(EBUSY_ROOT);
        this.hostCall(() => host.removeSync(this.safe(f.names)));
        return;
      }
      case Tmkdir: {
        const dir = this.fid(r.u32()), name = P9Server.checkName(r.str()), mode = r.u32();
        r.u32(); // gid
        this.writable();
        const names = [...dir.names, name];
        this.hostCall(() => host.mkdirSync(this.safe(names), { mode: mode & 0o777 }));
        w.qid(P9Server.qid(this.lstat(names)));
        return;
      }
      case Tunlinkat: {
        const dir = this.fid(r.u32()), name = P9Server.checkName(r.str()), flags = r.u32();
        this.writable();
        const names = [...dir.names, name];
        const st = this.lstat(names);
        if (flags & AT_REMOVEDIR && !st.isDirectory) throw new P9Error(ENOTDIR);
        if (!(flags & AT_REMOVEDIR) && st.isDirectory) throw new P9Error(EISDIR);
        this.hostCall(() => host.removeSync(this.safe(names)));
        return;
      }
      case Trenameat: {
        const od = this.fid(r.u32()), on = P9Server.checkName(r.str());
        const nd = this.fid(r.u32()), nn = P9Server.checkName(r.str());
        this.writable();
        const from = this.safe([...od.names, on]), to = this.safe([...nd.names, nn]);
        this.hostCall(() => host.renameSync(from, to));
        return;
      }
      case Trename: {
        const f = this.fid(r.u32()), dir = this.fid(r.u32()), name = P9Server.checkName(r.str());
        this.writable();
        if (!f.names.length) throw new P9Error(EBUSY_ROOT);
        const to = [...dir.names, name];
        this.hostCall(() => host.renameSync(this.safe(f.names), this.safe(to)));
        f.names = to;
        return;
      }
      case Tsymlink: {
        const dir = this.fid(r.u32()), name = P9Server.checkName(r.str()), target = r.str();
        r.u32(); // gid
        this.writable();
        if (target === "" || target.length > 4095 || target.includes("\0")) throw new P9Error(EINVAL);
        const names = [...dir.names, name];
        this.hostCall(() => host.symlinkSync(target, this.safe(names)));
        w.qid(P9Server.qid(this.lstat(names)));
        return;
      }
      case Treadlink: {
        const f = this.fid(r.u32());
        const st = this.lstat(f.names);
        if (!st.isSymlink) throw new P9Error(EINVAL);
        w.str(this.hostCall(() => host.readLinkSync(this.safe(f.names))));
        return;
      }
      case Tlink: {
        const dir = this.fid(r.u32()), src = this.fid(r.u32()), name = P9Server.checkName(r.str());
        this.writable();
        const st = this.lstat(src.names);
        if (st.isDirectory) throw new P9Error(EPERM);
        const to = this.safe([...dir.names, name]);
        this.hostCall(() => host.linkSync(this.safe(src.names), to));
        return;
      }
      case Tmknod:
        this.writable();
        throw new P9Error(EPERM, "device nodes and FIFOs are not made on the host");
      case Tstatfs: {
        this.fid(r.u32());
        // Deno has no statfs: a large, mostly free file system of 4 KiB blocks
        const blocks = 2 ** 28, free = 2 ** 27;
        w.u32(0x01021997).u32(4096).u64(blocks).u64(free).u64(free).u64(2 ** 24).u64(2 ** 23).u64(0).u32(NAME_MAX);
        return;
      }
      case Tfsync: {
        const f = this.fid(r.u32());
        if (f.file) this.hostCall(() => f.file!.syncDataSync());
        return;
      }
      case Txattrwalk: {
        this.fid(r.u32());
        const newfid = r.u32(), name = r.str();
        if (name !== "") throw new P9Error(ENODATA);
        this.newFid(newfid, { names: [], xattr: true });
        w.u64(0); // no extended attributes: an empty list
        return;
      }
      case Txattrcreate:
        throw new P9Error(EOPNOTSUPP);
      case Tlock:
        this.fid(r.u32());
        w.u8(0); // granted
        return;
      case Tgetlock: {
        this.fid(r.u32());
        r.u8();
        const start = r.u64(), length = r.u64(), pid = r.u32(), client = r.str();
        w.u8(2).u64(start).u64(length).u32(pid).str(client); // F_UNLCK: nothing in the way
        return;
      }
      default:
        throw new P9Error(EOPNOTSUPP, `message type ${type}`);
    }
  }

  private hostCall<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      throw e instanceof P9Error ? e : new P9Error(errnoOf(e), (e as Error).message);
    }
  }

  private walk(r: Reader, w: Writer): void {
    const fid = r.u32(), newfid = r.u32(), n = r.u16();
    if (n > MAX_WALK) throw new P9Error(EINVAL);
    const start = this.fid(fid);
    if (fid !== newfid && this.fids.has(newfid)) throw new P9Error(EBADF);
    const names = [...start.names];
    const qids: Qid[] = [];
    for (let i = 0; i < n; i++) {
      const name = r.str();
      const here = this.lstat(names);
      if (!here.isDirectory) { // walking from a file or through a symlink
        if (i === 0) throw new P9Error(ENOTDIR);
        break;
      }
      if (name === "..") names.pop();
      else if (name !== ".") names.push(P9Server.checkName(name));
      let st: FileInfo;
      try {
        st = this.lstat(names);
      } catch (e) {
        if (i === 0) throw e;
        break;
      }
      qids.push(P9Server.qid(st));
    }
    if (qids.length === n) {
      if (fid === newfid) {
        this.release(start);
        start.names = names;
      } else this.newFid(newfid, { names });
    }
    w.u16(qids.length);
    for (const q of qids) w.qid(q);
  }

  private getattr(r: Reader, w: Writer): void {
    const f = this.fid(r.u32());
    r.u64(); // request mask: everything basic is always returned
    const st = this.lstat(f.names);
    const t = (d: Date | null) => (d ? d.getTime() : 0);
    const sec = (ms: number) => Math.floor(ms / 1000), nsec = (ms: number) => Math.round((ms % 1000) * 1e6);
    w.u64(0x7ff); // P9_GETATTR_BASIC
    w.qid(P9Server.qid(st));
    w.u32(st.mode ?? 0).u32(st.uid ?? 0).u32(st.gid ?? 0);
    w.u64(st.nlink ?? 1).u64(st.rdev ?? 0).u64(st.size).u64(st.blksize ?? 4096).u64(st.blocks ?? 0);
    for (const d of [st.atime, st.mtime, st.ctime ?? st.mtime, st.birthtime]) w.u64(sec(t(d))).u64(nsec(t(d)));
    w.u64(0).u64(0); // gen, data_version
  }

  private setattr(r: Reader): void {
    const f = this.fid(r.u32());
    const valid = r.u32(), mode = r.u32();
    r.u32(), r.u32(); // uid, gid: ignored
    const size = r.u64(), as = r.u64(), an = r.u64(), ms = r.u64(), mn = r.u64();
    if (valid & (0x1 | 0x8 | 0x10 | 0x20 | 0x80 | 0x100)) this.writable();
    const st = this.lstat(f.names);
    const p = this.safe(f.names);
    if (st.isSymlink && valid & (0x1 | 0x8 | 0x10 | 0x20)) throw new P9Error(ELOOP);
    if (valid & 0x1) this.hostCall(() => host.chmodSync(p, mode & 0o1777)); // no set-uid/set-gid
    if (valid & 0x8) {
      if (st.isDirectory) throw new P9Error(EISDIR);
      if (size > 2 ** 44) throw new P9Error(EINVAL);
      this.hostCall(() => host.truncateSync(p, size));
    }
    if (valid & (0x10 | 0x20)) {
      const now = new Date();
      const at = valid & 0x80 ? new Date(as * 1000 + an / 1e6) : valid & 0x10 ? now : st.atime ?? now;
      const mt = valid & 0x100 ? new Date(ms * 1000 + mn / 1e6) : valid & 0x20 ? now : st.mtime ?? now;
      this.hostCall(() => host.utimeSync(p, at, mt));
    }
  }

  private lopen(r: Reader, w: Writer): void {
    const f = this.fid(r.u32()), flags = r.u32();
    if (f.file || f.dir) throw new P9Error(EBADF, "already open");
    const st = this.notLink(f.names);
    const acc = flags & O_ACCMODE;
    const writing = acc === O_WRONLY || acc === O_RDWR || (flags & O_TRUNC) !== 0;
    if (st.isDirectory) {
      if (writing) throw new P9Error(EISDIR);
      f.dir = { entries: [] };
    } else {
      if (writing) this.writable();
      const p = this.safe(f.names);
      const mode = {
        read: acc !== O_WRONLY,
        write: writing && !(flags & O_APPEND),
        append: (flags & O_APPEND) !== 0 && writing,
      };
      f.file = this.hostCall(() => host.openSync(p, { ...mode, truncate: (flags & O_TRUNC) !== 0 }));
      f.mode = mode;
    }
    w.qid(P9Server.qid(st)).u32(0);
  }

  private lcreate(r: Reader, w: Writer): void {
    const f = this.fid(r.u32()), name = P9Server.checkName(r.str()), flags = r.u32(), mode = r.u32();
    r.u32(); // gid
    this.writable();
    if (f.file || f.dir) throw new P9Error(EBADF, "already open");
    if (!this.lstat(f.names).isDirectory) throw new P9Error(ENOTDIR);
    const names = [...f.names, name];
    const p = this.safe(names);
    let existing: FileInfo | undefined;
    try {
      existing = host.lstatSync(p);
    } catch { /* a new name */ }
    if (existing?.isSymlink) throw new P9Error(ELOOP, "would open through a symbolic link");
    const acc = flags & O_ACCMODE;
    const file = this.hostCall(() =>
      host.openSync(p, {
        read: acc !== O_WRONLY,
        write: !(flags & O_APPEND),
        append: (flags & O_APPEND) !== 0,
        create: true,
        createNew: (flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL),
        truncate: (flags & O_TRUNC) !== 0,
        mode: mode & 0o777,
      })
    );
    f.names = names;
    f.file = file;
    f.mode = { read: acc !== O_WRONLY, write: !(flags & O_APPEND), append: (flags & O_APPEND) !== 0 };
    w.qid(P9Server.qid(this.lstat(names))).u32(0);
  }

  private read(r: Reader, w: Writer, room: number): void {
    const f = this.fid(r.u32()), off = r.u64(), count = r.u32();
    if (!f.file) throw new P9Error(f.dir ? EISDIR : EBADF);
    if (off > 2 ** 52) throw new P9Error(EINVAL);
    const buf = new Uint8Array(Math.min(count, room));
    let got = 0;
    this.hostCall(() => {
      f.file!.seekSync(off, host.SeekMode.Start);
      while (got < buf.length) {
        const n = f.file!.readSync(buf.subarray(got));
        if (n === null || n === 0) break;
        got += n;
      }
    });
    w.u32(got).bytes(buf.subarray(0, got));
  }

  private write(r: Reader, w: Writer): void {
    const f = this.fid(r.u32()), off = r.u64(), count = r.u32();
    const data = r.bytes(count);
    if (!f.file) throw new P9Error(f.dir ? EISDIR : EBADF);
    this.writable();
    if (off > 2 ** 44) throw new P9Error(EINVAL);
    let put = 0;
    this.hostCall(() => {
      f.file!.seekSync(off, host.SeekMode.Start);
      while (put < data.length) put += f.file!.writeSync(data.subarray(put));
    });
    w.u32(put);
  }

  private readdir(r: Reader, w: Writer, room: number): void {
    const f = this.fid(r.u32()), off = r.u64(), count = r.u32();
    if (!f.dir) throw new P9Error(EBADF, "not an open directory");
    if (off === 0 || !f.dir.entries.length) {
      const entries = [{ name: ".", names: f.names }, { name: "..", names: f.names.slice(0, -1) }];
      const p = this.safe(f.names);
      for (const e of this.hostCall(() => [...host.readDirSync(p)])) {
        entries.push({ name: e.name, names: [...f.names, e.name] });
      }
      f.dir.entries = entries;
    }
    const max = Math.min(count, room);
    const body = new Writer();
    for (let i = off; i < f.dir.entries.length; i++) {
      const e = f.dir.entries[i];
      let st: FileInfo;
      try {
        st = this.lstat(e.names);
      } catch {
        continue; // gone since the listing
      }
      const size = 13 + 8 + 1 + 2 + new TextEncoder().encode(e.name).length;
      if (body.len + size > max) break;
      const mode = (st.mode ?? 0) & S_IFMT;
      const dt = mode === S_IFDIR ? 4 : mode === S_IFLNK ? 10 : st.isFile ? 8 : 0;
      body.qid(P9Server.qid(st)).u64(i + 1).u8(dt).str(e.name);
    }
    const bytes = body.message(0, 0).subarray(HDR);
    w.u32(bytes.length).bytes(bytes);
  }
}

// ---- persist (ARCHITECTURE.md, "Snapshots"): the negotiated message size, the counters and every
// fid as its path inside the share, how it was opened and an open folder's listing. A restored
// server opens the files again in the same mode (never creating or truncating); a file that is
// gone from the host by then stays a fid whose reads and writes fail with EBADF.
export function saveP9(s: P9Server): DeviceState {
  const o = s as unknown as { msize: number; fids: Map<number, Fid> };
  const fids = [...o.fids].map(([fid, f]) => ({
    fid,
    names: f.names,
    open: f.file ? "file" : f.dir ? "dir" : "",
    mode: f.mode ?? null,
    entries: f.dir?.entries ?? null,
    xattr: f.xattr ?? false,
  }));
  return { v: 1, msize: o.msize, requests: s.requests, errors: s.errors, fids };
}
export function restoreP9(s: P9Server, state: DeviceState): void {
  const st = expectVersion("virtio-9p", state, 1);
  const o = s as unknown as { msize: number; fids: Map<number, Fid> };
  s.close();
  o.msize = Number(st.msize);
  s.requests = Number(st.requests);
  s.errors = Number(st.errors);
  type Saved = {
    fid: number;
    names: string[];
    open: string;
    mode: OpenMode | null;
    entries: { name: string; names: string[] }[] | null;
    xattr: boolean;
  };
  for (const x of st.fids as Saved[]) {
    if (!x.names.every((n) => typeof n === "string" && n !== "" && n !== "." && n !== ".." && !n.includes("/"))) {
      throw new SnapshotError(`virtio-9p: fid ${x.fid} has a bad path`);
    }
    const f: Fid = { names: [...x.names] };
    if (x.xattr) f.xattr = true;
    if (x.open === "dir") f.dir = { entries: x.entries ?? [] };
    if (x.open === "file" && x.mode) {
      f.mode = { read: !!x.mode.read, write: !!x.mode.write, append: !!x.mode.append };
      try {
        f.file = host.openSync((s as unknown as { safe(n: string[]): string }).safe(f.names), f.mode);
      } catch { /* gone from the host: EBADF from now on */ }
    }
    o.fids.set(x.fid, f);
  }
}
