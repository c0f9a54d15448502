// `host` under Node (>= 18): the part of Deno's API ring3 uses (types.ts), on Node's modules.
// Errors come out as Deno's error classes (NotFound, PermissionDenied, ...: the names and the
// `instanceof` tests the callers use); FFI is not there (host.ffi is false, dlopen throws), and
// the callers take their non-FFI paths (net/client.ts sockets, no image locks).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as net from "node:net";
import * as cp from "node:child_process";
import * as wt from "node:worker_threads";
import * as tty from "node:tty";
import process from "node:process";
import { Buffer } from "node:buffer";
import { pathToFileURL } from "node:url";
import * as v8 from "node:v8";
import * as crypto from "node:crypto";
import * as zlib from "node:zlib";
import * as dgram from "node:dgram";
import * as dns from "node:dns/promises";
import * as util from "node:util";
import { provideBuiltins } from "./builtins.ts";
import type { Conn, FileInfo, Host, Listener, WorkerLike, WorkerScope } from "./types.ts";

class HostError extends Error {
  code?: string;
  constructor(message?: string) {
    super(message);
    this.name = new.target.name;
  }
}
const errors = {
  NotFound: class NotFound extends HostError {},
  PermissionDenied: class PermissionDenied extends HostError {},
  AlreadyExists: class AlreadyExists extends HostError {},
  BrokenPipe: class BrokenPipe extends HostError {},
  ConnectionRefused: class ConnectionRefused extends HostError {},
  ConnectionReset: class ConnectionReset extends HostError {},
  ConnectionAborted: class ConnectionAborted extends HostError {},
  AddrInUse: class AddrInUse extends HostError {},
  AddrNotAvailable: class AddrNotAvailable extends HostError {},
  Interrupted: class Interrupted extends HostError {},
  BadResource: class BadResource extends HostError {},
  InvalidData: class InvalidData extends HostError {},
  TimedOut: class TimedOut extends HostError {},
  WouldBlock: class WouldBlock extends HostError {},
  IsADirectory: class IsADirectory extends HostError {},
  NotADirectory: class NotADirectory extends HostError {},
  NotSupported: class NotSupported extends HostError {},
  UnexpectedEof: class UnexpectedEof extends HostError {},
  WriteZero: class WriteZero extends HostError {},
  Busy: class Busy extends HostError {},
  NotConnected: class NotConnected extends HostError {},
  FilesystemLoop: class FilesystemLoop extends HostError {},
  Http: class Http extends HostError {},
  NotCapable: class NotCapable extends HostError {},
};
const BY_CODE: Record<string, keyof typeof errors> = {
  ENOENT: "NotFound",
  EACCES: "PermissionDenied",
  EPERM: "PermissionDenied",
  EEXIST: "AlreadyExists",
  EPIPE: "BrokenPipe",
  ECONNREFUSED: "ConnectionRefused",
  ECONNRESET: "ConnectionReset",
  ECONNABORTED: "ConnectionAborted",
  EADDRINUSE: "AddrInUse",
  EADDRNOTAVAIL: "AddrNotAvailable",
  EINTR: "Interrupted",
  EBADF: "BadResource",
  ERR_SOCKET_CLOSED: "BadResource",
  ERR_SERVER_NOT_RUNNING: "BadResource",
  ETIMEDOUT: "TimedOut",
  EAGAIN: "WouldBlock",
  EISDIR: "IsADirectory",
  ENOTDIR: "NotADirectory",
  ENOTSUP: "NotSupported",
  EBUSY: "Busy",
  ENOTCONN: "NotConnected",
  ELOOP: "FilesystemLoop",
};

// Node's error as the Deno class of the same meaning (the message and code kept).
function hostError(e: unknown): unknown {
  const code = (e as { code?: string })?.code;
  const kind = code ? BY_CODE[code] : undefined;
  if (!kind) return e;
  const err = new errors[kind]((e as Error).message);
  err.code = code;
  return err;
}
// deno-lint-ignore no-explicit-any
function wrap<F extends (...a: any[]) => any>(f: F): F {
  return ((...a: Parameters<F>) => {
    try {
      const r = f(...a);
      return r instanceof Promise ? r.catch((e) => Promise.reject(hostError(e))) : r;
    } catch (e) {
      throw hostError(e);
    }
  }) as F;
}

const pathOf = (p: string | URL) => (p instanceof URL ? p : String(p));

function info(st: fs.Stats): FileInfo {
  return {
    isFile: st.isFile(),
    isDirectory: st.isDirectory(),
    isSymlink: st.isSymbolicLink(),
    size: st.size,
    mtime: st.mtime,
    atime: st.atime,
    birthtime: st.birthtime,
    ctime: st.ctime,
    dev: st.dev,
    ino: st.ino,
    mode: st.mode,
    nlink: st.nlink,
    uid: st.uid,
    gid: st.gid,
    rdev: st.rdev,
    blksize: st.blksize,
    blocks: st.blocks,
    isBlockDevice: st.isBlockDevice(),
    isCharDevice: st.isCharacterDevice(),
    isFifo: st.isFIFO(),
    isSocket: st.isSocket(),
  } as unknown as FileInfo;
}

// Deno.FsFile on a Node file descriptor: the position is kept here (positioned reads and writes).
class NodeFile {
  private pos = 0;
  constructor(private fd: number) {}
  readSync(p: Uint8Array): number | null {
    const n = wrap(fs.readSync)(this.fd, p, 0, p.length, this.pos);
    this.pos += n;
    return n === 0 && p.length > 0 ? null : n;
  }
  read(p: Uint8Array): Promise<number | null> {
    return Promise.resolve(this.readSync(p));
  }
  writeSync(p: Uint8Array): number {
    const n = wrap(fs.writeSync)(this.fd, p, 0, p.length, this.pos);
    this.pos += n;
    return n;
  }
  write(p: Uint8Array): Promise<number> {
    return Promise.resolve(this.writeSync(p));
  }
  seekSync(offset: number | bigint, whence: number): number {
    const off = Number(offset);
    if (whence === 0) this.pos = off;
    else if (whence === 1) this.pos += off;
    else this.pos = fs.fstatSync(this.fd).size + off;
    return this.pos;
  }
  seek(offset: number | bigint, whence: number): Promise<number> {
    return Promise.resolve(this.seekSync(offset, whence));
  }
  statSync(): FileInfo {
    return info(wrap(fs.fstatSync)(this.fd));
  }
  stat(): Promise<FileInfo> {
    return Promise.resolve(this.statSync());
  }
  truncateSync(len = 0): void {
    wrap(fs.ftruncateSync)(this.fd, len);
  }
  syncSync(): void {
    fs.fsyncSync(this.fd);
  }
  syncDataSync(): void {
    fs.fdatasyncSync(this.fd);
  }
  close(): void {
    if (this.fd < 0) throw new errors.BadResource("file closed");
    fs.closeSync(this.fd);
    this.fd = -1;
  }
  [Symbol.dispose](): void {
    if (this.fd >= 0) this.close();
  }
}

function openFlags(o: Deno.OpenOptions = { read: true }): number {
  const C = fs.constants;
  const write = o.write || o.append;
  let f = write ? (o.read ? C.O_RDWR : C.O_WRONLY) : C.O_RDONLY;
  if (o.append) f |= C.O_APPEND;
  if (o.truncate) f |= C.O_TRUNC;
  if (o.create || o.createNew) f |= C.O_CREAT;
  if (o.createNew) f |= C.O_EXCL;
  return f;
}

// A Deno.Conn on a node:net socket: read() takes what arrived (or waits for it), write() resolves
// when Node has taken the bytes.
class NodeConn {
  private chunks: Buffer[] = [];
  private waiting: (() => void) | null = null;
  private ended = false;
  private failed: unknown = null;
  constructor(private readonly sock: net.Socket, readonly localAddr: Deno.Addr, readonly remoteAddr: Deno.Addr) {
    sock.on("data", (d: Buffer) => {
      this.chunks.push(d);
      if (this.chunks.length > 64) sock.pause();
      this.wake();
    });
    sock.on("end", () => {
      this.ended = true;
      this.wake();
    });
    sock.on("error", (e) => {
      this.failed = hostError(e);
      this.wake();
    });
    sock.on("close", () => {
      this.ended = true;
      this.wake();
    });
  }
  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }
  async read(p: Uint8Array): Promise<number | null> {
    while (!this.chunks.length) {
      if (this.failed) throw this.failed;
      if (this.ended || this.sock.destroyed) return null;
      await new Promise<void>((r) => (this.waiting = r));
    }
    const c = this.chunks[0];
    const n = Math.min(c.length, p.length);
    p.set(c.subarray(0, n));
    if (n === c.length) this.chunks.shift();
    else this.chunks[0] = c.subarray(n);
    if (this.chunks.length <= 16 && this.sock.isPaused()) this.sock.resume();
    return n;
  }
  write(p: Uint8Array): Promise<number> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.sock.destroyed) return Promise.reject(new errors.BrokenPipe("socket closed"));
    const copy = Buffer.from(p); // the caller may reuse its buffer once this resolves
    return new Promise((resolve, reject) => {
      this.sock.write(copy, (e) => (e ? reject(hostError(e)) : resolve(p.length)));
    });
  }
  close(): void {
    if (this.sock.destroyed) throw new errors.BadResource("connection closed");
    this.sock.destroy();
    this.wake();
  }
  closeWrite(): Promise<void> {
    return new Promise((r) => this.sock.end(r));
  }
  setNoDelay(on = true): void {
    this.sock.setNoDelay(on);
  }
  setKeepAlive(on = true): void {
    this.sock.setKeepAlive(on);
  }
  ref(): void {
    this.sock.ref();
  }
  unref(): void {
    this.sock.unref();
  }
  get readable(): ReadableStream<Uint8Array> {
    const read = (b: Uint8Array) => this.read(b);
    return new ReadableStream({
      async pull(c) {
        const b = new Uint8Array(65536);
        const n = await read(b);
        if (n === null) c.close();
        else c.enqueue(b.slice(0, n));
      },
    });
  }
}

function addrOf(sock: net.Socket, remote: boolean, unixPath: string | null): Deno.Addr {
  if (unixPath !== null) return { transport: "unix", path: unixPath };
  return {
    transport: "tcp",
    hostname: (remote ? sock.remoteAddress : sock.localAddress) ?? "",
    port: (remote ? sock.remotePort : sock.localPort) ?? 0,
  };
}

class NodeListener {
  private queue: net.Socket[] = [];
  private waiting: { resolve: (c: Conn) => void; reject: (e: unknown) => void } | null = null;
  private closed = false;
  private failed: unknown = null;
  constructor(
    private readonly server: net.Server,
    private readonly unixPath: string | null,
    private readonly asked: { hostname: string; port: number } = { hostname: "", port: 0 },
  ) {
    server.on("connection", (s) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w.resolve(this.conn(s));
      } else this.queue.push(s);
    });
    server.on("error", (e) => {
      this.failed = hostError(e);
      this.fail(this.failed);
    });
  }
  private conn(s: net.Socket): Conn {
    return new NodeConn(s, addrOf(s, false, this.unixPath), addrOf(s, true, this.unixPath)) as unknown as Conn;
  }
  private fail(e: unknown): void {
    const w = this.waiting;
    this.waiting = null;
    w?.reject(e);
  }
  get addr(): Deno.Addr {
    if (this.unixPath !== null) return { transport: "unix", path: this.unixPath };
    // (Node binds in its next turn: until then, the address asked for)
    const a = this.server.address() as net.AddressInfo | null;
    return { transport: "tcp", hostname: a?.address ?? this.asked.hostname, port: a?.port ?? this.asked.port };
  }
  accept(): Promise<Conn> {
    const s = this.queue.shift();
    if (s) return Promise.resolve(this.conn(s));
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new errors.BadResource("listener closed"));
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }
  close(): void {
    if (this.closed) throw new errors.BadResource("listener closed");
    this.closed = true;
    this.server.close();
    for (const s of this.queue) s.destroy();
    this.fail(new errors.BadResource("listener closed"));
  }
  ref(): void {
    this.server.ref();
  }
  unref(): void {
    this.server.unref();
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<Conn> {
    for (;;) {
      try {
        yield await this.accept();
      } catch (e) {
        if (e instanceof errors.BadResource) return;
        throw e;
      }
    }
  }
}

function listen(o: { transport?: string; path?: string; hostname?: string; port?: number }): Listener {
  const server = net.createServer({ pauseOnConnect: false });
  if (o.transport === "unix") {
    if (fs.existsSync(o.path!)) throw new errors.AddrInUse(`${o.path}: address in use`);
    server.listen(o.path!);
    return new NodeListener(server, o.path!) as unknown as Listener;
  }
  const asked = { hostname: o.hostname ?? "0.0.0.0", port: o.port ?? 0 };
  server.listen(asked.port, asked.hostname);
  return new NodeListener(server, null, asked) as unknown as Listener;
}

function connect(o: { transport?: string; path?: string; hostname?: string; port?: number }): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const unix = o.transport === "unix";
    const sock = unix ? net.connect(o.path!) : net.connect(o.port!, o.hostname ?? "127.0.0.1");
    const onErr = (e: Error) => reject(hostError(e));
    sock.once("error", onErr);
    sock.once("connect", () => {
      sock.off("error", onErr);
      resolve(
        new NodeConn(
          sock,
          addrOf(sock, false, unix ? "" : null),
          addrOf(sock, true, unix ? o.path! : null),
        ) as unknown as Conn,
      );
    });
  });
}

type CommandOptions = {
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
  clearEnv?: boolean;
  stdin?: "piped" | "inherit" | "null";
  stdout?: "piped" | "inherit" | "null";
  stderr?: "piped" | "inherit" | "null";
};
const stdio = (s: string | undefined, def: string) => {
  const v = s ?? def;
  return v === "null" ? "ignore" : v === "piped" ? "pipe" : "inherit";
};
function status(code: number | null, signal: NodeJS.Signals | null) {
  return { success: code === 0, code: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1), signal };
}

// Deno.Command on child_process: outputSync, output, spawn (a ChildProcess with status, kill,
// unref and the piped streams, which are async iterables of byte chunks)
class NodeCommand {
  constructor(private readonly cmd: string | URL, private readonly o: CommandOptions = {}) {}
  private opts(defOut: string) {
    return {
      cwd: this.o.cwd,
      env: this.o.clearEnv ? { ...this.o.env } : { ...process.env, ...this.o.env },
      stdio: [
        stdio(this.o.stdin, "inherit"),
        stdio(this.o.stdout, defOut),
        stdio(this.o.stderr, defOut),
      ] as cp.StdioOptions,
    };
  }
  outputSync() {
    const r = cp.spawnSync(String(this.cmd), this.o.args ?? [], { ...this.opts("piped"), maxBuffer: 1 << 30 });
    if (r.error) throw hostError(r.error);
    const u8 = (b: Buffer | null) => (b ? new Uint8Array(b.buffer, b.byteOffset, b.length) : new Uint8Array(0));
    return {
      ...status(r.status, r.signal),
      stdout: u8(r.stdout as Buffer | null),
      stderr: u8(r.stderr as Buffer | null),
    };
  }
  output() {
    return new Promise((resolve, reject) => {
      const c = cp.spawn(String(this.cmd), this.o.args ?? [], this.opts("piped"));
      const out: Buffer[] = [], err: Buffer[] = [];
      c.stdout?.on("data", (d) => out.push(d));
      c.stderr?.on("data", (d) => err.push(d));
      c.once("error", (e) => reject(hostError(e)));
      c.once(
        "close",
        (code, sig) =>
          resolve({
            ...status(code, sig),
            stdout: new Uint8Array(Buffer.concat(out)),
            stderr: new Uint8Array(Buffer.concat(err)),
          }),
      );
    });
  }
  spawn() {
    const c = cp.spawn(String(this.cmd), this.o.args ?? [], this.opts("inherit"));
    let spawnError: unknown = null;
    c.once("error", (e) => (spawnError = hostError(e)));
    const st = new Promise((resolve, reject) => {
      c.once("close", (code, sig) => (spawnError ? reject(spawnError) : resolve(status(code, sig))));
    });
    if (c.pid === undefined) {
      throw new errors.NotFound(`cannot run ${this.cmd}`);
    }
    return {
      pid: c.pid,
      status: st,
      stdout: c.stdout,
      stderr: c.stderr,
      stdin: c.stdin,
      kill: (sig: NodeJS.Signals = "SIGTERM") => {
        if (!c.kill(sig)) throw new errors.NotFound("process gone");
      },
      ref: () => c.ref(),
      unref: () => {
        c.unref();
        (c.stdout as unknown as { unref?(): void })?.unref?.();
        (c.stderr as unknown as { unref?(): void })?.unref?.();
      },
      output: () => st,
    };
  }
}

// Stdin as Deno.stdin.read: chunks from process.stdin, taken one read at a time.
class NodeStdin {
  private chunks: Buffer[] = [];
  private ended = false;
  private started = false;
  private waiting: (() => void) | null = null;
  private start(): void {
    if (this.started) return;
    this.started = true;
    process.stdin.on("data", (d: Buffer) => {
      this.chunks.push(d);
      this.waiting?.();
    });
    process.stdin.on("end", () => {
      this.ended = true;
      this.waiting?.();
    });
    process.stdin.on("error", () => {
      this.ended = true;
      this.waiting?.();
    });
  }
  async read(p: Uint8Array): Promise<number | null> {
    this.start();
    while (!this.chunks.length) {
      if (this.ended) return null;
      await new Promise<void>((r) => (this.waiting = r));
      this.waiting = null;
    }
    const c = this.chunks[0];
    const n = Math.min(c.length, p.length);
    p.set(c.subarray(0, n));
    if (n === c.length) this.chunks.shift();
    else this.chunks[0] = c.subarray(n);
    return n;
  }
  isTerminal(): boolean {
    return tty.isatty(0);
  }
  setRaw(mode: boolean): void {
    if (process.stdin.isTTY) process.stdin.setRawMode(mode);
  }
}

function writer(fd: number) {
  return {
    writeSync: (p: Uint8Array) => wrap(fs.writeSync)(fd, p),
    isTerminal: () => tty.isatty(fd),
  };
}

// A Web Worker's interface on a worker_threads Worker.
class NodeWorker implements WorkerLike {
  onmessage: ((e: MessageEvent) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  private readonly w: wt.Worker;
  constructor(url: URL) {
    this.w = new wt.Worker(url);
    this.w.on("message", (data) => this.onmessage?.({ data } as MessageEvent));
    this.w.on("error", (e: Error) => {
      const ev = { message: e?.message ?? String(e), error: e, preventDefault() {} } as unknown as ErrorEvent;
      if (this.onerror) this.onerror(ev);
      else console.error(e);
    });
  }
  postMessage(m: unknown): void {
    this.w.postMessage(m);
  }
  terminate(): void {
    void this.w.terminate();
  }
}

let scope: WorkerScope | null = null;
function workerScope(): WorkerScope {
  if (scope) return scope;
  const port = wt.parentPort;
  if (!port) throw new Error("workerScope() outside a worker thread");
  const s: WorkerScope = {
    onmessage: null,
    postMessage: (m: unknown) => port.postMessage(m),
  };
  port.on("message", (data) => s.onmessage?.({ data } as MessageEvent));
  return scope = s;
}

const exitFns = new Set<() => void>();

export function nodeHost(): Host {
  provideBuiltins({
    "node:fs": fs,
    "node:path": path,
    "node:zlib": zlib,
    "node:crypto": crypto,
    "node:dgram": dgram,
    "node:dns/promises": dns,
    "node:util": util, // (Node 18, Debian 12's, has no process.getBuiltinModule)
  });
  // Compile a wasm function at its first call rather than the whole module at once (newer V8s,
  // Deno's among them, do so by default): the block compiler makes thousands of small modules,
  // and every vCPU thread compiles its own. Set before any module is compiled; process-wide.
  v8.setFlagsFromString("--wasm-lazy-compilation");
  // Web Crypto as a global (the trunks' keys and AES-GCM): Node 18 has it only in node:crypto
  const g = globalThis as { crypto?: unknown };
  if (!g.crypto) g.crypto = crypto.webcrypto;
  const h = {
    runtime: "node",
    ffi: false,
    version: `node ${process.version}, V8 ${process.versions.v8}`,
    args: process.argv.slice(2),
    pid: process.pid,
    build: { os: process.platform },
    env: {
      get: (k: string) => process.env[k],
      set: (k: string, v: string) => void (process.env[k] = v),
    },
    errors,
    stdin: new NodeStdin(),
    stdout: writer(1),
    stderr: writer(2),
    SeekMode: { Start: 0, Current: 1, End: 2 },
    Command: NodeCommand,
    UnsafePointer: null,
    UnsafePointerView: null,
    exit: (code?: number) => process.exit(code),
    execPath: () => process.execPath,
    cwd: () => process.cwd(),
    uid: () => process.getuid?.() ?? null,
    gid: () => process.getgid?.() ?? null,
    addSignalListener: (sig: string, fn: () => void) => process.on(sig, fn),
    removeSignalListener: (sig: string, fn: () => void) => process.off(sig, fn),
    unrefTimer: (t: { unref?(): void }) => t?.unref?.(),
    onExit: (fn: () => void) => {
      if (!exitFns.size) process.on("exit", () => exitFns.forEach((f) => f()));
      exitFns.add(fn);
    },
    offExit: (fn: () => void) => exitFns.delete(fn),
    isMainUrl: (url: string) => {
      try {
        return !!process.argv[1] && pathToFileURL(fs.realpathSync(process.argv[1])).href === url;
      } catch {
        return false;
      }
    },
    newWorker: (url: URL) => new NodeWorker(url),
    workerScope,
    dlopen: () => {
      throw new errors.NotSupported("FFI (native libraries) is not available on Node");
    },
    permissionGranted: (name: string) => name !== "ffi", // Node has no permission model ring3 uses, and no FFI

    readFile: wrap(async (p: string | URL) => new Uint8Array(await fs.promises.readFile(pathOf(p)))),
    readFileSync: wrap((p: string | URL) => new Uint8Array(fs.readFileSync(pathOf(p)))),
    readTextFileSync: wrap((p: string | URL) => fs.readFileSync(pathOf(p), "utf8")),
    writeFile: wrap((p: string | URL, d: Uint8Array) => fs.promises.writeFile(pathOf(p), d)),
    writeFileSync: wrap((p: string | URL, d: Uint8Array) => fs.writeFileSync(pathOf(p), d)),
    writeTextFileSync: wrap((p: string | URL, d: string, o?: { append?: boolean }) =>
      o?.append ? fs.appendFileSync(pathOf(p), d) : fs.writeFileSync(pathOf(p), d)
    ),
    stat: wrap(async (p: string | URL) => info(await fs.promises.stat(pathOf(p)))),
    statSync: wrap((p: string | URL) => info(fs.statSync(pathOf(p)))),
    lstat: wrap(async (p: string | URL) => info(await fs.promises.lstat(pathOf(p)))),
    lstatSync: wrap((p: string | URL) => info(fs.lstatSync(pathOf(p)))),
    openSync: wrap((p: string | URL, o?: Deno.OpenOptions) =>
      new NodeFile(fs.openSync(pathOf(p), openFlags(o), o?.mode ?? 0o666))
    ),
    remove: wrap((p: string | URL, o?: { recursive?: boolean }) =>
      o?.recursive ? fs.promises.rm(pathOf(p), { recursive: true }) : fs.promises.rm(pathOf(p)).catch((e) => {
        if ((e as { code?: string }).code === "ERR_FS_EISDIR" || (e as { code?: string }).code === "EISDIR") {
          return fs.promises.rmdir(pathOf(p));
        }
        throw e;
      })
    ),
    removeSync: wrap((p: string | URL, o?: { recursive?: boolean }) => {
      if (o?.recursive) return fs.rmSync(pathOf(p), { recursive: true });
      if (fs.lstatSync(pathOf(p)).isDirectory()) fs.rmdirSync(pathOf(p));
      else fs.unlinkSync(pathOf(p));
    }),
    rename: wrap((a: string, b: string) => fs.promises.rename(a, b)),
    renameSync: wrap((a: string, b: string) => fs.renameSync(a, b)),
    mkdirSync: wrap((p: string, o?: { mode?: number; recursive?: boolean }) => void fs.mkdirSync(p, o)),
    makeTempDir: wrap((o?: { prefix?: string }) => fs.promises.mkdtemp(path.join(os.tmpdir(), o?.prefix ?? "tmp"))),
    makeTempDirSync: wrap((o?: { prefix?: string }) => fs.mkdtempSync(path.join(os.tmpdir(), o?.prefix ?? "tmp"))),
    realPathSync: wrap((p: string) => fs.realpathSync(p)),
    readDirSync: wrap((p: string) =>
      fs.readdirSync(p, { withFileTypes: true }).map((d) => ({
        name: d.name,
        isFile: d.isFile(),
        isDirectory: d.isDirectory(),
        isSymlink: d.isSymbolicLink(),
      }))
    ),
    readLinkSync: wrap((p: string) => fs.readlinkSync(p)),
    symlinkSync: wrap((t: string, p: string) => fs.symlinkSync(t, p)),
    linkSync: wrap((a: string, b: string) => fs.linkSync(a, b)),
    chmod: wrap((p: string, m: number) => fs.promises.chmod(p, m)),
    chmodSync: wrap((p: string, m: number) => fs.chmodSync(p, m)),
    truncateSync: wrap((p: string, len?: number) => fs.truncateSync(p, len ?? 0)),
    utimeSync: wrap((p: string, a: number | Date, m: number | Date) => fs.utimesSync(p, a, m)),
    listen: wrap(listen),
    connect: wrap(connect),
  };
  return h as unknown as Host;
}
