// Real i386 code for the decoder tests: the executable segment of the guest's busybox (from the
// committed initramfs) and, when the `lz4` tool is installed, of the committed kernel (bzImage's
// LZ4 payload). Each comes with its link address, so page boundaries fall where they do in the
// guest.
import { gunzipSync } from "node:zlib";
import * as L from "../../core-as/layout.ts";
import type { Bare } from "../lib/bare.ts";

export interface Text {
  name: string;
  vaddr: number;
  bytes: Uint8Array;
}

// a bare machine's guest RAM as bytes (the decoder's view; the table and corpus tests write code
// straight in, as only the interpreter runs it)
export const ram8 = (b: Bare): Uint8Array => new Uint8Array(b.memory.buffer, L.RAM_BASE, b.ram.size);

const images = new URL("../../guest/images/", import.meta.url);

// the executable PT_LOAD segments of a 32-bit ELF file
function elfText(name: string, elf: Uint8Array): Text[] {
  const dv = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  if (dv.getUint32(0) !== 0x7f454c46 || elf[4] !== 1) throw new Error(`${name}: not a 32-bit ELF file`);
  const phoff = dv.getUint32(0x1c, true), phsize = dv.getUint16(0x2a, true), phnum = dv.getUint16(0x2c, true);
  const out: Text[] = [];
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phsize;
    const type = dv.getUint32(ph, true), off = dv.getUint32(ph + 4, true), vaddr = dv.getUint32(ph + 8, true);
    const filesz = dv.getUint32(ph + 16, true), flags = dv.getUint32(ph + 24, true);
    if (type === 1 && (flags & 1)) out.push({ name, vaddr, bytes: elf.subarray(off, off + filesz) });
  }
  return out;
}

// a file of a gzipped cpio (newc) archive
function cpioFile(gz: Uint8Array, path: string): Uint8Array {
  const a = gunzipSync(gz);
  const dec = new TextDecoder();
  const pad4 = (n: number) => (n + 3) & ~3;
  for (let p = 0; p + 110 <= a.length;) {
    const hex = (i: number) => parseInt(dec.decode(a.subarray(p + 6 + i * 8, p + 14 + i * 8)), 16);
    if (dec.decode(a.subarray(p, p + 6)) !== "070701") throw new Error("cpio: bad header");
    const size = hex(6), namesize = hex(11);
    const name = dec.decode(a.subarray(p + 110, p + 110 + namesize - 1));
    const data = pad4(p + 110 + namesize);
    if (name === path) return a.subarray(data, data + size);
    if (name === "TRAILER!!!") break;
    p = pad4(data + size);
  }
  throw new Error(`cpio: no ${path}`);
}

export function busybox(): Text[] {
  return elfText("busybox", cpioFile(Deno.readFileSync(new URL("initramfs.cpio.gz", images)), "bin/busybox"));
}

// null when lz4 is not installed
export async function kernel(): Promise<Text[] | null> {
  const bz = Deno.readFileSync(new URL("bzImage", images));
  const dv = new DataView(bz.buffer);
  const setup = ((bz[0x1f1] || 4) + 1) * 512;
  const off = dv.getUint32(0x248, true), len = dv.getUint32(0x24c, true);
  const tmp = await Deno.makeTempFile({ prefix: "ring3-payload-" });
  try {
    await Deno.writeFile(tmp, bz.subarray(setup + off, setup + off + len));
    // (lz4 stops at the kernel's trailing size word with an error; the output is complete)
    const r = await new Deno.Command("lz4", { args: ["-dc", tmp], stdout: "piped", stderr: "null" }).output();
    return elfText("vmlinux", r.stdout);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  } finally {
    await Deno.remove(tmp);
  }
}

// MMX/SSE/SSE2/SSE3 code as gcc emits it (tests/jit/sse/corpus.c, -m32 -O3 -msse3
// -mfpmath=sse, no libc); null when gcc cannot build 32-bit code
export async function sseCode(): Promise<Text[] | null> {
  const src = new URL("sse/corpus.c", import.meta.url).pathname;
  const out = await Deno.makeTempFile({ prefix: "ring3-sse-" });
  try {
    const args = ["-m32", "-O3", "-msse3", "-mfpmath=sse", "-nostdlib", "-static", "-fno-pie", "-no-pie"];
    const r = await new Deno.Command("gcc", { args: [...args, "-Wl,-e,main", "-o", out, src], stderr: "null" })
      .output();
    return r.success ? elfText("sse corpus", await Deno.readFile(out)) : null;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  } finally {
    await Deno.remove(out);
  }
}
