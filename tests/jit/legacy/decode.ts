// Instruction decoding for the block compiler: lengths, prefixes, ModR/M + SIB operands and
// immediates of 32-bit code, enough to tell where each instruction ends and what the inline
// emitters need. What it does not know is not compiled: the block ends before it and the
// interpreter (core-as) runs it. Lengths here must be exact; the emitted code double-checks the
// instructions it hands to the interpreter (their ip must land on the next one).

export interface Insn {
  at: number; // linear address
  len: number;
  op: number; // one-byte opcode, or 0x100 | second byte for 0F xx
  pfx: number; // PFX_* bits
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

export const PFX_66 = 1;
export const PFX_67 = 2;
export const PFX_REP = 4;
export const PFX_LOCK = 8;

// one-byte opcodes with a ModR/M byte
const MODRM1 = new Set<number>([
  ...range(0x00, 0x03),
  ...range(0x08, 0x0b),
  ...range(0x10, 0x13),
  ...range(0x18, 0x1b),
  ...range(0x20, 0x23),
  ...range(0x28, 0x2b),
  ...range(0x30, 0x33),
  ...range(0x38, 0x3b),
  0x62,
  0x63,
  0x69,
  0x6b,
  ...range(0x80, 0x8f),
  0xc0,
  0xc1,
  0xc4,
  0xc5,
  0xc6,
  0xc7,
  ...range(0xd0, 0xd3),
  ...range(0xd8, 0xdf),
  0xf6,
  0xf7,
  0xfe,
  0xff,
]);
// one-byte opcodes the block compiler knows the length of (others end the block)
const KNOWN1 = new Set<number>([
  ...range(0x00, 0x05),
  ...range(0x08, 0x0d),
  ...range(0x10, 0x15),
  ...range(0x18, 0x1d),
  ...range(0x20, 0x25),
  0x27,
  ...range(0x28, 0x2d),
  0x2f,
  ...range(0x30, 0x35),
  0x37,
  ...range(0x38, 0x3d),
  0x3f,
  ...range(0x40, 0x61),
  0x68,
  0x69,
  0x6a,
  0x6b,
  ...range(0x70, 0x8d),
  0x8f,
  ...range(0x90, 0x99),
  0x9b,
  0x9c, // PUSHF, POPF, CLI, STI, HLT, IN, OUT: stepped (the block leaves when one sets the attention word)
  0x9d,
  0x9e,
  0x9f,
  ...range(0xa0, 0xaf),
  ...range(0xb0, 0xbf),
  0xc0,
  0xc1,
  0xc2,
  0xc3,
  0xc6,
  0xc7,
  0xc9,
  ...range(0xd0, 0xd5),
  0xd7,
  ...range(0xd8, 0xdf),
  0xe0,
  0xe1,
  0xe2,
  0xe3,
  ...range(0xe4, 0xe7),
  0xe8,
  0xe9,
  0xeb,
  ...range(0xec, 0xef),
  0xf4,
  0xf5,
  0xf6,
  0xf7,
  0xf8,
  0xf9,
  0xfa,
  0xfb,
  0xfc,
  0xfd,
  0xfe,
  0xff,
]);
// two-byte opcodes known (all have ModR/M except Jcc, bswap, rdtsc, cpuid)
const KNOWN2 = new Set<number>([
  0x1f,
  ...range(0x40, 0x4f),
  ...range(0x80, 0x8f),
  ...range(0x90, 0x9f),
  0xa2,
  0xa3,
  0xa4,
  0xa5,
  0xab,
  0xac,
  0xad,
  0xaf,
  0xb0,
  0xb1,
  0xb3,
  0xb6,
  0xb7,
  0xba,
  0xbb,
  0xbc,
  0xbd,
  0xbe,
  0xbf,
  0xc0,
  0xc1,
  ...range(0xc8, 0xcf),
  0x31,
  0x30, // WRMSR, RDMSR, PUSH/POP FS/GS (FS/GS operands are checked where they run), CMPXCHG8B
  0x32,
  0xa0,
  0xa1,
  0xa8,
  0xa9,
  0xc7,
]);
const NO_MODRM2 = new Set<number>([
  ...range(0x80, 0x8f),
  ...range(0xc8, 0xcf),
  0x31,
  0xa2,
  0x30,
  0x32,
  0xa0,
  0xa1,
  0xa8,
  0xa9,
]);

function range(a: number, b: number): number[] {
  const r: number[] = [];
  for (let i = a; i <= b; i++) r.push(i);
  return r;
}

// Decode the instruction at host offset p (guest linear address `at`); `end` is the first host
// offset past the page. Returns null for anything unknown, 16-bit addressing, or an instruction
// that runs past the page.
export function decode(m: Uint8Array, p: number, end: number, at: number): Insn | null {
  const start = p;
  let pfx = 0, seg = -1;
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
      if (b === 0x66) pfx |= PFX_66;
      else if (b === 0x67) pfx |= PFX_67;
      else if (b === 0xf2 || b === 0xf3) pfx |= PFX_REP;
      else if (b === 0xf0) pfx |= PFX_LOCK;
      else if (b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e || b === 0x64 || b === 0x65) {
        seg = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65].indexOf(b);
      } else break;
      b = byte();
    }
    if (pfx & PFX_67) return null;
    let op = b;
    let hasModrm: boolean;
    if (b === 0x0f) {
      const b2 = byte();
      if (!KNOWN2.has(b2)) return null;
      op = 0x100 | b2;
      hasModrm = !NO_MODRM2.has(b2);
    } else {
      if (!KNOWN1.has(b)) return null;
      hasModrm = MODRM1.has(b);
    }
    const ins: Insn = {
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
    };
    if (hasModrm) {
      const mr = byte();
      ins.modrm = mr;
      ins.reg = (mr >> 3) & 7;
      ins.rm = mr & 7;
      const mod = mr >> 6;
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
    const z = () => (pfx & PFX_66 ? (i16() << 16) >> 16 : i32()); // Iz, sign-extended
    const zu = () => (pfx & PFX_66 ? i16() : i32()); // Iv / Iz as stored
    // immediates and branch targets
    if (op < 0x100) {
      const lo = op & 7;
      if (op < 0x40 && (op & 0xc0) === 0 && lo === 4) ins.imm = i8() & 0xff; // ALU AL, Ib
      else if (op < 0x40 && lo === 5) ins.imm = zu(); // ALU eAX, Iz
      else if (op === 0x68) ins.imm = z();
      else if (op === 0x6a || op === 0x6b || op === 0x83) ins.imm = i8();
      else if (op === 0x69 || op === 0x81 || op === 0xc7) ins.imm = zu();
      else if (
        op === 0x80 || op === 0x82 || op === 0xc6 || op === 0xc0 || op === 0xc1 || op === 0xa8 || op === 0xd4 ||
        op === 0xd5 || (op >= 0xe4 && op <= 0xe7)
      ) {
        ins.imm = byte();
      } else if (op >= 0xb0 && op <= 0xb7) ins.imm = byte();
      else if (op >= 0xb8 && op <= 0xbf) ins.imm = zu();
      else if (op === 0xa9) ins.imm = zu();
      else if (op >= 0xa0 && op <= 0xa3) ins.imm = i32(); // moffs (32-bit addressing)
      else if (op === 0xc2) ins.imm = i16();
      else if (op === 0xf6 && ins.reg < 2) ins.imm = byte();
      else if (op === 0xf7 && ins.reg < 2) ins.imm = zu();
      else if ((op >= 0x70 && op <= 0x7f) || op === 0xeb || (op >= 0xe0 && op <= 0xe3)) {
        const d = i8();
        ins.imm = (at + (p - start) + d) | 0;
      } else if (op === 0xe8 || op === 0xe9) {
        const d = z();
        ins.imm = (at + (p - start) + d) | 0;
        if (pfx & PFX_66) ins.imm &= 0xffff;
      }
    } else {
      const b2 = op & 0xff;
      if (b2 >= 0x80 && b2 <= 0x8f) {
        const d = z();
        ins.imm = (at + (p - start) + d) | 0;
        if (pfx & PFX_66) ins.imm &= 0xffff;
      } else if (b2 === 0xa4 || b2 === 0xac || b2 === 0xba) ins.imm = byte();
    }
    ins.len = p - start;
    return ins;
  } catch (e) {
    if (e instanceof RangeError) return null; // runs past the page
    throw e;
  }
}
