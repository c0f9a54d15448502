// String instructions against the host CPU: movs stos lods cmps scas in byte/word/dword sizes,
// plain and with rep/repe/repne, both directions (DF random), counts 0..24, overlapping buffers.
import { Case, diffGroup, Template } from "./lib/harness.ts";
import { Rng } from "../lib/rng.ts";

const T: Template[] = [];
const WIN = 512;
const BASE = 0x300000;

// pointers in the middle of the window so 24 dword steps either way stay inside it
function strGen(sz: number, kind: string) {
  return (r: Rng, c: Case) => {
    c.regs[6] = BASE + 128 + r.below(256);
    c.regs[7] = r.chance(0.3) ? c.regs[6] + (r.below(9) - 4) * sz : BASE + 128 + r.below(256);
    // with 32-bit addressing all of ECX counts: keep it small so both sides stay in the window
    c.regs[1] = r.chance(0.1) ? 0 : r.below(25);
    // compare-style ops: make long equal runs so repe/repne stop at interesting places
    if (kind === "cmps" && r.chance(0.6)) {
      const n = 24 * sz * 2;
      const s = c.regs[6] - BASE - n / 2, d = c.regs[7] - BASE - n / 2;
      for (let i = 0; i < n; i++) if (r.chance(0.95)) c.mem[d + i] = c.mem[s + i];
    }
    if (kind === "scas" && r.chance(0.6)) {
      const fill = c.regs[0] & 0xff;
      const n = 24 * sz * 2, d = c.regs[7] - BASE - n / 2;
      for (let i = 0; i < n; i++) if (r.chance(0.97)) c.mem[d + i] = fill;
      if (sz === 2) c.regs[0] = ((c.regs[0] & 0xffff0000) | (fill * 0x101)) >>> 0;
      if (sz === 4) c.regs[0] = (fill * 0x01010101) >>> 0;
    }
  };
}

const SIZES: [string, number][] = [["b", 1], ["w", 2], ["d", 4]];
for (const [sfx, sz] of SIZES) {
  for (const kind of ["movs", "stos", "lods", "cmps", "scas"]) {
    const prefixes = kind === "cmps" || kind === "scas"
      ? ["", "repe ", "repne "]
      : kind === "lods"
      ? ["", "rep "]
      : ["", "rep "];
    for (const p of prefixes) {
      T.push({
        name: `${p}${kind}${sfx}`,
        asm: `${p}${kind}${sfx}`,
        mem: WIN,
        cases: p ? 1500 : 600,
        maxSteps: 200,
        gen: strGen(sz, kind),
      });
    }
  }
}
// segment override on the source (DS -> ES; both flat): movs with ES: prefix
T.push({ name: "es rep movsd", asm: "es rep movsd", mem: WIN, maxSteps: 200, gen: strGen(4, "movs") });
// o16 prefix order variants: F3 66 and 66 F3
T.push({
  name: "rep o16 stosw (F3 66 AB)",
  asm: "db 0xf3, 0x66, 0xab",
  mem: WIN,
  maxSteps: 200,
  gen: strGen(2, "stos"),
});
T.push({
  name: "o16 rep stosw (66 F3 AB)",
  asm: "db 0x66, 0xf3, 0xab",
  mem: WIN,
  maxSteps: 200,
  gen: strGen(2, "stos"),
});

diffGroup("string", T);
