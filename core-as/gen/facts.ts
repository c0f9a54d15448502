// What the block compiler (runtime/jit/) needs to know about each opcode and ModR/M /reg,
// derived from the one opcode table (table.ts) into flat arrays its decoder and flag analysis
// index: ModR/M present, immediate kind, lazy-flag class, emitter, block end, prefixes.
//
// Derived when this module loads rather than generated into a file: the runtime is TypeScript
// that Deno runs as it is (nothing builds it), so a generated file could only go stale, while
// deriving costs well under a millisecond once per process (and per vCPU worker) and runs only
// before the first compile. The interpreter's switch stays generated (gen.ts), since the core is
// compiled anyway.
import { type Emit, type End, type Facts, type Flags, type Op, TABLE } from "./table.ts";

// immediate kinds (what follows the ModR/M bytes)
export const IMM_NONE = 0;
export const IMM_IB = 1; // byte, zero-extended
export const IMM_IBS = 2; // byte, sign-extended
export const IMM_IW = 3; // word, zero-extended
export const IMM_IZ = 4; // word or dword by operand size, as stored
export const IMM_IZS = 5; // word (sign-extended) or dword by operand size
export const IMM_MOFFS = 6; // a moffs (32-bit addressing: a dword)
export const IMM_JB = 7; // rel8 branch target
export const IMM_JZ = 8; // rel16/32 branch target
export const IMM_AP = 9; // far pointer: offset (word or dword) then selector
export const IMM_IWIB = 10; // ENTER: word then byte
const IMM_TOKENS: Record<string, number> = {
  Ib: IMM_IB,
  Ibs: IMM_IBS,
  Iw: IMM_IW,
  Iz: IMM_IZ,
  Iv: IMM_IZ, // (no 64-bit mode: Iv is Iz)
  Izs: IMM_IZS,
  Ob: IMM_MOFFS,
  Ov: IMM_MOFFS,
  Jb: IMM_JB,
  Jz: IMM_JZ,
  Ap: IMM_AP,
};
const MODRM_TOKENS = new Set([
  ...["Eb", "Ev", "Ew", "Ed", "Gb", "Gv", "Gw", "Sw", "Cd", "Dd", "Rd", "M", "Ma", "Mp", "Ms", "Mq", "Fx"],
  // MMX/SSE: P/N an MMX register (reg / r/m field), Q an MMX register or memory, V/U an XMM
  // register (reg / r/m field), W an XMM register or memory; the suffix is the size (q 64 bits,
  // d 32, x 128...). N and U need mod = 3 (else #UD), which does not change the length.
  ...["Pq", "Pd", "Nq", "Qq", "Qd", "Vx", "Vq", "Vd", "Ux", "Wx", "Wq", "Wd", "Gd", "Ed", "Mx", "Md", "Mb"],
]);
const PLAIN_TOKENS = new Set(["AL", "eAX", "CL", "DX", "1", "Zb", "Zv", "Xb", "Xv", "Yb", "Yv"]);

// the flag class the block compiler's liveness pass uses: USE = the flags before it may be read
// (or kept), KILL = it writes all six without reading them, PASS = live before exactly when live
// after (it leaves them, or sets CF/OF alone on top of them)
export const FL_USE = 0;
export const FL_KILL = 1;
export const FL_PASS = 2;
const FLAG_CLASS: Record<Flags, number> = { w: FL_KILL, "-": FL_PASS, c: FL_PASS, co: FL_PASS, r: FL_USE, rw: FL_USE };

// emitters: 0 = not compiled (the block ends before it), 1 = the interpreter steps it
export const EMIT_NONE = 0;
export const EMIT_STEP = 1;
export const EMITTERS: readonly Emit[] = [
  "step", // (id 1)
  "alu",
  "mov",
  "stack",
  "shift",
  "unary",
  "cond",
  "mul",
  "x87",
  "atomic",
  "branch",
  "sse",
  "eflags",
];
export const emitId = (e: Emit): number => EMITTERS.indexOf(e) + 1;

export const END_NONE = 0;
export const ENDS: readonly End[] = ["jcc", "jmp", "call", "ret", "far", "mode", "flat"]; // ids 1..7
export const END_JCC = 1, END_JMP = 2, END_CALL = 3, END_RET = 4, END_FLAT = 7;

// the packed facts of one opcode and /reg
export const F_IMM = 0xf; // bits 0-3: IMM_*
export const F_MODRM = 1 << 4;
export const F_KNOWN = 1 << 5; // the table has the opcode
export const F_FLAGS_SHIFT = 6; // bits 6-7: FL_*
export const F_EMIT_SHIFT = 8; // bits 8-11: emitter id
export const F_END_SHIFT = 12; // bits 12-14: end id
export const F_O16 = 1 << 15;
export const F_LOCK = 1 << 16;
export const F_ONLY_REG = 1 << 17;
export const F_NF = 1 << 18;
export const F_MODRM_REG = 1 << 19; // the ModR/M always names registers (MOV CRn/DRn: mod is ignored)
export const immKind = (f: number): number => f & F_IMM;
export const flagClass = (f: number): number => (f >>> F_FLAGS_SHIFT) & 3;
export const emitOf = (f: number): number => (f >>> F_EMIT_SHIFT) & 15;
export const endOf = (f: number): number => (f >>> F_END_SHIFT) & 7;

// opcode index: one-byte opcodes 0x00-0xff, two-byte 0x100 | second byte; FACTS[op * 8 + reg]
// (reg 0 for opcodes without ModR/M, and for all of them the ModR/M presence)
export const FACTS = new Uint32Array(0x200 * 8);
// the table's entry as it applies to an opcode and /reg (tests, messages)
export const ENTRY: (Op & Facts)[] = new Array(0x200 * 8);

// one-byte prefixes: PREFIX[b] = 0 none, else PFX_* bits below | (segment + 1) << 8
export const PFX_66 = 1;
export const PFX_67 = 2;
export const PFX_REP = 4;
export const PFX_LOCK = 8;
export const PREFIX = new Uint16Array(256);
// the escape byte to the two-byte map
export let ESCAPE = -1;

function regs(key: string): number[] {
  const [lo, hi] = key.split("-").map(Number);
  const r: number[] = [];
  for (let i = lo; i <= (hi ?? lo); i++) r.push(i);
  if (r.length === 0 || r.some((x) => !(x >= 0 && x < 8))) throw new Error(`bad /reg key ${key}`);
  return r;
}

function pack(key: string, e: Facts): { modrm: boolean; word: number } {
  let modrm = false, imm = IMM_NONE, regOnly = false;
  const tokens = e.a ? e.a.split(",") : [];
  if (tokens.join() === "Iw,Ib") imm = IMM_IWIB;
  else {
    for (const t of tokens) {
      if (MODRM_TOKENS.has(t)) {
        modrm = true;
        if (t === "Rd") regOnly = true;
      } else if (t in IMM_TOKENS) {
        if (imm !== IMM_NONE) throw new Error(`${key}: two immediates in ${e.a}`);
        imm = IMM_TOKENS[t];
      } else if (!PLAIN_TOKENS.has(t)) throw new Error(`${key}: unknown operand ${t}`);
    }
  }
  if (e.o16 || e.lock || e.only) {
    if (!e.jit || e.jit === "step") throw new Error(`${key}: o16/lock/only without an emitter`);
  }
  let w = imm | F_KNOWN | (modrm ? F_MODRM : 0);
  w |= (e.f ? FLAG_CLASS[e.f] : FL_USE) << F_FLAGS_SHIFT;
  w |= (e.jit ? emitId(e.jit) : EMIT_NONE) << F_EMIT_SHIFT;
  w |= (e.end ? ENDS.indexOf(e.end) + 1 : END_NONE) << F_END_SHIFT;
  if (e.o16) w |= F_O16;
  if (e.lock) w |= F_LOCK;
  if (e.only === "reg") w |= F_ONLY_REG;
  if (e.nf) w |= F_NF;
  if (regOnly) w |= F_MODRM_REG;
  return { modrm, word: w };
}

// Two-byte opcodes whose instruction a mandatory prefix selects ("66 0F xx", "F3 0F xx", "F2 0F xx"
// and "0F xx"): the compiler sees one opcode, so every variant must decode to the same length
// and take the same emitter; their flag classes combine (different ones: "reads").
const SELECTED = new Set<number>(); // second bytes of the prefix-selected two-byte opcodes
for (const key of Object.keys(TABLE)) {
  const parts = key.split(" ");
  if (parts.length !== 3) continue;
  const [lo, hi] = parts[2].split("-").map((x) => parseInt(x, 16));
  for (let b = lo; b <= (hi ?? lo); b++) SELECTED.add(b);
}
const VARIANT: Record<number, number> = {}; // opcode index -> packed word of the first variant seen
function mergeVariant(key: string, idx: number, w: number): number {
  const old = VARIANT[idx];
  if (old === undefined) return VARIANT[idx] = w;
  const len = F_IMM | F_MODRM | F_MODRM_REG, emit = 15 << F_EMIT_SHIFT, end = 7 << F_END_SHIFT;
  if ((old & len) !== (w & len)) throw new Error(`${key}: a mandatory prefix changes the instruction's length`);
  if ((old & (emit | end)) !== (w & (emit | end))) throw new Error(`${key}: prefix variants differ in jit/end`);
  let m = old & w; // nf, o16... only when all have them
  m |= old & (len | emit | end);
  const fl = (old >>> F_FLAGS_SHIFT) & 3, fw = (w >>> F_FLAGS_SHIFT) & 3;
  m = (m & ~(3 << F_FLAGS_SHIFT)) | ((fl === fw ? fl : FL_USE) << F_FLAGS_SHIFT);
  return VARIANT[idx] = m;
}

for (const [key, op] of Object.entries(TABLE)) {
  const parts = key.split(" ");
  const [lo, hi] = parts[parts.length - 1].split("-").map((x) => parseInt(x, 16));
  const base = parts.length >= 2 ? 0x100 : 0;
  if (op.h === "twobyte()") ESCAPE = lo;
  const pf = op.h.match(/^pfx_(\w+)\((\w*)\)/);
  // the entry as it applies to each /reg, packed (once per key: a range shares them)
  const whole = pack(key, op);
  const per: (Op & Facts)[] = new Array(8).fill(op);
  const words: number[] = new Array(8).fill(whole.word);
  for (const [k, over] of Object.entries(op.g ?? {})) {
    if (!whole.modrm) throw new Error(`${key}: /reg facts without a ModR/M byte`);
    for (const r of regs(k)) {
      per[r] = { ...per[r], ...over };
      const p = pack(key, per[r]);
      if (p.modrm !== whole.modrm) throw new Error(`${key}: ModR/M present for some /reg only`);
      words[r] = p.word;
    }
  }
  for (let b = lo; b <= (hi ?? lo); b++) {
    if (pf) {
      if (base) throw new Error(`${key}: a prefix in the two-byte map`);
      PREFIX[b] = pf[1] === "seg"
        ? (Number(pf[2]) + 1) << 8
        : pf[1] === "opsize"
        ? PFX_66
        : pf[1] === "adsize"
        ? PFX_67
        : pf[1] === "rep"
        ? PFX_REP
        : PFX_LOCK;
    }
    const variant = base !== 0 && SELECTED.has(b);
    for (let r = 0; r < 8; r++) {
      const i = (base | b) * 8 + r;
      if (variant) {
        if (op.g) throw new Error(`${key}: /reg facts in a prefix-selected opcode`);
        FACTS[i] = mergeVariant(key, i, words[r]);
        if (parts.length === 2 || !ENTRY[i]) ENTRY[i] = per[r]; // (the unprefixed entry if any)
      } else {
        FACTS[i] = words[r];
        ENTRY[i] = per[r];
      }
    }
  }
}
