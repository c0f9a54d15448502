// The core and block compiler without WebAssembly SIMD (runtime/vcpu/simd.ts): V8 on ia32 enables
// wasm SIMD only with SSE4.1, which ring3's Core Duo lacks, so Node inside a ring3 guest has none.
// V8 on x64 behaves the same with SSE4.1 switched off (--no-enable-sse4-1): these tests run the
// SSE instruction tests, the tier fuzzer's streams and a Linux boot in child processes on such a
// V8, where the SIMD core cannot even be validated and ring3 must pick build/core-nosimd.wasm.
import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url);
const NO_SIMD_V8 = "--v8-flags=--no-enable-sse4-1";

async function run(args: string[], stdin = "", timeoutMs = 2_400_000) {
  const env = { ...Deno.env.toObject() };
  delete env.RING3_NO_SIMD; // the engine itself must lack SIMD, not be told to pretend
  env.NO_COLOR = "1"; // plain "ok | N passed" summaries to match
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: root.pathname,
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin));
  await w.close();
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("without SSE4.1 V8 has no wasm SIMD: the SIMD core is invalid there, the scalar core is chosen and valid", async () => {
  const r = await run([
    "eval",
    NO_SIMD_V8,
    `import { hasSimd } from "./runtime/vcpu/simd.ts";
     const v = (f) => WebAssembly.validate(Deno.readFileSync("build/" + f));
     console.log(JSON.stringify({ simd: hasSimd(), core: v("core.wasm"), scalar: v("core-nosimd.wasm") }));`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { simd: false, core: false, scalar: true });
  // and the scalar core has no v128 at all: it is valid on a V8 whose SIMD is on, too
  const here = await run(["eval", `console.log(WebAssembly.validate(Deno.readFileSync("build/core-nosimd.wasm")))`]);
  assert.equal(here.stdout.trim(), "true");
});

Deno.test({
  name: "the SSE instruction tests and the tier fuzzer pass on the scalar core and block compiler",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const files = [
      "tests/diff/sse_int_test.ts",
      "tests/diff/sse_mov_test.ts",
      "tests/diff/sse_state_test.ts",
      "tests/diff/ssefp_test.ts",
      "tests/jit/tiers_test.ts",
      "tests/jit/sse_inline_test.ts",
    ];
    const r = await run(["test", "-A", NO_SIMD_V8, ...files]);
    const tail = (r.stdout + r.stderr).split("\n").slice(-60).join("\n");
    assert.equal(r.code, 0, tail);
    assert.match(r.stdout, /ok \| [1-9]\d* passed/);
    assert.doesNotMatch(r.stdout, /\| [1-9]\d* failed/);
  },
});

Deno.test({
  name: "the default Linux guest boots on the scalar core to its shell and runs a command",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await run(
      ["run", "-A", NO_SIMD_V8, "cli/boot.ts"],
      "echo SCALAR-$((6*7)); grep -c -w sse2 /proc/cpuinfo\npoweroff -f\n",
      400_000,
    );
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.match(r.stdout, /^SCALAR-42\r?$/m);
    assert.match(r.stdout, /^1\r?$/m); // the guest still sees SSE2
  },
});
