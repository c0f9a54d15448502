// What a new user expects of the command: --version, --mem with suffixes and QEMU's -m, a hint for
// QEMU spellings, a quiet end on a closed pipe, the terminal restored on SIGTERM/SIGHUP/SIGINT, and
// the Ctrl-A keys (s: every vCPU, b: a break, c: the monitor prompt) on a terminal.
import assert from "node:assert/strict";
import { EXIT_BROKEN_PIPE, parseBootArgs, parseMem, UsageError } from "../../cli/boot.ts";
import { GuestProc } from "../control/guest_proc.ts";

const CLI = new URL("../../cli/boot.ts", import.meta.url).pathname;

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", CLI, ...args], stdin: "null" }).output();
  const d = new TextDecoder();
  return { code: o.code, out: d.decode(o.stdout), err: d.decode(o.stderr) };
}

Deno.test("--version names ring3, its commit and the Deno it runs on", async () => {
  const r = await run(["--version"]);
  assert.equal(r.code, 0);
  assert.match(r.out, /^ring3 \d+\.\d+\.\d+( \([0-9a-f]+(-dirty)?\))?\ndeno \d+\.\d+\.\d+, V8 \S+, TypeScript \S+\n$/);
});

Deno.test("--mem and -m: MiB or a size with a suffix", () => {
  const mem = (...a: string[]) => parseBootArgs(a).memMiB;
  assert.equal(mem("--mem", "256M"), 256);
  assert.equal(mem("--mem", "512m"), 512);
  assert.equal(mem("--mem", "1G"), 1024);
  assert.equal(mem("--mem=2g"), 2048);
  assert.equal(mem("-m", "1G"), 1024);
  assert.equal(mem("-m", "3072"), 3072);
  assert.equal(mem("--mem", "64MiB"), 64);
  assert.equal(mem("--mem", "1.5G"), 1536);
  assert.equal(parseMem("128"), 128);
  for (const bad of ["1T", "12q", "-5", "", "0.5M", "4G", "8M"]) {
    assert.throws(() => parseMem(bad), UsageError, bad);
  }
  assert.throws(() => parseMem("4G"), /out of range \(16\.\.3072 MiB\)/);
});

Deno.test("a QEMU spelling gets the ring3 one; a QEMU-only option says what to do", async () => {
  assert.throws(() => parseBootArgs(["-kernel", "bz"]), /-kernel is QEMU's spelling; ring3 says --kernel/);
  assert.throws(() => parseBootArgs(["-append", "x"]), /ring3 says --append/);
  assert.throws(() => parseBootArgs(["-smp", "2"]), /ring3 says --smp/);
  assert.throws(() => parseBootArgs(["-nographic"]), /QEMU option ring3 does not have: the console is always COM1/);
  assert.throws(() => parseBootArgs(["-enable-kvm"]), /QEMU option/);
  const r = await run(["-kernel", "bzImage", "-append", "console=ttyS0"]);
  assert.equal(r.code, 2);
  assert.equal(r.err.trim(), "ring3: -kernel is QEMU's spelling; ring3 says --kernel (see --help)");
});

Deno.test({
  name: "output to a closed pipe ends ring3 quietly",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "--mem", "64M"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // read the first lines, then go away like `| head` does
    const reader = child.stdout.getReader();
    let got = "";
    while (!got.includes("Linux version")) {
      const { value, done } = await reader.read();
      if (done) break;
      got += new TextDecoder().decode(value);
    }
    await reader.cancel();
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    const [st, err] = await Promise.all([child.status, new Response(child.stderr).text()]);
    clearTimeout(timer);
    await child.stdin.close().catch(() => {});
    assert.match(got, /Linux version/);
    assert.equal(st.code, EXIT_BROKEN_PIPE, err);
    assert.equal(err, "", "nothing on stderr");
  },
});

Deno.test({
  name: "SIGTERM, SIGHUP, SIGINT: ring3 ends with 128+N and says so",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    for (const [sig, code] of [["SIGTERM", 143], ["SIGHUP", 129], ["SIGINT", 130]] as [Deno.Signal, number][]) {
      const g = new GuestProc(["--mem", "64M"], { control: false });
      try {
        await g.waitOut(/Linux version/);
        g.kill(sig);
        const st = await g.status();
        assert.equal(st.code, code, `${sig}: ${g.err}`);
        assert.match(g.err, new RegExp(`ring3: ${sig}: quitting`));
      } finally {
        await g.close();
      }
    }
  },
});

// ring3 on a pseudo-terminal (script(1)): the shell line is `deno run cli/boot.ts ...`, then
// `stty -a` in the same terminal once ring3 has ended
async function onTerminal(
  ringArgs: string,
  drive: (write: (s: string) => Promise<void>, out: () => string) => Promise<void>,
): Promise<string> {
  const cmd = `${Deno.execPath()} run -A ${CLI} ${ringArgs}; echo "rc=$?"; stty -a`;
  const child = new Deno.Command("script", {
    args: ["-qfec", cmd, "/dev/null"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { TERM: "dumb" },
  }).spawn();
  let out = "";
  const pump = (async () => {
    for await (const t of child.stdout.pipeThrough(new TextDecoderStream())) out += t;
  })();
  const w = child.stdin.getWriter();
  const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
  try {
    await drive((s) => w.write(new TextEncoder().encode(s)), () => out);
  } finally {
    await w.close().catch(() => {});
    await child.status;
    await pump;
    await child.stderr.cancel();
    clearTimeout(timer);
  }
  return out;
}

async function until(out: () => string, re: RegExp, ms = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!re.test(out())) {
    if (Date.now() - t0 > ms) throw new Error(`never saw ${re}; got:\n${out().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test({
  name: "on a terminal: Ctrl-A s shows every vCPU, Ctrl-A c runs control commands, Ctrl-A b sends a break",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const out = await onTerminal("--mem 64M --smp 2", async (write, out) => {
      await until(out, /ring3: shell ready/);
      await until(out, /# /);
      await write("\x01s");
      await until(out, /CPU 0: \d+ instructions[^\n]*\n[\s\S]*CPU 1: \d+ instructions/);
      await write("\x01c");
      await until(out, /\(ring3\) /);
      await write("status\r");
      await until(out, /"cpus": 2/);
      await write("nosuch\r");
      await until(out, /error: unknown command 'nosuch'/);
      await write("\x01c");
      await until(out, /back to the guest/);
      await write("\x01b");
      await until(out, /break sent/);
      await write("\rgrep -o 'brk:[0-9]*' /proc/tty/driver/serial | head -1\r");
      await until(out, /brk:1/);
      await write("\x01x");
      await until(out, /rc=0[\s\S]*\n.*icanon/);
    });
    assert.match(out, /rc=0/);
    assert.match(out, /[^-]icanon/, "the terminal is back in canonical mode");
  },
});

Deno.test({
  name: "on a terminal: SIGTERM, SIGHUP, SIGINT give the terminal back in its normal mode",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    for (const [sig, code] of [["TERM", 143], ["HUP", 129], ["INT", 130]] as [string, number][]) {
      const pidFile = await Deno.makeTempFile();
      const out = await onTerminal(`--mem 64M < /dev/tty & echo $! > ${pidFile}; wait $!`, async (_write, out) => {
        await until(out, /Linux version/);
        // the deno process itself (script's shell started it in the background)
        const pid = Number((await Deno.readTextFile(pidFile)).trim());
        Deno.kill(pid, `SIG${sig}` as Deno.Signal);
        await until(out, /rc=\d+[\s\S]*icanon/);
      });
      await Deno.remove(pidFile);
      assert.match(out, new RegExp(`rc=${code}`), out.slice(-2000));
      assert.match(out, /[^-]icanon/, `after SIG${sig} the terminal is in canonical mode again`);
      assert.match(out, /[^-]echo /, `after SIG${sig} the terminal echoes again`);
    }
  },
});
