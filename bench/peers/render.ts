// Re-renders latest.md, latest.svg and the README section from a race's latest.json (after a
// change to the report's layout; no emulator runs).  deno run -A bench/peers/render.ts [DIR]
import { RESULTS_DIR, writeResults } from "./output.ts";
import type { Results } from "./report.ts";

const dir = Deno.args[0] ?? RESULTS_DIR;
const r = JSON.parse(await Deno.readTextFile(`${dir}/latest.json`)) as Results;
console.log(await writeResults(r, dir, true));
