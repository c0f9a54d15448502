// Integer ALU: ADD OR ADC SBB AND SUB XOR CMP in every encoding, INC/DEC, TEST, group 3 (TEST NOT
// NEG MUL IMUL DIV IDIV) and group 4 (INC/DEC Eb). Flags are lazy (flags.ts). A memory
// destination takes a one-compare TLB fast path; anything else probes the write first so a fault
// leaves the instruction without effect. LOCKed forms update guest RAM with wasm atomics.
import { lock, rN, wN, r8, r16, r32 } from "../state";
import { modrm, modrmB, mmem, mreg, mrmi, mseg, moff, fetch8, fetchN, fetchS8 } from "../fetch";
import { rmRdN, wHost, hostLd, hostSt } from "../operand";
import { linW } from "../seg";
import { lrdN, lwrN, lprobeW, lhostW } from "../mmu";
import { setLazy, szi, getCF, LF_ADD, LF_ADC, LF_SUB, LF_SBB, LF_INC, LF_DEC, LF_CO } from "../flags";
import { ud } from "../fault";
import { busLock, busUnlock } from "../buslock";
import { mulDivB, mulDivV } from "./muldiv";

// ALU op numbers as encoded in opcode bits 5:3 and in group 1's reg field
const OP_CMP: u32 = 7;

// Result of `a op b` (operands already at operand size); sets the lazy flags. CMP returns a so the
// callers that skip its write-back stay branch-free on the op.
@inline function alu(op: u32, a: u32, b: u32, size: u32): u32 {
  const si = szi(size);
  let r: u32;
  switch (op) {
    case 0: r = a + b; setLazy(LF_ADD | si, r, a, b); return r;
    case 1: r = a | b; setLazy(LF_CO | si, r, 0, 0); return r;
    case 2: {
      const c = getCF();
      r = a + b + c;
      setLazy((c != 0 ? LF_ADC : LF_ADD) | si, r, a, b);
      return r;
    }
    case 3: {
      const c = getCF();
      r = a - b - c;
      setLazy((c != 0 ? LF_SBB : LF_SUB) | si, r, a, b);
      return r;
    }
    case 4: r = a & b; setLazy(LF_CO | si, r, 0, 0); return r;
    case 5: r = a - b; setLazy(LF_SUB | si, r, a, b); return r;
    case 6: r = a ^ b; setLazy(LF_CO | si, r, 0, 0); return r;
    default: setLazy(LF_SUB | si, a - b, a, b); return a;
  }
}

// atomic read-modify-write primitives by size; each returns the old value
@inline function atAdd(h: u32, v: u32, size: u32): u32 {
  return size == 4 ? atomic.add<u32>(h, v) : size == 2 ? <u32>atomic.add<u16>(h, <u16>v) : <u32>atomic.add<u8>(h, <u8>v);
}
@inline function atSub(h: u32, v: u32, size: u32): u32 {
  return size == 4 ? atomic.sub<u32>(h, v) : size == 2 ? <u32>atomic.sub<u16>(h, <u16>v) : <u32>atomic.sub<u8>(h, <u8>v);
}
@inline function atAnd(h: u32, v: u32, size: u32): u32 {
  return size == 4 ? atomic.and<u32>(h, v) : size == 2 ? <u32>atomic.and<u16>(h, <u16>v) : <u32>atomic.and<u8>(h, <u8>v);
}
@inline function atOr(h: u32, v: u32, size: u32): u32 {
  return size == 4 ? atomic.or<u32>(h, v) : size == 2 ? <u32>atomic.or<u16>(h, <u16>v) : <u32>atomic.or<u8>(h, <u8>v);
}
@inline function atXor(h: u32, v: u32, size: u32): u32 {
  return size == 4 ? atomic.xor<u32>(h, v) : size == 2 ? <u32>atomic.xor<u16>(h, <u16>v) : <u32>atomic.xor<u8>(h, <u8>v);
}
@inline function atLoad(h: u32, size: u32): u32 {
  return size == 4 ? atomic.load<u32>(h) : size == 2 ? <u32>atomic.load<u16>(h) : <u32>atomic.load<u8>(h);
}
@inline function atCas(h: u32, old: u32, v: u32, size: u32): u32 {
  return size == 4 ? atomic.cmpxchg<u32>(h, old, v)
    : size == 2 ? <u32>atomic.cmpxchg<u16>(h, <u16>old, <u16>v) : <u32>atomic.cmpxchg<u8>(h, <u8>old, <u8>v);
}

// `op` (not CMP) on the memory operand named by ModR/M with source b
function aluMem(op: u32, b: u32, size: u32): void {
  const lin = linW(mseg, moff, size);
  if (lock) {
    const h = lhostW(lin, size);
    if (h != 0) {
      let a: u32;
      switch (op) {
        case 0: a = atAdd(h, b, size); break;
        case 1: a = atOr(h, b, size); break;
        // the carry in is known before the update, so ADC/SBB are one atomic add/sub of b+CF
        case 2: a = atAdd(h, b + getCF(), size); break;
        case 3: a = atSub(h, b + getCF(), size); break;
        case 4: a = atAnd(h, b, size); break;
        case 5: a = atSub(h, b, size); break;
        default: a = atXor(h, b, size); break;
      }
      alu(op, a, b, size);
      return;
    }
    busLock(); // (lhostW probed the write)
    lwrN(lin, alu(op, lrdN(lin, size), b, size), size);
    busUnlock();
    return;
  }
  const h = wHost(lin, size);
  if (h != 0) {
    hostSt(h, alu(op, hostLd(h, size), b, size), size);
    return;
  }
  lprobeW(lin, size);
  lwrN(lin, alu(op, lrdN(lin, size), b, size), size);
}

// ALU op with a memory destination (ModR/M already decoded) and source b
@inline function aluM(op: u32, b: u32, size: u32): void {
  if (op == OP_CMP) alu(op, rmRdN(size), b, size);
  else aluMem(op, b, size);
}
// ALU op with a register destination
@inline function aluR(op: u32, d: u32, b: u32, size: u32): void {
  const r = alu(op, rN(d, size), b, size);
  if (op != OP_CMP) wN(d, r, size);
}

// ---- 00..3D: register forms are handled straight from the ModR/M byte, before any decoding --
@inline export function alu_EbGb(op: u32): void {
  const m = fetch8();
  if (m >= 0xc0) { aluR(op, m & 7, r8((m >> 3) & 7), 1); return; }
  modrmB(m);
  aluM(op, r8(mreg), 1);
}
@inline export function alu_EvGv(op: u32, size: u32): void {
  const m = fetch8();
  if (m >= 0xc0) {
    if (size == 4) aluR(op, m & 7, r32((m >> 3) & 7), 4);
    else aluR(op, m & 7, r16((m >> 3) & 7), 2);
    return;
  }
  modrmB(m);
  aluM(op, rN(mreg, size), size);
}
@inline export function alu_GbEb(op: u32): void {
  const m = fetch8();
  if (m >= 0xc0) { aluR(op, (m >> 3) & 7, r8(m & 7), 1); return; }
  modrmB(m);
  aluR(op, mreg, rmRdN(1), 1);
}
@inline export function alu_GvEv(op: u32, size: u32): void {
  const m = fetch8();
  if (m >= 0xc0) { aluR(op, (m >> 3) & 7, rN(m & 7, size), size); return; }
  modrmB(m);
  aluR(op, mreg, rmRdN(size), size);
}
@inline export function alu_ALIb(op: u32): void {
  aluR(op, 0, fetch8(), 1);
}
@inline export function alu_eAXIz(op: u32, size: u32): void {
  aluR(op, 0, fetchN(size), size);
}

// ---- group 1 (80..83): the immediate follows the ModR/M bytes --------------------------------
export function grp1_EbIb(): void {
  const m = fetch8();
  if (m >= 0xc0) { aluR((m >> 3) & 7, m & 7, fetch8(), 1); return; }
  modrmB(m);
  aluM(mreg, fetch8(), 1);
}
@inline export function grp1_EvIz(size: u32): void {
  const m = fetch8();
  if (m >= 0xc0) { aluR((m >> 3) & 7, m & 7, fetchN(size), size); return; }
  modrmB(m);
  aluM(mreg, fetchN(size), size);
}
@inline export function grp1_EvIb(size: u32): void {
  const m = fetch8();
  const reg = m >= 0xc0;
  if (!reg) modrmB(m);
  let b = fetchS8();
  if (size == 2) b &= 0xffff;
  if (reg) aluR((m >> 3) & 7, m & 7, b, size);
  else aluM(mreg, b, size);
}

// ---- INC / DEC --------------------------------------------------------------------------------
// INC/DEC keep CF: it is carried in the lazy state's b slot
@inline function incdec(dec: bool, a: u32, size: u32): u32 {
  const r = dec ? a - 1 : a + 1;
  setLazy((dec ? LF_DEC : LF_INC) | szi(size), r, a, getCF());
  return r;
}
@inline export function inc_Zv(r: u32, size: u32): void {
  wN(r, incdec(false, rN(r, size), size), size);
}
@inline export function dec_Zv(r: u32, size: u32): void {
  wN(r, incdec(true, rN(r, size), size), size);
}
// INC/DEC of the ModR/M operand (also used by group 5's /0 /1)
export function incdecE(dec: bool, size: u32): void {
  if (!mmem) {
    wN(mrmi, incdec(dec, rN(mrmi, size), size), size);
    return;
  }
  const lin = linW(mseg, moff, size);
  if (lock) {
    const h = lhostW(lin, size);
    if (h != 0) {
      incdec(dec, dec ? atSub(h, 1, size) : atAdd(h, 1, size), size);
      return;
    }
    busLock();
    lwrN(lin, incdec(dec, lrdN(lin, size), size), size);
    busUnlock();
    return;
  }
  const h = wHost(lin, size);
  if (h != 0) {
    hostSt(h, incdec(dec, hostLd(h, size), size), size);
    return;
  }
  lprobeW(lin, size);
  lwrN(lin, incdec(dec, lrdN(lin, size), size), size);
}
export function grp4_Eb(): void {
  modrm();
  if (mreg >= 2) ud();
  incdecE(mreg == 1, 1);
}

// ---- TEST ---------------------------------------------------------------------------------------
@inline function test(a: u32, b: u32, size: u32): void {
  setLazy(LF_CO | szi(size), a & b, 0, 0);
}
export function test_EbGb(): void {
  const m = fetch8();
  if (m >= 0xc0) { test(r8(m & 7), r8((m >> 3) & 7), 1); return; }
  modrmB(m);
  test(rmRdN(1), r8(mreg), 1);
}
@inline export function test_EvGv(size: u32): void {
  const m = fetch8();
  if (m >= 0xc0) { test(rN(m & 7, size), rN((m >> 3) & 7, size), size); return; }
  modrmB(m);
  test(rmRdN(size), rN(mreg, size), size);
}
export function test_ALIb(): void {
  test(r8(0), fetch8(), 1);
}
@inline export function test_eAXIz(size: u32): void {
  test(rN(0, size), fetchN(size), size);
}

// ---- group 3 --------------------------------------------------------------------------------------
// NOT (neg=false) or NEG of the ModR/M operand
function notNegE(neg: bool, size: u32): void {
  const si = szi(size);
  if (!mmem) {
    const a = rN(mrmi, size);
    if (neg) { setLazy(LF_SUB | si, 0 - a, 0, a); wN(mrmi, 0 - a, size); } else wN(mrmi, ~a, size);
    return;
  }
  const lin = linW(mseg, moff, size);
  if (lock) {
    const h = lhostW(lin, size);
    if (h != 0) {
      if (!neg) { atXor(h, 0xffffffff, size); return; }
      let a = atLoad(h, size);
      for (;;) {
        const seen = atCas(h, a, 0 - a, size);
        if (seen == a) break;
        a = seen;
      }
      setLazy(LF_SUB | si, 0 - a, 0, a);
      return;
    }
    busLock();
    const a = lrdN(lin, size);
    if (neg) setLazy(LF_SUB | si, 0 - a, 0, a);
    lwrN(lin, neg ? 0 - a : ~a, size);
    busUnlock();
    return;
  }
  const h = wHost(lin, size);
  if (h == 0) {
    lprobeW(lin, size);
    const a = lrdN(lin, size);
    if (neg) setLazy(LF_SUB | si, 0 - a, 0, a);
    lwrN(lin, neg ? 0 - a : ~a, size);
    return;
  }
  const a = hostLd(h, size);
  if (neg) setLazy(LF_SUB | si, 0 - a, 0, a);
  hostSt(h, neg ? 0 - a : ~a, size);
}

export function grp3_Eb(): void {
  modrm();
  const r = mreg;
  if (r < 2) { // /1 is an undocumented alias of TEST on every x86 since the 8086
    const b = fetch8();
    test(rmRdN(1), b, 1);
  } else if (r < 4) {
    notNegE(r == 3, 1);
  } else {
    mulDivB(r, rmRdN(1));
  }
}
@inline export function grp3_Ev(size: u32): void {
  modrm();
  const r = mreg;
  if (r < 2) {
    const b = fetchN(size);
    test(rmRdN(size), b, size);
  } else if (r < 4) {
    notNegE(r == 3, size);
  } else {
    mulDivV(r, rmRdN(size), size);
  }
}
