// Differential testing of ring3's instruction semantics against this host's CPU.
//
// A template is one instruction (or a short sequence) written once in nasm syntax. The harness
// assembles it twice:
//  - `bits 64` inside a wrapper that loads eax..edi and EFLAGS (arithmetic flags + DF) from an
//    input record, executes it, and stores registers + EFLAGS to an output record; the native
//    runner (runner.c, built on demand with gcc) calls the wrapper once per record;
//  - `bits 32` as bare bytes that ring3 executes in flat protected mode; registers and flags are
//    set in the state block directly, so the test depends on no instruction but the one under
//    test.
// The host cannot run 32-bit code, but 8/16/32-bit operand forms behave identically in 64-bit
// mode (32-bit results zero the upper halves; only low 32 bits are kept). ESP is never an operand
// (it is the runner's stack); the data window sits at the same address (DATA) on both sides.
// Instructions that do not exist in 64-bit mode use a TypeScript reference model (`ref`) written
// from the SDM pseudocode instead of the native run.
import { Bare, type Fault } from "../../lib/bare.ts";
import { HAVE_GCC, HAVE_NASM, nasm } from "../../lib/tools.ts";
import * as L from "../../../core-as/layout.ts";
import { hashName, Rng } from "../../lib/rng.ts";
import { BASE_SEED } from "./seed.ts";
import { CODE, DATA, enterFlat, installTables, stubVector } from "./machine.ts";

export { DATA };
export const REGS = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
export const NOFAULT = -1;
export const INTERNAL = -2; // the core trapped without a pending exception: a CoreError

export interface Case {
  regs: number[]; // eax ecx edx ebx esp ebp esi edi
  flags: number; // EFLAGS in: CF PF AF ZF SF OF DF
  mem: Uint8Array; // the data window at DATA
}
export interface Result extends Case {
  fault: number; // vector, NOFAULT or INTERNAL
}

export interface Template {
  name: string; // as shown in reports: "adc r8, imm8"
  asm: string; // instruction(s), one per line, valid in bits 32 and bits 64
  asm64?: string; // native text when it must differ (stack width)
  mem?: number; // bytes of the data window the template uses (0: none)
  cases?: number; // default 1000
  // EFLAGS bits the SDM calls undefined for this instruction (constant, or from the input)
  undef?: number | ((c: Case) => number);
  // registers (bit i = REGS[i]) whose result the SDM calls undefined for this input
  undefRegs?: (c: Case) => number;
  // byte ranges of the data window whose result is undefined or model-specific
  undefMem?: (c: Case) => [number, number][];
  // constrain the random input (pointer registers, counts, avoid #DE, ...)
  gen?: (r: Rng, c: Case) => void;
  // reference model instead of the native CPU (instructions invalid in 64-bit mode)
  ref?: (c: Case) => Result;
  // replaces the exact comparison of the data window (x87 transcendentals: tolerance)
  memCompare?: (exp: Uint8Array, got: Uint8Array, c: Case) => string | null;
  maxSteps?: number; // instructions ring3 may retire for the template (rep forms)
  compareEsp?: boolean;
}

const RELEVANT = L.F_ARITH | L.F_DF;
const FLAG_NAMES: [number, string][] = [
  [L.F_CF, "CF"],
  [L.F_PF, "PF"],
  [L.F_AF, "AF"],
  [L.F_ZF, "ZF"],
  [L.F_SF, "SF"],
  [L.F_DF, "DF"],
  [L.F_OF, "OF"],
];
export function flagStr(f: number): string {
  const s = FLAG_NAMES.filter(([b]) => f & b).map(([, n]) => n).join(" ");
  return `${hex(f & RELEVANT, 4)}[${s}]`;
}
export function hex(v: number, w = 8): string {
  return (v >>> 0).toString(16).padStart(w, "0");
}
function faultStr(f: number): string {
  return f === NOFAULT ? "none" : f === INTERNAL ? "INTERNAL CORE ERROR" : `#${
    [
      "DE",
      "DB",
      "NMI",
      "BP",
      "OF",
      "BR",
      "UD",
      "NM",
      "DF",
      "9",
      "TS",
      "NP",
      "SS",
      "GP",
      "PF",
      "15",
      "MF",
      "AC",
      "MC",
      "XM",
    ][f] ??
      f
  }`;
}

// ---- native runner ----------------------------------------------------------------------------
const buildDir = new URL("../../../build/diff/", import.meta.url).pathname;
const runnerSrc = new URL("./runner.c", import.meta.url).pathname;
let runnerPromise: Promise<string> | undefined;

// compile runner.c once (again when the source is newer than the binary)
function nativeRunner(): Promise<string> {
  runnerPromise ??= (async () => {
    const bin = buildDir + "runner";
    const srcTime = Deno.statSync(runnerSrc).mtime!.getTime();
    try {
      if (Deno.statSync(bin).mtime!.getTime() >= srcTime) return bin;
    } catch { /* not built */ }
    Deno.mkdirSync(buildDir, { recursive: true });
    // test modules run as workers of one process, so the pid alone does not make the name unique
    const tmp = `${bin}.${Deno.pid}.${crypto.randomUUID()}`;
    const p = await new Deno.Command("gcc", { args: ["-O2", "-o", tmp, runnerSrc], stderr: "piped" }).output();
    if (!p.success) throw new Error("gcc runner.c: " + new TextDecoder().decode(p.stderr));
    Deno.renameSync(tmp, bin); // atomic: test files may build it concurrently
    return bin;
  })();
  return runnerPromise;
}

function lines(s: string): string {
  return s.split("\n").map((l) => "    " + l.trim()).join("\n");
}

// ---- native side ------------------------------------------------------------------------------
function source64(ts: Template[]): string {
  let s = `bits 64\ndefault abs\n%define DATA 0x${hex(DATA)}\n%define NATIVE 1\n`;
  s += ts.map((_, i) => `dd t${i}\n`).join("");
  ts.forEach((t, i) => {
    s += `align 16
t${i}:
    push rbx
    push rbp
    push r14
    push r15
    mov r15, rdi
    mov r14, rsi
    mov eax, [r15+32]
    push rax
    popfq
    mov eax, [r15]
    mov ecx, [r15+4]
    mov edx, [r15+8]
    mov ebx, [r15+12]
    mov ebp, [r15+20]
    mov esi, [r15+24]
    mov edi, [r15+28]
${lines(t.asm64 ?? t.asm)}
    pushfq
    mov [r14], eax
    mov [r14+4], ecx
    mov [r14+8], edx
    mov [r14+12], ebx
    mov dword [r14+16], 0
    mov [r14+20], ebp
    mov [r14+24], esi
    mov [r14+28], edi
    pop rax
    mov [r14+32], eax
    cld
    fninit
    pop r15
    pop r14
    pop rbp
    pop rbx
    ret
`;
  });
  return s;
}

function recBytes(t: Template): number {
  return 36 + (t.mem ?? 0);
}

async function runNative(ts: Template[], inputs: Case[][]): Promise<Result[][]> {
  const runner = await nativeRunner();
  const code = await nasm(source64(ts));
  const dv = new DataView(code.buffer, code.byteOffset, code.byteLength);
  let size = 4;
  ts.forEach((t, i) => size += 12 + inputs[i].length * recBytes(t));
  const inBuf = new Uint8Array(size);
  const iv = new DataView(inBuf.buffer);
  let o = 0;
  iv.setUint32(o, ts.length, true), o += 4;
  ts.forEach((t, i) => {
    const m = t.mem ?? 0;
    iv.setUint32(o, dv.getUint32(i * 4, true), true);
    iv.setUint32(o + 4, inputs[i].length, true);
    iv.setUint32(o + 8, m, true);
    o += 12;
    for (const c of inputs[i]) {
      for (let r = 0; r < 8; r++) iv.setUint32(o + r * 4, c.regs[r], true);
      iv.setUint32(o + 32, c.flags, true);
      inBuf.set(c.mem.subarray(0, m), o + 36);
      o += 36 + m;
    }
  });
  const dir = await Deno.makeTempDir({ prefix: "ring3-diff-" });
  try {
    await Deno.writeFile(`${dir}/code.bin`, code);
    await Deno.writeFile(`${dir}/in.bin`, inBuf);
    const p = await new Deno.Command(runner, {
      args: [`${dir}/code.bin`, `${dir}/in.bin`, `${dir}/out.bin`],
      stderr: "piped",
    })
      .output();
    if (!p.success) throw new Error(`native runner failed (${p.code}): ${new TextDecoder().decode(p.stderr)}`);
    const out = await Deno.readFile(`${dir}/out.bin`);
    const ov = new DataView(out.buffer, out.byteOffset, out.byteLength);
    let q = 0;
    return ts.map((t, i) => {
      const m = t.mem ?? 0;
      return inputs[i].map(() => {
        const regs = [...Array(8)].map((_, r) => ov.getUint32(q + r * 4, true));
        const fault = ov.getUint32(q + 36, true);
        const res: Result = {
          regs,
          flags: ov.getUint32(q + 32, true),
          fault: fault === 0xffffffff ? NOFAULT : fault,
          mem: out.slice(q + 40, q + 40 + m),
        };
        q += 40 + m;
        return res;
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

export const runNativeForTest = runNative;
export const sourcesForDebug = {
  source64: (ts: Template[]) => source64(ts),
  source32: (ts: Template[]) => source32(ts),
};

// ---- ring3 side -------------------------------------------------------------------------------
function source32(ts: Template[]): string {
  let s = `bits 32\norg 0x${hex(CODE)}\n%define DATA 0x${hex(DATA)}\n`;
  s += ts.map((_, i) => `dd t${i}, t${i}_end\n`).join("");
  ts.forEach((t, i) => s += `t${i}:\n${lines(t.asm)}\nt${i}_end:\n    hlt\n`);
  return s;
}

export class Ring3 {
  private constructor(readonly bare: Bare) {}
  static async create(): Promise<Ring3> {
    const b = await Bare.create();
    enterFlat(b, 0, CODE);
    // an OS that saves SSE state with FXSAVE and handles #XM, as the host's does
    b.core.set(L.S_CR4, L.CR4_OSFXSR | L.CR4_OSXMMEXCPT);
    return new Ring3(b);
  }

  // Run one case from `start` until EIP reaches `end`, an exception, or maxSteps instructions.
  exec(start: number, end: number, c: Case, memBytes: number, maxSteps: number, useEsp = false): Result {
    const core = this.bare.core;
    for (let r = 0; r < 8; r++) core.setReg(r, r === 4 && !useEsp ? 0x9f000 : c.regs[r]);
    // data segments back to flat ring-0 (a template may have loaded one)
    for (const s of [L.SEG_ES, L.SEG_DS, L.SEG_FS, L.SEG_GS]) core.ex.setSeg(s, 0x10, 0, 0xffffffff, 0xc093);
    core.set(L.S_FLAGS, (c.flags & RELEVANT) | 2);
    core.set(L.S_LF_OP, 0);
    core.set(L.S_PEND_VEC, 0xffffffff);
    core.set(L.S_EXC_STATE, 0xffffffff);
    core.set(L.S_HALTED, 0);
    core.eip = start;
    if (memBytes) this.bare.ram.write(DATA, c.mem.subarray(0, memBytes));
    let fault = NOFAULT;
    for (let n = 0; n < maxSteps; n++) {
      let f: Fault | null;
      try {
        f = this.bare.step(1);
      } catch (e) {
        console.error(`ring3 internal error: ${e}`);
        core.set(L.S_PEND_VEC, 0xffffffff);
        fault = INTERNAL;
        break;
      }
      if (f) {
        fault = f.vec;
        break;
      }
      const eip = core.eip;
      if (eip === end) break;
      const v = stubVector(eip);
      if (v >= 0) {
        fault = v;
        break;
      }
      if (core.get(L.S_HALTED)) break;
    }
    const regs = this.bare.regs();
    if (!useEsp) regs[4] = 0;
    return {
      regs,
      flags: this.bare.flags(),
      fault,
      mem: this.bare.ram.read(DATA, memBytes)!,
    };
  }

  async runAll(ts: Template[], inputs: Case[][]): Promise<Result[][]> {
    const code = await nasm(source32(ts));
    const dv = new DataView(code.buffer, code.byteOffset, code.byteLength);
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0; // traps are the normal way out of a faulting instruction
    try {
      return ts.map((t, i) => {
        // a wild store of an earlier template must not change what later ones run
        this.bare.load(CODE, code);
        installTables(this.bare);
        const start = dv.getUint32(i * 8, true), end = dv.getUint32(i * 8 + 4, true);
        return inputs[i].map((c) => this.exec(start, end, c, t.mem ?? 0, t.maxSteps ?? 64, t.compareEsp));
      });
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}

// ---- inputs -----------------------------------------------------------------------------------
export function randomCase(r: Rng, memBytes: number): Case {
  const regs = [...Array(8)].map(() => r.val());
  regs[4] = 0; // ESP: only templates with compareEsp set it (in gen)
  // equal operands make ZF, cmpxchg and sub corner cases likely
  if (r.chance(0.1)) regs[r.pick([0, 1, 2, 3, 5, 6, 7])] = regs[r.pick([0, 1, 2, 3, 5, 6, 7])];
  const mem = new Uint8Array(memBytes);
  for (let i = 0; i < memBytes; i += 4) {
    const v = r.val();
    for (let k = 0; k < 4 && i + k < memBytes; k++) mem[i + k] = v >>> (8 * k);
  }
  return { regs, flags: r.u32() & RELEVANT, mem };
}

export function casesFor(group: string, t: Template): Case[] {
  const r = new Rng((BASE_SEED ^ hashName(group + "/" + t.name)) >>> 0);
  const n = t.cases ?? 1000;
  const out: Case[] = [];
  for (let i = 0; i < n; i++) {
    const c = randomCase(r, t.mem ?? 0);
    t.gen?.(r, c);
    c.regs = c.regs.map((v) => v >>> 0);
    out.push(c);
  }
  return out;
}

// ---- comparison -------------------------------------------------------------------------------
export function compare(t: Template, c: Case, exp: Result, got: Result): string | null {
  const diffs: string[] = [];
  if (exp.fault !== got.fault) diffs.push("fault");
  const undefRegs = exp.fault === NOFAULT ? (t.undefRegs?.(c) ?? 0) : 0;
  for (let r = 0; r < 8; r++) {
    if (r === 4 && !t.compareEsp) continue;
    if (undefRegs & (1 << r)) continue;
    if ((exp.regs[r] >>> 0) !== (got.regs[r] >>> 0)) diffs.push(REGS[r]);
  }
  const undef = exp.fault === NOFAULT ? (typeof t.undef === "function" ? t.undef(c) : t.undef ?? 0) : 0;
  const fm = RELEVANT & ~undef;
  if ((exp.flags & fm) !== (got.flags & fm)) diffs.push(`flags(${flagStr((exp.flags ^ got.flags) & fm)})`);
  const ranges = exp.fault === NOFAULT ? (t.undefMem?.(c) ?? []) : [];
  const masked = (i: number) => ranges.some(([a, b]) => i >= a && i < b);
  if (t.memCompare && exp.fault === NOFAULT && got.fault === NOFAULT) {
    const m = t.memCompare(exp.mem, got.mem, c);
    if (m) diffs.push(`mem(${m})`);
  } else {
    for (let i = 0; i < exp.mem.length; i++) {
      if (!masked(i) && exp.mem[i] !== got.mem[i]) {
        diffs.push(`mem[+0x${i.toString(16)}]`);
        break;
      }
    }
  }
  return diffs.length ? diffs.join(" ") : null;
}

function memStr(m: Uint8Array): string {
  if (!m.length) return "";
  const n = Math.min(m.length, 32);
  return ` mem=${[...m.subarray(0, n)].map((b) => hex(b, 2)).join("")}${m.length > n ? "…" : ""}`;
}
function stateStr(s: Case | Result, compareEsp = false): string {
  const regs = REGS.map((n, r) => r === 4 && !compareEsp ? "" : `${n}=${hex(s.regs[r])}`).filter((x) => x).join(" ");
  const f = "fault" in s ? ` fault=${faultStr(s.fault)}` : "";
  return `${regs} flags=${flagStr(s.flags)}${f}${memStr(s.mem)}`;
}

// the 16 bytes around the first differing byte of the data window
function memDiff(e: Uint8Array, g: Uint8Array): string {
  const i = e.findIndex((b, k) => b !== g[k]);
  if (i < 0) return "";
  const a = i & ~7, b = Math.min(e.length, a + 16);
  const h = (m: Uint8Array) => [...m.subarray(a, b)].map((x) => hex(x, 2)).join(" ");
  return `  mem+0x${a.toString(16)}: exp ${h(e)}\n           got ${h(g)}`;
}

export function describe(
  group: string,
  t: Template,
  idx: number,
  c: Case,
  exp: Result,
  got: Result,
  what: string,
): string {
  const undef = typeof t.undef === "function" ? t.undef(c) : t.undef ?? 0;
  return [
    `[${group}] ${t.name}   case #${idx}  seed=0x${hex(BASE_SEED)} (RING3_DIFF_SEED)   differs in: ${what}`,
    `  asm : ${t.asm.split("\n").map((l) => l.trim()).join(" ; ")}`,
    `  in  : ${stateStr(c, t.compareEsp)}`,
    `  exp : ${stateStr(exp, t.compareEsp)}${t.ref ? "   (reference model)" : "   (host CPU)"}`,
    `  got : ${stateStr(got, t.compareEsp)}   (ring3)`,
    memDiff(exp.mem, got.mem),
    undef ? `  undefined flags masked: ${flagStr(undef)}` : "",
  ].filter((x) => x).join("\n");
}

// ---- test registration ------------------------------------------------------------------------
interface Outcome {
  mismatches: string[];
  count: number;
  cases: number;
  unimplemented: boolean;
}

const STRICT = Deno.env.get("RING3_DIFF_STRICT") === "1";

async function runGroup(group: string, ts: Template[]): Promise<Map<string, Outcome>> {
  if (Deno.env.get("RING3_DIFF_KEEP")) {
    Deno.mkdirSync(buildDir, { recursive: true });
    Deno.writeTextFileSync(`${buildDir}${group}.64.asm`, source64(ts.filter((t) => !t.ref)));
    Deno.writeTextFileSync(`${buildDir}${group}.32.asm`, source32(ts));
  }
  const t0 = performance.now();
  const inputs = ts.map((t) => casesFor(group, t));
  const t1 = performance.now();
  const nativeTs = ts.filter((t) => !t.ref);
  const nativeIn = inputs.filter((_, i) => !ts[i].ref);
  const nativeOut = nativeTs.length ? await runNative(nativeTs, nativeIn) : [];
  const ring3 = await Ring3.create();
  const t2 = performance.now();
  const got = await ring3.runAll(ts, inputs);
  const t3 = performance.now();
  const res = new Map<string, Outcome>();
  let k = 0;
  ts.forEach((t, i) => {
    const exp = t.ref ? inputs[i].map((c) => t.ref!(c)) : nativeOut[k++];
    const o: Outcome = { mismatches: [], count: 0, cases: inputs[i].length, unimplemented: false };
    // every case #UD in ring3 while the reference runs it: the handler is not written/merged yet
    o.unimplemented = got[i].every((g) => g.fault === L.EXC_UD) && exp.some((e) => e.fault !== L.EXC_UD);
    inputs[i].forEach((c, j) => {
      const what = compare(t, c, exp[j], got[i][j]);
      if (what) {
        o.count++;
        if (o.mismatches.length < 4) o.mismatches.push(describe(group, t, j, c, exp[j], got[i][j], what));
      }
    });
    if (res.has(t.name)) throw new Error(`template name used twice: ${t.name}`);
    res.set(t.name, o);
  });
  if (Deno.env.get("RING3_DIFF_TIMES")) {
    const ms = (a: number, b: number) => `${Math.round(b - a)} ms`;
    console.error(
      `diff ${group}: ${inputs.reduce((a, x) => a + x.length, 0)} cases, inputs ${ms(t0, t1)}, native ${
        ms(t1, t2)
      }, ring3 ${ms(t2, t3)}, compare ${ms(t3, performance.now())}`,
    );
  }
  return res;
}

// Register one Deno test per template of the group. The group is assembled and run (natively
// and in ring3) once, on first use.
export function diffGroup(group: string, ts: Template[]): void {
  const needsGcc = ts.some((t) => !t.ref);
  if (!HAVE_NASM || (needsGcc && !HAVE_GCC)) {
    Deno.test({ name: `diff ${group}: SKIPPED (nasm or gcc missing)`, ignore: true, fn() {} });
    console.warn(`diff ${group}: skipped, ${!HAVE_NASM ? "nasm" : "gcc"} is not installed`);
    return;
  }
  let results: Promise<Map<string, Outcome>> | undefined;
  for (const t of ts) {
    Deno.test(`diff ${group}: ${t.name}`, async () => {
      results ??= runGroup(group, ts);
      const o = (await results).get(t.name)!;
      if (o.unimplemented) {
        const msg = `diff ${group}: ${t.name}: NOT IMPLEMENTED in ring3 (every case raised #UD)`;
        if (STRICT) throw new Error(msg);
        console.warn(msg + " — not compared; RING3_DIFF_STRICT=1 makes this a failure");
        return;
      }
      if (o.count) {
        throw new Error(`${o.count} of ${o.cases} cases differ\n\n${o.mismatches.join("\n\n")}\n`);
      }
    });
  }
}
