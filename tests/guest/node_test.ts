// Debian 12's i386 Node.js (nodejs 18 + libnode108, unpacked from the .debs by guest/node/fetch.sh
// into an overlay on the default initramfs) runs in ring3 on the default kernel: `node -e` with
// guest/node/check.js computes a loop, a SHA-256 through OpenSSL, and instantiates a WebAssembly
// module written byte by byte; the test recomputes every value here from the same inputs (a count
// and a word chosen at random per run). WebAssembly SIMD must be rejected: V8 on ia32 enables it
// only with SSE4.1, and ring3's CPU is a Core Duo (SSE3).
//
// Skipped, with the reason printed, when the packages cannot be fetched (no Debian mirror, no
// i386 architecture in dpkg, not a Debian host). The image is rebuilt only when it is older than
// guest/node/* or the default initramfs. One boot; under load it takes minutes.
// RING3_NODE_TIMEOUT=seconds bounds it (default 1800); RING3_NODE_CONSOLE=1 prints the console.
import { readProc } from "../lib/procfs.ts";
import assert from "node:assert/strict";
import { Machine } from "../../runtime/machine.ts";
import { bootBzImage, E820_RAM } from "../../runtime/boot/bzimage.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const NODE_DIR = ROOT + "guest/node/";
const KERNEL = ROOT + "guest/images/bzImage";
const BASE = ROOT + "guest/images/initramfs.cpio.gz";
const IMAGE = ROOT + "build/node-i386/initramfs-node.cpio.gz";
const TIMEOUT_S = Number(Deno.env.get("RING3_NODE_TIMEOUT") ?? 1800);

const mtime = (p: string) => {
  try {
    return Deno.statSync(p).mtime?.getTime() ?? 0;
  } catch {
    return 0;
  }
};

// build (or reuse) the image; a reason to skip, or null
async function prepare(): Promise<string | null> {
  const inputs = [BASE, NODE_DIR + "fetch.sh", NODE_DIR + "run.sh", NODE_DIR + "check.js"];
  const built = mtime(IMAGE);
  if (built > 0 && inputs.every((p) => mtime(p) <= built)) return null;
  let out;
  try {
    out = await new Deno.Command("bash", { args: [NODE_DIR + "fetch.sh"], stdout: "piped", stderr: "piped" })
      .output();
  } catch (e) {
    return `cannot run guest/node/fetch.sh: ${e}`;
  }
  const dec = new TextDecoder();
  const err = dec.decode(out.stderr).trim();
  if (out.code === 2) return `packages not available: ${err.split("\n").at(-1)}`;
  if (out.code === 1 && /not found|not enabled/.test(err)) return err;
  assert.equal(out.code, 0, `guest/node/fetch.sh failed:\n${dec.decode(out.stdout)}\n${err}`);
  return null;
}

const skip = await prepare();
if (skip) console.log(`node in ring3 skipped: ${skip}`);

// user + system CPU seconds of this process (all its threads)
function hostCpuS(): number {
  const f = readProc("/proc/self/stat").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

// what check.js prints, computed independently
async function expected(n: number, s: string) {
  let acc = 0;
  for (let i = 0; i < n; i++) acc = (acc * 31 + i * i) % 1000003; // doubles stay exact: < 2^53
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
  let sq = 0;
  for (let i = 0; i < n; i++) sq = (sq + Math.imul(i, i)) | 0; // i32 wrap-around, as the module
  return {
    loop: String(acc),
    sha256: [...digest].map((b) => b.toString(16).padStart(2, "0")).join(""),
    add: String(n + s.length * 1000),
    sq: String(sq),
  };
}

Deno.test({
  name: "node: Debian i386 nodejs runs node -e (loop, sha256, WebAssembly; no wasm SIMD) in ring3",
  ignore: skip !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const n = 200_000 + Math.floor(Math.random() * 100_000);
    const s = Array.from(
      { length: 5 + Math.floor(Math.random() * 8) },
      () => String.fromCharCode(97 + Math.floor(Math.random() * 26)),
    ).join("");
    const want = await expected(n, s);

    let text = "";
    const echo = Deno.env.get("RING3_NODE_CONSOLE") === "1";
    // instructions retired when a marker line reached the console (to within a run slice):
    // node's startup and check.js in guest instructions, which the host's load does not change
    const at = new Map<string, number>();
    const m: Machine = await Machine.create({
      memMiB: 512,
      serialOut: (b) => {
        text += new TextDecoder("latin1").decode(b);
        for (const k of ["NODE flags", "NODE startup", "NODE check"]) {
          if (!at.has(k) && text.includes(k)) at.set(k, m.retired(0));
        }
        if (echo) Deno.stdout.writeSync(b);
      },
    });
    bootBzImage(m.ram, m.core, await Deno.readFile(KERNEL), {
      cmdline: `console=ttyS0 loglevel=3 ring3.run=/opt/node/run node.n=${n} node.s=${s}`,
      initrd: await Deno.readFile(IMAGE),
      regions: m.e820().filter((e) => e.type !== E820_RAM),
      acpiRsdp: m.tables?.rsdp,
    });
    const t0 = performance.now(), cpu0 = hostCpuS();
    const timer = setTimeout(() => m.stop(), TIMEOUT_S * 1000);
    const outcome = await m.run();
    clearTimeout(timer);
    const wall = (performance.now() - t0) / 1000, cpu = hostCpuS() - cpu0;
    const insns = m.retired(0);
    m.close();
    const tail = text.slice(-4000);
    assert.equal(outcome.kind, "poweroff", `guest did not power off (timeout ${TIMEOUT_S} s?)\n${tail}`);

    const line = (k: string) => text.match(new RegExp(`^NODE ${k} (.*?)\\r?$`, "m"))?.[1];
    console.log(`  guest CPU: ${line("cpu")}`);
    console.log(`  node ${line("version")}; startup (node -e 0) ${line("startup")}; check ${line("check")}`);
    const g = (a: string, b: string) => (((at.get(b) ?? NaN) - (at.get(a) ?? NaN)) / 1e9).toFixed(2);
    console.log(
      `  guest instructions: node -e 0 ${g("NODE flags", "NODE startup")} G, check.js ${
        g("NODE startup", "NODE check")
      } G`,
    );
    console.log(
      `  ${(insns / 1e9).toFixed(2)} G instructions in ${wall.toFixed(1)} s wall, ${cpu.toFixed(1)} s host CPU ` +
        `(boot included): ${(insns / wall / 1e6).toFixed(0)} M instructions/s wall, ` +
        `${(insns / cpu / 1e6).toFixed(0)} M per host CPU second`,
    );
    assert.match(line("version") ?? "", /^v18\.\d+\.\d+ ia32 \(exit 0\)$/, tail);
    assert.equal(line("wasm valid"), "true", tail);
    assert.equal(line("loop"), want.loop, tail);
    assert.equal(line("sha256"), want.sha256, tail);
    assert.equal(line("wasm add"), want.add, tail);
    assert.equal(line("wasm sq"), want.sq, tail);
    // V8 ia32 needs SSE4.1 for WebAssembly SIMD; the same bytes are a valid module where SIMD is on
    const simd = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7b]);
    assert.equal(WebAssembly.validate(simd), true, "the host (Deno) accepts the v128 module");
    assert.doesNotMatch(line("flags") ?? "", /\bsse4_1\b/);
    assert.equal(line("simd valid"), "false", tail);
    assert.match(text, /ring3: exit 0/, tail);
  },
});
