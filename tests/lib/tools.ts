// Host tools the CPU tests build their inputs with: nasm for guest code, gcc for native runners.

// whether `cmd arg` runs and succeeds (a missing tool skips the tests that need it)
export function have(cmd: string, arg: string): boolean {
  try {
    return new Deno.Command(cmd, { args: [arg], stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}
export const HAVE_NASM = have("nasm", "-v");
export const HAVE_GCC = have("gcc", "--version");

// Assemble a nasm source (flat binary) to bytes. Throws with nasm's message on error.
export async function nasm(source: string, extra: string[] = []): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "ring3-nasm-" });
  try {
    await Deno.writeTextFile(`${dir}/t.asm`, source);
    const p = await new Deno.Command("nasm", {
      args: ["-f", "bin", "-o", `${dir}/t.bin`, ...extra, `${dir}/t.asm`],
      stderr: "piped",
    }).output();
    if (!p.success) throw new Error("nasm: " + new TextDecoder().decode(p.stderr));
    return await Deno.readFile(`${dir}/t.bin`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// The same, synchronously (for tests that assemble many small snippets inline)
export function nasmSync(source: string): Uint8Array {
  const dir = Deno.makeTempDirSync({ prefix: "ring3-nasm-" });
  try {
    Deno.writeTextFileSync(`${dir}/t.asm`, source);
    const p = new Deno.Command("nasm", { args: ["-f", "bin", "-o", `${dir}/t.bin`, `${dir}/t.asm`], stderr: "piped" })
      .outputSync();
    if (!p.success) throw new Error("nasm: " + new TextDecoder().decode(p.stderr) + "\n" + source);
    return Deno.readFileSync(`${dir}/t.bin`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
