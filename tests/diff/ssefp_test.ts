// SSE/SSE2/SSE3 floating-point instructions through the whole machine (decode, mandatory
// prefixes, register and memory operands, MXCSR, EFLAGS, #XM, #GP for misaligned packed memory
// operands) against the host CPU. The arithmetic itself is covered in depth by
// tests/ssefp/fpmath_test.ts; here every encoding runs with random operands, rounding modes,
// FTZ/DAZ and exception masks, and MXCSR is compared after each instruction.
//
// Window: a at +0 (-> XMM0, the destination), b at +16 (-> XMM1 or the memory operand), the
// result XMM0 at +32, MXCSR in at +48, MXCSR out at +52, the host's MXCSR restored from +56,
// MM0 at +64 (templates that name an MMX register).
import { type Case, diffGroup, type Template } from "./lib/harness.ts";
import { Rng } from "../lib/rng.ts";
import { fill, mxgen, relate, type T } from "../ssefp/values.ts";

const T_: Template[] = [];
const MEM = 72;

interface O {
  dst?: "x" | "r" | "m"; // XMM0, EAX, MM0
  ta?: T;
  tb: T;
  cases?: number;
  eaxIn?: boolean; // EAX holds the integer source
}
function tpl(name: string, insn: string, o: O): void {
  let body = `ldmxcsr [DATA+48]\nmovups xmm0, [DATA]\nmovups xmm1, [DATA+16]\n`;
  if (o.dst === "m" || /mm0/.test(insn.replace(/xmm0/g, ""))) body += "movq mm0, [DATA+16]\n";
  if (o.eaxIn) body += "mov eax, [DATA+16]\n";
  body += `${insn}\nmovups [DATA+32], xmm0\n`;
  if (o.dst === "m" || /\bmm0\b/.test(insn)) body += "movq [DATA+64], mm0\nemms\n";
  body += "stmxcsr [DATA+52]\nldmxcsr [DATA+56]";
  T_.push({
    name,
    asm: body,
    mem: MEM,
    cases: o.cases ?? 150,
    gen: (r: Rng, c: Case) => {
      const dv = new DataView(c.mem.buffer);
      fill(r, o.ta ?? o.tb, c.mem, 0);
      fill(r, o.tb, c.mem, 16);
      if ((o.ta ?? o.tb) === o.tb && r.chance(0.5)) relate(r, o.tb, c.mem, 0, 16);
      for (let i = 32; i < MEM; i++) c.mem[i] = 0;
      dv.setUint32(48, mxgen(r), true);
      dv.setUint32(56, 0x1f80, true);
    },
  });
}

// arithmetic: register and memory forms
const FORMS: [string, T, boolean][] = [["ps", "f", true], ["ss", "f", false], ["pd", "d", true], ["sd", "d", false]];
for (const op of ["add", "sub", "mul", "div", "min", "max", "sqrt"]) {
  for (const [f, t] of FORMS) {
    tpl(`${op}${f} xmm, xmm`, `${op}${f} xmm0, xmm1`, { tb: t });
    tpl(`${op}${f} xmm, mem`, `${op}${f} xmm0, [DATA+16]`, { tb: t, cases: 60 });
  }
}
for (const op of ["addsub", "hadd", "hsub"]) {
  for (const [f, t] of [["ps", "f"], ["pd", "d"]] as [string, T][]) {
    tpl(`${op}${f} xmm, xmm`, `${op}${f} xmm0, xmm1`, { tb: t });
    tpl(`${op}${f} xmm, mem`, `${op}${f} xmm0, [DATA+16]`, { tb: t, cases: 60 });
  }
}
for (const [f, t] of FORMS) {
  for (let p = 0; p < 8; p++) tpl(`cmp${f} xmm, xmm, ${p}`, `cmp${f} xmm0, xmm1, ${p}`, { tb: t, cases: 60 });
  tpl(`cmp${f} xmm, mem, 1`, `cmp${f} xmm0, [DATA+16], 1`, { tb: t, cases: 60 });
}
for (const [n, t] of [["comiss", "f"], ["ucomiss", "f"], ["comisd", "d"], ["ucomisd", "d"]] as [string, T][]) {
  tpl(`${n} xmm, xmm`, `${n} xmm0, xmm1`, { tb: t });
  tpl(`${n} xmm, mem`, `${n} xmm0, [DATA+16]`, { tb: t, cases: 60 });
}
// RCP/RSQRT: the results are implementation-specific (tests/ssefp checks the bound); here only
// operands whose results the SDM fixes: zeros, denormals, infinities, NaNs, negative (RSQRT)
for (const n of ["rcpps", "rcpss", "rsqrtps", "rsqrtss"]) {
  T_.push({
    name: `${n} xmm, xmm (special operands)`,
    asm:
      `ldmxcsr [DATA+48]\nmovups xmm0, [DATA]\n${n} xmm0, [DATA+16]\nmovups [DATA+32], xmm0\nstmxcsr [DATA+52]\nldmxcsr [DATA+56]`,
    mem: MEM,
    cases: 100,
    gen: (r: Rng, c: Case) => {
      const dv = new DataView(c.mem.buffer);
      fill(r, "f", c.mem, 0);
      for (let i = 0; i < 16; i += 4) {
        const s = r.chance(0.5) ? 0x80000000 : 0;
        dv.setUint32(
          16 + i,
          (r.pick([0, 0x7f800000, 0x7fc00000 | r.below(1 << 22), 0x7f800001 + r.below(1 << 21), 1 + r.below(1 << 23)]) |
            s) >>> 0,
          true,
        );
      }
      for (let i = 32; i < MEM; i++) c.mem[i] = 0;
      dv.setUint32(48, mxgen(r), true);
      dv.setUint32(56, 0x1f80, true);
    },
  });
}
// conversions
const CV: [string, string, string, "x" | "r" | "m", T, boolean][] = [
  // name, register form operands, memory form operands, destination, source lanes, EAX source
  ["cvtpi2ps", "xmm0, mm0", "xmm0, [DATA+16]", "x", "i", false],
  ["cvtps2pi", "mm0, xmm1", "mm0, [DATA+16]", "m", "f", false],
  ["cvttps2pi", "mm0, xmm1", "mm0, [DATA+16]", "m", "f", false],
  ["cvtsi2ss", "xmm0, eax", "xmm0, dword [DATA+16]", "x", "i", true],
  ["cvtss2si", "eax, xmm1", "eax, dword [DATA+16]", "r", "f", false],
  ["cvttss2si", "eax, xmm1", "eax, dword [DATA+16]", "r", "f", false],
  ["cvtpd2ps", "xmm0, xmm1", "xmm0, [DATA+16]", "x", "d", false],
  ["cvtps2pd", "xmm0, xmm1", "xmm0, [DATA+16]", "x", "f", false],
  ["cvtsd2ss", "xmm0, xmm1", "xmm0, [DATA+16]", "x", "d", false],
  ["cvtss2sd", "xmm0, xmm1", "xmm0, [DATA+16]", "x", "f", false],
  ["cvtdq2ps", "xmm0, xmm1", "xmm0, [DATA+16]", "x", "i", false],
  ["cvtps2dq", "xmm0, xmm1", "xmm0, [DATA+16]", "x", "f", false],
  ["cvttps2dq", "xmm0, xmm1", "xmm0, [DATA+16]", "x", "f", false],
  ["cvtdq2pd", "xmm0, xmm1", "xmm0, [DATA+16]", "x", "i", false],
  ["cvtpd2dq", "xmm0, xmm1", "xmm0, [DATA+16]", "x", "d", false],
  ["cvttpd2dq", "xmm0, xmm1", "xmm0, [DATA+16]", "x", "d", false],
  ["cvtpi2pd", "xmm0, mm0", "xmm0, [DATA+16]", "x", "i", false],
  ["cvtpd2pi", "mm0, xmm1", "mm0, [DATA+16]", "m", "d", false],
  ["cvttpd2pi", "mm0, xmm1", "mm0, [DATA+16]", "m", "d", false],
  ["cvtsi2sd", "xmm0, eax", "xmm0, dword [DATA+16]", "x", "i", true],
  ["cvtsd2si", "eax, xmm1", "eax, qword [DATA+16]", "r", "d", false],
  ["cvttsd2si", "eax, xmm1", "eax, qword [DATA+16]", "r", "d", false],
];
for (const [n, reg, mem, dst, tb, eaxIn] of CV) {
  tpl(`${n} ${reg.replace(/[0-9]/g, "")}`, `${n} ${reg}`, { dst, tb, eaxIn, ta: "f" });
  tpl(`${n} ${mem.replace(/\[DATA\+16\]/, "mem").replace(/[0-9]/g, "")}`, `${n} ${mem}`, {
    dst,
    tb,
    ta: "f",
    cases: 60,
  });
}
// a misaligned 16-byte operand of a packed instruction: #GP(0); scalar ones need no alignment
tpl("addps xmm, mem (misaligned: #GP)", "addps xmm0, [DATA+8]", { tb: "f", cases: 10 });
tpl("cvtpd2ps xmm, mem (misaligned: #GP)", "cvtpd2ps xmm0, [DATA+4]", { tb: "d", cases: 10 });
tpl("addss xmm, mem (misaligned)", "addss xmm0, [DATA+17]", { tb: "f", cases: 40 });
tpl("cvtps2pd xmm, m64 (misaligned)", "cvtps2pd xmm0, [DATA+20]", { tb: "f", cases: 40 });

diffGroup("ssefp", T_);
