// Inline SSE2: the register and memory moves, packed-integer logic, compares, arithmetic, shifts,
// shuffles and unpacks that glibc's SSE2 string functions run (strlen, memchr, strchr, memcpy,
// memset), with WebAssembly SIMD (v128) doing what core-as/sse/int.ts does with it; and the
// scalar double arithmetic and conversions of -mfpmath=sse code (ADDSD SUBSD MULSD DIVSD SQRTSD,
// CVTSI2SD, CVTTSD2SI, UCOMISD/COMISD, MOVSD).
//
// Every instruction is a fast path for the common case with the whole instruction handed to the
// interpreter (jitStep) otherwise, so every exception and corner keeps its one implementation in
// core-as/sse. The fast path needs: CR0.EM and CR0.TS clear and CR4.OSFXSR set (else #UD/#NM),
// a memory operand the TLB holds (for writing, when written: a code page never is) and, for the
// 16-byte operands of everything but MOVUPS/MOVDQU, 16-byte aligned (else #GP). Floating point
// needs MXCSR with every exception masked, round to nearest, no FTZ/DAZ ((MXCSR & ~0x3F) ==
// 0x1F80; wasm's f64 rounds to nearest), operands and result that are zero or normal (no NaN,
// infinity, denormal, overflow, underflow: no IE/DE/ZE/OE/UE to raise), and for what can be
// inexact (arithmetic, SQRTSD, CVTTSD2SI of a non-integer) the sticky PE flag already set (so the
// result needs no flag update). Segment overrides other than the flat ES/SS/DS are stepped (a
// limit fault must not come before the #UD/#NM the gate raises).
import { type Block, F } from "../block.ts";
import type { Code } from "../wasm.ts";
import type { Insn } from "../decode.ts";
import { PFX_66, PFX_LOCK, PFX_REP } from "../decode.ts";
import * as L from "../../../core-as/layout.ts";
import { hasSimd } from "../../vcpu/simd.ts";
import { host } from "../../platform/mod.ts";

// ---- WebAssembly opcodes the integer writer does not have --------------------------------------
const simd = (c: Code, op: number) => c.byte(0xfd).u(op);
const v128Load = (c: Code, off: number) => simd(c, 0x00).u(0).u(off);
const v128Store = (c: Code, off: number) => simd(c, 0x0b).u(0).u(off);
const v128Const0 = (c: Code) => {
  simd(c, 0x0c);
  for (let i = 0; i < 16; i++) c.byte(0);
};
const shuffle = (c: Code, lanes: number[]) => {
  simd(c, 0x0d);
  for (const l of lanes) c.byte(l);
};
const f64Load = (c: Code, off: number) => c.byte(0x2b).u(0).u(off);
const f64Store = (c: Code, off: number) => c.byte(0x39).u(0).u(off);
const i64Load = (c: Code, off: number) => c.byte(0x29).u(0).u(off);
const i64Store = (c: Code, off: number) => c.byte(0x37).u(0).u(off);
const f64Const = (c: Code, v: number) => {
  c.byte(0x44);
  const b = new Uint8Array(new Float64Array([v]).buffer);
  for (const x of b) c.byte(x);
};
const F64 = { abs: 0x99, trunc: 0x9d, sqrt: 0x9f, add: 0xa0, sub: 0xa1, mul: 0xa2, div: 0xa3 };
const F64CMP = { eq: 0x61, ne: 0x62, lt: 0x63, gt: 0x64, le: 0x65, ge: 0x66 };
const CVT_I32_F64S = 0xb7; // f64.convert_i32_s
const TRUNC_F64_I32S = 0xaa; // i32.trunc_f64_s

// packed binary operations: SSE2 opcode (66 0F xx) -> wasm SIMD opcode (dst = dst op src)
const BINARY: Record<number, number> = {
  0xdb: 0x4e, // PAND: v128.and
  0xeb: 0x50, // POR: v128.or
  0xef: 0x51, // PXOR: v128.xor
  0x54: 0x4e, // ANDPS/ANDPD
  0x56: 0x50, // ORPS/ORPD
  0x57: 0x51, // XORPS/XORPD
  0x74: 0x23, // PCMPEQB: i8x16.eq
  0x75: 0x2d, // PCMPEQW: i16x8.eq
  0x76: 0x37, // PCMPEQD: i32x4.eq
  0x64: 0x27, // PCMPGTB: i8x16.gt_s
  0x65: 0x31, // PCMPGTW: i16x8.gt_s
  0x66: 0x3b, // PCMPGTD: i32x4.gt_s
  0xda: 0x77, // PMINUB: i8x16.min_u
  0xde: 0x79, // PMAXUB: i8x16.max_u
  0xea: 0x96, // PMINSW: i16x8.min_s
  0xee: 0x98, // PMAXSW: i16x8.max_s
  0xfc: 0x6e, // PADDB: i8x16.add
  0xfd: 0x8e, // PADDW: i16x8.add
  0xfe: 0xae, // PADDD: i32x4.add
  0xd4: 0xce, // PADDQ: i64x2.add
  0xf8: 0x71, // PSUBB: i8x16.sub
  0xf9: 0x91, // PSUBW: i16x8.sub
  0xfa: 0xb1, // PSUBD: i32x4.sub
  0xfb: 0xd1, // PSUBQ: i64x2.sub
  0xec: 0x6f, // PADDSB: i8x16.add_sat_s
  0xed: 0x8f, // PADDSW: i16x8.add_sat_s
  0xdc: 0x70, // PADDUSB: i8x16.add_sat_u
  0xdd: 0x90, // PADDUSW: i16x8.add_sat_u
  0xe8: 0x72, // PSUBSB: i8x16.sub_sat_s
  0xe9: 0x92, // PSUBSW: i16x8.sub_sat_s
  0xd8: 0x73, // PSUBUSB: i8x16.sub_sat_u
  0xd9: 0x93, // PSUBUSW: i16x8.sub_sat_u
  0xe0: 0x7b, // PAVGB: i8x16.avgr_u
  0xe3: 0x9b, // PAVGW: i16x8.avgr_u
  0xd5: 0x95, // PMULLW: i16x8.mul
  0x63: 0x65, // PACKSSWB: i8x16.narrow_i16x8_s
  0x67: 0x66, // PACKUSWB: i8x16.narrow_i16x8_u
  0x6b: 0x85, // PACKSSDW: i16x8.narrow_i32x4_s
};
const ANDN = new Set([0xdf, 0x55]); // PANDN, ANDNPS/ANDNPD: dst = ~dst & src
// unpacks: byte lanes of shuffle(dst, src) for element size e (bytes), low or high half
function unpack(e: number, high: boolean): number[] {
  const out: number[] = [];
  const base = high ? 8 : 0;
  for (let k = 0; k < 8 / e; k++) {
    for (let i = 0; i < e; i++) out.push(base + k * e + i);
    for (let i = 0; i < e; i++) out.push(16 + base + k * e + i);
  }
  return out;
}
const UNPACK: Record<number, number[]> = {
  0x60: unpack(1, false),
  0x61: unpack(2, false),
  0x62: unpack(4, false),
  0x6c: unpack(8, false),
  0x68: unpack(1, true),
  0x69: unpack(2, true),
  0x6a: unpack(4, true),
  0x6d: unpack(8, true),
};
// the packed integer and logic forms that take xmm, xmm/m128 (aligned memory)
const PACKED = new Set([...Object.keys(BINARY).map(Number), ...ANDN, ...Object.keys(UNPACK).map(Number)]);
// of those, the ones with a form without 66 (the SSE logic ops on PS): the others are MMX there
const PS_LOGIC = new Set([0x54, 0x55, 0x56, 0x57]);

type Pfx = "none" | "66" | "F3" | "F2";
// the mandatory prefix as the interpreter selects it, or null for a mix the compiler leaves to it
function mandatory(ins: Insn): Pfx | null {
  if (ins.pfx & PFX_LOCK) return null;
  const p66 = (ins.pfx & PFX_66) !== 0, rep = (ins.pfx & PFX_REP) !== 0;
  if (p66 && rep) return null;
  if (rep) return ins.rep === 0xf2 ? "F2" : "F3";
  return p66 ? "66" : "none";
}

// what the fast path does
type Kind =
  | "ld128" // xmm <- xmm/m128
  | "st128" // xmm/m128 <- xmm
  | "movsd" // F2 0F 10: xmm <- xmm/m64
  | "movsd_st" // F2 0F 11
  | "movss"
  | "movss_st"
  | "movd_in" // 66 0F 6E: xmm <- r/m32
  | "movd_out" // 66 0F 7E: r/m32 <- xmm
  | "movq_in" // F3 0F 7E: xmm <- xmm/m64, upper cleared
  | "movq_out" // 66 0F D6: xmm/m64 <- xmm
  | "packed" // PACKED: xmm <- xmm op xmm/m128
  | "pmovmskb"
  | "shift_imm" // 66 0F 71-73
  | "pshufd"
  | "pshuflw"
  | "pshufhw"
  | "arith_sd" // F2 0F 58 59 5C 5E 51
  | "cvtsi2sd"
  | "cvttsd2si"
  | "comisd";

interface Form {
  kind: Kind;
  aligned: boolean; // a 16-byte memory operand must be aligned
}

// RING3_JIT_SSE=0: every SSE instruction through the interpreter (A/B measurements)
const enabled = host.env.get("RING3_JIT_SSE") !== "0";
// Without WebAssembly SIMD (runtime/vcpu/simd.ts) only the forms whose code has no v128 compile:
// scalar double arithmetic, conversions and compares, stores of the low lane, MOVSD/MOVSS between
// registers; the rest steps through the interpreter.
const simdOk = hasSimd();
const scalarOnly = (k: Kind, mem: boolean): boolean =>
  k === "arith_sd" || k === "cvtsi2sd" || k === "cvttsd2si" || k === "comisd" || k === "movsd_st" ||
  k === "movss_st" || k === "movd_out" || (k === "movq_out" && mem) || ((k === "movsd" || k === "movss") && !mem);

function formOf(ins: Insn): Form | null {
  const f = formOfSimd(ins);
  return f === null || simdOk || scalarOnly(f.kind, ins.mem) ? f : null;
}
function formOfSimd(ins: Insn): Form | null {
  if (!enabled) return null;
  if (ins.seg === 1 || ins.seg >= 4) return null; // CS/FS/GS: stepped (see above)
  if (ins.op < 0x100) return null;
  const p = mandatory(ins);
  if (p === null) return null;
  const op = ins.op & 0xff;
  const reg = !ins.mem;
  const f = (kind: Kind, aligned = false): Form => ({ kind, aligned });
  switch (op) {
    case 0x10:
      return p === "F2" ? f("movsd") : p === "F3" ? f("movss") : f("ld128");
    case 0x11:
      return p === "F2" ? f("movsd_st") : p === "F3" ? f("movss_st") : f("st128");
    case 0x28:
      return p === "none" || p === "66" ? f("ld128", true) : null;
    case 0x29:
      return p === "none" || p === "66" ? f("st128", true) : null;
    case 0x6f:
      return p === "66" ? f("ld128", true) : p === "F3" ? f("ld128") : null;
    case 0x7f:
      return p === "66" ? f("st128", true) : p === "F3" ? f("st128") : null;
    case 0xe7:
      return p === "66" && !reg ? f("st128", true) : null; // MOVNTDQ (mod 3: #UD)
    case 0x2b:
      return (p === "none" || p === "66") && !reg ? f("st128", true) : null; // MOVNTPS/PD
    case 0x6e:
      return p === "66" ? f("movd_in") : null;
    case 0x7e:
      return p === "66" ? f("movd_out") : p === "F3" ? f("movq_in") : null;
    case 0xd6:
      return p === "66" ? f("movq_out") : null;
    case 0xd7:
      return p === "66" && reg ? f("pmovmskb") : null;
    case 0x70:
      return p === "66" ? f("pshufd", true) : p === "F2" ? f("pshuflw", true) : p === "F3" ? f("pshufhw", true) : null;
    case 0x71:
    case 0x72:
    case 0x73: {
      if (p !== "66" || !reg) return null;
      const ok = op === 0x73 ? [2, 3, 6, 7].includes(ins.reg) : [2, 4, 6].includes(ins.reg);
      return ok ? f("shift_imm") : null;
    }
    case 0x58:
    case 0x59:
    case 0x5c:
    case 0x5e:
    case 0x51:
      return p === "F2" ? f("arith_sd") : null;
    case 0x2a:
      return p === "F2" ? f("cvtsi2sd") : null;
    case 0x2c:
      return p === "F2" ? f("cvttsd2si") : null;
    case 0x2e:
    case 0x2f:
      return p === "66" ? f("comisd") : null;
  }
  if (PACKED.has(op) && (p === "66" || (p === "none" && PS_LOGIC.has(op)))) return f("packed", true);
  return null;
}

export function isInlineSse(ins: Insn): boolean {
  return formOf(ins) !== null;
}

// bytes of the memory operand
function memSize(k: Kind): number {
  switch (k) {
    case "movsd":
    case "movsd_st":
    case "movq_in":
    case "movq_out":
    case "arith_sd":
    case "cvttsd2si":
    case "comisd":
      return 8;
    case "movss":
    case "movss_st":
    case "movd_in":
    case "movd_out":
    case "cvtsi2sd":
      return 4;
    default:
      return 16;
  }
}
const writesMem = (k: Kind) =>
  k === "st128" || k === "movsd_st" || k === "movss_st" || k === "movd_out" ||
  k === "movq_out";
// the instruction writes a general register (ins.reg, or ins.rm for MOVD r32, xmm)
const gprOut = (ins: Insn, k: Kind): number =>
  k === "pmovmskb" || k === "cvttsd2si" ? ins.reg : k === "movd_out" && !ins.mem ? ins.rm : -1;

// push: is the f64 at the top of the stack zero or normal (not NaN, infinite or denormal)?
// (consumes it; `get` pushes it again for the second test)
function zeroOrNormal(c: Code, push: () => void): void {
  push();
  c.byte(F64.abs);
  f64Const(c, 2.2250738585072014e-308);
  c.byte(F64CMP.ge);
  push();
  c.byte(F64.abs);
  f64Const(c, Infinity);
  c.byte(F64CMP.lt);
  c.and();
  push();
  f64Const(c, 0);
  c.byte(F64CMP.eq);
  c.or();
}

export function emitSse(b: Block, ins: Insn): boolean {
  const form = formOf(ins);
  if (!form) return false;
  const c = b.c, S = b.S, k = form.kind;
  const X = (r: number) => S + L.S_XMM + r * 16;
  const size = memSize(k);
  const store = writesMem(k) && ins.mem;
  const fp = k === "arith_sd" || k === "cvttsd2si" || k === "comisd";
  const gpr = gprOut(ins, k);
  // sources read before the run-time branch (the register cache must not change under it)
  let gsrc = -1;
  if ((k === "movd_in" || k === "cvtsi2sd") && !ins.mem) {
    gsrc = b.tmp();
    b.reg32(ins.rm);
    c.set(gsrc);
  }
  let host = -1, lin = -1;
  if (ins.mem) {
    lin = b.lin(ins, size, store);
    host = b.hostOf(lin, size, store);
  }
  const ok = b.tmp();
  c.const(0).load(S + L.S_CR0).const(L.CR0_EM | L.CR0_TS).and().eqz();
  c.const(0).load(S + L.S_CR4).const(L.CR4_OSFXSR).and().const(0).ne().and();
  if (host >= 0) c.get(host).const(0).ne().and();
  if (host >= 0 && form.aligned && size === 16) c.get(lin).const(15).and().eqz().and();
  if (fp) {
    // every exception masked, round to nearest, no FTZ/DAZ; PE already set where it may be raised
    const exact = k === "comisd";
    c.const(0).load(S + L.S_MXCSR).const(exact ? ~0x3f : ~0x1f).and().const(exact ? 0x1f80 : 0x1fa0).eq().and();
  }
  c.set(ok);

  // the 64-bit source of the scalar double forms
  const src64 = () => {
    if (host >= 0) c.get(host);
    else c.const(0);
    f64Load(c, host >= 0 ? 0 : X(ins.rm));
  };
  const dst64 = () => {
    c.const(0);
    f64Load(c, X(ins.reg));
  };
  const res = gpr >= 0 || k === "comisd" ? b.tmp() : -1; // the GPR result or the flags

  if (k === "arith_sd" || k === "cvttsd2si" || k === "comisd") {
    // value conditions, where the gate passed (a missing operand reads RAM_BASE's page: harmless)
    c.get(ok).if_();
    const op = ins.op & 0xff;
    if (k === "arith_sd") {
      const t = S + L.S_SSE_TMP; // the result, through the scratch the interpreter uses too
      c.const(0);
      if (op === 0x51) {
        src64();
        c.byte(F64.sqrt);
      } else {
        dst64();
        src64();
        c.byte(op === 0x58 ? F64.add : op === 0x5c ? F64.sub : op === 0x59 ? F64.mul : F64.div);
      }
      f64Store(c, t);
      const r = () => {
        c.const(0);
        f64Load(c, t);
      };
      // sources and result zero or normal
      if (op !== 0x51) zeroOrNormal(c, dst64);
      else c.const(1);
      zeroOrNormal(c, src64);
      c.and();
      zeroOrNormal(c, r);
      c.and();
      if (op === 0x51) {
        // no negative operand (-0 is fine: sqrt(-0) = -0)
        src64();
        f64Const(c, 0);
        c.byte(F64CMP.ge).and();
      } else if (op === 0x59 || op === 0x5e) {
        // a zero result only from a zero operand (else it underflowed); no division by zero
        r();
        f64Const(c, 0);
        c.byte(F64CMP.ne);
        dst64();
        f64Const(c, 0);
        c.byte(F64CMP.eq).or();
        if (op === 0x59) {
          src64();
          f64Const(c, 0);
          c.byte(F64CMP.eq).or();
        }
        c.and();
        if (op === 0x5e) {
          src64();
          f64Const(c, 0);
          c.byte(F64CMP.ne).and();
        }
      }
      c.set(ok);
    } else if (k === "cvttsd2si") {
      // in range, zero or normal, and integral unless PE is set
      src64();
      f64Const(c, -2147483649);
      c.byte(F64CMP.gt);
      src64();
      f64Const(c, 2147483648);
      c.byte(F64CMP.lt).and();
      zeroOrNormal(c, src64);
      c.and();
      src64();
      c.byte(F64.trunc);
      src64();
      c.byte(F64CMP.eq);
      c.const(0).load(S + L.S_MXCSR).const(0x20).and().or().and();
      c.set(ok);
    } else {
      // UCOMISD/COMISD: neither NaN nor denormal (infinities compare without a flag)
      const nd = (push: () => void) => {
        push();
        c.byte(F64.abs);
        f64Const(c, 2.2250738585072014e-308);
        c.byte(F64CMP.ge);
        push();
        f64Const(c, 0);
        c.byte(F64CMP.eq);
        c.or();
      };
      nd(dst64);
      nd(src64);
      c.and().set(ok);
    }
    c.end();
  }

  c.get(ok).if_();
  // ---- the fast path ----
  const srcV = () => {
    if (host >= 0) {
      c.get(host);
      v128Load(c, 0);
    } else {
      c.const(0);
      v128Load(c, X(ins.rm));
    }
  };
  const op = ins.op & 0xff;
  switch (k) {
    case "ld128":
      c.const(0);
      srcV();
      v128Store(c, X(ins.reg));
      break;
    case "st128":
      if (host >= 0) c.get(host);
      else c.const(0);
      c.const(0);
      v128Load(c, X(ins.reg));
      v128Store(c, host >= 0 ? 0 : X(ins.rm));
      break;
    case "movsd":
    case "movq_in":
    case "movss":
    case "movd_in": {
      const n = k === "movsd" || k === "movq_in" ? 8 : 4;
      c.const(0);
      if (host >= 0 || k === "movq_in" || k === "movd_in") {
        // from memory, MOVQ and MOVD: the rest of the register is cleared
        if (gsrc >= 0) {
          v128Const0(c);
          c.get(gsrc);
          simd(c, 0x1c).byte(0); // i32x4.replace_lane 0
        } else {
          if (host >= 0) c.get(host);
          else c.const(0);
          simd(c, n === 8 ? 0x5d : 0x5c).u(0).u(host >= 0 ? 0 : X(ins.rm)); // v128.load64_zero / load32_zero
        }
        v128Store(c, X(ins.reg));
      } else {
        // MOVSD/MOVSS xmm, xmm: the low element alone
        c.const(0);
        if (n === 8) i64Load(c, X(ins.rm));
        else c.load(X(ins.rm));
        if (n === 8) i64Store(c, X(ins.reg));
        else c.store(X(ins.reg));
      }
      break;
    }
    case "movsd_st":
    case "movss_st":
    case "movq_out":
    case "movd_out": {
      const n = k === "movsd_st" || k === "movq_out" ? 8 : 4;
      if (gpr >= 0) { // MOVD r32, xmm
        c.const(0).load(X(ins.reg)).set(res);
        break;
      }
      if (host < 0 && k === "movq_out") {
        // MOVQ xmm, xmm: the upper half cleared
        c.const(0).const(0);
        simd(c, 0x5d).u(0).u(X(ins.reg));
        v128Store(c, X(ins.rm));
        break;
      }
      if (host >= 0) c.get(host);
      else c.const(0);
      c.const(0);
      if (n === 8) i64Load(c, X(ins.reg));
      else c.load(X(ins.reg));
      if (n === 8) i64Store(c, host >= 0 ? 0 : X(ins.rm));
      else c.store(host >= 0 ? 0 : X(ins.rm));
      break;
    }
    case "packed": {
      c.const(0);
      if (ANDN.has(op)) {
        srcV();
        c.const(0);
        v128Load(c, X(ins.reg));
        simd(c, 0x4f); // v128.andnot: src & ~dst
      } else if (UNPACK[op]) {
        c.const(0);
        v128Load(c, X(ins.reg));
        srcV();
        shuffle(c, UNPACK[op]);
      } else {
        c.const(0);
        v128Load(c, X(ins.reg));
        srcV();
        simd(c, BINARY[op]);
      }
      v128Store(c, X(ins.reg));
      break;
    }
    case "pmovmskb":
      c.const(0);
      v128Load(c, X(ins.rm));
      simd(c, 0x64); // i8x16.bitmask
      c.set(res);
      break;
    case "shift_imm": {
      const n = ins.imm & 0xff, r = ins.rm;
      c.const(0);
      if (op === 0x73 && (ins.reg === 3 || ins.reg === 7)) {
        // PSRLDQ / PSLLDQ: bytes, zeros shifted in (a count above 15 clears the register)
        if (n > 15) v128Const0(c);
        else {
          c.const(0);
          v128Load(c, X(r));
          v128Const0(c);
          const lanes = [...Array(16)].map((_, i) =>
            ins.reg === 3 ? (i + n < 16 ? i + n : 16) : (i - n >= 0 ? i - n : 16)
          );
          shuffle(c, lanes);
        }
      } else {
        const bits = op === 0x71 ? 16 : op === 0x72 ? 32 : 64;
        const base = bits === 16 ? 0x8b : bits === 32 ? 0xab : 0xcb; // shl; shr_s +1; shr_u +2
        const sra = ins.reg === 4;
        if (n >= bits && !sra) v128Const0(c);
        else {
          c.const(0);
          v128Load(c, X(r));
          c.const(sra ? Math.min(n, bits - 1) : n);
          simd(c, ins.reg === 6 ? base : sra ? base + 1 : base + 2);
        }
      }
      v128Store(c, X(r));
      break;
    }
    case "pshufd":
    case "pshuflw":
    case "pshufhw": {
      const n = ins.imm & 0xff;
      const lanes: number[] = [];
      if (k === "pshufd") {
        for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) lanes.push(((n >> (2 * i)) & 3) * 4 + j);
      } else {
        const lo = k === "pshuflw";
        for (let i = 0; i < 8; i++) {
          const w = lo === i < 4 ? (lo ? 0 : 4) + ((n >> (2 * (i & 3))) & 3) : i;
          lanes.push(w * 2, w * 2 + 1);
        }
      }
      c.const(0);
      srcV();
      srcV();
      shuffle(c, lanes);
      v128Store(c, X(ins.reg));
      break;
    }
    case "arith_sd":
      c.const(0).const(0);
      f64Load(c, S + L.S_SSE_TMP);
      f64Store(c, X(ins.reg));
      break;
    case "cvtsi2sd":
      c.const(0);
      if (gsrc >= 0) c.get(gsrc);
      else c.get(host).load(0);
      c.byte(CVT_I32_F64S);
      f64Store(c, X(ins.reg));
      break;
    case "cvttsd2si":
      src64();
      c.byte(TRUNC_F64_I32S);
      c.set(res);
      break;
    case "comisd": {
      // ZF PF CF: greater 000, less 001, equal 100 (no unordered here); OF SF AF cleared
      dst64();
      src64();
      c.byte(F64CMP.lt); // CF
      dst64();
      src64();
      c.byte(F64CMP.eq);
      c.const(6).shl().or().set(res);
      c.const(0);
      c.const(0).load(S + L.S_FLAGS).const(~L.F_ARITH).and().get(res).or();
      c.store(S + L.S_FLAGS);
      c.const(0).const(0).store(S + L.S_LF_OP); // LF_NONE: the flags are in S_FLAGS
      break;
    }
  }
  c.else_();
  // ---- everything else: the interpreter runs the instruction ----
  b.spillFlags();
  b.flushRegs();
  c.const(ins.at).const(b.done).call(F.step);
  if (store) b.noteSlowStore(); // it may have stored into this block's page
  if (gpr >= 0) c.const(0).load(S + gpr * 4).set(res);
  c.end();
  if (gpr >= 0) b.setReg32(gpr, () => c.get(res));
  if (k === "comisd") {
    // both ways the flags are in memory now
    b.known = null;
    b.unstored = [];
  }
  return true;
}
