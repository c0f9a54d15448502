// A ring3 CLI child process for the control and snapshot tests: its console (stdin kept open,
// stdout collected), its stderr, and a client for its control socket.
const CLI = new URL("../../cli/boot.ts", import.meta.url).pathname;

export class GuestProc {
  readonly child: Deno.ChildProcess;
  out = ""; // everything the guest printed so far
  err = "";
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly pumps: Promise<void>[];
  readonly socket: string;
  readonly dir: string;

  constructor(args: string[], opts: { control?: boolean; env?: Record<string, string> } = {}) {
    this.dir = Deno.makeTempDirSync({ prefix: "ring3-ctl-" });
    this.socket = `${this.dir}/ctl.sock`;
    const extra = opts.control === false ? [] : ["--control", `unix:${this.socket}`];
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, ...extra, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: opts.env,
    }).spawn();
    this.writer = this.child.stdin.getWriter();
    const pump = async (s: ReadableStream<Uint8Array>, to: "out" | "err") => {
      for await (const t of s.pipeThrough(new TextDecoderStream())) this[to] += t;
    };
    this.pumps = [pump(this.child.stdout, "out"), pump(this.child.stderr, "err")];
  }

  // wait until the console output after `from` matches; returns the match
  async waitOut(re: RegExp, timeoutMs = 120_000, from = 0): Promise<RegExpExecArray> {
    const t0 = Date.now();
    for (;;) {
      const m = re.exec(this.out.slice(from));
      if (m) return m;
      if (Date.now() - t0 > timeoutMs) {
        throw new Error(
          `console never matched ${re}\n--- stdout tail:\n${this.out.slice(-2000)}\n--- stderr:\n${this.err}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async send(text: string): Promise<void> {
    await this.writer.write(new TextEncoder().encode(text));
  }

  // one command over the control socket: the reply object
  async ctl(cmd: string, ...args: string[]): Promise<{ ok: boolean; result?: unknown; error?: string }> {
    const c = new ControlClient();
    await c.connect(this.socket);
    try {
      return await c.request(cmd, args);
    } finally {
      c.close();
    }
  }

  async waitSocket(timeoutMs = 60_000): Promise<void> {
    const t0 = Date.now();
    for (;;) {
      try {
        (await Deno.connect({ transport: "unix", path: this.socket })).close();
        return;
      } catch {
        if (Date.now() - t0 > timeoutMs) throw new Error(`no control socket\n${this.err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async status(timeoutMs = 60_000): Promise<Deno.CommandStatus> {
    const timer = setTimeout(() => this.kill(), timeoutMs);
    try {
      const st = await this.child.status;
      await Promise.all(this.pumps);
      return st;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(sig: Deno.Signal = "SIGKILL"): void {
    try {
      this.child.kill(sig);
    } catch { /* ended */ }
  }

  async close(): Promise<void> {
    this.kill();
    try {
      await this.writer.close();
    } catch { /* closed */ }
    await this.status();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

// JSON lines over the socket; events are kept apart from replies
export class ControlClient {
  conn!: Deno.UnixConn;
  events: Record<string, unknown>[] = [];
  private buf = "";
  private next = 1;
  private replies = new Map<number, (r: { ok: boolean; result?: unknown; error?: string }) => void>();
  private reading?: Promise<void>;

  async connect(path: string): Promise<void> {
    this.conn = await Deno.connect({ transport: "unix", path });
    this.reading = this.read();
  }

  private async read(): Promise<void> {
    const dec = new TextDecoder();
    const b = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await this.conn.read(b);
        if (n === null) return;
        this.buf += dec.decode(b.subarray(0, n), { stream: true });
        let nl;
        while ((nl = this.buf.indexOf("\n")) >= 0) {
          const o = JSON.parse(this.buf.slice(0, nl));
          this.buf = this.buf.slice(nl + 1);
          if ("event" in o) this.events.push(o);
          else this.replies.get(o.id)?.(o);
        }
      }
    } catch { /* closed */ }
  }

  request(cmd: string, args: string[] = []): Promise<{ ok: boolean; result?: unknown; error?: string }> {
    const id = this.next++;
    const p = new Promise<{ ok: boolean; result?: unknown; error?: string }>((r) => this.replies.set(id, r));
    this.conn.write(new TextEncoder().encode(JSON.stringify({ id, cmd, args }) + "\n"));
    return p;
  }

  async waitEvent(name: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const t0 = Date.now();
    for (;;) {
      const e = this.events.find((x) => x.event === name);
      if (e) return e;
      if (Date.now() - t0 > timeoutMs) throw new Error(`no '${name}' event (got ${JSON.stringify(this.events)})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}
