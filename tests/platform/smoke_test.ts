// The smoke suite (cli/smoke.ts, the program `deno task smoke` runs and the bundle carries as
// smoke.mjs) on Deno from the sources and on Node from the bundle: each check (the default guest
// on --smp 2 runs a command; two guests on a switch ping each other) once per runtime, judged on
// the lines the program prints and its exit status. The Node half bundles ring3 into a temporary
// folder (cli/bundle.ts, as `deno task bundle` does) and runs when `node` is on PATH (.ci/run
// installs Debian's nodejs); without it, it says so and skips.
import assert from "node:assert/strict";
import { haveGuest } from "../net/nic_pair.ts";
import { bundle } from "../../cli/bundle.ts";

// RING3_TEST_NODE=PATH picks another node (e.g. Debian 12's Node 18, unpacked from its .debs)
function findNode(): string | null {
  const given = Deno.env.get("RING3_TEST_NODE");
  if (given) return given;
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      if (Deno.statSync(`${dir}/node`).isFile) return `${dir}/node`;
    } catch { /* next */ }
  }
  return null;
}

const node = findNode();
const guest = haveGuest();
if (!node) {
  console.log("tests/platform/smoke_test.ts: node is not on PATH: the Node half is skipped (apt-get install nodejs)");
}

let dist: Promise<string> | null = null;
function bundled(): Promise<string> {
  dist ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "ring3-dist-" });
    await bundle(dir);
    addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    return dir;
  })();
  return dist;
}

const SMOKE = new URL("../../cli/smoke.ts", import.meta.url).pathname;

for (const name of ["deno", "node"] as const) {
  const ignore = !guest || (name === "node" && !node);
  const argv = async () =>
    name === "deno" ? [Deno.execPath(), "run", "-A", SMOKE] : [node!, `${await bundled()}/smoke.mjs`];
  for (const check of ["boot", "nic"] as const) {
    Deno.test({
      name: `smoke (${name}): ${
        check === "boot"
          ? "the default guest boots to its shell with --smp 2 and runs a command"
          : "two guests on a switch ping each other"
      }`,
      ignore,
      sanitizeResources: false,
      sanitizeOps: false,
      async fn() {
        const [cmd, ...args] = await argv();
        const r = await new Deno.Command(cmd, { args: [...args, "--only", check], stdout: "piped", stderr: "piped" })
          .output();
        const out = new TextDecoder().decode(r.stdout), err = new TextDecoder().decode(r.stderr);
        const ctx = `${out}\n--- stderr ---\n${err.slice(-2000)}`;
        assert.match(out, new RegExp(`^SMOKE ${check} PASS`, "m"), ctx);
        assert.match(out, /^SMOKE passed 1 of 1$/m, ctx);
        assert.equal(r.code, 0, ctx);
        console.log(`  ${name}: ${out.match(new RegExp(`^SMOKE ${check} PASS (.*)$`, "m"))![1]}`);
      },
    });
  }
}
