// `host` under Deno: Deno's own API (see types.ts), plus the few services it spells differently.
import type { Host, WorkerLike, WorkerScope } from "./types.ts";

export function denoHost(): Host {
  const D = Deno;
  const h = {
    runtime: "deno",
    get ffi() {
      try {
        return D.permissions.querySync({ name: "ffi" }).state === "granted";
      } catch {
        return false;
      }
    },
    version: `deno ${D.version.deno}, V8 ${D.version.v8}, TypeScript ${D.version.typescript}`,
    args: D.args,
    pid: D.pid,
    build: D.build,
    env: D.env,
    errors: D.errors,
    stdin: D.stdin,
    stdout: D.stdout,
    stderr: D.stderr,
    SeekMode: D.SeekMode,
    Command: D.Command,
    UnsafePointer: D.UnsafePointer,
    UnsafePointerView: D.UnsafePointerView,
    exit: D.exit,
    execPath: D.execPath,
    uid: D.uid,
    gid: D.gid,
    addSignalListener: D.addSignalListener,
    removeSignalListener: D.removeSignalListener,
    unrefTimer: (t: number | ReturnType<typeof setTimeout>) => D.unrefTimer(t as number),
    onExit: (fn: () => void) => globalThis.addEventListener("unload", fn),
    offExit: (fn: () => void) => globalThis.removeEventListener("unload", fn),
    isMainUrl: () => false,
    newWorker: (url: URL): WorkerLike => new Worker(url.href, { type: "module" }) as unknown as WorkerLike,
    workerScope: (): WorkerScope => self as unknown as WorkerScope,
    dlopen: D.dlopen,
    permissionGranted: (name: "ffi" | "run" | "env") => {
      try {
        return D.permissions.querySync({ name }).state === "granted";
      } catch {
        return false;
      }
    },
    readFile: D.readFile,
    readFileSync: D.readFileSync,
    readTextFileSync: D.readTextFileSync,
    writeFile: D.writeFile,
    writeFileSync: D.writeFileSync,
    writeTextFileSync: D.writeTextFileSync,
    stat: D.stat,
    statSync: D.statSync,
    lstat: D.lstat,
    lstatSync: D.lstatSync,
    openSync: D.openSync,
    remove: D.remove,
    removeSync: D.removeSync,
    rename: D.rename,
    renameSync: D.renameSync,
    mkdirSync: D.mkdirSync,
    makeTempDir: D.makeTempDir,
    makeTempDirSync: D.makeTempDirSync,
    realPathSync: D.realPathSync,
    readDirSync: D.readDirSync,
    readLinkSync: D.readLinkSync,
    symlinkSync: D.symlinkSync,
    linkSync: D.linkSync,
    chmod: D.chmod,
    chmodSync: D.chmodSync,
    truncateSync: D.truncateSync,
    utimeSync: D.utimeSync,
    listen: D.listen,
    connect: D.connect,
  };
  return h as unknown as Host;
}
