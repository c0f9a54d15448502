// Exit statuses a harness can trust, each from the real command on a tiny firmware ROM (--bios)
// or the default guest: a guest write to the isa-debug-exit port (--exit-port) picks the status,
// a pvpanic report is 3 (--on-panic exit, the default) or a reboot, a triple fault under
// --no-reboot is 4, a guest that halts before printing anything is a failure (1), one that
// printed and halted is 0. And a real Linux panic ends ring3 at once with 3 and its panic line.
import assert from "node:assert/strict";
import { HAVE_NASM, nasm } from "../lib/tools.ts";
import { runBootCli } from "../lib/cli_run.ts";

// a 4 KiB ROM: `body` (16-bit real mode) at its start, the reset vector jumping to it
async function rom(body: string): Promise<string> {
  const image = await nasm(`bits 16
org 0xf000
start:
${body}
zidt: dw 0
  dd 0
times 0xff0 - ($ - $$) db 0
  jmp near start
times 0x1000 - ($ - $$) db 0
`);
  const path = await Deno.makeTempFile({ prefix: "ring3-exit-", suffix: ".rom" });
  await Deno.writeFile(path, image);
  return path;
}

const PRINT = `  mov dx, 0x3f8
  mov al, 'k'
  out dx, al
  mov al, 10
  out dx, al
`;

async function run(body: string, ...args: string[]) {
  const path = await rom(body);
  try {
    return await runBootCli(["--bios", path, ...args], "", 60_000);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test({
  name: "exit status: debug-exit port, pvpanic, triple fault, silent and printing halts",
  ignore: !HAVE_NASM,
  async fn(t) {
    await t.step("--exit-port: a guest write of V exits with (V << 1) | 1", async () => {
      const body = "  mov dx, 0x501\n  mov al, 5\n  out dx, al\n  cli\n  hlt\n";
      const r = await run(body, "--exit-port", "0x501");
      assert.equal(r.code, 11, r.stderr);
      assert.match(r.stderr, /exit port: exit status 11/);
      // without the flag the port is open bus: the ROM halts silently, a boot failure
      const none = await run(body);
      assert.equal(none.code, 1, none.stderr);
    });
    await t.step("pvpanic (ISA port 0x505): status 3, or a reboot with --on-panic reboot", async () => {
      const body = PRINT + "  mov dx, 0x505\n  in al, dx\n  add al, '0'\n  mov dx, 0x3f8\n  out dx, al\n" +
        "  mov dx, 0x505\n  mov al, 1\n  out dx, al\n  cli\n  hlt\n";
      const r = await run(body);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stdout, /k\n3/, "the port reads the events it knows: PANICKED | CRASH_LOADED");
      assert.match(r.stderr, /guest panicked/);
      const path = await rom(body);
      try {
        // reboot: the ROM panics again on every boot; two reboots are enough to see it loop
        const child = new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            new URL("../../cli/boot.ts", import.meta.url).pathname,
            "--bios",
            path,
            "--on-panic",
            "reboot",
          ],
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const dec = new TextDecoder();
        let err = "";
        const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
        for await (const chunk of child.stderr) {
          err += dec.decode(chunk);
          if ((err.match(/rebooting/g) ?? []).length >= 2) break;
        }
        child.kill("SIGKILL");
        clearTimeout(timer);
        await child.stdout.cancel();
        await child.status;
        assert.equal((err.match(/guest panicked.*--on-panic reboot/g) ?? []).length >= 2, true, err);
      } finally {
        await Deno.remove(path);
      }
    });
    await t.step("triple fault: status 4 with --no-reboot", async () => {
      const r = await run(PRINT + "  lidt [cs:zidt]\n  int3\n  cli\n  hlt\n", "--no-reboot");
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stderr, /triple fault/);
    });
    await t.step("a halt before any output is a failure; after output it is 0", async () => {
      const silent = await run("  cli\n  hlt\n");
      assert.equal(silent.code, 1, silent.stderr);
      assert.match(silent.stderr, /halted before printing anything/);
      const said = await run(PRINT + "  cli\n  hlt\n");
      assert.equal(said.code, 0, said.stderr);
      assert.equal(said.stdout, "k\n");
    });
    await t.step("bad values are usage errors", async () => {
      const a = await runBootCli(["--on-panic", "explode"], "", 30_000);
      assert.equal(a.code, 2);
      assert.match(a.stderr, /--on-panic must be exit, reboot or pause/);
      const b = await runBootCli(["--exit-port", "0x10000"], "", 30_000);
      assert.equal(b.code, 2);
      assert.match(b.stderr, /--exit-port must be an I\/O port/);
    });
  },
});

Deno.test({
  name: "exit status: a Linux panic (pvpanic-pci in the default kernel) ends ring3 at once with 3 and the panic line",
  async fn() {
    const r = await runBootCli(["--append", "console=ttyS0 rdinit=/nope init=/nope"], "", 180_000);
    assert.equal(r.code, 3, r.stderr + r.stdout.slice(-2000));
    assert.match(r.stderr, /guest panicked: Kernel panic - not syncing: \S/); // (no init, no root file system)
  },
});
