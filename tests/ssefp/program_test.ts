// A floating-point program compiled by gcc for SSE (prog.c: -O2 -msse3 -mfpmath=sse) runs in
// ring3 as a freestanding -m32 image in flat protected mode and natively as a 64-bit program;
// the bits of every result and MXCSR after each of the 16 configurations (4 rounding modes x
// FTZ x DAZ) must be the same. The reference is 64-bit on purpose: this host (a PVM guest) does
// not run SSE in 32-bit processes as the SDM says: there a denormal operand raises no DE and
// ADDSS of two QNaNs returns the one with the larger significand (the x87 rule), while its
// 64-bit mode follows the SDM (see tests/ssefp/probe32.c).
import assert from "node:assert/strict";
import { Bare } from "../lib/bare.ts";
import { HAVE_GCC } from "../lib/tools.ts";
import * as L from "../../core-as/layout.ts";

const here = new URL("./", import.meta.url).pathname;
const buildDir = new URL("../../build/ssefp/", import.meta.url).pathname;
const N_OUT = 16 * (160 * 28 + 1 + 8);
const OUT = 0x200000;
const CFLAGS = ["-O2", "-msse3", "-mfpmath=sse", "-frounding-math", "-fno-math-errno", "-fno-pie", "-no-pie"];

async function run(cmd: string, args: string[]): Promise<Uint8Array> {
  const p = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!p.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(p.stderr)}`);
  return p.stdout;
}
Deno.test({
  name: "sse fp: a gcc -mfpmath=sse program gives the host's bits in every rounding mode, FTZ and DAZ",
  ignore: !HAVE_GCC || Deno.build.arch !== "x86_64",
  async fn() {
    Deno.mkdirSync(buildDir, { recursive: true });
    const native = buildDir + "prog_native", elf = buildDir + "prog.elf", bin = buildDir + "prog.bin";
    await run("gcc", [...CFLAGS, "-DNATIVE", "-o", native, here + "prog.c"]);
    await run("gcc", [
      "-m32",
      ...CFLAGS,
      "-ffreestanding",
      "-nostdlib",
      "-static",
      "-fno-stack-protector",
      "-fcf-protection=none",
      "-fno-asynchronous-unwind-tables",
      "-Wl,-Ttext=0x100000",
      "-Wl,--build-id=none",
      "-o",
      elf,
      here + "prog.c",
    ]);
    await run("objcopy", ["-O", "binary", elf, bin]);
    const syms = new TextDecoder().decode(await run("nm", [elf]));
    const entry = parseInt(syms.split("\n").find((l) => / T _start$/.test(l))!.split(" ")[0], 16);
    const exp = await run(native, []);
    assert.equal(exp.length, N_OUT * 4);

    const b = await Bare.create();
    b.load(0x100000, Deno.readFileSync(bin));
    b.startFlat32(entry);
    b.core.set(L.S_CR4, L.CR4_OSFXSR | L.CR4_OSXMMEXCPT);
    const r = b.run(50_000_000);
    assert.equal(r.exit, "hlt", `ring3 stopped with ${r.exit}`);
    const got = b.ram.read(OUT, N_OUT * 4)!;
    const ev = new DataView(exp.buffer, exp.byteOffset), gv = new DataView(got.buffer, got.byteOffset);
    const bad: string[] = [];
    const per = 160 * 28 + 9;
    for (let i = 0; i < N_OUT; i++) {
      const e = ev.getUint32(i * 4, true), g = gv.getUint32(i * 4, true);
      if (e === g) continue;
      const cfg = Math.floor(i / per), k = i % per;
      const where = k < 160 * 28 ? `iteration ${Math.floor(k / 28)} slot ${k % 28}` : `tail ${k - 160 * 28}`;
      if (bad.length < 12) {
        bad.push(
          `config ${cfg} (RC ${cfg & 3} FTZ ${cfg >> 2 & 1} DAZ ${cfg >> 3 & 1}) ${where}: host ${
            e.toString(16)
          } ring3 ${g.toString(16)}`,
        );
      }
    }
    assert.equal(bad.length, 0, `results differ:\n${bad.join("\n")}`);
  },
});
