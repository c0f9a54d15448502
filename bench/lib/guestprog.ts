// Builds the freestanding C bench programs twice: as an i386 flat binary for ring3 (gcc -m32)
// and as a native x86-64 executable timing itself (this host cannot run i386 code natively).
const root = new URL("../../", import.meta.url).pathname;
const outDir = `${root}build/bench`;

async function sh(cmd: string, args: string[]): Promise<void> {
  const r = await new Deno.Command(cmd, { args, stderr: "piped", stdout: "piped" }).output();
  if (!r.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
}

export interface GuestProgram {
  flat: Uint8Array; // load at 0x100000, entry at 0x100000... see entry
  entry: number;
  native: string; // path of the native executable
}

export async function buildProgram(name: string, rounds: number): Promise<GuestProgram> {
  await Deno.mkdir(outDir, { recursive: true });
  const src = `${root}bench/programs/${name}.c`;
  const elf = `${outDir}/${name}-${rounds}.elf`;
  const bin = `${outDir}/${name}-${rounds}.bin`;
  const native = `${outDir}/${name}-native`;
  await sh("gcc", [
    "-m32",
    "-O2",
    "-march=i686",
    "-ffreestanding",
    "-nostdlib",
    "-static",
    "-fno-pic",
    "-fno-asynchronous-unwind-tables",
    `-DROUNDS=${rounds}`,
    "-Wl,-Ttext=0x100000",
    "-Wl,-e,_start",
    "-Wl,--build-id=none",
    "-o",
    elf,
    src,
  ]);
  await sh("objcopy", ["-O", "binary", elf, bin]);
  await sh("gcc", ["-O2", "-DNATIVE", "-o", native, src]);
  const nm = await new Deno.Command("nm", { args: [elf], stdout: "piped" }).output();
  const m = new TextDecoder().decode(nm.stdout).match(/^([0-9a-f]+) T _start$/m);
  if (!m) throw new Error(`no _start in ${elf}`);
  return { flat: await Deno.readFile(bin), entry: parseInt(m[1], 16), native };
}

// native run: returns [result, nanoseconds]
export async function runNative(p: GuestProgram, rounds: number): Promise<[number, number]> {
  const r = await new Deno.Command(p.native, { args: [String(rounds)], stdout: "piped" }).output();
  const [res, ns] = new TextDecoder().decode(r.stdout).trim().split(" ");
  return [parseInt(res, 16), Number(ns)];
}
