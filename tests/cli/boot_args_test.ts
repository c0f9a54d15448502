// cli/boot.ts without a machine: flag parsing, defaults, file checks, and the error paths of the
// real command (one line on stderr, non-zero status, no stack trace).
import assert from "node:assert/strict";
import {
  BootFileError,
  DEFAULT_APPEND,
  DEFAULT_INITRD,
  DEFAULT_KERNEL,
  loadBootFiles,
  parseBootArgs,
  UsageError,
} from "../../cli/boot.ts";

const CLI = new URL("../../cli/boot.ts", import.meta.url).pathname;

Deno.test("defaults: committed guest, console=ttyS0 tsc=reliable, 256 MiB, 1 CPU", () => {
  const c = parseBootArgs([]);
  assert.equal(c.kernel, DEFAULT_KERNEL);
  assert.equal(c.initrd, DEFAULT_INITRD);
  assert.equal(c.append, DEFAULT_APPEND);
  assert.equal(c.append, "console=ttyS0 tsc=reliable");
  assert.equal(c.memMiB, 256);
  assert.equal(c.smp, 1);
  assert.equal(c.vcpuWorker, false);
  assert.equal(c.bios, null);
  assert.equal(c.debugcon, null);
  assert.equal(c.noReboot, false);
  assert.equal(c.timing, false);
  assert.equal(c.help, false);
  assert.ok(DEFAULT_KERNEL.endsWith("/guest/images/bzImage"));
});

Deno.test("all flags, both --flag value and --flag=value", () => {
  const c = parseBootArgs([
    "--kernel",
    "/k",
    "--initrd=/i",
    "--append",
    "console=ttyS0 quiet ring3.run=bench",
    "--mem",
    "512",
    "--smp=4",
    "--debugcon=/d",
    "--no-reboot",
    "--timing",
  ]);
  assert.equal(c.kernel, "/k");
  assert.equal(c.initrd, "/i");
  assert.equal(c.append, "console=ttyS0 quiet ring3.run=bench");
  assert.equal(c.memMiB, 512);
  assert.equal(c.smp, 4);
  assert.equal(c.bios, null);
  assert.equal(c.debugcon, "/d");
  assert.equal(c.noReboot, true);
  assert.equal(c.timing, true);
  assert.equal(parseBootArgs(["-m", "64"]).memMiB, 64);
  assert.equal(parseBootArgs(["-h"]).help, true);
  assert.equal(parseBootArgs(["--help"]).help, true);
  assert.equal(parseBootArgs(["--append="]).append, "");
  assert.equal(parseBootArgs(["--vcpu-thread"]).vcpuWorker, true);
});

Deno.test("--bios: a firmware boot, with neither kernel nor initrd", () => {
  const c = parseBootArgs(["--bios", "/b", "-m", "32", "--no-reboot"]);
  assert.equal(c.bios, "/b");
  assert.equal(c.kernel, null);
  assert.equal(c.initrd, null);
  assert.equal(c.memMiB, 32);
  for (const flag of ["--kernel=/k", "--initrd=/i", "--append=quiet", "--initrd="]) {
    const name = flag.slice(2, flag.indexOf("="));
    assert.throws(() => parseBootArgs(["--bios", "/b", flag]), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.equal(
        e.message,
        `--bios boots the firmware from the reset vector and cannot take --${name} (ring3 has no fw_cfg)`,
      );
      return true;
    });
  }
});

Deno.test("--initrd= boots without an initrd", () => {
  const c = parseBootArgs(["--initrd="]);
  assert.equal(c.initrd, null);
});

Deno.test("bad flags are UsageErrors with one-line messages", () => {
  const bad: [string[], RegExp][] = [
    [["--bogus"], /^unknown option --bogus \(see --help\)$/],
    [["-x"], /^unknown option -x/],
    [["stray"], /^unexpected argument stray/],
    [["--mem"], /--mem/],
    [["--mem", "abc"], /^--mem wants a size in MiB or with a suffix \(256M, 1G\), got 'abc'$/],
    [["--mem", "-5"], /--mem/],
    [["--mem", "1.5"], /whole number/],
    [["--mem", "8"], /^--mem 8 is out of range \(16\.\.3072 MiB\)$/],
    [["--mem", "100000"], /out of range/],
    [["--smp", "0"], /^--smp 0 is out of range \(1\.\.64\)$/],
    [["--smp", "65"], /out of range/],
    [["--smp", "two"], /whole number/],
    [["--kernel="], /--kernel needs a file name/],
    [["--bios="], /--bios needs a file name/],
    [["--debugcon="], /--debugcon needs a file name/],
    [["--timing=yes"], /--timing/],
    [["--jit", "abc"], /^--jit wants a whole number, got 'abc'$/],
    [["--jit", "0"], /^--jit 0 is out of range/],
  ];
  for (const [argv, re] of bad) {
    assert.throws(() => parseBootArgs(argv), (e: unknown) => {
      assert.ok(e instanceof UsageError, `${argv.join(" ")}: ${e}`);
      assert.match(e.message, re, argv.join(" "));
      assert.ok(!e.message.includes("\n"), `${argv.join(" ")}: multi-line message`);
      return true;
    });
  }
});

Deno.test("--jit: a threshold or off; a bad RING3_JIT is a usage error too", async () => {
  assert.equal(parseBootArgs(["--jit", "50"]).jit, 50);
  assert.equal(parseBootArgs(["--jit", "off"]).jit, 0);
  assert.equal(parseBootArgs([]).jit, null);
  // (in a child: the environment is the whole test process's)
  const cli = new URL("../../cli/boot.ts", import.meta.url).pathname;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli],
    env: { RING3_JIT: "lots" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(r.stderr).trim();
  assert.equal(r.code, 2, err);
  assert.match(err, /^ring3: RING3_JIT must be off or a visit count >= 1, not "lots"$/);
});

async function tmpFile(bytes: Uint8Array): Promise<string> {
  const p = await Deno.makeTempFile({ prefix: "ring3-boot-args-" });
  await Deno.writeFile(p, bytes);
  return p;
}

Deno.test("loadBootFiles: the committed guest loads and names its kernel", async () => {
  const f = await loadBootFiles(parseBootArgs([]));
  assert.match(f.kernelVersion, /^6\.1\.\d+/);
  assert.ok(f.initrd && f.initrd[0] === 0x1f && f.initrd[1] === 0x8b);
  assert.equal(f.bios, null);
  assert.equal(f.shellMarker, true);
});

Deno.test("loadBootFiles: missing, empty, corrupt and wrong-kind files", async () => {
  const kernel = await Deno.readFile(DEFAULT_KERNEL);
  const initrd = await Deno.readFile(DEFAULT_INITRD);
  const corrupt = kernel.slice();
  corrupt[kernel.length >> 1] ^= 0x40;
  const files = {
    corrupt: await tmpFile(corrupt),
    half: await tmpFile(kernel.subarray(0, kernel.length >> 1)),
    text: await tmpFile(new TextEncoder().encode("hello world\n".repeat(100))),
    empty: await tmpFile(new Uint8Array(0)),
    cutGz: await tmpFile(initrd.subarray(0, initrd.length - 1000)),
    oddBios: await tmpFile(new Uint8Array(1000)),
    rom: await tmpFile(new Uint8Array(8192)),
  };
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string[], RegExp][] = [
      [["--kernel", "/nonexistent/bzImage"], /^kernel \/nonexistent\/bzImage: no such file$/],
      [["--kernel", dir], /not a regular file/],
      [["--kernel", files.corrupt], /CRC-32 mismatch/],
      [["--kernel", files.half], /truncated/],
      [["--kernel", files.text], /not a Linux bzImage/],
      [["--kernel", files.empty], /too short/],
      [["--initrd", "/nonexistent/initrd"], /^initrd \/nonexistent\/initrd: no such file$/],
      [["--initrd", files.empty], /empty file/],
      [["--initrd", files.text], /not a cpio archive/],
      [["--initrd", files.cutGz], /truncated or corrupt gzip/],
      [["--bios", files.oddBios], /4 KiB units/],
      [["--bios", "/nonexistent/bios.bin"], /no such file/],
      [["--bios", files.empty], /4 KiB units/],
    ];
    for (const [argv, re] of cases) {
      await assert.rejects(loadBootFiles(parseBootArgs(argv)), (e: unknown) => {
        assert.ok(e instanceof BootFileError, `${argv.join(" ")}: ${e}`);
        assert.match(e.message, re, argv.join(" "));
        assert.ok(!e.message.includes("\n"));
        return true;
      });
    }
    const rom = await loadBootFiles(parseBootArgs(["--bios", files.rom]));
    assert.equal(rom.kernel, null);
    assert.equal(rom.initrd, null);
    assert.equal(rom.bios?.length, 8192);
    assert.equal(rom.shellMarker, false, "a ROM gets its input at once");
  } finally {
    for (const p of Object.values(files)) await Deno.remove(p);
    await Deno.remove(dir);
  }
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("the command: --help, bad usage and bad files give one line and a status", async () => {
  const help = await cli("--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: deno task boot/);
  for (
    const flag of [
      "--kernel",
      "--initrd",
      "--append",
      "--mem",
      "--smp",
      "--bios",
      "--debugcon",
      "--no-reboot",
      "--timing",
    ]
  ) {
    assert.ok(help.stdout.includes(flag), flag);
  }

  const usage = await cli("--smp", "99");
  assert.equal(usage.code, 2);
  assert.equal(usage.stderr, "ring3: --smp 99 is out of range (1..64)\n");
  assert.equal(usage.stdout, "");

  const unknown = await cli("--frobnicate");
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, "ring3: unknown option --frobnicate (see --help)\n");

  const missing = await cli("--kernel", "/nonexistent/bzImage");
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, "ring3: kernel /nonexistent/bzImage: no such file\n");

  const both = await cli("--bios", "/b", "--kernel", "/k");
  assert.equal(both.code, 2);
  assert.equal(
    both.stderr,
    "ring3: --bios boots the firmware from the reset vector and cannot take --kernel (ring3 has no fw_cfg)\n",
  );

  const dbg = await cli("--debugcon", "/nonexistent/debug.log");
  assert.equal(dbg.code, 1);
  assert.equal(dbg.stderr, "ring3: --debugcon /nonexistent/debug.log: cannot write: no such directory\n");

  const p = await tmpFile(new Uint8Array(4096));
  const initrd = await Deno.readFile(DEFAULT_INITRD);
  const cut = await tmpFile(initrd.subarray(0, initrd.length >> 1));
  try {
    for (
      const [args, re] of [
        [["--kernel", p], /^ring3: kernel .*: kernel image is not a Linux bzImage/],
        [["--initrd", cut], /^ring3: initrd .*: truncated or corrupt gzip file$/m],
        [["--bios", DEFAULT_INITRD], /^ring3: BIOS .*: \d+ bytes; a ROM image is 4 KiB\.\.1 MiB in 4 KiB units$/m],
      ] as [string[], RegExp][]
    ) {
      const bad = await cli(...args);
      assert.equal(bad.code, 1, args.join(" "));
      assert.equal(bad.stdout, "");
      assert.equal(bad.stderr.split("\n").length, 2, bad.stderr);
      assert.match(bad.stderr, re);
      assert.ok(!/\bat \S+:\d+/.test(bad.stderr), "no stack trace");
    }
  } finally {
    await Deno.remove(p);
    await Deno.remove(cut);
  }
});

async function fakeBoot(stdin: string, ...args: (string | Record<string, string>)[]) {
  const env = args.find((a) => typeof a !== "string") as Record<string, string> | undefined;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./fake_machine.ts", import.meta.url).pathname,
      ...args.filter((a) => typeof a === "string"),
    ],
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin));
  await w.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("piped stdin: held until the shell's prompt, console on stdout, exit 0 on power-off", async () => {
  const r = await fakeBoot("uname -a\npoweroff -f\n", "--smp", "2", "--mem", "64");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.equal(
    r.stdout,
    "Linux version fake boot=1 smp=2 mem=64 HdrS\nring3: shell ready\n/ # > uname -a\n> poweroff -f\n",
  );
});

Deno.test("piped stdin: a shell without a recognizable prompt gets it a few seconds after the marker", async () => {
  const r = await fakeBoot("uname -a\npoweroff -f\n", "--mem", "64", "--timing", { FAKE_PROMPT: "none" });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    "Linux version fake boot=1 smp=1 mem=64 HdrS\nring3: shell ready\n> uname -a\n> poweroff -f\n",
  );
});

Deno.test("piped stdin goes in at once for an initrd whose init does not announce a shell", async () => {
  const p = await tmpFile(new TextEncoder().encode("070701" + "0".repeat(200)));
  try {
    const r = await fakeBoot("poweroff\n", "--mem", "64", "--initrd", p);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Linux version fake boot=1 [^\n]*\nEARLY INPUT\n> poweroff\n$/);
  } finally {
    await Deno.remove(p);
  }
});

Deno.test("--timing reports first output and the shell marker", async () => {
  const r = await fakeBoot("poweroff\n", "--timing", "--mem", "64");
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0], /^ring3: first kernel output after \d+\.\d\d s$/);
  assert.match(lines[1], /^ring3: 'ring3: shell ready' after \d+\.\d\d s$/);
  assert.ok(Number(lines[1].match(/([\d.]+) s$/)![1]) >= 0.25);
});

Deno.test("--icount-at reports every vCPU's retired instructions after each matching line", async () => {
  const r = await fakeBoot("START x\npoweroff\n", "--icount-at", "/ # > START", "--smp", "2", "--mem", "64");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "ring3: icount 2001 after '/ # > START x'\n"); // (1000 + 0) + (1000 + 1)
  assert.match(r.stdout, /\n\/ # > START x\n> poweroff\n$/); // the console itself is unchanged
});

Deno.test("guest reset: reboots, or exits with --no-reboot", async () => {
  const again = await fakeBoot("reboot\npoweroff\n", "--mem", "64");
  assert.equal(again.code, 0, again.stderr);
  assert.match(
    again.stdout,
    /fake boot=1 .*\n\/ # > reboot\nLinux version fake boot=2 [^\n]*HdrS\nring3: shell ready\n$/s,
  );

  const once = await fakeBoot("reboot\npoweroff\n", "--mem", "64", "--no-reboot");
  assert.equal(once.code, 0);
  assert.equal(once.stderr, "ring3: guest reset (keyboard controller), --no-reboot\n");
  assert.ok(!once.stdout.includes("boot=2"));
});

const hasScript = (() => {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "terminal: Ctrl-A h lists the keys, Ctrl-A x quits with status 0 (pty via script(1))",
  ignore: !hasScript,
  async fn() {
    const fake = new URL("./fake_machine.ts", import.meta.url).pathname;
    const child = new Deno.Command("script", {
      args: ["-qec", `${Deno.execPath()} run -A ${fake} --mem 64`, "/dev/null"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const dec = new TextDecoder();
    let out = "";
    const reader = child.stdout.getReader();
    const waitFor = async (text: string) => {
      while (!out.includes(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        out += dec.decode(value);
      }
    };
    const w = child.stdin.getWriter();
    await waitFor("ring3: shell ready");
    await w.write(new Uint8Array([1, 0x68])); // C-a h
    await waitFor("C-a C-a");
    await w.write(new Uint8Array([1, 0x78])); // C-a x
    await waitFor("ring3: quit");
    await w.close().catch(() => {});
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += dec.decode(value);
    }
    const st = await child.status;
    assert.equal(st.code, 0, out);
    assert.match(out, /C-a x +quit ring3/);
    assert.match(out, /ring3: quit/);
  },
});
