// The differential suites (tests/diff: instruction semantics against this host's CPU;
// tests/system: bare-metal system behaviour) once more with the block compiler compiling every
// block at its first visit. The suites read RING3_JIT when they create a machine, so they run
// in a child process with it set. Every compiled block is traced; their count shows that the
// suites' code really went through the compiler, so the test cannot pass with the JIT idle.
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;

// A full run compiles about 4300 blocks (measured: 4310); far fewer means the JIT stopped being
// used for most of the suites' code.
const MIN_BLOCKS = 2000;

Deno.test("jit: tests/diff and tests/system pass with every block compiled (RING3_JIT=1)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--parallel", "tests/diff", "tests/system"],
    cwd: ROOT,
    // (regions on: the new compiler path under the big suites; blocks alone are the default)
    env: { RING3_JIT: "1", RING3_JIT_REGIONS: "1", RING3_JIT_TRACE: "1", RING3_JIT_STRICT: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const lines = text.split("\n");
  // deno test shows a test's stderr inside its output section: the trace lines are in there
  // (with regions, a compile also takes the other units of its region: blocks compiled too)
  const units = lines.map((l) => /^jit: region [0-9a-f]+: (.*)$/.exec(l)?.[1].split(" ").length ?? 1)
    .reduce((a, n) => a + n - 1, 0);
  const blocks = lines.filter((l) => /^jit: block [0-9a-f]+ \d+ insns, \d+ inline$/.test(l)).length + units;
  const failed = lines.filter((l) => / \.\.\. FAILED\b/.test(l));
  const summary = lines.filter((l) => /^(ok|FAILED) \| /.test(l)).join(" ");
  // the suites' own reports (which instruction, which inputs) are in deno's ERRORS section
  const e = lines.findIndex((l) => l.trim() === "ERRORS");
  const f = lines.findIndex((l, i) => i > e && l.trim() === "FAILURES");
  const errors = e < 0 ? "" : lines.slice(e + 1, f < 0 ? undefined : f).filter((l) => !/^\s+at /.test(l)).join("\n");
  assert.ok(
    out.success,
    `the suites failed with the JIT on (${summary}):\n${failed.slice(0, 60).join("\n")}\n${errors.slice(0, 8000)}`,
  );
  assert.ok(blocks > MIN_BLOCKS, `only ${blocks} blocks were compiled (${summary})`);
});
