// SIMD state against the host CPU: the FXSAVE image (x87 part, MXCSR, XMM registers), FXRSTOR
// of random images back through FXSAVE, #GP for a misaligned FXSAVE area or a reserved MXCSR
// bit in FXRSTOR, the MMX registers aliased onto the x87 registers (what FNSAVE and FSTP see after
// MOVQ, what MOVQ reads after FLD, TOP and tags after MMX instructions and EMMS), #MF for an MMX
// instruction with an x87 exception pending, and FISTTP (m16/m32/m64, truncation whatever RC).
// Fields the host fills from its own context are not compared: FOP and FPU IP/CS/DP/DS (addresses
// of 64-bit code; this host stores FOP, FCS and FDS as 0), MXCSR_MASK (DAZ: the host has it, ring3 does
// not) and the reserved tail (the host's XMM8-15).
import { type Case, diffGroup, type Template } from "./lib/harness.ts";
import type { Rng } from "../lib/rng.ts";
import { fillSimd } from "./lib/simd.ts";

const T: Template[] = [];
const dv = (c: Case) => new DataView(c.mem.buffer, c.mem.byteOffset, c.mem.byteLength);

// ---- FXSAVE -------------------------------------------------------------------------------------
// window: XMM sources at +0..+127, an f64 at +128, MXCSR at +136, FXSAVE area at +512
const FX = 512;
const fxState = (r: Rng, c: Case) => {
  fillSimd(r, c.mem, 0, 128);
  dv(c).setUint32(136, 0x1f80 | (r.u32() & 0x7e3f), true); // flags, masks, RC, FZ (no DAZ)
};
const loadAll = [...Array(8)].map((_, i) => `movdqu xmm${i}, [DATA+${i * 16}]`).join("\n");
const fxMask =
  (base: number) => (): [number, number][] => [[base + 6, base + 24], [base + 28, base + 32], [base + 288, base + 512]];
T.push({
  name: "fxsave m512 (x87, MXCSR, XMM0-7)",
  asm:
    `fninit\n${loadAll}\nldmxcsr [DATA+136]\nfld qword [DATA+128]\nfld1\nfldpi\nfxsave [DATA+${FX}]\nmov dword [DATA+140], 0x1f80\nldmxcsr [DATA+140]`,
  mem: 1024,
  cases: 200,
  gen: fxState,
  undefMem: fxMask(FX),
});
T.push({
  name: "fxsave after MMX writes (tags, TOP, MM images)",
  asm: `fninit\nfld1\nmovq mm3, [DATA]\nmovq mm6, [DATA+8]\nfxsave [DATA+${FX}]\nemms`,
  mem: 1024,
  cases: 100,
  gen: fxState,
  undefMem: () => [...fxMask(FX)(), [FX + 160, FX + 288]], // (XMM registers: whatever ran before)
});
T.push({
  name: "fxsave misaligned: #GP",
  asm: `fxsave [DATA+${FX + 8}]`,
  mem: 1024,
  cases: 5,
});
// FXRSTOR a random image (valid MXCSR, FCW with the reserved bits as the hardware keeps them),
// then FXSAVE it again
const fxImage = (r: Rng, c: Case) => {
  fillSimd(r, c.mem, 0, 512);
  const d = dv(c);
  d.setUint16(0, (r.u32() & 0x1f3f) | 0x40, true);
  d.setUint16(2, r.u32() & 0x3f7f, true); // (exception flags, C0-C3, TOP; no ES/B)
  d.setUint32(24, r.chance(0.9) ? (r.u32() & 0xffbf) : r.u32(), true);
  for (let i = 0; i < 8; i++) {
    const a = 32 + i * 16;
    if (r.chance(0.3)) {
      // a normal number or a special (zero, infinity, NaN)
      d.setUint32(a + 4, (d.getUint32(a + 4, true) | 0x80000000) >>> 0, true);
      if (r.chance(0.3)) d.setUint16(a + 8, r.pick([0, 0x7fff, 0xffff, 0x3fff]), true);
    }
  }
};
T.push({
  name: "fxrstor m512 then fxsave",
  asm: `fxrstor [DATA]\nfxsave [DATA+${FX}]\nfninit\nmov dword [DATA+140], 0x1f80\nldmxcsr [DATA+140]`,
  mem: 1024,
  cases: 300,
  gen: fxImage,
  undefMem: () => [
    ...fxMask(FX)(),
    ...[...Array(8)].map((_, i) => [FX + 42 + 16 * i, FX + 48 + 16 * i] as [number, number]),
  ],
});

// ---- MMX on the x87 registers -------------------------------------------------------------------
const mmAll = [...Array(8)].map((_, i) => `movq mm${i}, [DATA+${i * 8}]`).join("\n");
T.push({
  name: "movq mm0-7 then fnsave (80-bit images, tag word, TOP)",
  asm: `fninit\n${mmAll}\nfnsave [DATA+64]\nfninit`,
  mem: 192,
  cases: 200,
  gen: (r, c) => fillSimd(r, c.mem, 0, 64),
  undefMem: () => [[64 + 12, 64 + 28]], // FIP, FCS/FOP, FDP, FDS
});
T.push({
  name: "fld m64 then movq from mm7 (the significand of physical register 7)",
  asm: `fninit\nfld qword [DATA]\nmovq [DATA+32], mm7\nfnstsw ax\nemms`,
  mem: 64,
  cases: 200,
});
T.push({
  name: "fld1 fldpi then paddb on mm6/mm7, fnstenv (TOP 0, tags valid)",
  asm: `fninit\nfld1\nfldpi\npaddb mm6, mm7\nmovq [DATA+8], mm6\nfnstenv [DATA+16]\nemms\nfnstenv [DATA+48]`,
  mem: 80,
  cases: 50,
  undefMem: () => [[16 + 8, 16 + 28], [48 + 12, 48 + 28]], // (tags of the registers MMX did not write)
});
T.push({
  name: "emms then fnstenv (tag word 0xFFFF)",
  asm: `fninit\nfld1\nmovq mm0, [DATA]\nemms\nfnstenv [DATA+16]\nfld qword [DATA+8]\nfstp qword [DATA+48]`,
  mem: 64,
  cases: 50,
  undefMem: () => [[16 + 12, 16 + 28]],
});
T.push({
  name: "movq mm after an unmasked x87 exception: #MF",
  asm: `fninit\nmov word [DATA+8], 0x037b\nfldcw [DATA+8]\nfld1\nfldz\nfdivp st1\nmovq mm0, [DATA]\nfninit`,
  mem: 16,
  cases: 5,
});
T.push({
  name: "emms with an unmasked x87 exception pending: #MF",
  asm: `fninit\nmov word [DATA+8], 0x037b\nfldcw [DATA+8]\nfld1\nfldz\nfdivp st1\nemms\nfninit`,
  mem: 16,
  cases: 5,
});

// ---- FISTTP ---------------------------------------------------------------------------------------
function f64bits(r: Rng): [number, number] {
  const k = r.below(10);
  const specials: [number, number][] = [
    [0, 0],
    [0, 0x80000000],
    [0, 0x7ff00000],
    [0, 0xfff00000],
    [0, 0x7ff80000],
    [1, 0x7ff00000],
    [0, 0x40dfffc0], // 32767
    [0, 0xc0e00000], // -32768
    [0, 0x40e00000], // 32768
    [0xffc00000, 0x41dfffff], // 2^31 - 1 (and a fraction)
    [0, 0xc1e00000], // -2^31
    [0, 0x43e00000], // 2^63
    [0, 0xc3e00000], // -2^63
    [0, 0x3fe00000], // 0.5
    [0, 0xbff80000], // -1.5
  ];
  if (k < 3) return r.pick(specials);
  const e = k < 8 ? 1023 + r.below(66) - 2 : r.below(2048);
  return [r.u32(), ((r.u32() & 0x800fffff) | (e << 20)) >>> 0];
}
for (const [w, n] of [["word", 16], ["dword", 32], ["qword", 64]] as [string, number][]) {
  T.push({
    name: `fisttp m${n} (RC from the control word ignored)`,
    asm: `fninit\nfldcw [DATA+8]\nfld qword [DATA]\nfisttp ${w} [DATA+16]\nfnstsw ax\nfninit`,
    mem: 32,
    cases: 600,
    gen: (r, c) => {
      const [lo, hi] = f64bits(r);
      dv(c).setUint32(0, lo, true);
      dv(c).setUint32(4, hi, true);
      dv(c).setUint16(8, 0x037f | (r.below(4) << 10), true);
    },
  });
}
T.push({
  name: "fisttp m32 with IE unmasked (nothing stored, no pop)",
  asm: `fninit\nmov word [DATA+8], 0x037e\nfldcw [DATA+8]\nfld qword [DATA]\nfisttp dword [DATA+16]\nfnstsw ax\nfninit`,
  mem: 32,
  cases: 300,
  gen: (r, c) => {
    const [lo, hi] = f64bits(r);
    dv(c).setUint32(0, lo, true);
    dv(c).setUint32(4, hi, true);
  },
});

diffGroup("sse-state", T);
