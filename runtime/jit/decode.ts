// Instruction decoding for the block compiler: lengths, prefixes, ModR/M + SIB operands and
// immediates of 32-bit code, enough to tell where each instruction ends and what the inline
// emitters need. What the opcode table (core-as/gen/table.ts) does not give the compiler is not
// compiled: the block ends before it and the interpreter (core-as) runs it. Lengths here must be
// exact; the emitted code double-checks the instructions it hands to the interpreter (their ip
// must land on the next one); tests/jit/table_test.ts checks them against the interpreter.

import {
  EMIT_NONE,
  emitOf,
  ESCAPE,
  F_KNOWN,
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
  PFX_66,
  PFX_67,
  PREFIX,
} from "../../core-as/gen/facts.ts";

export interface Insn {
  at: number; // linear address
  len: number;
  op: number; // one-byte opcode, or 0x100 | second byte for 0F xx
  pfx: number; // PFX_* bits
  rep: number; // the last F2/F3 prefix byte (0 none): it selects an SSE instruction
  seg: number; // segment override 0..5, or -1
  modrm: number; // -1 when none
  reg: number; // ModR/M bits 5:3
  rm: number; // bits 2:0 (the register when mem is false)
  mem: boolean;
  base: number; // memory operand: base register or -1
  index: number; // index register or -1
  scale: number; // shift 0..3
  disp: number;
  ss: boolean; // the memory operand's default segment is SS
  imm: number; // immediate (sign-extended where the opcode says so), or rel target for branches
  facts: number; // the table's packed facts for op and reg (core-as/gen/facts.ts)
  thunk?: Thunk; // a CALL the block compiler inlines (compile.ts)
  follow?: boolean; // a JMP the block follows: the next instruction in the block is its target
  // a CALL the block goes on into (its target is the next instruction in the block), or the RET
  // that returns from it (the block goes on at `ret` while the popped address is that)
  into?: boolean;
  ret?: number;
}

// CALL to `mov reg, [esp]; ret` (the PIC thunks of i386 code): the block goes on at the return
// address. When the thunk is on another page, its mapping and generation are checked where the
// call runs (`page` -1 otherwise).
export interface Thunk {
  reg: number;
  page: number; // linear page of the thunk, or -1 when it is the block's own
  delta: number; // its TLB delta (host = linear + delta) at compile time
  genAddr: number;
  gen: number;
}

// Which opcodes exist, their ModR/M and immediates, and which the block compiler takes come from
// the one opcode table (core-as/gen/table.ts, flattened by core-as/gen/facts.ts).
export { PFX_66, PFX_67, PFX_LOCK, PFX_REP } from "../../core-as/gen/facts.ts";

// an instruction with no operands decoded yet (op -1: one the decoder does not know)
export function blankInsn(at: number, op = -1, pfx = 0, seg = -1): Insn {
  return {
    at,
    len: 0,
    op,
    pfx,
    seg,
    modrm: -1,
    reg: 0,
    rm: 0,
    mem: false,
    base: -1,
    index: -1,
    scale: 0,
    disp: 0,
    ss: false,
    imm: 0,
    facts: 0,
    rep: 0,
  };
}

// Decode the instruction at host offset p (guest linear address `at`); `end` is the first host
// offset past the page. Returns null for anything unknown, 16-bit addressing, or an instruction
// that runs past the page. `all`: also decode what the table has but the compiler does not take
// (tests).
export function decode(m: Uint8Array, p: number, end: number, at: number, all = false): Insn | null {
  const start = p;
  let pfx = 0, seg = -1, rep = 0;
  const byte = (): number => {
    if (p >= end) throw RangeError();
    return m[p++];
  };
  const i8 = () => (byte() << 24) >> 24;
  const i16 = () => {
    const lo = byte();
    return lo | (byte() << 8);
  };
  const i32 = () => {
    const a = i16();
    return (a | (i16() << 16)) | 0;
  };
  try {
    let b = byte();
    for (let n = 0; n < 14; n++) {
      const k = PREFIX[b];
      if (k === 0) break;
      if (k > 0xff) seg = (k >> 8) - 1;
      else pfx |= k;
      if (b === 0xf2 || b === 0xf3) rep = b;
      b = byte();
    }
    if (pfx & PFX_67) return null;
    const op = b === ESCAPE ? 0x100 | byte() : b;
    const ins = blankInsn(at, op, pfx, seg);
    ins.rep = rep;
    const f0 = FACTS[op * 8];
    if (f0 & F_MODRM) {
      const mr = byte();
      ins.modrm = mr;
      ins.reg = (mr >> 3) & 7;
      ins.rm = mr & 7;
      const mod = f0 & F_MODRM_REG ? 3 : mr >> 6;
      if (mod !== 3) {
        ins.mem = true;
        let rm = mr & 7;
        if (rm === 4) {
          const sib = byte();
          const base = sib & 7, idx = (sib >> 3) & 7;
          ins.scale = sib >> 6;
          if (idx !== 4) ins.index = idx;
          if (base === 5 && mod === 0) ins.disp = i32();
          else ins.base = base;
          rm = -1;
          if (ins.base === 4 || ins.base === 5) ins.ss = true;
        } else if (rm === 5 && mod === 0) {
          ins.disp = i32();
        } else {
          ins.base = rm;
          if (rm === 5) ins.ss = true;
        }
        if (mod === 1) ins.disp = (ins.disp + i8()) | 0;
        else if (mod === 2) ins.disp = (ins.disp + i32()) | 0;
      }
    }
    const f = FACTS[op * 8 + ins.reg];
    if (emitOf(f) === EMIT_NONE && !(all && (f & F_KNOWN))) return null;
    ins.facts = f;
    const z = () => (pfx & PFX_66 ? (i16() << 16) >> 16 : i32()); // Iz, sign-extended
    const zu = () => (pfx & PFX_66 ? i16() : i32()); // Iv / Iz as stored
    // immediates and branch targets
    switch (immKind(f)) {
      case IMM_IB:
        ins.imm = byte();
        break;
      case IMM_IBS:
        ins.imm = i8();
        break;
      case IMM_IW:
        ins.imm = i16();
        break;
      case IMM_IZ:
        ins.imm = zu();
        break;
      case IMM_IZS:
        ins.imm = z();
        break;
      case IMM_MOFFS: // (32-bit addressing)
        ins.imm = i32();
        break;
      case IMM_JB: {
        const d = i8();
        ins.imm = (at + (p - start) + d) | 0;
        break;
      }
      case IMM_JZ: {
        const d = z();
        ins.imm = (at + (p - start) + d) | 0;
        if (pfx & PFX_66) ins.imm &= 0xffff;
        break;
      }
      case IMM_AP: // offset, then the selector
        ins.imm = zu();
        i16();
        break;
      case IMM_IWIB:
        ins.imm = i16();
        byte();
        break;
    }
    ins.len = p - start;
    return ins;
  } catch (e) {
    if (e instanceof RangeError) return null; // runs past the page
    throw e;
  }
}
