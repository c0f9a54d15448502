// What the block tests share: a scratch folder, host tools (qemu-img, e2fsprogs) with the note a
// test prints when one is missing, and a reference model of a disk's bytes.
import { Rng } from "../lib/rng.ts";

export function scratchDir(): string {
  return Deno.makeTempDirSync({ prefix: "ring3-block-" });
}

export function haveTool(name: string): boolean {
  try {
    new Deno.Command(name, { args: ["--version"], stdout: "null", stderr: "null" }).outputSync();
    return true; // it ran (whatever it thinks of --version)
  } catch {
    return false;
  }
}

// run a host tool; returns its exit code and output
export function run(cmd: string, ...args: string[]): { code: number; out: string } {
  const o = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).outputSync();
  const td = new TextDecoder();
  return { code: o.code, out: td.decode(o.stdout) + td.decode(o.stderr) };
}

export function mustRun(cmd: string, ...args: string[]): string {
  const r = run(cmd, ...args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.code}\n${r.out}`);
  return r.out;
}

export const QEMU_IMG = haveTool("qemu-img");
export const E2FS = haveTool("mkfs.ext4") && haveTool("e2fsck");
export const skipNote = (what: string) =>
  console.log(`  (skipped: ${what} not installed; apt-get install qemu-utils e2fsprogs)`);

export function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const v = rng.u32();
    b[i] = v, b[i + 1] = v >>> 8, b[i + 2] = v >>> 16, b[i + 3] = v >>> 24;
  }
  return b;
}

export function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
