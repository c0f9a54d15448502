// The whole path a user takes: `deno task boot` (cli/boot.ts) loads the committed guest with the
// bzImage loader into the machine, the kernel boots to the guest's init, which powers off, and
// the command exits 0. Skipped until runtime/machine.ts exists.
import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url);
const haveMachine = (() => {
  try {
    return Deno.statSync(new URL("runtime/machine.ts", root)).isFile;
  } catch {
    return false;
  }
})();

async function boot(stdin: string, ...args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("cli/boot.ts", root).pathname, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin));
  await w.close();
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test({
  name: "deno task boot: the default guest boots, runs piped commands and powers off (exit 0)",
  ignore: !haveMachine,
  async fn() {
    const r = await boot("uname -m; echo $((6*7)); poweroff -f\n", "--timing");
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(-3000));
    assert.match(r.stdout, /Linux version 6\.1\.\d+ \(ring3@ring3\)/);
    assert.match(r.stdout, /Kernel command line: console=ttyS0\r?\n/);
    assert.match(r.stdout, /ring3: shell ready/);
    assert.match(r.stdout, /\ni686\r?\n42\r?\n/);
    assert.match(r.stderr, /^ring3: first kernel output after [\d.]+ s\nring3: 'ring3: userspace up' after [\d.]+ s\n/);
    assert.match(r.stderr, /'ring3: shell ready' after/);
  },
});
