// The SSE floating-point unit (core-as/sse/fpvec.ts + fpmath.ts), compiled alone, against this
// host's SSE in 64-bit mode: every arithmetic, compare and conversion instruction, random
// operands rich in special values (±0, ±inf, QNaN, SNaN, denormals, extremes, ties, results at
// the overflow and underflow thresholds), every rounding mode, FTZ and DAZ, random exception
// masks and sticky flags. Compared bit for bit: the destination, MXCSR after the instruction,
// EFLAGS (COMIS/UCOMIS) and whether #XM is raised (with the destination left unwritten).
// RCPPS/RSQRTPS results are implementation-specific: their special cases are compared exactly
// and the other results checked against the SDM's bound (relative error <= 1.5 * 2^-12).
import { HAVE_GCC, HAVE_NASM, nasm } from "../lib/tools.ts";
import { hashName, Rng } from "../lib/rng.ts";
import { fill, mxgen, relate, type T } from "./values.ts";
// the same compiler (and version) core-as/build.ts uses
// deno-lint-ignore no-import-prefix
import asc from "npm:assemblyscript@0.28.20/asc";

const here = new URL("./", import.meta.url).pathname;
const buildDir = new URL("../../build/ssefp/", import.meta.url).pathname;
const CASES = Number(Deno.env.get("RING3_SSEFP_CASES") ?? 1000);
const SEED = Number(Deno.env.get("RING3_DIFF_SEED") ?? 0x5eef);

interface Op {
  name: string;
  asm: string;
  kind: "arith" | "comi" | "cvt" | "approx";
  op: number;
  form: number; // arith: F_PS.. ; comi: dbl ; cvt: unused
  imm?: number;
  quiet?: boolean;
  dst: "x" | "r" | "m"; // xmm0, eax, mm0
  src: "x" | "r" | "m"; // xmm1, eax, mm0 (from b)
  ta: T;
  tb: T;
}
const OPS: Op[] = [];
const FORMS = ["ps", "ss", "pd", "sd"];
const ar = (name: string, op: number, forms = [0, 1, 2, 3], imm?: number, kind: Op["kind"] = "arith") => {
  for (const form of forms) {
    const t: T = form < 2 ? "f" : "d";
    const mn = name.replace("%", FORMS[form]);
    OPS.push({
      name: imm === undefined ? mn : `${mn} ${imm}`,
      asm: `${mn} xmm0, xmm1${imm === undefined ? "" : ", " + imm}`,
      kind,
      op,
      form,
      imm,
      dst: "x",
      src: "x",
      ta: t,
      tb: t,
    });
  }
};
["add%", "sub%", "mul%", "div%", "min%", "max%", "sqrt%"].forEach((n, i) => ar(n, i));
ar("rcp%", 7, [0, 1], undefined, "approx");
ar("rsqrt%", 8, [0, 1], undefined, "approx");
for (let p = 0; p < 8; p++) ar("cmp%", 9, [0, 1, 2, 3], p);
ar("addsub%", 10, [0, 2]);
ar("hadd%", 11, [0, 2]);
ar("hsub%", 12, [0, 2]);
for (
  const [n, dbl, quiet] of [["comiss", 0, false], ["ucomiss", 0, true], ["comisd", 1, false], [
    "ucomisd",
    1,
    true,
  ]] as const
) {
  const t: T = dbl ? "d" : "f";
  OPS.push({
    name: n,
    asm: `${n} xmm0, xmm1`,
    kind: "comi",
    op: 0,
    form: dbl,
    quiet,
    dst: "x",
    src: "x",
    ta: t,
    tb: t,
  });
}
const CV: [string, string, "x" | "r" | "m", "x" | "r" | "m", T][] = [
  ["cvtpi2ps", "xmm0, mm0", "x", "m", "i"],
  ["cvtps2pi", "mm0, xmm1", "m", "x", "f"],
  ["cvttps2pi", "mm0, xmm1", "m", "x", "f"],
  ["cvtsi2ss", "xmm0, eax", "x", "r", "i"],
  ["cvtss2si", "eax, xmm1", "r", "x", "f"],
  ["cvttss2si", "eax, xmm1", "r", "x", "f"],
  ["cvtpd2ps", "xmm0, xmm1", "x", "x", "d"],
  ["cvtps2pd", "xmm0, xmm1", "x", "x", "f"],
  ["cvtsd2ss", "xmm0, xmm1", "x", "x", "d"],
  ["cvtss2sd", "xmm0, xmm1", "x", "x", "f"],
  ["cvtdq2ps", "xmm0, xmm1", "x", "x", "i"],
  ["cvtps2dq", "xmm0, xmm1", "x", "x", "f"],
  ["cvttps2dq", "xmm0, xmm1", "x", "x", "f"],
  ["cvtdq2pd", "xmm0, xmm1", "x", "x", "i"],
  ["cvtpd2dq", "xmm0, xmm1", "x", "x", "d"],
  ["cvttpd2dq", "xmm0, xmm1", "x", "x", "d"],
  ["cvtpi2pd", "xmm0, mm0", "x", "m", "i"],
  ["cvtpd2pi", "mm0, xmm1", "m", "x", "d"],
  ["cvttpd2pi", "mm0, xmm1", "m", "x", "d"],
  ["cvtsi2sd", "xmm0, eax", "x", "r", "i"],
  ["cvtsd2si", "eax, xmm1", "r", "x", "d"],
  ["cvttsd2si", "eax, xmm1", "r", "x", "d"],
];
CV.forEach(([n, ops, dst, src, tb], i) => {
  OPS.push({ name: n, asm: `${n} ${ops}`, kind: "cvt", op: i, form: 0, dst, src, ta: "f", tb });
});

// ---- the two sides -----------------------------------------------------------------------------
async function buildWasm(): Promise<WebAssembly.Instance> {
  Deno.mkdirSync(buildDir, { recursive: true });
  const out = buildDir + "fpvec.wasm";
  const { error, stderr } = await asc.main([
    here + "entry.ts",
    "--outFile",
    out,
    "--runtime",
    "stub",
    "-O3",
    "--noAssert",
  ], {});
  if (error) throw new Error("asc: " + stderr.toString());
  const { instance } = await WebAssembly.instantiate(Deno.readFileSync(out), {
    env: {
      abort: () => {
        throw new Error("abort");
      },
    },
  });
  return instance;
}
async function buildRunner(): Promise<string> {
  Deno.mkdirSync(buildDir, { recursive: true });
  const bin = buildDir + "runner";
  const p = await new Deno.Command("gcc", { args: ["-O2", "-o", bin, here + "runner.c"], stderr: "piped" }).output();
  if (!p.success) throw new Error("gcc: " + new TextDecoder().decode(p.stderr));
  return bin;
}
export function hostSource(): string {
  let s = "bits 64\n";
  s += OPS.map((_, i) => `dd op_${i}\n`).join("");
  OPS.forEach((o, i) => {
    s += `op_${i}:
  ldmxcsr [rdi+4]
  movups xmm0, [rdi+16]
  movups xmm1, [rdi+32]
  movq mm0, [rdi+32]
  mov eax, [rdi+8]
  push 0x8d7
  popfq
  ${o.asm}
  pushfq
  pop rcx
  mov [rsi+20], ecx
  movups [rsi], xmm0
  stmxcsr [rsi+16]
  mov [rsi+24], eax
  movq [rsi+32], mm0
  emms
  push 0x1f80
  ldmxcsr [rsp]
  pop rcx
  ret
`;
  });
  return s;
}

const REC_IN = 48, REC_OUT = 40;
interface Res {
  x: Uint8Array;
  mx: number;
  efl: number;
  eax: number;
  fault: number;
  mm: Uint8Array;
}
function ring3(w: WebAssembly.Instance, o: Op, rec: Uint8Array): Res {
  const e = w.exports as Record<string, CallableFunction>;
  const mem = new Uint8Array((w.exports.memory as WebAssembly.Memory).buffer);
  const buf = e.buf() as number;
  const dv = new DataView(rec.buffer, rec.byteOffset);
  const mxIn = dv.getUint32(4, true), eaxIn = dv.getUint32(8, true);
  const a = rec.slice(16, 32), b = rec.slice(32, 48);
  const res: Res = { x: a.slice(), mx: 0, efl: 0x8d5, eax: eaxIn, fault: -1, mm: b.slice(0, 8) };
  mem.set(
    o.dst === "x"
      ? a
      : o.dst === "r"
      ? new Uint8Array(new Uint32Array([eaxIn, 0, 0, 0]).buffer)
      : new Uint8Array([...b.slice(0, 8), 0, 0, 0, 0, 0, 0, 0, 0]),
    buf,
  );
  mem.set(o.src === "r" ? new Uint8Array(new Uint32Array([eaxIn, 0, 0, 0]).buffer) : b, buf + 16);
  let ok: number;
  if (o.kind === "comi") ok = e.comi(o.form, o.quiet ? 1 : 0, mxIn) as number;
  else if (o.kind === "cvt") ok = e.cvt(o.op, mxIn) as number;
  else ok = e.arith(o.op, o.form, o.imm ?? 0, mxIn) as number;
  res.mx = e.mxcsr() as number;
  if (!ok) {
    res.fault = 19;
    return res;
  }
  const m = new Uint8Array((w.exports.memory as WebAssembly.Memory).buffer);
  if (o.kind === "comi") res.efl = e.eflags() as number;
  else if (o.dst === "x") res.x = m.slice(buf, buf + 16);
  else if (o.dst === "r") res.eax = new DataView(m.buffer).getUint32(buf, true);
  else res.mm = m.slice(buf, buf + 8);
  return res;
}
function hostRes(out: Uint8Array, i: number): Res {
  const q = i * REC_OUT;
  const dv = new DataView(out.buffer, out.byteOffset + q);
  const f = dv.getUint32(28, true);
  return {
    x: out.slice(q, q + 16),
    mx: dv.getUint32(16, true),
    efl: dv.getUint32(20, true) & 0x8d5,
    eax: dv.getUint32(24, true),
    fault: f === 0xffffffff ? -1 : f,
    mm: out.slice(q + 32, q + 40),
  };
}
const hx = (m: Uint8Array) => [...m].map((b) => b.toString(16).padStart(2, "0")).join("");
const lanesStr = (m: Uint8Array, t: T) => {
  const dv = new DataView(m.buffer, m.byteOffset);
  const w = t === "d" ? 8 : 4;
  const out: string[] = [];
  for (let i = 0; i < m.length; i += w) {
    const h = w === 8
      ? dv.getUint32(i + 4, true).toString(16).padStart(8, "0") + dv.getUint32(i, true).toString(16).padStart(8, "0")
      : dv.getUint32(i, true).toString(16).padStart(8, "0");
    const v = t === "d" ? dv.getFloat64(i, true) : t === "f" ? dv.getFloat32(i, true) : dv.getInt32(i, true);
    out.push(`${h}(${v})`);
  }
  return out.join(" ");
};

// RCP/RSQRT: the special cases exactly, other results within 1.5 * 2^-12 of the true value
function approxOk(o: Op, rec: Uint8Array, exp: Res, got: Res): string | null {
  if (exp.mx !== got.mx || exp.fault !== got.fault) return "mxcsr/fault";
  const b = new DataView(rec.buffer, rec.byteOffset + 32);
  const ev = new DataView(exp.x.buffer), gv = new DataView(got.x.buffer);
  for (let i = 0; i < 16; i += 4) {
    if (o.form === 1 && i > 0) {
      if (ev.getUint32(i, true) !== gv.getUint32(i, true)) return `upper lane ${i / 4}`;
      continue;
    }
    const x = b.getFloat32(i, true), bx = b.getUint32(i, true);
    const eb = ev.getUint32(i, true), gb = gv.getUint32(i, true);
    const e = (bx >>> 23) & 0xff;
    const special = e === 0 || e === 255 || (o.op === 8 && bx >>> 31) === 1;
    if (special) {
      if (eb !== gb) return `lane ${i / 4} special`;
      continue;
    }
    const ax = Math.abs(x);
    // the SDM leaves flushing to zero implementation-specific between these two operands
    if (
      o.op === 7 && ax >= (2 - 2 ** -10 + 2 ** -12) * 2 ** 125 && ax <= (1 + 2 ** -12 + 2 ** -13 + 2 ** -23) * 2 ** 126
    ) {
      if ((gb & 0x7fffffff) === 0 || (eb & 0x7fffffff) === 0) continue;
    }
    const t = o.op === 7 ? 1 / x : 1 / Math.sqrt(x);
    const g = gv.getFloat32(i, true);
    if (o.op === 7 && Math.abs(t) < 2 ** -126) {
      if (gb !== eb) return `lane ${i / 4} tiny`;
      continue;
    }
    if (!(Math.abs(g - t) <= 1.5 * 2 ** -12 * Math.abs(t))) return `lane ${i / 4}: ${g} vs ${t}`;
  }
  return null;
}

Deno.test({
  name: "sse fp: every floating-point instruction vs the host CPU (all rounding modes, FTZ/DAZ, masks)",
  ignore: !HAVE_GCC || !HAVE_NASM || Deno.build.arch !== "x86_64",
  async fn() {
    const [w, runner, code] = await Promise.all([buildWasm(), buildRunner(), nasm(hostSource())]);
    const codeFile = buildDir + "code.bin";
    Deno.writeFileSync(codeFile, code);
    const recs: Uint8Array[] = [];
    const opOf: number[] = [];
    OPS.forEach((o, oi) => {
      const r = new Rng((SEED ^ hashName(o.name)) >>> 0);
      for (let n = 0; n < CASES; n++) {
        const rec = new Uint8Array(REC_IN);
        const dv = new DataView(rec.buffer);
        dv.setUint32(0, oi, true);
        dv.setUint32(4, mxgen(r), true);
        fill(r, o.ta, rec, 16);
        fill(r, o.tb, rec, 32);
        if (o.ta === o.tb && r.chance(0.5)) relate(r, o.tb, rec, 16, 32);
        dv.setUint32(8, o.src === "r" ? dv.getUint32(32, true) : 0xdeadbeef, true);
        recs.push(rec);
        opOf.push(oi);
      }
    });
    const input = new Uint8Array(recs.length * REC_IN);
    recs.forEach((r, i) => input.set(r, i * REC_IN));
    const p = new Deno.Command(runner, { args: [codeFile], stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
    const wr = p.stdin.getWriter();
    const outP = p.output();
    await wr.write(input);
    await wr.close();
    const po = await outP;
    if (!po.success) throw new Error("runner: " + new TextDecoder().decode(po.stderr));
    const out = po.stdout;
    if (out.length !== recs.length * REC_OUT) throw new Error(`runner wrote ${out.length} bytes`);
    const fails = new Map<string, string[]>();
    let nfail = 0;
    recs.forEach((rec, i) => {
      const o = OPS[opOf[i]];
      const exp = hostRes(out, i), got = ring3(w, o, rec);
      let what: string | null = null;
      if (o.kind === "approx") what = approxOk(o, rec, exp, got);
      else {
        const d: string[] = [];
        if (exp.fault !== got.fault) d.push("fault");
        if (exp.mx !== got.mx) d.push("mxcsr");
        if (exp.efl !== got.efl) d.push("eflags");
        if (hx(exp.x) !== hx(got.x)) d.push("xmm0");
        if (exp.eax !== got.eax) d.push("eax");
        if (hx(exp.mm) !== hx(got.mm)) d.push("mm0");
        what = d.length ? d.join(" ") : null;
      }
      if (!what) return;
      nfail++;
      const l = fails.get(o.name) ?? [];
      fails.set(o.name, l);
      if (l.length >= 3) return;
      const dv = new DataView(rec.buffer);
      const tr = o.dst === "x" && o.kind !== "comi" ? (o.kind === "cvt" ? "?" : o.ta) : o.ta;
      const resT: T = tr === "?" ? (/2(ps|ss)$/.test(o.name) ? "f" : /2(pd|sd)$/.test(o.name) ? "d" : "i") : tr as T;
      l.push(
        `${o.name}: ${what}\n  mxcsr=${dv.getUint32(4, true).toString(16)} a=${
          lanesStr(rec.subarray(16, 32), o.ta)
        }\n` +
          `  b=${lanesStr(rec.subarray(32, 48), o.tb)}\n` +
          `  host : mx=${exp.mx.toString(16)} fault=${exp.fault} efl=${exp.efl.toString(16)} eax=${
            exp.eax.toString(16)
          } mm=${hx(exp.mm)} x=${lanesStr(exp.x, resT)}\n` +
          `  ring3: mx=${got.mx.toString(16)} fault=${got.fault} efl=${got.efl.toString(16)} eax=${
            got.eax.toString(16)
          } mm=${hx(got.mm)} x=${lanesStr(got.x, resT)}`,
      );
    });
    if (nfail) {
      const msg = [...fails.entries()].map(([, l]) => l.join("\n")).join("\n");
      throw new Error(`${nfail} of ${recs.length} cases differ in ${fails.size} instructions:\n${msg}`);
    }
  },
});
