// MMX/SSE2 in a Linux guest: tests/guest/sse/ssecheck.c (glibc's SSE2 string functions, SSE2 and
// MMX intrinsics, a vectorised loop; integer only) built as a static i386 binary, appended to the
// default initramfs as a second cpio archive and run with ring3.run=; its output must be the
// host's (the same source built natively). The guest kernel switches the SIMD state with FXSAVE
// when CPUID reports FXSR. Skips when gcc cannot build 32-bit static code or cpio is missing, and
// when the guest's CPUID does not report SSE2 (the program checks).
import assert from "node:assert/strict";
import { runBootCli } from "../lib/cli_run.ts";
import { hasCommand, run } from "./checks_lib.ts";

const SRC = new URL("sse/ssecheck.c", import.meta.url).pathname;
const INITRD = new URL("../../guest/images/initramfs.cpio.gz", import.meta.url).pathname;

async function tools(): Promise<string | null> {
  if (Deno.build.arch !== "x86_64") return "host is not x86-64";
  if (!(await hasCommand("gcc"))) return "gcc not found";
  if ((await run("cpio", ["--version"]).catch(() => ({ code: 1 }))).code !== 0) return "cpio not found";
  return null;
}

Deno.test("guest: MMX/SSE2 code (glibc string functions, intrinsics) prints what it prints natively", async (t) => {
  const why = await tools();
  if (why) {
    console.warn(`guest sse: skipped (${why})`);
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "ring3-sse-" });
  try {
    await Deno.mkdir(`${dir}/root/opt`, { recursive: true });
    const g = await run("gcc", [
      "-m32",
      "-static",
      "-O3",
      "-msse2",
      "-mfpmath=387",
      "-o",
      `${dir}/root/opt/ssecheck`,
      SRC,
    ]);
    if (g.code !== 0) {
      console.warn(`guest sse: skipped (gcc -m32 -static failed: ${g.stderr.slice(0, 200)})`);
      return;
    }
    const n = await run("gcc", ["-O3", "-o", `${dir}/native`, SRC]);
    assert.equal(n.code, 0, n.stderr);
    const native = (await run(`${dir}/native`, [])).stdout.trim();
    const c = await run("sh", ["-c", `cd ${dir}/root && find . | cpio -o -H newc 2>/dev/null | gzip > ../overlay.gz`]);
    assert.equal(c.code, 0, c.stderr);
    const initrd = new Uint8Array([...await Deno.readFile(INITRD), ...await Deno.readFile(`${dir}/overlay.gz`)]);
    await Deno.writeFile(`${dir}/initrd.gz`, initrd);
    const r = await runBootCli(
      ["--initrd", `${dir}/initrd.gz`, "--append", "console=ttyS0 tsc=reliable ring3.run=/opt/ssecheck"],
      "",
      240_000,
    );
    const line = r.stdout.split(/\r?\n/).find((l) => l.includes("SSECHECK"))?.trim();
    assert.ok(line, `no SSECHECK line from the guest:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-1000)}`);
    if (line.includes("SKIP")) {
      console.warn(`guest sse: ${line} (CPUID does not report SSE2 yet)`);
      await t.step({ name: "skipped: no SSE2 in the guest's CPUID", ignore: true, fn() {} });
      return;
    }
    assert.equal(line.slice(line.indexOf("SSECHECK")), native);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
