// SSE floating point in a Linux guest: tests/guest/ssefp/fpcheck.c (arithmetic in the four
// rounding modes, exception flags, libm, printf/strtod, vectorised loops) built once as a
// static i386 binary with -mfpmath=sse, run in the guest (appended to the default initramfs,
// started with ring3.run=) and on the host; every FPCHECK line must match. Skips when gcc
// cannot build 32-bit static code or cpio is missing, and when the guest's CPUID does not
// report SSE2 (the program checks).
import assert from "node:assert/strict";
import { runBootCli } from "../lib/cli_run.ts";
import { hasCommand, run } from "./checks_lib.ts";

const SRC = new URL("ssefp/fpcheck.c", import.meta.url).pathname;
const INITRD = new URL("../../guest/images/initramfs.cpio.gz", import.meta.url).pathname;

const lines = (s: string) =>
  s.split(/\r?\n/).filter((l) => l.includes("FPCHECK")).map((l) => l.slice(l.indexOf("FPCHECK")).trim());

Deno.test("guest: SSE floating point (rounding modes, flags, libm) prints what the same binary prints natively", async (t) => {
  if (Deno.build.arch !== "x86_64" || !(await hasCommand("gcc"))) {
    console.warn("guest ssefp: skipped (no x86-64 host or no gcc)");
    return;
  }
  if ((await run("cpio", ["--version"]).catch(() => ({ code: 1 }))).code !== 0) {
    console.warn("guest ssefp: skipped (cpio not found)");
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "ring3-ssefp-" });
  try {
    await Deno.mkdir(`${dir}/root/opt`, { recursive: true });
    const bin = `${dir}/root/opt/fpcheck`;
    const g = await run("gcc", ["-m32", "-static", "-O2", "-msse2", "-mfpmath=sse", "-o", bin, SRC, "-lm"]);
    if (g.code !== 0) {
      console.warn(`guest ssefp: skipped (gcc -m32 -static failed: ${g.stderr.slice(0, 200)})`);
      return;
    }
    // this host's kernel may refuse 32-bit programs (exec format error): nothing to compare with
    const nat = await run(bin, []).catch(() => null);
    if (!nat || (nat.code !== 0 && !nat.stdout.includes("FPCHECK"))) {
      console.warn("guest ssefp: skipped (this host cannot run 32-bit programs)");
      return;
    }
    const native = lines(nat.stdout);
    assert.ok(native.length > 10 && native.at(-1) === "FPCHECK done", `native run: ${native.join("\n")}`);
    const c = await run("sh", ["-c", `cd ${dir}/root && find . | cpio -o -H newc 2>/dev/null | gzip > ../overlay.gz`]);
    assert.equal(c.code, 0, c.stderr);
    const initrd = new Uint8Array([...await Deno.readFile(INITRD), ...await Deno.readFile(`${dir}/overlay.gz`)]);
    await Deno.writeFile(`${dir}/initrd.gz`, initrd);
    const r = await runBootCli(
      ["--initrd", `${dir}/initrd.gz`, "--append", "console=ttyS0 tsc=reliable ring3.run=/opt/fpcheck"],
      "",
      240_000,
    );
    const got = lines(r.stdout);
    assert.ok(got.length, `no FPCHECK line from the guest:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-1000)}`);
    if (got[0].includes("SKIP")) {
      console.warn(`guest ssefp: ${got[0]} (CPUID does not report SSE2 yet)`);
      await t.step({ name: "skipped: no SSE2 in the guest's CPUID", ignore: true, fn() {} });
      return;
    }
    assert.deepEqual(got, native);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
