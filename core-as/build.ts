// Builds core-as into build/core.wasm: regenerate the dispatch table, then compile with
// AssemblyScript for a shared, imported memory. Skips work when nothing changed.
import asc from "npm:assemblyscript@0.28.20/asc";

const here = new URL("./", import.meta.url);
const out = new URL("../build/core.wasm", here);
const debug = Deno.args.includes("--debug");

await import("./gen/gen.ts");

function newest(dir: URL): number {
  let t = 0;
  for (const e of Deno.readDirSync(dir)) {
    const u = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
    if (e.isDirectory) t = Math.max(t, newest(u));
    else if (e.name.endsWith(".ts")) t = Math.max(t, Deno.statSync(u).mtime?.getTime() ?? 0);
  }
  return t;
}
let outTime = 0;
try { outTime = Deno.statSync(out).mtime?.getTime() ?? 0; } catch { /* not built */ }
if (!debug && !Deno.args.includes("--force") && outTime > newest(here)) Deno.exit(0);

Deno.mkdirSync(new URL("../build/", here), { recursive: true });
const args = [
  new URL("index.ts", here).pathname,
  "--outFile", out.pathname,
  "--runtime", "stub",
  "--importMemory", "--importTable", "--sharedMemory", "--initialMemory", "256", "--maximumMemory", "65536",
  "--enable", "threads,simd", // simd: the XMM/MMX registers are v128 values (core-as/sse/)
  "--noAssert",
  ...(debug ? ["--debug", "-O0", "--textFile", new URL("../build/core.wat", here).pathname] : ["-O3", "--converge"]),
];
const { error, stderr } = await asc.main(args, {});
if (error) {
  console.error(stderr.toString());
  console.error("core-as build failed: " + error.message);
  Deno.exit(1);
}
console.error(`core-as: built ${out.pathname}`);
