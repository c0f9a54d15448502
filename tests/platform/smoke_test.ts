// The smoke suite (smoke.ts) on Deno from the sources and on Node from the bundle. The Node half
// bundles ring3 into a temporary folder (cli/bundle.ts, as `deno task bundle` does) and runs
// when `node` is on PATH (.ci/run installs Debian's nodejs); without it, it says so and skips.
import { denoRuntime, nodeRuntime, smokeBoot, smokeNicPair } from "./smoke.ts";
import { haveGuest } from "../net/nic_pair.ts";
import { bundle } from "../../cli/bundle.ts";

function findNode(): string | null {
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

for (const name of ["deno", "node"] as const) {
  const ignore = !guest || (name === "node" && !node);
  const rt = async () => name === "deno" ? denoRuntime : nodeRuntime(node!, await bundled());
  Deno.test({
    name: `smoke (${name}): the default guest boots to its shell with --smp 2 and runs a command`,
    ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const f = await smokeBoot(await rt());
      console.log(`  ${name}: shell after ${(f.shellMs / 1000).toFixed(1)} s`);
    },
  });
  Deno.test({
    name: `smoke (${name}): two guests on a switch ping each other`,
    ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => await smokeNicPair(await rt()),
  });
}
