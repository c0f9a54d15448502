// Names for looking inside compiled code: an instruction's short name for the profile
// (RING3_JIT_PROFILE), and a wasm "name" section that names a block's function after its guest
// entry (RING3_JIT_NAMES), so host profilers (perf with --v8-flags=--perf-basic-prof, --cpu-prof)
// show which guest code is hot.
import type { Insn } from "./decode.ts";
import { FUNC_IMPORTS } from "./block.ts";

export function opName(i: Insn): string {
  const o = i.op >= 0x100 ? `0f${(i.op & 0xff).toString(16).padStart(2, "0")}` : i.op.toString(16).padStart(2, "0");
  const r = i.modrm >= 0 && [0x80, 0x81, 0x83, 0xc0, 0xc1, 0xd0, 0xd1, 0xd3, 0xf6, 0xf7, 0xfe, 0xff].includes(i.op)
    ? `/${i.reg}`
    : "";
  const p = (i.pfx ? `p${i.pfx}` : "") + (i.seg >= 0 ? `s${i.seg}` : "");
  return `${p}${o}${r}${i.mem ? "m" : ""}`;
}

// `bytes` with a "name" custom section appended that names the module's first defined function
// (after the imported helpers) `name`
export function withName(bytes: Uint8Array, name: string): Uint8Array<ArrayBuffer> {
  return withNames(bytes, [name]);
}
// the same for a module of several blocks: its defined functions in order
export function withNames(bytes: Uint8Array, names: string[]): Uint8Array<ArrayBuffer> {
  const leb = (n: number) => {
    const o: number[] = [];
    do {
      o.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n >>>= 7;
    } while (n);
    return o;
  };
  const str = (t: string) => [...leb(t.length), ...new TextEncoder().encode(t)];
  const funcNames = [...leb(names.length), ...names.flatMap((n, k) => [...leb(FUNC_IMPORTS.length + k), ...str(n)])];
  const sub = [1, ...leb(funcNames.length), ...funcNames];
  const body = [...str("name"), ...sub];
  const out = new Uint8Array(bytes.length + 1 + leb(body.length).length + body.length);
  out.set(bytes);
  out.set([0, ...leb(body.length), ...body], bytes.length);
  return out;
}
