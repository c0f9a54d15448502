// `deno task smoke` / `node build/dist/smoke.mjs`: the smoke suite as a program, so that it runs
// wherever ring3 runs (Deno on the sources, Node on the bundle, inside a guest: `deno task nest
// --suite smoke`). Two checks, each with ring3 as child processes of the same runtime:
//   boot  the default guest with --smp 2 boots to its shell, runs `uname -sm; echo SMOKE-$((6*7))
//         cpus=$(grep -c ^processor /proc/cpuinfo)` (Linux i686, SMOKE-42, cpus=2) and powers off
//         with exit status 0
//   nic   a switch daemon on a unix socket and two guests with a virtio NIC each ping each other
// Prints `SMOKE boot PASS|FAIL ...` and `SMOKE nic ...` lines and `SMOKE passed N of M`; exit status
// 0 when every check passed.
import { host, isMain, parseArgs } from "../runtime/platform/mod.ts";

export const SMOKE_USAGE = `usage: deno task smoke [--only boot|nic] [--boot-args FLAGS] [--timeout MIN]
Run ring3's smoke suite with this runtime: the default guest on --smp 2 runs a command; two guests
on a switch ping each other. --boot-args adds flags to every ring3 it starts (flags begin with a
dash, so write it with =: --boot-args="--smp-threads 1");
--timeout bounds each check (default 10 minutes).`;

// how this runtime starts ring3 and the switch: the bundle's siblings, or the sources under Deno
function commands(): { boot: string[]; sw: string[] } {
  const here = new URL(".", import.meta.url);
  if (import.meta.url.endsWith(".mjs")) {
    return {
      boot: [host.execPath(), new URL("boot.mjs", here).pathname],
      sw: [host.execPath(), new URL("switch.mjs", here).pathname],
    };
  }
  const root = new URL("../", import.meta.url);
  return {
    boot: [host.execPath(), "run", "-A", new URL("cli/boot.ts", root).pathname],
    sw: [host.execPath(), "run", "-A", new URL("net/main.ts", root).pathname],
  };
}

const enc = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// a child process whose console (stdout and stderr) is collected, with its stdin to type into
class Console {
  out = "";
  readonly status: Promise<{ code: number }>;
  private readonly child: ReturnType<InstanceType<typeof host.Command>["spawn"]>;
  constructor(readonly name: string, argv: string[]) {
    this.child = new host.Command(argv[0], { args: argv.slice(1), stdin: "piped", stdout: "piped", stderr: "piped" })
      .spawn();
    const dec = new TextDecoder();
    for (const s of [this.child.stdout, this.child.stderr]) {
      (async () => {
        for await (const c of s as AsyncIterable<Uint8Array>) this.out += dec.decode(c, { stream: true });
      })().catch(() => {});
    }
    this.status = this.child.status;
  }
  // Deno's stdin is a WritableStream, Node's a stream.Writable
  async type(line: string): Promise<void> {
    const w = this.child.stdin as unknown as {
      getWriter?: () => WritableStreamDefaultWriter<Uint8Array>;
      write?: (b: Uint8Array) => void;
    };
    if (w.getWriter) {
      const wr = w.getWriter();
      await wr.write(enc.encode(line + "\n"));
      wr.releaseLock();
    } else w.write!(enc.encode(line + "\n"));
  }
  async expect(re: RegExp, ms: number, from = 0): Promise<RegExpExecArray> {
    const end = performance.now() + ms;
    for (;;) {
      const m = re.exec(this.out.slice(from));
      if (m) return m;
      if (performance.now() > end) {
        throw new Error(`${this.name}: no ${re} in ${ms / 1000} s; console tail:\n${this.out.slice(-1500)}`);
      }
      await sleep(100);
    }
  }
  // a shell command, and the status it ended with (the line `<tag> <status>` it prints after)
  async run(cmd: string, ms: number): Promise<{ rc: number; text: string }> {
    const tag = `@${Math.random().toString(36).slice(2, 8)}`;
    const from = this.out.length;
    await this.type(`${cmd}; echo ${tag} $?`);
    const m = await this.expect(new RegExp(`\\n${tag} (\\d+)`), ms, from);
    return { rc: Number(m[1]), text: this.out.slice(from, from + m.index) };
  }
  kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch { /* gone */ }
  }
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

async function smokeBoot(boot: string[], extra: string[], ms: number): Promise<string> {
  const t0 = performance.now();
  const g = new Console("smp2", [...boot, "--smp", "2", "--mem", "128", ...extra]);
  try {
    await g.expect(/ring3: shell ready/, ms);
    const shell = (performance.now() - t0) / 1000;
    const r = await g.run("uname -sm; echo SMOKE-$((6*7)) cpus=$(grep -c ^processor /proc/cpuinfo)", ms);
    check(r.rc === 0 && /Linux i686/.test(r.text) && /SMOKE-42 cpus=2/.test(r.text), `unexpected answer:\n${r.text}`);
    await g.type("poweroff -f");
    const st = await Promise.race([g.status, sleep(Math.min(ms, 120_000)).then(() => null)]);
    check(st !== null, "ring3 did not end after poweroff");
    check(st!.code === 0, `exit status ${st!.code}`);
    return `shell after ${shell.toFixed(1)} s, ${((performance.now() - t0) / 1000).toFixed(1)} s in all`;
  } finally {
    g.kill();
  }
}

async function smokeNic(boot: string[], sw: string[], extra: string[], ms: number): Promise<string> {
  const t0 = performance.now();
  const dir = await host.makeTempDir({ prefix: "ring3-smoke-" });
  const sock = `${dir}/sw.sock`;
  const swc = new Console("switch", [...sw, "--listen", `unix:${sock}`, "--quiet"]);
  const guests: Console[] = [];
  try {
    for (let t = 0;; t += 50) {
      try {
        if (host.statSync(sock)) break;
      } catch { /* not yet */ }
      check(t < 30_000, `the switch made no socket in 30 s:\n${swc.out.slice(-1000)}`);
      await sleep(50);
    }
    for (const [name, mac] of [["A", "01"], ["B", "02"]]) {
      const net = `virtio,switch=unix:${sock},mac=52:54:00:00:00:${mac}`;
      guests.push(
        new Console(name, [...boot, "--append", "console=ttyS0 ring3.dhcp=0", "--mem", "128", "--net", net, ...extra]),
      );
    }
    const [a, b] = guests;
    await Promise.all(guests.map((g) => g.expect(/ring3: shell ready/, ms)));
    for (const [g, ip] of [[a, "10.0.0.1"], [b, "10.0.0.2"]] as const) {
      const r = await g.run(`ip addr add ${ip}/24 dev eth0 && ip link set eth0 up`, ms);
      check(r.rc === 0, `${g.name}: interface setup failed:\n${r.text}`);
    }
    const ping = await b.run("ping -c 3 -W 10 10.0.0.1", ms);
    check(ping.rc === 0 && /3 packets transmitted, [1-3] packets received/.test(ping.text), `B -> A:\n${ping.text}`);
    const back = await a.run("ping -c 2 -W 10 10.0.0.2", ms);
    check(back.rc === 0, `A -> B:\n${back.text}`);
    return `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  } finally {
    for (const g of guests) g.kill();
    swc.kill();
    await Promise.all([...guests, swc].map((c) => c.status.catch(() => {})));
    await host.remove(dir, { recursive: true }).catch(() => {});
  }
}

export async function smoke(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        only: { type: "string" },
        "boot-args": { type: "string", default: "" },
        timeout: { type: "string", default: "10" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    console.error(`smoke: ${(e as Error).message}\n${SMOKE_USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(SMOKE_USAGE);
    return 0;
  }
  const minutes = Number(values.timeout);
  if (!(minutes > 0)) {
    console.error(`smoke: --timeout ${values.timeout}: a number of minutes`);
    return 2;
  }
  if (values.only !== undefined && values.only !== "boot" && values.only !== "nic") {
    console.error(`smoke: --only ${values.only}: boot or nic`);
    return 2;
  }
  const extra = values["boot-args"].split(/\s+/).filter((x) => x);
  const ms = minutes * 60_000;
  const { boot, sw } = commands();
  const checks: [string, () => Promise<string>][] = [
    ["boot", () => smokeBoot(boot, extra, ms)],
    ["nic", () => smokeNic(boot, sw, extra, ms)],
  ];
  let passed = 0, ran = 0;
  for (const [name, fn] of checks) {
    if (values.only !== undefined && values.only !== name) continue;
    ran++;
    try {
      console.log(`SMOKE ${name} PASS ${await fn()}`);
      passed++;
    } catch (e) {
      console.log(`SMOKE ${name} FAIL ${(e as Error).message}`);
    }
  }
  console.log(`SMOKE passed ${passed} of ${ran}`);
  return passed === ran ? 0 : 1;
}

if (isMain(import.meta)) host.exit(await smoke(host.args));
