// Builds core-as into build/core.wasm: regenerate the dispatch table, then compile with
// AssemblyScript for a shared, imported memory. Which core is used, in this order:
//   1. build/core.wasm when it was built from the current sources (build/core.wasm.sources holds
//      their hash: every core-as source, the compiler's version and its flags);
//   2. the committed core, core-as/prebuilt/core.wasm, when it was built from the same sources
//      (core-as/prebuilt/SOURCES): a fresh clone boots without compiling (ARCHITECTURE.md, "The
//      core's build");
//   3. else a build, which takes 1-4 minutes and prints its progress on stderr.
// Flags: --force (build whatever the hashes say), --debug (-O0 with a .wat, never cached),
// --prebuilt (also copy the result into core-as/prebuilt/ to be committed), --check-prebuilt
// (CI: build from scratch and fail unless the committed core is byte for byte that build).
// Every build makes two cores from the same sources: core.wasm with WebAssembly SIMD (the XMM/MMX
// registers as v128 values) and core-nosimd.wasm without it, for wasm engines that lack SIMD (V8
// on ia32 without SSE4.1: Node inside a ring3 guest). runtime/vcpu/core.ts picks one at start-up.
const ASC_VERSION = "0.28.20";
const here = new URL("./", import.meta.url);
const buildDir = new URL("../build/", here);
const out = new URL("core.wasm", buildDir);
const outSources = new URL("core.wasm.sources", buildDir);
const prebuilt = new URL("prebuilt/core.wasm", here);
// the scalar core beside each (same sources, same hash)
const NOSIMD = "core-nosimd.wasm";
const sibling = (u: URL) => new URL(NOSIMD, u);
const prebuiltSources = new URL("prebuilt/SOURCES", here);

const OPT = ["-O3", "--converge"];
const ascArgs = (file: string, debug: boolean, simd: boolean) => [
  new URL("index.ts", here).pathname,
  "--outFile",
  file,
  "--runtime",
  "stub",
  "--importMemory",
  "--importTable",
  "--sharedMemory",
  "--initialMemory",
  "256",
  "--maximumMemory",
  "65536",
  "--enable",
  ...(simd ? ["threads,simd"] : ["threads", "--disable", "simd"]), // simd: XMM/MMX as v128 (core-as/sse/)
  "--noAssert",
  ...(debug
    ? ["--debug", "-O0", "--textFile", new URL(simd ? "core.wat" : "core-nosimd.wat", buildDir).pathname]
    : OPT),
];

// ---- in the worker: the compiler itself (it blocks its thread for a minute or more) ------------
interface Job {
  args: string[];
}
interface JobDone {
  ready?: boolean; // the worker is listening (a message posted before that would be lost)
  error?: string;
}
// sha256 over every core-as source (not the generated table, which comes from them), the
// compiler's version and the optimization flags
async function sourcesHash(): Promise<string> {
  const files: string[] = [];
  const walk = (dir: URL, rel: string) => {
    for (const e of Deno.readDirSync(dir)) {
      if (e.isDirectory) {
        if (e.name !== "generated" && e.name !== "prebuilt") walk(new URL(e.name + "/", dir), rel + e.name + "/");
      } else if (e.name.endsWith(".ts") && !(rel === "" && e.name === "build.ts")) files.push(rel + e.name);
    }
  };
  walk(here, "");
  files.sort();
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [enc.encode(`asc ${ASC_VERSION} ${OPT.join(" ")}\n`)];
  for (const f of files) {
    parts.push(enc.encode(`${f}\n`), Deno.readFileSync(new URL(f, here)));
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) all.set(p, o), o += p.length;
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return [...d].map((x) => x.toString(16).padStart(2, "0")).join("");
}

const readText = (u: URL) => {
  try {
    return Deno.readTextFileSync(u).trim();
  } catch {
    return "";
  }
};
const exists = (u: URL) => {
  try {
    Deno.statSync(u);
    return true;
  } catch {
    return false;
  }
};

// Compile in a worker while this thread reports the elapsed time: on a terminal one line that
// counts up, otherwise a line every 15 s (a first build used to sit silent for minutes).
async function compile(file: string, noSimd: string, debug: boolean, why: string): Promise<void> {
  // both cores at once, each in its own worker (the machine's two cores)
  await Promise.all([compileOne(file, debug, why, true), compileOne(noSimd, debug, why + "; without SIMD", false)]);
}
async function compileOne(file: string, debug: boolean, why: string, simd: boolean): Promise<void> {
  await import("./gen/gen.ts"); // the dispatch switch, from the opcode table
  const t0 = performance.now();
  const secs = () => Math.round((performance.now() - t0) / 1000);
  const tty = Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  const say = (s: string) => Deno.stderr.writeSync(enc.encode(s));
  say(
    `core-as: compiling the CPU core (${why}; AssemblyScript ${debug ? "-O0" : OPT.join(" ")}, 1-4 min)${
      tty ? "" : "\n"
    }`,
  );
  let next = 15;
  const tick = setInterval(() => {
    if (!simd) return; // one progress line for the two builds
    if (tty) say(`\rcore-as: compiling the CPU core (${why}) ... ${secs()} s `);
    else if (secs() >= next) say(`core-as: still compiling ... ${secs()} s\n`), next = secs() + 15;
  }, 1000);
  const w = new Worker(import.meta.url, { type: "module", name: "ring3-asc" });
  const done = await new Promise<JobDone>((resolve) => {
    w.onmessage = (e: MessageEvent<JobDone>) => {
      if (e.data.ready) w.postMessage({ args: ascArgs(file, debug, simd) } satisfies Job);
      else resolve(e.data);
    };
    w.onerror = (e) => {
      e.preventDefault();
      resolve({ error: e.message });
    };
  });
  clearInterval(tick);
  w.terminate();
  if (tty) say("\n");
  if (done.error) {
    console.error(done.error);
    console.error("core-as build failed");
    Deno.exit(1);
  }
  console.error(`core-as: built ${file} in ${secs()} s`);
}

async function main(): Promise<void> {
  const args = Deno.args;
  const debug = args.includes("--debug");
  Deno.mkdirSync(buildDir, { recursive: true });
  const hash = await sourcesHash();

  if (args.includes("--check-prebuilt")) {
    // CI: the committed core must be what these sources compile to
    if (readText(prebuiltSources) !== hash) {
      console.error(
        "core-as: core-as/prebuilt/core.wasm was not built from these sources: run `deno task build --prebuilt` and commit core-as/prebuilt/",
      );
      Deno.exit(1);
    }
    const tmp = new URL("core.check.wasm", buildDir).pathname;
    const tmpNo = new URL("core-nosimd.check.wasm", buildDir).pathname;
    await compile(tmp, tmpNo, false, "checking the committed cores");
    for (const [t, p] of [[tmp, prebuilt], [tmpNo, sibling(prebuilt)]] as const) {
      const a = Deno.readFileSync(t);
      let b = new Uint8Array();
      try {
        b = Deno.readFileSync(p);
      } catch { /* missing: differs */ }
      Deno.removeSync(t);
      if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
        console.error(`core-as: ${p.pathname} differs from a fresh build of its sources`);
        Deno.exit(1);
      }
    }
    console.error("core-as: core-as/prebuilt/core.wasm and core-nosimd.wasm match their sources");
    return;
  }

  if (debug) {
    try {
      Deno.removeSync(outSources); // a debug core is never taken for an up-to-date one
    } catch { /* none */ }
    await compile(out.pathname, sibling(out).pathname, true, "debug build");
    return;
  }
  const force = args.includes("--force");
  if (!force && exists(out) && exists(sibling(out)) && readText(outSources) === hash) {
    // up to date
  } else if (!force && exists(prebuilt) && exists(sibling(prebuilt)) && readText(prebuiltSources) === hash) {
    Deno.copyFileSync(prebuilt, out);
    Deno.copyFileSync(sibling(prebuilt), sibling(out));
    Deno.writeTextFileSync(outSources, hash + "\n");
    console.error("core-as: using the committed core (core-as/prebuilt/core.wasm, built from these sources)");
  } else {
    const why = exists(out) ? "core-as changed" : "first build";
    try {
      Deno.removeSync(outSources);
    } catch { /* none */ }
    await compile(out.pathname, sibling(out).pathname, false, why);
    Deno.writeTextFileSync(outSources, hash + "\n");
  }
  if (args.includes("--prebuilt")) {
    Deno.mkdirSync(new URL("prebuilt/", here), { recursive: true });
    Deno.copyFileSync(out, prebuilt);
    Deno.copyFileSync(sibling(out), sibling(prebuilt));
    Deno.writeTextFileSync(prebuiltSources, hash + "\n");
    console.error(
      "core-as: copied build/core.wasm and core-nosimd.wasm to core-as/prebuilt/ (commit them and SOURCES)",
    );
  }
}

// (last: main() uses everything above)
if ((self as unknown as { name?: string }).name === "ring3-asc") {
  const scope = self as unknown as { onmessage: (e: MessageEvent<Job>) => void; postMessage(m: JobDone): void };
  // loaded here only: a boot with an up-to-date or committed core never loads the compiler
  // deno-lint-ignore no-import-prefix -- the compiler's exact version is pinned here, where the build runs it
  const { default: asc } = await import("npm:assemblyscript@0.28.20/asc");
  scope.onmessage = async (e) => {
    const { error, stderr } = await asc.main(e.data.args, {});
    scope.postMessage(error ? { error: `${stderr.toString()}\n${error.message}` } : {});
  };
  scope.postMessage({ ready: true });
} else {
  await main();
}
