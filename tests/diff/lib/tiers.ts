// Differential fuzzing of the two tiers: random instruction streams, generated from the one opcode
// table (core-as/gen/table.ts: every opcode the interpreter knows, with random prefixes, ModR/M
// and SIB forms, 16-bit operand and address sizes, MMX/SSE/SSE2), run once by the interpreter
// alone and once with every block compiled at its first visit (runtime/jit/), on two bare
// machines set up alike. Everything the guest or a debugger can observe must be equal afterwards:
// the exit, port output, retired instructions, general registers, EIP, EFLAGS (every bit the
// interpreter defines), segment and system registers, x87/MMX, XMM and MXCSR state, and all of
// guest RAM. Exceptions go to one ring-0 handler that logs vector and error code in RAM and goes
// on at the instruction after the faulting one (up to MAX_FAULTS, then it halts), so a stream runs
// on past its faults and every exception is compared with its frame. Streams may loop (DEC/JNZ
// around them, 2-4 rounds): the compiled side then enters blocks it compiled in the same run.
// Machines: ring 0 or ring 3; flat, FS/GS with non-zero bases and limits, or a 16-bit code segment
// (the block compiler only takes flat 32-bit code: there it must stay out of the way); paging on
// or off (identity map with supervisor pages, a read-only and a missing page).
// Used by tests/jit/tiers_test.ts (fixed seeds) and bench/fuzz.ts (long runs).
import { Bare } from "../../lib/bare.ts";
import * as L from "../../../core-as/layout.ts";
import { TABLE } from "../../../core-as/gen/table.ts";
import {
  F_MODRM,
  F_MODRM_REG,
  FACTS,
  IMM_AP,
  IMM_IB,
  IMM_IBS,
  IMM_IW,
  IMM_IWIB,
  IMM_IZ,
  IMM_IZS,
  IMM_JB,
  IMM_JZ,
  IMM_MOFFS,
  immKind,
} from "../../../core-as/gen/facts.ts";
import { Rng } from "../../lib/rng.ts";
import { Buffer } from "node:buffer";
import { jitOptions } from "../../../runtime/jit/compile.ts";

export const RAM = 4 << 20;
const GDT = 0x1000, IDT = 0x2000, STUBS = 0x3000, TSS = 0x4000;
// The exception handler goes on after the faulting instruction (the stream's NEXT table: the
// instruction boundary after an offset) up to MAX_FAULTS times, logging vector and error code:
const HANDLER = 0x3400, FAULT_LOG = 0x5000, FAULTS = 0x5400, CODE_OFF = 0x5404, NEXT = 0x6000;
const MAX_FAULTS = 4;
const ERR_CODE = new Set([8, 10, 11, 12, 13, 14, 17]);
const PD = 0x10000, PT = 0x11000;
const STACK0 = 0x8f000, STACK = 0x9f000;
export const CODE = 0x100000;
export const DATA = 0x300000; // 0x2000 bytes of random data; with paging its second page is
const DATA_LEN = 0x2000; //       read-only and the page after it is missing
const NVEC = 32;
const BUDGET = 2000;
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const FS_BASE = 0x2ff000, FS_LIMIT = 0x3fff, GS_BASE = 0x300800, GS_LIMIT = 0x1fff;

export type SegMode = "flat" | "fsgs" | "code16";
export interface Mode {
  ring: 0 | 3;
  seg: SegMode;
  paging: boolean;
  sse: boolean; // the stream is mostly MMX/SSE/SSE2 instructions
}
export const modeName = (m: Mode) => `ring ${m.ring} ${m.seg} paging ${m.paging ? "on" : "off"}${m.sse ? " sse" : ""}`;

// ---- the opcode table as byte sequences -------------------------------------------------------
interface Opc {
  bytes: number[]; // mandatory prefix, 0F, opcode
  op: number; // FACTS index: one-byte opcode or 0x100 | second byte
  sse: boolean;
  key: string;
}
const TABLE_ENTRY = (o: Opc) => TABLE[o.key];
const OPCODES: Opc[] = [];
for (const [key, e] of Object.entries(TABLE)) {
  if (/^pfx_|^twobyte\(/.test(e.h)) continue; // prefixes are drawn separately; 0F is the escape
  // RDTSC and RDPMC read clocks: the compiled side runs more instructions before the compared run
  if (key === "0F 31" || key === "0F 33") continue;
  const parts = key.split(" ");
  const [lo, hi] = parts[parts.length - 1].split("-").map((x) => parseInt(x, 16));
  const head = parts.slice(0, -1).map((x) => parseInt(x, 16));
  const two = head.includes(0x0f);
  const sse = two && (/(^|,)[VWPQUN][a-z]/.test(e.a ?? "") || /^0F (77|AE)$/.test(parts.slice(-2).join(" ")));
  for (let b = lo; b <= (hi ?? lo); b++) OPCODES.push({ bytes: [...head, b], op: (two ? 0x100 : 0) | b, sse, key });
}
const SSE_OPCODES = OPCODES.filter((o) => o.sse);
// the ones the block compiler has an inline path for (runtime/jit/ops/sse.ts): half of the picks
// in an SSE stream
const SSE_JIT = SSE_OPCODES.filter((o) => TABLE_ENTRY(o).jit === "sse");
// what the block compiler compiles or steps inside a block (most of a stream), and the rest:
// control transfers, mode changes, what ends a block (a smaller share: most fault in ring 3)
const BLOCK_OPCODES = OPCODES.filter((o) => TABLE_ENTRY(o).jit !== undefined && TABLE_ENTRY(o).end === undefined);
const OTHER_OPCODES = OPCODES.filter((o) => !BLOCK_OPCODES.includes(o));
export const opcodeCount = () => ({ all: OPCODES.length, sse: SSE_OPCODES.length });

const PREFIXES = [0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];

// FP values where SSE and x87 have their corners
const F64 = [
  0,
  -0,
  1,
  -1,
  1.5,
  0.1,
  -2.5e-300,
  1e300,
  Infinity,
  -Infinity,
  NaN,
  2 ** 31,
  -(2 ** 31),
  2 ** 31 - 0.5,
  2 ** 32,
  4.9e-324,
  2.2250738585072014e-308,
  1.7976931348623157e308,
  42,
  -7,
  0.5,
  3.5,
];
const F32 = [0, -0, 1, -1, 1.5, 0.1, Infinity, -Infinity, NaN, 2 ** 31, 1.4e-45, 1.1754943508222875e-38, 3.4e38, 42];

// 8 random bytes for an operand: doubles, floats, NaN payloads, byte patterns
function fill8(r: Rng, out: Uint8Array, at: number): void {
  const dv = new DataView(out.buffer, out.byteOffset);
  const k = r.below(10);
  if (k < 3) {
    const v = r.chance(0.7) ? r.pick(F64) : (r.float() - 0.5) * 2 ** (r.below(80) - 40);
    dv.setFloat64(at, v, true);
    if (Number.isNaN(v)) dv.setUint32(at + 4, (r.chance(0.5) ? 0x7ff00000 : 0xfff80000) | r.below(0x80000), true);
    if (Number.isNaN(v)) dv.setUint32(at, r.u32() | 1, true);
  } else if (k < 5) {
    for (const o of [0, 4]) {
      dv.setFloat32(at + o, r.chance(0.7) ? r.pick(F32) : (r.float() - 0.5) * 2 ** (r.below(40) - 20), true);
      if (r.chance(0.1)) dv.setUint32(at + o, 0x7f800000 | r.below(0x800000) | 1, true); // a NaN, often signalling
    }
  } else if (k < 7) {
    for (let i = 0; i < 8; i++) out[at + i] = r.pick([0, 0xff, 0x80, 0x7f, 0x01, 0x61, r.below(256)]);
  } else if (k < 8) {
    dv.setInt32(at, r.val() | 0, true);
    dv.setInt32(at + 4, r.chance(0.5) ? (dv.getInt32(at, true) >> 31) : r.val() | 0, true);
  } else {
    dv.setUint32(at, r.u32(), true);
    dv.setUint32(at + 4, r.u32(), true);
  }
}

// ---- streams ----------------------------------------------------------------------------------
export interface Stream {
  mode: Mode;
  insns: Uint8Array[];
  regs: number[];
  eflags: number;
  cr0: number;
  cr4: number;
  mxcsr: number;
  xmm: Uint8Array; // 128 bytes
  data: Uint8Array; // DATA_LEN bytes
  // times the stream runs: > 1 appends DEC dword [LOOP_CTR]; JNZ to the start, so the compiled
  // side enters blocks it compiled in an earlier round of the same run (chaining, links, regions)
  loops: number;
}
const LOOP_CTR = 0x9c000; // a user page below the stacks that few streams touch

function insn(r: Rng, m: Mode): Uint8Array {
  const out: number[] = [];
  while (r.chance(0.06)) out.push(r.pick(PREFIXES));
  const o = m.sse && r.chance(0.85)
    ? (r.chance(0.5) ? r.pick(SSE_JIT) : r.pick(SSE_OPCODES))
    : r.chance(0.85)
    ? r.pick(BLOCK_OPCODES)
    : r.pick(OTHER_OPCODES);
  out.push(...o.bytes);
  const code16 = m.seg === "code16";
  const pfx = out.slice(0, out.length - o.bytes.length).concat(o.bytes.slice(0, -2));
  const o16 = pfx.includes(0x66) !== code16;
  const a16 = pfx.includes(0x67) !== code16;
  const le = (v: number, n: number) => {
    for (let i = 0; i < n; i++) out.push((v >>> (8 * i)) & 0xff);
  };
  let facts = FACTS[o.op * 8];
  if (facts & F_MODRM) {
    const reg = r.below(8);
    let mod = r.chance(0.4) ? 3 : r.below(3);
    if (facts & F_MODRM_REG) mod = 3;
    const rm = r.below(8);
    out.push((mod << 6) | (reg << 3) | rm);
    facts = FACTS[o.op * 8 + reg];
    // a displacement: small (the registers point into the data window), or an address there
    const disp = (n: number, abs: boolean) =>
      le(
        abs
          ? DATA + r.below(DATA_LEN + 0x400)
          : r.chance(0.4)
          ? (r.below(16) - 4) * 16
          : r.chance(0.7)
          ? r.below(0x100) - 0x40
          : r.u32(),
        n,
      );
    if (mod !== 3 && !(facts & F_MODRM_REG)) {
      if (a16) {
        if (mod === 0 && rm === 6) disp(2, false);
        else if (mod === 1) disp(1, false);
        else if (mod === 2) disp(2, false);
      } else {
        let base = rm;
        if (rm === 4) {
          const sib = r.u32() & 0xff;
          out.push(sib);
          base = sib & 7;
        }
        if (mod === 0 && base === 5) disp(4, true);
        else if (mod === 1) disp(1, false);
        else if (mod === 2) disp(4, false);
      }
    }
  }
  const imm = (n: number) => le(r.chance(0.3) ? r.val() : r.u32(), n);
  const rel = (n: number) => le(r.below(48) - 16, n);
  switch (immKind(facts)) {
    case IMM_IB:
    case IMM_IBS:
      imm(1);
      break;
    case IMM_IW:
      imm(2);
      break;
    case IMM_IZ:
    case IMM_IZS:
      imm(o16 ? 2 : 4);
      break;
    case IMM_MOFFS:
      le(a16 ? r.below(0x10000) : DATA + r.below(DATA_LEN), a16 ? 2 : 4);
      break;
    case IMM_JB:
      rel(1);
      break;
    case IMM_JZ:
      rel(o16 ? 2 : 4);
      break;
    case IMM_AP:
      imm(o16 ? 2 : 4);
      imm(2);
      break;
    case IMM_IWIB:
      imm(3);
      break;
  }
  return Uint8Array.from(out);
}

// stream `index` of `seed`: any stream can be made again on its own
export function makeStream(seed: number, index: number, force?: Partial<Mode>): Stream {
  const r = new Rng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  r.u32();
  const k = r.below(10);
  const mode: Mode = {
    ring: r.chance(0.5) ? 3 : 0,
    seg: k < 6 ? "flat" : k < 9 ? "fsgs" : "code16",
    paging: r.chance(0.5),
    sse: r.chance(0.5),
    ...force,
  };
  const n = 4 + r.below(20);
  const insns = [...Array(n)].map(() => insn(r, mode));
  const regs = [...Array(8)].map((_, i) => {
    if (i === 4) return mode.ring === 3 ? STACK : STACK0;
    const k = r.below(100);
    if (k < 40) return DATA + (r.below(DATA_LEN + 0x400) & ~15); // (SSE's aligned operands)
    return k < 70 ? DATA + r.below(DATA_LEN + 0x400) : k < 85 ? r.val() : r.below(64);
  });
  let eflags = 2 | (r.u32() & 0xcd5); // CF PF AF ZF SF DF OF
  if (!r.chance(0.2)) eflags &= ~0x400; // DF mostly clear
  let cr0 = L.CR0_PE | L.CR0_NE | L.CR0_ET;
  if (r.chance(0.5)) cr0 |= L.CR0_MP;
  if (r.chance(0.05)) cr0 |= L.CR0_TS;
  if (r.chance(0.04)) cr0 |= L.CR0_EM;
  if (r.chance(0.5)) cr0 |= L.CR0_WP;
  if (mode.ring === 3 && r.chance(0.1)) {
    cr0 |= L.CR0_AM;
    eflags |= 0x40000; // AC: alignment checks in ring 3
  }
  if (mode.paging) cr0 |= L.CR0_PG;
  let cr4 = 0;
  if (!r.chance(0.05)) cr4 |= L.CR4_OSFXSR;
  if (!r.chance(0.2)) cr4 |= L.CR4_OSXMMEXCPT;
  const mk = r.below(100);
  const mxcsr = mk < 70 ? 0x1f80 : mk < 85 ? 0x1f80 | (r.u32() & 0x3f) : r.u32() & 0xffff;
  const xmm = new Uint8Array(128);
  for (let i = 0; i < 128; i += 8) fill8(r, xmm, i);
  const data = new Uint8Array(DATA_LEN);
  for (let i = 0; i < DATA_LEN; i += 8) fill8(r, data, i);
  // (drawn last, so the draws above stay as they were) PE, sticky, already set in a third of the
  // default MXCSRs: the compiled scalar double arithmetic runs inline only then
  const mxcsrPE = (mxcsr & ~0x3f) === 0x1f80 && r.chance(0.35) ? mxcsr | 0x20 : mxcsr;
  if (mode.sse) {
    // SSE streams: plain doubles in half of the XMM halves and data words (what scalar double
    // code computes with, and what the compiled fast paths take)
    const normal = () =>
      r.chance(0.5) ? r.pick([1.5, 0.1, 42, -7, 3.5, 1e10, -0.0, 0, 2 ** 30]) : (r.float() - 0.5) * 2 ** r.below(64);
    const xv = new DataView(xmm.buffer), dv = new DataView(data.buffer);
    for (let i = 0; i < 128; i += 8) if (r.chance(0.5)) xv.setFloat64(i, normal(), true);
    for (let i = 0; i < DATA_LEN; i += 8) if (r.chance(0.5)) dv.setFloat64(i, normal(), true);
  }
  const loops = mode.seg !== "code16" && r.chance(0.5) ? 2 + r.below(3) : 1;
  return { mode, insns, regs, eflags, cr0, cr4, mxcsr: mxcsrPE, xmm, data, loops };
}

// ---- the machines -----------------------------------------------------------------------------
function desc(base: number, limit: number, access: number, flags: number): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) |
    ((base >>> 16) & 0xff);
  return [lo >>> 0, hi >>> 0];
}
const SEL = {
  code0: 0x08,
  data0: 0x10,
  code3: 0x1b,
  data3: 0x23,
  tss: 0x28,
  fs: 0x33,
  gs: 0x3b,
  c16: 0x40,
  c16u: 0x4b,
};

// The common exception handler (ring 0; SS is the flat ring-0 stack in every mode a stream can
// leave, CS the flat ring-0 code): the stack holds vector, error code, EIP, CS, EFLAGS (ESP, SS).
// It logs vector and error code, and returns to the instruction after the faulting one; it halts
// (HLT; JMP $-1) after MAX_FAULTS exceptions or for an EIP outside the stream.
function handlerCode(): number[] {
  const b: number[] = [];
  const halts: number[] = []; // positions of rel8 jumps to the halt
  const jHalt = (op: number) => {
    b.push(op, 0);
    halts.push(b.length - 1);
  };
  b.push(0x50, 0x53); // push eax; push ebx
  b.push(0x36, 0xa1, ...le32(FAULTS)); // mov eax, [ss:FAULTS]
  b.push(0x36, 0xff, 0x05, ...le32(FAULTS)); // inc dword [ss:FAULTS]
  b.push(0x83, 0xf8, MAX_FAULTS); // cmp eax, MAX_FAULTS
  jHalt(0x73); // jae halt
  b.push(0x8b, 0x5c, 0x24, 0x08); // mov ebx, [esp+8]: vector
  b.push(0x36, 0x89, 0x1c, 0xc5, ...le32(FAULT_LOG)); // mov [ss:FAULT_LOG + eax*8], ebx
  b.push(0x8b, 0x5c, 0x24, 0x0c); // mov ebx, [esp+12]: error code
  b.push(0x36, 0x89, 0x1c, 0xc5, ...le32(FAULT_LOG + 4)); // mov [ss:FAULT_LOG + 4 + eax*8], ebx
  b.push(0x8b, 0x44, 0x24, 0x10); // mov eax, [esp+16]: EIP
  b.push(0x36, 0x2b, 0x05, ...le32(CODE_OFF)); // sub eax, [ss:CODE_OFF]
  b.push(0x3d, ...le32(0x2000)); // cmp eax, 0x2000
  jHalt(0x73); // jae halt
  b.push(0x2e, 0x0f, 0xb7, 0x1c, 0x45, ...le32(NEXT)); // movzx ebx, word [cs:NEXT + eax*2]
  b.push(0x81, 0xfb, ...le32(0xffff)); // cmp ebx, 0xffff
  jHalt(0x74); // je halt
  b.push(0x36, 0x03, 0x1d, ...le32(CODE_OFF)); // add ebx, [ss:CODE_OFF]
  b.push(0x89, 0x5c, 0x24, 0x10); // mov [esp+16], ebx
  b.push(0x5b, 0x58, 0x83, 0xc4, 0x08, 0xcf); // pop ebx; pop eax; add esp, 8; iretd
  const halt = b.length;
  b.push(0xf4, 0xeb, 0xfd); // halt: hlt; jmp $-1
  for (const at of halts) b[at] = halt - (at + 1);
  return b;
}

// RAM as every stream starts: tables, stubs, page tables; the code area full of UD2
function baseImage(): Uint8Array {
  const img = new Uint8Array(RAM);
  const dv = new DataView(img.buffer);
  const gdt: [number, number][] = [
    [0, 0],
    desc(0, 0xfffff, 0x9b, 0xc),
    desc(0, 0xfffff, 0x93, 0xc),
    desc(0, 0xfffff, 0xfb, 0xc),
    desc(0, 0xfffff, 0xf3, 0xc),
    desc(TSS, 0x67, 0x89, 0x0),
    desc(FS_BASE, FS_LIMIT, 0xf3, 0x4),
    desc(GS_BASE, GS_LIMIT, 0xf3, 0x4),
    desc(CODE, 0xffff, 0x9b, 0x0),
    desc(CODE, 0xffff, 0xfb, 0x0),
  ];
  gdt.forEach(([lo, hi], i) => {
    dv.setUint32(GDT + i * 8, lo, true);
    dv.setUint32(GDT + i * 8 + 4, hi, true);
  });
  for (let v = 0; v < NVEC; v++) {
    const h = STUBS + v * 16;
    dv.setUint32(IDT + v * 8, (SEL.code0 << 16) | (h & 0xffff), true);
    dv.setUint32(IDT + v * 8 + 4, (h & 0xffff0000) | 0xee00, true);
    // push 0 (no error code); push v; jmp HANDLER
    const stub = [...(ERR_CODE.has(v) ? [] : [0x6a, 0x00]), 0x6a, v, 0xe9];
    img.set([...stub, ...le32(HANDLER - (h + stub.length + 4))], h);
  }
  img.set(handlerCode(), HANDLER);
  dv.setUint32(TSS + 4, STACK0, true);
  dv.setUint32(TSS + 8, SEL.data0, true);
  dv.setUint16(TSS + 102, 0x68, true);
  // identity map of the 4 MiB: user pages, except the tables' (supervisor), the data window's
  // second page (read-only) and the page after it (missing)
  dv.setUint32(PD, PT | 7, true);
  for (let p = 0; p < 1024; p++) {
    const a = p << 12;
    let e = a | 7;
    if (a < 0x20000) e = a | 3;
    if (a === DATA + 0x1000) e = a | 5;
    if (a === DATA + 0x2000) e = 0;
    dv.setUint32(PT + p * 4, e, true);
  }
  for (let a = CODE; a < CODE + 0x2000; a += 2) img.set([0x0f, 0x0b], a);
  return img;
}

export interface Outcome {
  exit: string;
  code: number;
  out: string;
  icount: bigint;
  regs: number[];
  eip: number;
  flags: number;
  state: Uint8Array; // the architectural parts of the state block
  ram: Uint8Array; // a view: valid until the machine runs again
  blocks: number;
  clock: boolean; // it read the TSC
}

// architectural parts of the state block: [from, to)
const STATE_RANGES: [number, number][] = [
  [0, 32], // general registers
  [L.S_CPL, L.S_CPL + 8], // CPL, HALTED
  [L.S_SEG, L.S_MSR_SYSENTER_CS], // segments, GDTR/IDTR, CR0-CR4, DR0-7
  [L.S_FPU, L.S_FPU + 256], // x87 / MMX
  [L.S_XMM, L.S_MXCSR + 4],
];
export const STATE_FIELDS: [number, string][] = [
  [0, "general registers"],
  [L.S_CPL, "CPL/HALTED"],
  [L.S_SEG, "segment registers"],
  [L.S_GDTR_BASE, "GDTR/IDTR"],
  [L.S_CR0, "CR0"],
  [L.S_CR2, "CR2"],
  [L.S_CR3, "CR3"],
  [L.S_CR4, "CR4"],
  [L.S_DR, "debug registers"],
  [L.S_FPU, "x87 registers"],
  [L.S_FPU + L.FP_CW, "x87 CW/SW/TOP/TAG"],
  [L.S_FPU + L.FP_IP, "x87 FIP/FCS/FDP/FDS/FOP"],
  [L.S_FPU + L.FP_EXT, "x87 80-bit images"],
  [L.S_XMM, "XMM registers"],
  [L.S_MXCSR, "MXCSR"],
];

interface Views {
  chunks: Buffer[]; // 64 KiB
  pages: Buffer[];
}
function views(m: Uint8Array): Views {
  const at = (o: number, n: number) => Buffer.from(m.buffer, m.byteOffset + o, n);
  return {
    chunks: [...Array(RAM >> 16)].map((_, i) => at(i << 16, 0x10000)),
    pages: [...Array(RAM >> 12)].map((_, i) => at(i << 12, 0x1000)),
  };
}

export class Machine {
  private constructor(readonly bare: Bare, readonly jit: boolean) {}
  static async create(jit: boolean): Promise<Machine> {
    let m: Machine | undefined;
    const bare = await Bare.create({
      ramBytes: RAM,
      clock_ns: () => {
        m!.clockReads++;
        return 1e9;
      },
    });
    // the machine word, not RING3_JIT: 1 = every block compiled at its first visit
    new DataView(bare.memory.buffer).setUint32(L.MACHINE + L.M_JIT, jit ? 1 : 0, true);
    return m = new Machine(bare, jit);
  }

  private static img?: Uint8Array;
  private static ud2?: Uint8Array;
  clockReads = 0; // RDTSC, RDMSR of the TSC: such a run is not compared (the machines' clocks differ)
  private static imgViews?: Views;
  private views?: Views;
  private fresh = false;

  // put the stream in and run it
  run(s: Stream, regions = false): Outcome {
    const b = this.bare, c = b.core, m = s.mode;
    // the stream's start image: the base image with its code and data
    const img = Machine.img ??= baseImage();
    img.set(Machine.ud2 ??= baseImage().subarray(CODE, CODE + 0x2000), CODE);
    let code = CODE;
    for (const i of s.insns) {
      img.set(i, code);
      code += i.length;
    }
    if (s.loops > 1) {
      // DEC dword [LOOP_CTR]; JNZ CODE (rel32)
      img.set([0xff, 0x0d, ...le32(LOOP_CTR), 0x0f, 0x85, ...le32(CODE - (code + 12))], code);
      code += 12;
    }
    const iv = new DataView(img.buffer);
    iv.setUint32(LOOP_CTR, s.loops, true);
    // where the handler goes on after a fault at each offset: the next instruction's start
    let at = 0;
    for (const i of s.insns) {
      for (let o = at; o < at + i.length; o++) iv.setUint16(NEXT + o * 2, at + i.length, true);
      at += i.length;
    }
    for (let o = at; o < 0x2000; o++) iv.setUint16(NEXT + o * 2, 0xffff, true);
    iv.setUint32(FAULTS, 0, true);
    iv.setUint32(CODE_OFF, m.seg === "code16" ? 0 : CODE, true);
    img.set([0x0f, 0x0b], code); // UD2 right after the stream (the fill has it at even addresses)
    img.set(s.data, DATA);
    if (!this.fresh) {
      b.ram.write(0, img);
      this.fresh = true;
    } else {
      // RAM back to it: the pages that differ (64 KiB chunks, then pages). Pages that are equal
      // are not written, so the blocks compiled from them stay valid (their page generation).
      const v = this.views ??= views(b.ram.view(0, RAM)!), iv = Machine.imgViews ??= views(img);
      for (let q = 0; q < v.chunks.length; q++) {
        if (v.chunks[q].equals(iv.chunks[q])) continue;
        for (let p = q * 16; p < q * 16 + 16; p++) {
          if (!v.pages[p].equals(iv.pages[p])) b.ram.write(p << 12, iv.pages[p]);
        }
      }
    }
    b.out = "";
    const code16 = m.seg === "code16";
    b.startFlat32(code16 ? 0 : CODE, s.regs[4]);
    if (m.ring === 3) b.flatSegments(3, SEL.code3, SEL.data3);
    if (m.seg === "fsgs") {
      const dpl = 3 << 5;
      c.ex.setSeg(L.SEG_FS, SEL.fs, FS_BASE, FS_LIMIT, 0x4093 | dpl);
      c.ex.setSeg(L.SEG_GS, SEL.gs, GS_BASE, GS_LIMIT, 0x4093 | dpl);
    }
    if (code16) {
      c.ex.setSeg(L.SEG_CS, m.ring === 3 ? SEL.c16u : SEL.c16, CODE, 0xffff, 0x9b | (m.ring << 5));
    }
    for (let i = 0; i < 8; i++) c.setReg(i, s.regs[i]);
    c.set(L.S_FLAGS, s.eflags);
    c.set(L.S_CR0, s.cr0);
    c.set(L.S_CR3, PD);
    c.set(L.S_CR4, s.cr4);
    c.set(L.S_MXCSR, s.mxcsr);
    new Uint8Array(b.memory.buffer, c.base + L.S_XMM, 128).set(s.xmm);
    c.set(L.S_GDTR_BASE, GDT);
    c.set(L.S_GDTR_LIMIT, 10 * 8 - 1);
    c.set(L.S_IDTR_BASE, IDT);
    c.set(L.S_IDTR_LIMIT, NVEC * 8 - 1);
    c.ex.setSeg(L.SEG_TR, SEL.tss, TSS, 0x67, 0x8b);
    c.ex.resyncFromState();
    const was = jitOptions.regions;
    jitOptions.regions = regions;
    const before = c.icount;
    this.clockReads = 0;
    let r;
    try {
      r = b.run(BUDGET);
    } finally {
      jitOptions.regions = was;
    }
    const mem = new Uint8Array(b.memory.buffer);
    const state = new Uint8Array(STATE_RANGES.reduce((n, [f, t]) => n + t - f, 0));
    let o = 0;
    for (const [f, t] of STATE_RANGES) {
      state.set(mem.subarray(c.base + f, c.base + t), o);
      o += t - f;
    }
    return {
      exit: r.exit,
      code: r.code,
      out: r.out,
      icount: r.icount - before,
      regs: b.regs(),
      eip: c.eip,
      flags: b.flags(),
      state,
      ram: b.ram.view(0, RAM)!,
      blocks: c.jit.stats.blocks,
      clock: this.clockReads > 0,
    };
  }
}

const hex = (v: number) => (v >>> 0).toString(16).padStart(8, "0");
const REGS = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];

function stateField(off: number): string {
  // offset inside `state` back to the state block
  let o = 0;
  for (const [f, t] of STATE_RANGES) {
    if (off < o + t - f) {
      const at = f + off - o;
      let name = "?";
      for (const [k, n] of STATE_FIELDS) if (k <= at) name = n;
      return `${name} (state +0x${at.toString(16)})`;
    }
    o += t - f;
  }
  return "?";
}

// the differences between the interpreter's outcome and the compiled one ([] when equal)
export function compare(a: Outcome, b: Outcome): string[] {
  const d: string[] = [];
  if (a.exit !== b.exit || a.code !== b.code) d.push(`exit ${a.exit}/${a.code} vs ${b.exit}/${b.code}`);
  if (a.out !== b.out) d.push(`port output ${JSON.stringify(a.out)} vs ${JSON.stringify(b.out)}`);
  if (a.icount !== b.icount) d.push(`retired ${a.icount} vs ${b.icount}`);
  for (let i = 0; i < 8; i++) if (a.regs[i] !== b.regs[i]) d.push(`${REGS[i]} ${hex(a.regs[i])} vs ${hex(b.regs[i])}`);
  if (a.eip !== b.eip) d.push(`eip ${hex(a.eip)} vs ${hex(b.eip)}`);
  if (a.flags !== b.flags) d.push(`eflags ${hex(a.flags)} vs ${hex(b.flags)}`);
  for (let i = 0; i < a.state.length; i++) {
    if (a.state[i] !== b.state[i]) {
      d.push(`${stateField(i)}: ${a.state[i]} vs ${b.state[i]}`);
      break;
    }
  }
  if (!sameBytes(a.ram, b.ram)) {
    for (let i = 0; i < a.ram.length; i++) {
      if (a.ram[i] !== b.ram[i]) {
        d.push(`memory at ${hex(i)}: ${a.ram[i]} vs ${b.ram[i]}`);
        break;
      }
    }
  }
  return d;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

export const streamHex = (s: Stream) =>
  s.insns.map((i) => [...i].map((x) => x.toString(16).padStart(2, "0")).join("")).join(" ") +
  (s.loops > 1 ? ` (x${s.loops})` : "");

export interface Divergence {
  index: number;
  mode: string;
  bytes: string; // the instructions (space between instructions), shrunk where it still diverges
  diffs: string[];
}

export interface FuzzStats {
  streams: number;
  compared: number;
  budget: number; // streams that ran out of instructions (a loop) or read the TSC: not compared
  blocks: number; // blocks the compiled side compiled
  exits: Record<string, number>;
  divergences: Divergence[];
}

// Both machines, one stream: the differences (or null when a side ran out of budget)
// The compiled side runs the stream twice: a block is compiled at its first visit and entered from
// the next one (core-as/jit.ts), so the first run compiles the stream's blocks (and runs blocks
// it compiled earlier in the run) and the second enters them from the start.
export function runBoth(interp: Machine, jit: Machine, s: Stream, regions: boolean): string[] | null {
  const a = interp.run(s);
  const first = jit.run(s, regions);
  if (a.exit === "budget" || first.exit === "budget" || a.clock || first.clock) return null;
  const d1 = compare(a, first);
  if (d1.length) return d1.map((x) => `(first run) ${x}`);
  const b = jit.run(s, regions);
  if (b.exit === "budget" || b.clock) return null;
  return compare(a, b);
}

// Run streams [from, from + count) of `seed`; a divergence is shrunk (instructions dropped while it
// still diverges) before it is reported.
export async function fuzz(
  seed: number,
  from: number,
  count: number,
  force?: Partial<Mode>,
  progress?: (done: number, st: FuzzStats) => void,
): Promise<FuzzStats> {
  const interp = await Machine.create(false), jit = await Machine.create(true);
  const st: FuzzStats = { streams: 0, compared: 0, budget: 0, blocks: 0, exits: {}, divergences: [] };
  for (let i = from; i < from + count; i++) {
    const s = makeStream(seed, i, force);
    const regions = (i & 1) === 1;
    const before = jit.bare.core.jit.stats.blocks;
    const d = runBoth(interp, jit, s, regions);
    st.blocks += jit.bare.core.jit.stats.blocks - before;
    st.streams++;
    if (d === null) {
      st.budget++;
      continue;
    }
    st.compared++;
    const exit = `faults ${interp.bare.r32(FAULTS)}`;
    st.exits[exit] = (st.exits[exit] ?? 0) + 1;
    if (d.length) {
      const small = shrink(interp, jit, s, regions);
      st.divergences.push({
        index: i,
        mode: modeName(s.mode) + (regions ? " regions" : ""),
        bytes: streamHex(small),
        diffs: runBoth(interp, jit, small, regions) ?? d,
      });
    }
    progress?.(i - from + 1, st);
  }
  return st;
}

function shrink(interp: Machine, jit: Machine, s: Stream, regions: boolean): Stream {
  let cur = s;
  for (let k = cur.insns.length - 1; k >= 0; k--) {
    const t = { ...cur, insns: cur.insns.filter((_, j) => j !== k) };
    const d = runBoth(interp, jit, t, regions);
    if (d && d.length) cur = t;
  }
  return cur;
}
