// `deno task bundle`: build/dist/, a copy of ring3 that Node (>= 18) runs with no npm install:
// one JavaScript module per entry point (`deno bundle`, esbuild: every import inlined, Node's
// built-in modules left as imports), the CPU core and the default guest beside them. The
// sources find those files through runtime/platform/mod.ts (`asset`, `newWorker`), which knows
// it runs from the bundle when its own URL is not a .ts file.
//
//   node build/dist/boot.mjs [boot flags]      deno task boot
//   node build/dist/switch.mjs [switch flags]  deno task switch
//   node build/dist/ctl.mjs PATH COMMAND       deno task ctl
import { host, isMain } from "../runtime/platform/mod.ts";

const ROOT = new URL("../", import.meta.url);
const at = (p: string) => new URL(p, ROOT).pathname;

// entry point -> module in build/dist (workers: the names runtime/ gives newWorker())
export const ENTRIES: Record<string, string> = {
  boot: "cli/boot.ts",
  switch: "net/main.ts",
  ctl: "cli/ctl.ts",
  smoke: "cli/smoke.ts",
  vcpu_worker: "runtime/vcpu/worker.ts",
  compile_worker: "runtime/jit/compile_worker.ts",
};

async function run(cmd: string, args: string[]): Promise<void> {
  const r = await new host.Command(cmd, { args, stdout: "inherit", stderr: "inherit" }).output();
  if (!r.success) throw new Error(`${cmd} ${args.join(" ")}: exit status ${r.code}`);
}

export async function bundle(out = at("build/dist/")): Promise<void> {
  const dir = out.endsWith("/") ? out : out + "/";
  host.mkdirSync(`${dir}guest`, { recursive: true });
  for (const [name, src] of Object.entries(ENTRIES)) {
    await run(host.execPath(), [
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "--format",
      "esm",
      "-o",
      `${dir}${name}.mjs`,
      at(src),
    ]);
  }
  // the core: the one deno task build made (build/core.wasm), else the committed one
  let core: Uint8Array;
  try {
    core = await host.readFile(at("build/core.wasm"));
  } catch {
    core = await host.readFile(at("core-as/prebuilt/core.wasm"));
  }
  await host.writeFile(`${dir}core.wasm`, core);
  // the core without WebAssembly SIMD, for a V8 without it (Node on ia32 without SSE4.1)
  let scalar: Uint8Array;
  try {
    scalar = await host.readFile(at("build/core-nosimd.wasm"));
  } catch {
    scalar = await host.readFile(at("core-as/prebuilt/core-nosimd.wasm"));
  }
  await host.writeFile(`${dir}core-nosimd.wasm`, scalar);
  for (const f of ["bzImage", "initramfs.cpio.gz"]) {
    await host.writeFile(`${dir}guest/${f}`, await host.readFile(at(`guest/images/${f}`)));
  }
  console.log(
    `ring3: bundle in ${dir}: ${
      Object.keys(ENTRIES).map((n) => `${n}.mjs`).join(" ")
    }, core.wasm, core-nosimd.wasm, guest/`,
  );
  console.log(`ring3: run it with: node ${dir}boot.mjs`);
}

if (isMain(import.meta)) await bundle(host.args[0]);
