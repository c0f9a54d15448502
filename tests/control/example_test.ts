// The embedding example (examples/embed.ts) runs as README shows it: boot, command, save, stop,
// restore, the guest's uptime going on, power-off.
import assert from "node:assert/strict";

Deno.test({
  name: "examples/embed.ts runs: boot, save, restore, the restored guest goes on",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const snap = `${dir}/embed.snap`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../../examples/embed.ts", import.meta.url).pathname, snap],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
    const o = await child.output();
    clearTimeout(timer);
    const out = new TextDecoder().decode(o.stdout);
    const err = new TextDecoder().decode(o.stderr);
    assert.equal(o.code, 0, out + err);
    const before = Number(/booted; guest uptime ([\d.]+) s/.exec(out)![1]);
    const after = Number(/restored in \d+ ms; guest uptime ([\d.]+) s/.exec(out)![1]);
    assert.ok(after >= before, out);
    assert.match(out, /saved \d+ bytes to /);
    const insns = Number(/vCPU 0 ran (\d+) instructions/.exec(out)![1]);
    assert.ok(insns > 1e7, "the count goes on from the saved guest's");
    assert.match(out, /event: \{"event":"poweroff"\}/);
    assert.match(out, /guest ended: poweroff/);
    assert.ok((await Deno.stat(snap)).size > 1 << 20);
    // nothing in the API needs cli/
    const graph = new TextDecoder().decode(
      (await new Deno.Command(Deno.execPath(), {
        args: ["info", "--json", new URL("../../mod.ts", import.meta.url).pathname],
        stdout: "piped",
      }).output()).stdout,
    );
    const files = (JSON.parse(graph).modules as { specifier: string }[]).map((m) => m.specifier);
    assert.ok(files.length > 10);
    assert.deepEqual(files.filter((f) => f.includes("/cli/")), []);
    await Deno.remove(dir, { recursive: true });
  },
});
