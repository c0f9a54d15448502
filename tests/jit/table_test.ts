// The one opcode table (core-as/gen/table.ts) against the two tiers it drives: every entry names a
// handler that exists; for every one-byte and two-byte opcode, prefix mix, ModR/M form and /reg,
// the block compiler's decoder (runtime/jit/decode.ts) computes the length the interpreter
// consumes (one instruction run in the real core on a bare machine: where EIP ends); what the
// table lacks is #UD in the interpreter; and the lazy-flag facts the compiler relies on, and the
// "cannot fault" ones, hold in the interpreter.
import assert from "node:assert/strict";
import { Bare } from "../lib/bare.ts";
import * as L from "../../core-as/layout.ts";
import { decode } from "../../runtime/jit/decode.ts";
import { TABLE } from "../../core-as/gen/table.ts";
import {
  EMIT_NONE,
  EMIT_STEP,
  emitId,
  emitOf,
  ENTRY,
  ESCAPE,
  F_KNOWN,
  F_MODRM,
  FACTS,
  IMM_JB,
  IMM_JZ,
  immKind,
  PREFIX,
} from "../../core-as/gen/facts.ts";
import { findHandlers, handlerName } from "../../core-as/gen/handlers.ts";
import { ram8 } from "./corpus.ts";

const CODE = 0x8000; // (below 64 KiB: a 16-bit branch target is the same address)
const ESP = 0x7000;
// eax ecx edx ebx esp ebp esi edi: memory operands land in RAM, ECX = 1 (one string iteration,
// LOOP falls through, shifts by CL are by 1), AX / CL fits in AL
const REGS = [0x80, 1, 0, 0x3100, ESP, 0x3200, 0x3300, 0x3400];
// a second try for what faulted: ECX names an MSR (SYSENTER_CS) for RDMSR/WRMSR
const REGS2 = [0x80, 0x174, 0, 0x3100, ESP, 0x3200, 0x3300, 0x3400];
const F_ARITH = 0x8d5;
const F_CF = 1, F_OF = 0x800;

const hex = (n: number, w = 2) => n.toString(16).padStart(w, "0");
const name = (op: number, reg: number) =>
  `${op & 0x100 ? "0F " : ""}${hex(op & 0xff)}${FACTS[op * 8] & F_MODRM ? ` /${reg}` : ""}`;

let bare: Bare | undefined;
async function machine(): Promise<Bare> {
  if (!bare) {
    bare = await Bare.create({ ramBytes: 1 << 20 });
    new DataView(bare.memory.buffer).setUint32(L.MACHINE + L.M_JIT, 0, true); // the interpreter alone
  }
  return bare;
}

interface Run {
  fault: number; // vector, or -1
  eip: number;
  flags: number; // arithmetic flags after
  regs: number[];
}
// run the instruction at CODE once in flat 32-bit ring 0 with arithmetic flags `flags`
function run1(b: Bare, code: Uint8Array, flags: number, regs = REGS): Run {
  b.startFlat32(CODE, ESP);
  const c = b.core;
  c.set(L.S_CR4, L.CR4_OSFXSR | L.CR4_OSXMMEXCPT); // SSE instructions run (else all #UD)
  regs.forEach((v, r) => c.setReg(r, v));
  c.set(L.S_LF_OP, 0);
  c.set(L.S_FLAGS, (c.get(L.S_FLAGS) & ~F_ARITH) | flags);
  ram8(b).fill(0, 0, CODE + 64); // (what the last instruction stored)
  ram8(b).set(code, CODE);
  try {
    c.ex.run(1);
  } catch (e) {
    const vec = c.get(L.S_PEND_VEC) | 0;
    if (!(e instanceof WebAssembly.RuntimeError) || vec < 0) throw e;
    return { fault: vec, eip: -1, flags: 0, regs: [] };
  }
  const getFlags = (c.ex as unknown as { getFlags(): number }).getFlags;
  return { fault: -1, eip: c.eip, flags: getFlags() & F_ARITH, regs: regs.map((_, r) => c.reg(r)) };
}

// ModR/M forms (then zero displacement and immediate bytes): [eax], [eax+eax], [disp32] by SIB,
// [ecx*8+eax], [disp32], [eax+d8], [eax+eax+d8], [ebp+d8], [eax+d32], [esp+d32], a register
const FORMS = [
  ...[[0x00], [0x04, 0x00], [0x04, 0x25], [0x04, 0xc8], [0x05], [0x40], [0x44, 0x00], [0x45], [0x80]],
  ...[[0x84, 0x24], [0xc1]],
];
// ... with every /reg
const MODRM_FORMS = FORMS.flatMap((m) => [0, 1, 2, 3, 4, 5, 6, 7].map((r) => [m[0] | (r << 3), ...m.slice(1)]));
const PREFIXES = [[], [0x66], [0xf3], [0xf2], [0xf0], [0x2e], [0x64], [0x66, 0xf3], [0x26, 0x66], [0x3e, 0xf2]];

function opcodes(): number[] {
  const ops: number[] = [];
  for (let b = 0; b < 256; b++) if (PREFIX[b] === 0 && b !== ESCAPE) ops.push(b);
  for (let b = 0; b < 256; b++) ops.push(0x100 | b);
  return ops;
}
function bytesOf(pfx: number[], op: number, modrm: number[], fill: number): Uint8Array {
  const a = [...pfx, ...(op & 0x100 ? [ESCAPE, op & 0xff] : [op]), ...modrm];
  const out = new Uint8Array(a.length + 16).fill(fill);
  out.set(a);
  return out;
}
// after these the interpreter's EIP is not the next instruction: far transfers, returns,
// indirect JMP/CALL (a relative branch by 0 lands on the next one)
function elsewhere(op: number, reg: number): boolean {
  const e = ENTRY[op * 8 + reg];
  if (e.end === "far" || e.end === "ret") return true;
  const k = immKind(FACTS[op * 8 + reg]);
  return (e.end === "jmp" || e.end === "call") && k !== IMM_JB && k !== IMM_JZ;
}

Deno.test("table: every entry's handler exists", () => {
  const have = findHandlers();
  const missing = Object.values(TABLE).map((e) => handlerName(e.h)).filter((n) => !have.has(n));
  assert.deepEqual(missing, []);
});

Deno.test("table: what the block compiler emits inline has its flag facts", () => {
  const bad: string[] = [];
  for (let op = 0; op < 0x200; op++) {
    for (let reg = 0; reg < 8; reg++) {
      const f = FACTS[op * 8 + reg];
      if (emitOf(f) > EMIT_STEP && !ENTRY[op * 8 + reg].f) bad.push(name(op, reg));
    }
  }
  assert.deepEqual(bad, []);
});

Deno.test("table: decoded lengths are the interpreter's (every opcode, prefix mix, ModR/M form, /reg)", async () => {
  const b = await machine();
  const wrong: string[] = [], notUd: string[] = [], faulted: string[] = [], refused67: string[] = [];
  const checked = new Set<number>();
  const ud = new Set<number>(); // (op, reg) whose every form was #UD
  for (let i = 0; i < 0x200 * 8; i++) ud.add(i);
  let runs = 0, lengths = 0;
  for (const op of opcodes()) {
    const modrm = (FACTS[op * 8] & F_MODRM) !== 0;
    const forms = modrm ? MODRM_FORMS : [[]];
    for (const pfx of PREFIXES) {
      for (const form of forms) {
        let code = bytesOf(pfx, op, form, 0);
        ram8(b).set(code, CODE);
        const reg = modrm ? (form[0] >> 3) & 7 : 0;
        const f = FACTS[op * 8 + reg];
        let d = decode(ram8(b), CODE, CODE + 0x1000, CODE, true);
        const compiled = decode(ram8(b), CODE, CODE + 0x1000, CODE);
        // 16-bit addressing: the compiler refuses it
        const d67 = decode(bytesOf([0x67, ...pfx], op, form, 0), 0, 64, CODE, true);
        if (d67) refused67.push(name(op, reg));
        assert.equal(compiled !== null, emitOf(f) !== EMIT_NONE, `${name(op, reg)}: compiled`);
        let r = run1(b, code, 0);
        runs++;
        // a register form of an instruction that cannot fault must not
        const nf = ENTRY[op * 8 + reg]?.nf && (!modrm || form[0] >= 0xc0) && !pfx.includes(0xf0);
        if (nf && r.fault >= 0) faulted.push(`${pfx.map((x) => hex(x)).join(" ")} ${name(op, reg)} (#${r.fault})`);
        if (r.fault >= 0) { // again with immediates of 1 (AAM 0 is #DE) and an MSR number
          code = bytesOf(pfx, op, form, 1);
          d = decode(code, 0, 64, CODE, true);
          r = run1(b, code, 0, REGS2);
          runs++;
        }
        const what = `${pfx.map((x) => hex(x)).join(" ")} ${name(op, reg)} (${
          [...code.subarray(0, 8)].map((x) => hex(x))
        })`;
        if (!(f & F_KNOWN)) {
          assert.equal(d, null);
          if (r.fault !== 6) notUd.push(what);
          continue;
        }
        assert.ok(d, what);
        if (r.fault !== 6) ud.delete(op * 8 + reg);
        if (r.fault >= 0) continue;
        if (elsewhere(op, reg)) continue;
        lengths++;
        checked.add(op * 8 + reg);
        if (r.eip - CODE !== d.len) wrong.push(`${what}: decoder ${d.len}, interpreter ${r.eip - CODE}`);
      }
    }
  }
  console.log(`${runs} instructions run, ${lengths} lengths compared, ${checked.size} opcodes and /reg covered`);
  assert.deepEqual(wrong.slice(0, 20), []);
  assert.deepEqual(notUd.slice(0, 20), [], "opcodes the table lacks must be #UD");
  assert.deepEqual(faulted.slice(0, 20), [], "nf: register forms never fault");
  assert.deepEqual(refused67.slice(0, 20), []);
  // every compiled opcode and /reg had its length compared (but the invalid encodings)
  const unchecked: string[] = [];
  for (let op = 0; op < 0x200; op++) {
    for (let reg = 0; reg < 8; reg++) {
      if (
        emitOf(FACTS[op * 8 + reg]) !== EMIT_NONE && !checked.has(op * 8 + reg) && !elsewhere(op, reg) &&
        !ud.has(op * 8 + reg)
      ) {
        unchecked.push(name(op, reg));
      }
      if (!(FACTS[op * 8] & F_MODRM)) break;
    }
  }
  assert.deepEqual(unchecked, []);
});

// The block compiler's liveness pass trusts `f` for what it emits inline (and the interpreter's
// steps must keep to it too): run each opcode and /reg (register and memory form, immediates of 1
// so that shift counts are not 0) with the six flags all clear and all set, same registers.
// "w": the flags after do not depend on the flags before, nor do the registers; "-" and "r": the
// flags are unchanged; "c"/"co": only CF / CF and OF may change; all but "r": the registers and
// EIP do not depend on the flags.
Deno.test("table: the lazy-flag facts hold in the interpreter", async () => {
  const b = await machine();
  const bad: string[] = [];
  const covered = new Set<number>();
  const ran = new Set<number>(); // opcode and /reg that some form runs without #UD
  for (const op of opcodes()) {
    const modrm = (FACTS[op * 8] & F_MODRM) !== 0;
    for (let reg = 0; reg < (modrm ? 8 : 1); reg++) {
      const e = ENTRY[op * 8 + reg];
      if (!(FACTS[op * 8 + reg] & F_KNOWN) || !e.f || e.f === "rw" || elsewhere(op, reg)) continue;
      // (the SSE emitter's opcodes: each mandatory prefix selects an instruction of its own)
      const sse = emitOf(FACTS[op * 8 + reg]) === emitId("sse");
      for (
        const [pfx, form] of (sse ? [[], [0x66], [0xf3], [0xf2]] : [[]]).flatMap((p) =>
          (modrm ? [[0xc1 | (reg << 3)], [reg << 3]] : [[]]).map((f) => [p, f])
        )
      ) {
        const code = bytesOf(pfx, op, form, 1);
        const r0 = run1(b, code, 0), r1 = run1(b, code, F_ARITH);
        if (r0.fault !== 6 || r1.fault !== 6) ran.add(op * 8 + reg);
        if (r0.fault >= 0 || r1.fault >= 0) continue;
        covered.add(op * 8 + reg);
        const what = `${name(op, reg)}${form.length && form[0] < 0xc0 ? " (memory)" : ""} f: "${e.f}"`;
        const keep = e.f === "c" ? F_ARITH & ~F_CF : e.f === "co" ? F_ARITH & ~(F_CF | F_OF) : F_ARITH;
        if (e.f === "w") {
          if (r0.flags !== r1.flags) bad.push(`${what}: flags ${hex(r0.flags, 3)} / ${hex(r1.flags, 3)}`);
        } else if ((r0.flags & keep) !== 0 || (r1.flags & keep) !== keep) {
          bad.push(`${what}: flags 000 -> ${hex(r0.flags, 3)}, 8d5 -> ${hex(r1.flags, 3)}`);
        }
        const same = (x: Run, y: Run) => x.eip === y.eip && x.regs.every((v, i) => v === y.regs[i]);
        if (e.f !== "r" && !same(r0, r1) && same(r0, run1(b, code, 0))) { // (RDTSC differs anyway)
          bad.push(`${what}: registers depend on the flags`);
        }
      }
    }
  }
  console.log(`${covered.size} opcodes and /reg checked`);
  assert.deepEqual(bad, []);
  // everything the compiler emits inline was checked
  const unchecked: string[] = [];
  for (let i = 0; i < 0x200 * 8; i++) {
    // (an SSE opcode and /reg that is #UD with every mandatory prefix does not exist)
    const none = emitOf(FACTS[i]) === emitId("sse") && !ran.has(i);
    if (emitOf(FACTS[i]) > EMIT_STEP && ENTRY[i].f !== "rw" && !covered.has(i) && !elsewhere(i >> 3, i & 7) && !none) {
      if (FACTS[i & ~7] & F_MODRM || (i & 7) === 0) unchecked.push(name(i >> 3, i & 7));
    }
  }
  assert.deepEqual(unchecked, []);
});
