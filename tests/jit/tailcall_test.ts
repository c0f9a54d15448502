// The block compiler on a WebAssembly without tail calls (runtime/jit/tailcall.ts). Debian 12's
// nodejs 18 (V8 10.2), which runs ring3 inside a ring3 guest, rejects return_call unless told
// --experimental-wasm-return-call: every module with a region's entry stubs or a chain to the next
// block failed to compile there ("Invalid opcode 0x13"), and that code stayed with the interpreter.
// A V8 that has tail calls (Node 20) can be switched to lack them (--no-experimental-wasm-
// return-call); Deno's V8 cannot, so there RING3_NO_TAILCALL=1 makes ring3 take the same path.
import assert from "node:assert/strict";
import { bundle } from "../../cli/bundle.ts";
import { hasTailCalls } from "../../runtime/jit/tailcall.ts";

const root = new URL("../../", import.meta.url).pathname;
const dec = new TextDecoder();

async function run(cmd: string, args: string[], env: Record<string, string>, stdin = "") {
  const child = new Deno.Command(cmd, { args, cwd: root, env, stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 600_000);
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin));
  await w.close();
  const out = await child.output();
  clearTimeout(timer);
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

// a node whose V8 has tail calls on by default and can switch them off
async function nodeWithFlag(): Promise<string | null> {
  const node = Deno.env.get("RING3_TEST_NODE") ?? "node";
  try {
    const r = await run(node, ["--v8-options"], {});
    return /--experimental-wasm-return-call \(.*\n\s+type: bool\s+default: --experimental-wasm-return-call/.test(
        r.stdout,
      )
      ? node
      : null;
  } catch {
    return null;
  }
}
const node = await nodeWithFlag();
if (!node) {
  console.log("tests/jit/tailcall_test.ts: no node with --no-experimental-wasm-return-call: its test is skipped");
}

Deno.test("this host's wasm has tail calls, and RING3_NO_TAILCALL=1 says it has none", async () => {
  assert.equal(hasTailCalls(), Deno.env.get("RING3_NO_TAILCALL") !== "1");
  const r = await run(Deno.execPath(), [
    "eval",
    `import { hasTailCalls } from "./runtime/jit/tailcall.ts"; console.log(hasTailCalls())`,
  ], { RING3_NO_TAILCALL: "1" });
  assert.equal(r.stdout.trim(), "false", r.stderr);
});

Deno.test({
  name: "without tail calls the tier fuzzer, regions and links match the interpreter (RING3_NO_TAILCALL=1)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const files = ["tests/jit/tiers_test.ts", "tests/jit/region_test.ts", "tests/jit/link_test.ts"];
    const r = await run(Deno.execPath(), ["test", "-A", ...files], {
      ...Deno.env.toObject(),
      RING3_NO_TAILCALL: "1",
      RING3_JIT_STRICT: "1",
      NO_COLOR: "1",
    });
    const tail = (r.stdout + r.stderr).split("\n").slice(-40).join("\n");
    assert.equal(r.code, 0, tail);
    assert.match(r.stdout, /ok \| [1-9]\d* passed/);
  },
});

Deno.test({
  name: "node without wasm tail calls boots the bundled default guest with every block compiled",
  ignore: !node,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ring3-dist-" });
    try {
      await bundle(dir);
      // RING3_JIT_STRICT=1: a module the engine rejects is an error, not a fallback
      const r = await run(
        node!,
        ["--no-experimental-wasm-return-call", `${dir}/boot.mjs`, "--smp", "2"],
        { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", RING3_JIT_STRICT: "1" },
        "echo NOTAIL-$((6*7))\npoweroff -f\n",
      );
      assert.doesNotMatch(r.stdout + r.stderr, /block compiler failed|CompileError/, r.stderr.slice(-2000));
      assert.match(r.stdout, /^NOTAIL-42\r?$/m, r.stdout.slice(-2000));
      assert.equal(r.code, 0, r.stderr.slice(-2000));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
