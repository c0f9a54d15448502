// Test rig for the x87 tests: a Bare in flat 32-bit protected mode, a tiny encoder for x87
// instructions with [ebx+disp32] operands, and the native reference runner (native.c).
import * as L from "../../core-as/layout.ts";
import { Bare } from "../lib/bare.ts";

export const MEM = 1024; // bytes of operand memory shared by the snippets
export const CODE_AT = 0x10000;
export const DATA_AT = 0x20000;
export const IN_IMG = 0x000; // fsave image loaded by frstor at the start of a snippet
export const OUT_IMG = 0x080; // fsave image written by fnsave at the end
export const DATA = 0x100; // operands

// ---- encoder --------------------------------------------------------------------------------
export type Insn = number[];
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
// ESC opcode with a memory operand [ebx+disp]
export const M = (op: number, reg: number, disp: number): Insn => [op, 0x80 | (reg << 3) | 3, ...le32(disp)];
// two-byte register form
export const R = (op: number, modrm: number): Insn => [op, modrm];
export const frstor = (d = IN_IMG) => M(0xdd, 4, d);
export const fnsave = (d = OUT_IMG) => M(0xdd, 6, d);

export interface Result {
  mem: Uint8Array;
  eax: number;
  eflags: number;
  fault?: number; // exception vector when the snippet faulted
}

// ---- ring3 ----------------------------------------------------------------------------------
export const RAM = 1 << 20;

// create with { ramBytes: RAM }
export class Rig extends Bare {
  // fresh flat protected-mode state (CR0 bits given), FPU after FNINIT
  reset(cr0 = L.CR0_PE | L.CR0_NE | L.CR0_ET) {
    const c = this.core;
    c.ex.reset();
    this.flatSegments(0);
    c.set(L.S_CR0, cr0);
    c.ex.resyncFromState();
  }

  // Run `n` instructions of `code` with EBX -> a copy of mem. Faults are not delivered (the
  // skeleton has no protected-mode IDT path yet): the vector is reported instead.
  exec(code: Insn[], mem: Uint8Array, opts: { cr0?: number; eax?: number } = {}): Result {
    const c = this.core;
    this.reset(opts.cr0);
    this.load(CODE_AT, new Uint8Array(code.flat())); // blocks compiled from the last case's code are stale
    this.ram.write(DATA_AT, mem);
    c.eip = CODE_AT;
    c.setReg(0, opts.eax ?? 0);
    c.setReg(3, DATA_AT);
    c.set(L.S_PEND_VEC, 0xffffffff);
    const f = this.step(code.length);
    return {
      mem: this.ram.read(DATA_AT, MEM)!,
      eax: c.reg(0),
      // EFLAGS as stored: the lazy kind is LF_NONE after the reset, and only the FPU-relevant bits
      // (fcomi's) are compared
      eflags: c.get(L.S_FLAGS) | 2,
      fault: f?.vec,
    };
  }
}

// ---- native reference -----------------------------------------------------------------------
let nativeBin: string | null | undefined;
export function nativeRunner(): string | null {
  if (nativeBin !== undefined) return nativeBin;
  const dir = Deno.makeTempDirSync({ prefix: "ring3-x87-" });
  const out = `${dir}/native`;
  try {
    const src = new URL("./native.c", import.meta.url).pathname;
    const r = new Deno.Command("gcc", { args: ["-O1", "-mno-red-zone", "-o", out, src] }).outputSync();
    if (!r.success) {
      console.error("x87 native checker did not build: " + new TextDecoder().decode(r.stderr));
      nativeBin = null;
    } else nativeBin = out;
  } catch (e) {
    console.error(`x87 native checker unavailable (${e}); host comparisons are skipped`);
    nativeBin = null;
  }
  return nativeBin;
}

export function runNative(cases: { code: Insn[]; mem: Uint8Array }[]): Result[] {
  const bin = nativeRunner();
  if (!bin) throw new Error("no native runner");
  const parts: Uint8Array[] = [];
  for (const c of cases) {
    const b = c.code.flat();
    const hdr = new Uint8Array(4);
    new DataView(hdr.buffer).setUint32(0, b.length, true);
    parts.push(hdr, new Uint8Array(b), c.mem);
  }
  const input = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    input.set(p, o);
    o += p.length;
  }
  const dir = Deno.makeTempDirSync({ prefix: "ring3-x87-in-" });
  Deno.writeFileSync(`${dir}/in`, input);
  const r = new Deno.Command("sh", { args: ["-c", `"${bin}" < "${dir}/in"`] }).outputSync();
  Deno.removeSync(dir, { recursive: true });
  if (!r.success) throw new Error("native runner failed: " + new TextDecoder().decode(r.stderr));
  const res: Result[] = [];
  const dv = new DataView(r.stdout.buffer, r.stdout.byteOffset);
  for (let k = 0; k < cases.length; k++) {
    const base = k * (MEM + 8);
    res.push({
      mem: r.stdout.slice(base, base + MEM),
      eax: dv.getUint32(base + MEM, true),
      eflags: dv.getUint32(base + MEM + 4, true),
    });
  }
  return res;
}

// ---- fsave images -------------------------------------------------------------------------
// 32-bit protected-mode layout: CW SW TW (each in a dword), FIP, FCS|FOP, FDP, FDS, 8 x 10 bytes
export function imageFor(cw: number, regs: { m: bigint; se: number }[] = [], tagsAllEmpty = true): Uint8Array {
  const img = new Uint8Array(108);
  const dv = new DataView(img.buffer);
  dv.setUint32(0, 0xffff0000 | cw, true);
  const top = (8 - regs.length) & 7;
  dv.setUint32(4, 0xffff0000 | (top << 11), true);
  let tw = 0xffff;
  for (let i = 0; i < regs.length; i++) tw &= ~(3 << (((top + i) & 7) * 2));
  dv.setUint32(8, 0xffff0000 | (tagsAllEmpty ? tw : 0), true);
  regs.forEach((r, i) => {
    dv.setBigUint64(28 + i * 10, r.m, true);
    dv.setUint16(28 + i * 10 + 8, r.se, true);
  });
  return img;
}

// exact 80-bit image of a double
export function extOf(x: number): { m: bigint; se: number } {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x, true);
  const b = dv.getBigUint64(0, true);
  const sign = Number(b >> 63n) << 15;
  const e = Number((b >> 52n) & 0x7ffn);
  const f = b & 0xfffffffffffffn;
  if (e === 0x7ff) return { m: (1n << 63n) | (f << 11n), se: sign | 0x7fff };
  if (e === 0) {
    if (f === 0n) return { m: 0n, se: sign };
    let m = f, E = 15372 + 52 - 52;
    const lz = 64 - m.toString(2).length;
    m <<= BigInt(lz);
    E = 15372 - lz;
    return { m, se: sign | E };
  }
  return { m: (1n << 63n) | (f << 11n), se: sign | (e - 1023 + 16383) };
}
