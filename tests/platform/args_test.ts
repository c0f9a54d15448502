// runtime/platform/args.ts against node:util's parseArgs: the same values for the same arguments,
// and the same error codes and messages (the CLI shortens those by code: cli/options.ts).
import assert from "node:assert/strict";
import { parseArgs as nodeParseArgs } from "node:util";
import { parseArgs } from "../../runtime/platform/args.ts";

const options = {
  kernel: { type: "string" },
  mem: { type: "string", short: "m" },
  net: { type: "string", multiple: true },
  "no-reboot": { type: "boolean" },
  timing: { type: "boolean", short: "t" },
  help: { type: "boolean", short: "h" },
  flag: { type: "boolean", multiple: true },
} as const;

const CASES: string[][] = [
  [],
  ["--kernel", "bz"],
  ["--kernel=bz"],
  ["--kernel="],
  ["--kernel", ""],
  ["--kernel", "a", "--kernel", "b"],
  ["-m", "256"],
  ["-m256"],
  ["--mem", "1G"],
  ["--mem=-1"],
  ["-m-1"],
  ["--net", "a", "--net=b", "--net", "c"],
  ["--no-reboot", "--timing", "-h"],
  ["-th"],
  ["-thm", "64"],
  ["-thm64"],
  ["--flag", "--flag"],
  ["-"],
  ["--bogus"],
  ["--bogus=1"],
  ["-x"],
  ["-tx"],
  ["stray"],
  ["--kernel", "bz", "stray"],
  ["--"],
  ["--", "x"],
  ["--kernel"],
  ["-m"],
  ["--kernel", "--mem"],
  ["--mem", "-h"],
  ["-m", "-5"],
  ["--help=yes"],
  ["--timing=1"],
  ["--no-reboot=1"],
  ["--constructor"],
  ["--__proto__"],
  ["-hx"],
  ["-mh"],
  ["-hm"],
  ["-hm", "32"],
  ["--mem", "-"],
  ["-m", "--"],
  ["--", "--kernel"],
  ["--kernel", "a=b"],
  ["---x"],
];

function run(f: typeof parseArgs, args: string[]): unknown {
  try {
    const r = f({ args, options, strict: true, allowPositionals: false });
    return { values: { ...r.values }, positionals: r.positionals };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return { code: err.code, message: err.message };
  }
}

Deno.test("parseArgs matches node:util's on ring3's kind of options", () => {
  for (const args of CASES) {
    assert.deepEqual(
      run(parseArgs, args),
      run(nodeParseArgs as unknown as typeof parseArgs, args),
      JSON.stringify(args),
    );
  }
});

Deno.test("parseArgs: defaults as node:util's", () => {
  const withDefaults = {
    only: { type: "string" },
    "boot-args": { type: "string", default: "" },
    timeout: { type: "string", default: "10" },
    verbose: { type: "boolean", default: false },
    help: { type: "boolean", short: "h" },
  } as const;
  for (const args of [[], ["--timeout", "3"], ["--boot-args=--smp 2", "-h"], ["--verbose"]]) {
    const mine = parseArgs({ args, options: withDefaults });
    const node = nodeParseArgs({ args, options: withDefaults });
    assert.deepEqual({ ...mine.values }, { ...node.values }, JSON.stringify(args));
  }
  const typed: string = parseArgs({ args: [], options: withDefaults }).values["boot-args"];
  assert.equal(typed, "");
});

Deno.test("parseArgs: positionals when allowed", () => {
  const r = parseArgs({ args: ["a", "--kernel", "k", "b", "--", "--c"], options, allowPositionals: true });
  assert.deepEqual(r.positionals, ["a", "b", "--c"]);
  assert.equal(r.values.kernel, "k");
});

Deno.test("parseArgs matches node:util's with positionals allowed", () => {
  for (const args of [["a", "--bogus"], ["-x", "b"], ["--kernel", "k", "p"], ["--", "-h"]]) {
    const go = (f: typeof parseArgs) => {
      try {
        const r = f({ args, options, strict: true, allowPositionals: true });
        return { values: { ...r.values }, positionals: r.positionals };
      } catch (e) {
        return { code: (e as { code?: string }).code, message: (e as Error).message };
      }
    };
    assert.deepEqual(go(parseArgs), go(nodeParseArgs as unknown as typeof parseArgs), JSON.stringify(args));
  }
});
