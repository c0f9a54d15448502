// `deno task ctl PATH COMMAND [ARGS...]`: one control command to a ring3 started with
// `--control unix:PATH`, its result printed as JSON (exit 0) or its error on stderr (exit 1).
// `deno task ctl PATH events` prints the machine's events as they come, one JSON line each.
// In sendkeys TEXT, \n \r \t \e \\ and \xHH stand for those characters.
import { COMMANDS } from "../runtime/control/commands.ts";
import { type Conn, host, isMain, type UnixConn } from "../runtime/platform/mod.ts";

export const CTL_USAGE = `usage: deno task ctl PATH COMMAND [ARGS...]
Send one command to the control socket of a ring3 started with --control unix:PATH.

${Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(22)} ${c.help}`).join("\n")}
  events                 print the machine's events (JSON lines) until it ends`;

export function unescapeKeys(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, c: string) => {
    if (c[0] === "x" && c.length === 3) return String.fromCharCode(parseInt(c.slice(1), 16));
    return ({ n: "\n", r: "\r", t: "\t", e: "\x1b", "\\": "\\" } as Record<string, string>)[c] ?? "\\" + c;
  });
}

async function connect(path: string): Promise<UnixConn> {
  try {
    return await host.connect({ transport: "unix", path });
  } catch (e) {
    const why = e instanceof host.errors.NotFound
      ? "no such socket (is ring3 running with --control unix:PATH?)"
      : e instanceof host.errors.ConnectionRefused
      ? "nobody listens there (ring3 ended?)"
      : e instanceof host.errors.PermissionDenied
      ? "permission denied (the socket's file mode decides who may steer the machine)"
      : (e as Error).message.split("\n")[0];
    throw new Error(`${path}: ${why}`);
  }
}

// lines from a connection
async function* lines(conn: Conn): AsyncGenerator<string> {
  const dec = new TextDecoder();
  const buf = new Uint8Array(65536);
  let text = "";
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) return;
    text += dec.decode(buf.subarray(0, n), { stream: true });
    let nl;
    while ((nl = text.indexOf("\n")) >= 0) {
      yield text.slice(0, nl);
      text = text.slice(nl + 1);
    }
  }
}

export async function ctl(argv: string[]): Promise<number> {
  const say = (m: string) => console.error(`ctl: ${m}`);
  if (argv.length === 0 || argv[0] === "-h" || argv[0] === "--help") {
    console.log(CTL_USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  if (argv.length < 2) {
    say("which command? (see --help)");
    return 2;
  }
  const [path, cmd, ...rest] = argv;
  let conn: UnixConn;
  try {
    conn = await connect(path.startsWith("unix:") ? path.slice(5) : path);
  } catch (e) {
    say((e as Error).message);
    return 1;
  }
  const it = lines(conn);
  try {
    if (cmd === "events") {
      for await (const l of it) console.log(l);
      return 0;
    }
    const args = cmd === "sendkeys" ? [unescapeKeys(rest.join(" "))] : rest;
    await conn.write(new TextEncoder().encode(JSON.stringify({ id: 1, cmd, args }) + "\n"));
    for await (const l of it) {
      const r = JSON.parse(l);
      if (r.id !== 1) continue; // an event
      if (!r.ok) {
        say(r.error);
        return 1;
      }
      console.log(JSON.stringify(r.result, null, 2));
      return 0;
    }
    say("the machine closed the connection without a reply");
    return 1;
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

if (isMain(import.meta)) host.exit(await ctl(host.args));
