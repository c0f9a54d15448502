// The switch daemon as a subprocess, its stderr log collected line by line.
import { waitFor } from "./lib.ts";

const MAIN = new URL("../../net/main.ts", import.meta.url).pathname;

export class DaemonProc {
  readonly lines: string[] = [];
  readonly child: Deno.ChildProcess;
  private readonly pump: Promise<void>;

  constructor(args: string[], wrap: string[] = []) {
    const cmd = [...wrap, Deno.execPath(), "run", "-A", MAIN, ...args];
    const child = new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "null", stderr: "piped", stdin: "null" })
      .spawn();
    this.child = child;
    this.pump = (async () => {
      let rest = "";
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        const parts = rest.split("\n");
        rest = parts.pop()!;
        this.lines.push(...parts);
      }
      if (rest) this.lines.push(rest);
    })();
  }

  /** The first capture group of the first log line matching `re`, waiting for it. */
  async waitLine(re: RegExp, timeoutMs = 15000): Promise<string> {
    let m: RegExpExecArray | null = null;
    await waitFor(
      () => this.lines.some((l) => (m = re.exec(l)) !== null),
      `log line ${re}\n${this.lines.join("\n")}`,
      timeoutMs,
    );
    return m![1] ?? m![0];
  }

  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(signal);
    } catch { /* exited */ }
    const st = await this.child.status;
    await this.pump;
    return st;
  }
}
