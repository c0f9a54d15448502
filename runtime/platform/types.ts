// The shape of `host` (mod.ts): the part of Deno's API ring3 uses, which node.ts implements
// on Node. The type names below are what the rest of ring3 writes instead of Deno's.
export type FsFile = Deno.FsFile;
export type FileInfo = Deno.FileInfo;
export type Conn = Deno.Conn;
export type TcpConn = Deno.TcpConn;
export type UnixConn = Deno.UnixConn;
export type Listener = Deno.Listener;
export type Addr = Deno.Addr;
export type NetAddr = Deno.NetAddr;
export type ChildProcess = Deno.ChildProcess;
export type CommandStatus = Deno.CommandStatus;
export type Signal = Deno.Signal;
export type PointerValue = Deno.PointerValue;
export type UnsafePointerView = Deno.UnsafePointerView;
export type DynamicLibrary<S extends Deno.ForeignLibraryInterface> = Deno.DynamicLibrary<S>;

// A worker thread as the parent sees it (a Web Worker's interface).
export interface WorkerLike {
  onmessage: ((e: MessageEvent) => void) | null;
  onerror: ((e: ErrorEvent) => void) | null;
  postMessage(message: unknown): void;
  terminate(): void;
}

// The worker's side: `self` in a Web Worker.
export interface WorkerScope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
}

export interface Host {
  readonly runtime: "deno" | "node";
  readonly ffi: boolean; // Deno's FFI is there (and allowed); Node has none
  readonly version: string; // "deno 2.9.6, V8 ..." or "node v20.1.0, V8 ..."
  readonly args: string[];
  readonly pid: number;
  readonly build: { os: string };
  readonly env: { get(name: string): string | undefined; set(name: string, value: string): void };
  readonly errors: typeof Deno.errors;
  readonly stdin: {
    read(p: Uint8Array): Promise<number | null>;
    isTerminal(): boolean;
    setRaw(mode: boolean, options?: { cbreak: boolean }): void;
  };
  readonly stdout: { writeSync(p: Uint8Array): number; isTerminal(): boolean };
  readonly stderr: { writeSync(p: Uint8Array): number; isTerminal(): boolean };
  readonly SeekMode: typeof Deno.SeekMode;
  readonly Command: typeof Deno.Command;
  readonly UnsafePointer: typeof Deno.UnsafePointer;
  readonly UnsafePointerView: typeof Deno.UnsafePointerView;
  exit(code?: number): never;
  execPath(): string;
  uid(): number | null;
  gid(): number | null;
  addSignalListener(signal: Signal, handler: () => void): void;
  removeSignalListener(signal: Signal, handler: () => void): void;
  // keep a timer from holding the process open
  unrefTimer(id: number | ReturnType<typeof setTimeout>): void;
  // run `fn` when the process ends normally (Deno's "unload" event, Node's "exit")
  onExit(fn: () => void): void;
  offExit(fn: () => void): void;
  isMainUrl(url: string): boolean; // (Node) whether url is the script the process was started with
  newWorker(url: URL): WorkerLike;
  workerScope(): WorkerScope;
  dlopen: typeof Deno.dlopen;
  permissionGranted(name: "ffi" | "run" | "env"): boolean;

  readFile(path: string | URL): Promise<Uint8Array>;
  readFileSync(path: string | URL): Uint8Array;
  readTextFileSync(path: string | URL): string;
  writeFile(path: string | URL, data: Uint8Array): Promise<void>;
  writeFileSync(path: string | URL, data: Uint8Array): void;
  writeTextFileSync(path: string | URL, data: string, options?: { append?: boolean }): void;
  stat(path: string | URL): Promise<FileInfo>;
  statSync(path: string | URL): FileInfo;
  lstat(path: string | URL): Promise<FileInfo>;
  lstatSync(path: string | URL): FileInfo;
  openSync(path: string | URL, options?: Deno.OpenOptions): FsFile;
  remove(path: string | URL, options?: { recursive?: boolean }): Promise<void>;
  removeSync(path: string | URL, options?: { recursive?: boolean }): void;
  rename(from: string, to: string): Promise<void>;
  renameSync(from: string, to: string): void;
  mkdirSync(path: string, options?: { mode?: number; recursive?: boolean }): void;
  makeTempDir(options?: { prefix?: string }): Promise<string>;
  makeTempDirSync(options?: { prefix?: string }): string;
  realPathSync(path: string): string;
  readDirSync(path: string): Iterable<{ name: string; isFile: boolean; isDirectory: boolean; isSymlink: boolean }>;
  readLinkSync(path: string): string;
  symlinkSync(target: string, path: string): void;
  linkSync(from: string, to: string): void;
  chmod(path: string, mode: number): Promise<void>;
  chmodSync(path: string, mode: number): void;
  truncateSync(path: string, len?: number): void;
  utimeSync(path: string, atime: number | Date, mtime: number | Date): void;

  listen(options: Deno.UnixListenOptions & { transport: "unix" }): Listener;
  listen(options: Deno.TcpListenOptions & { transport?: "tcp" }): Listener;
  connect(options: Deno.UnixConnectOptions): Promise<UnixConn>;
  connect(options: Deno.ConnectOptions): Promise<TcpConn>;
}
