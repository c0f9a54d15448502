// The control socket: `--control unix:PATH`. JSON lines over a Unix stream socket, one request and
// one reply per line, in order (commands.ts); events (vm.ts VmEvent: pause, resume, powerdown,
// poweroff, reset, panic, link, loadvm) are pushed to every client as {"event": ...} lines.
// Access: whoever may connect to PATH may do everything, so the socket is made mode 0600 (its
// owner only); loosen it with chmod for a group that should steer the machine.
import type { Vm } from "./vm.ts";
import { handleLine } from "./commands.ts";
import { type Conn, host, type Listener } from "../platform/mod.ts";

export class ControlError extends Error {
  override name = "ControlError";
}

// "unix:PATH" (or a bare path) -> PATH
export function parseControlSpec(spec: string): string {
  const path = spec.startsWith("unix:") ? spec.slice(5) : spec;
  if (!path) throw new ControlError("--control wants unix:PATH");
  if (/^[a-z]+:/.test(spec) && !spec.startsWith("unix:")) {
    throw new ControlError(`--control ${spec}: only unix:PATH sockets are supported`);
  }
  return path;
}

const MAX_LINE = 1 << 16;

export class ControlServer {
  private readonly listener: Listener;
  private readonly conns = new Set<Conn>();
  private readonly pending = new Set<() => Promise<void>>(); // each client's queue of unsent lines
  private closed = false;

  private constructor(private readonly vm: Vm, readonly path: string) {
    this.listener = host.listen({ transport: "unix", path });
  }

  // Listen on PATH. A socket file left by a ring3 that is gone is replaced; a live one is not.
  static async listen(vm: Vm, path: string): Promise<ControlServer> {
    try {
      const st = await host.lstat(path);
      if (!st.isSocket) throw new ControlError(`--control ${path}: exists and is not a socket`);
      let live = false;
      try {
        const c = await host.connect({ transport: "unix", path });
        c.close();
        live = true;
      } catch { /* nobody listens: a stale file */ }
      if (live) throw new ControlError(`--control ${path}: another ring3 listens there`);
      await host.remove(path);
    } catch (e) {
      if (!(e instanceof host.errors.NotFound)) throw e;
    }
    let s: ControlServer;
    try {
      s = new ControlServer(vm, path);
    } catch (e) {
      throw new ControlError(`--control ${path}: ${(e as Error).message.split("\n")[0]}`);
    }
    await host.chmod(path, 0o600);
    s.accept();
    return s;
  }

  private async accept(): Promise<void> {
    // the socket alone must not keep a powered-off machine's process alive
    (this.listener as unknown as { unref?: () => void }).unref?.();
    try {
      for await (const conn of this.listener) void this.serve(conn);
    } catch (e) {
      if (!this.closed) console.error(`ring3: control socket: ${(e as Error).message}`);
    }
  }

  private async serve(conn: Conn): Promise<void> {
    this.conns.add(conn);
    const enc = new TextEncoder();
    let queue = Promise.resolve();
    const send = (line: string) => {
      queue = queue.then(async () => {
        const b = enc.encode(line + "\n");
        let off = 0;
        while (off < b.length) off += await conn.write(b.subarray(off));
      }).catch(() => {});
    };
    const drain = () => queue;
    this.pending.add(drain);
    const off = this.vm.on((e) => send(JSON.stringify(e)));
    const dec = new TextDecoder();
    let buf = "";
    const chunk = new Uint8Array(4096);
    try {
      for (;;) {
        const n = await conn.read(chunk);
        if (n === null) break;
        buf += dec.decode(chunk.subarray(0, n), { stream: true });
        if (buf.length > MAX_LINE && !buf.includes("\n")) {
          send(JSON.stringify({ ok: false, error: "request line too long" }));
          break;
        }
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim() === "") continue;
          send(await handleLine(this.vm, line));
        }
      }
    } catch { /* the client went away */ }
    off();
    await queue;
    this.pending.delete(drain);
    this.conns.delete(conn);
    try {
      conn.close();
    } catch { /* closed already */ }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // the replies already given (to quit, say) go out first
    await Promise.race([Promise.all([...this.pending].map((d) => d())), new Promise((r) => setTimeout(r, 500))]);
    try {
      this.listener.close();
    } catch { /* closed */ }
    for (const c of this.conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    try {
      await host.remove(this.path);
    } catch { /* gone */ }
  }
}
