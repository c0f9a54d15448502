// Lazy arithmetic flags. An ALU op stores its operands, result and kind; CF..OF are computed only
// when something reads them. S_FLAGS holds every other EFLAGS bit, and the arithmetic ones too
// when the kind is LF_NONE.
import { S } from "./state";
import {
  S_FLAGS, S_LF_OP, S_LF_RES, S_LF_A, S_LF_B,
  F_CF, F_PF, F_AF, F_ZF, F_SF, F_OF, F_ARITH,
} from "./layout";

// kinds (<< 2) | size index (0: 8-bit, 1: 16-bit, 2: 32-bit)
export const LF_NONE: u32 = 0;
export const LF_ADD: u32 = 1 << 2; // res = a + b
export const LF_ADC: u32 = 2 << 2; // res = a + b + 1
export const LF_SUB: u32 = 3 << 2; // res = a - b  (cmp, neg as 0 - b)
export const LF_SBB: u32 = 4 << 2; // res = a - b - 1
export const LF_INC: u32 = 5 << 2; // res = a + 1, CF kept in b
export const LF_DEC: u32 = 6 << 2; // res = a - 1, CF kept in b
export const LF_CO: u32 = 7 << 2; // ZF SF PF from res; CF, AF, OF given as EFLAGS bits in b (logic ops, shifts, mul)

// size in bytes -> size index
@inline export function szi(size: u32): u32 { return size >> 1; } // 1->0, 2->1, 4->2
@inline function maskOf(si: u32): u32 { return si == 2 ? 0xffffffff : si == 1 ? 0xffff : 0xff; }
@inline function signOf(si: u32): u32 { return si == 2 ? 0x80000000 : si == 1 ? 0x8000 : 0x80; }

@inline export function setLazy(op: u32, res: u32, a: u32, b: u32): void {
  store<u32>(S, op, S_LF_OP);
  store<u32>(S, res, S_LF_RES);
  store<u32>(S, a, S_LF_A);
  store<u32>(S, b, S_LF_B);
}

export function getCF(): u32 {
  const op = load<u32>(S, S_LF_OP);
  const m = maskOf(op & 3);
  const a = load<u32>(S, S_LF_A) & m, b = load<u32>(S, S_LF_B) & m, r = load<u32>(S, S_LF_RES) & m;
  switch (op >> 2) {
    case 0: return load<u32>(S, S_FLAGS) & F_CF;
    case 1: return u32(r < a);
    case 2: return u32(r <= a);
    case 3: return u32(a < b);
    case 4: return u32(a <= b);
    case 5: case 6: return load<u32>(S, S_LF_B) & 1;
    default: return load<u32>(S, S_LF_B) & F_CF;
  }
}

export function getOF(): bool {
  const op = load<u32>(S, S_LF_OP);
  const sg = signOf(op & 3);
  const a = load<u32>(S, S_LF_A), b = load<u32>(S, S_LF_B), r = load<u32>(S, S_LF_RES);
  switch (op >> 2) {
    case 0: return (load<u32>(S, S_FLAGS) & F_OF) != 0;
    case 1: case 2: return (((a ^ r) & (b ^ r)) & sg) != 0;
    case 3: case 4: return (((a ^ b) & (a ^ r)) & sg) != 0;
    case 5: return (r & (sg | (sg - 1))) == sg;
    case 6: return (r & (sg | (sg - 1))) == sg - 1;
    default: return (b & F_OF) != 0;
  }
}

@inline export function getZF(): bool {
  const op = load<u32>(S, S_LF_OP);
  if (op == LF_NONE) return (load<u32>(S, S_FLAGS) & F_ZF) != 0;
  return (load<u32>(S, S_LF_RES) & maskOf(op & 3)) == 0;
}

@inline export function getSF(): bool {
  const op = load<u32>(S, S_LF_OP);
  if (op == LF_NONE) return (load<u32>(S, S_FLAGS) & F_SF) != 0;
  return (load<u32>(S, S_LF_RES) & signOf(op & 3)) != 0;
}

export function getPF(): bool {
  const op = load<u32>(S, S_LF_OP);
  if (op == LF_NONE) return (load<u32>(S, S_FLAGS) & F_PF) != 0;
  return (popcnt<u32>(load<u32>(S, S_LF_RES) & 0xff) & 1) == 0;
}

export function getAF(): bool {
  const op = load<u32>(S, S_LF_OP);
  const a = load<u32>(S, S_LF_A), b = load<u32>(S, S_LF_B), r = load<u32>(S, S_LF_RES);
  switch (op >> 2) {
    case 0: return (load<u32>(S, S_FLAGS) & F_AF) != 0;
    case 1: case 2: case 3: case 4: return ((a ^ b ^ r) & 0x10) != 0;
    case 5: return (r & 0xf) == 0;
    case 6: return (r & 0xf) == 0xf;
    default: return (b & F_AF) != 0;
  }
}

// the full EFLAGS value
export function getFlags(): u32 {
  let f = load<u32>(S, S_FLAGS);
  if (load<u32>(S, S_LF_OP) == LF_NONE) return f | 2;
  f &= ~F_ARITH;
  if (getCF()) f |= F_CF;
  if (getPF()) f |= F_PF;
  if (getAF()) f |= F_AF;
  if (getZF()) f |= F_ZF;
  if (getSF()) f |= F_SF;
  if (getOF()) f |= F_OF;
  return f | 2;
}

// fold the lazy state into S_FLAGS so single bits can be changed in place
export function materialize(): void {
  if (load<u32>(S, S_LF_OP) == LF_NONE) return;
  store<u32>(S, getFlags(), S_FLAGS);
  store<u32>(S, LF_NONE, S_LF_OP);
}

// set the arithmetic flags (and only them) from a value
export function setArith(v: u32): void {
  materialize();
  store<u32>(S, (load<u32>(S, S_FLAGS) & ~F_ARITH) | (v & F_ARITH), S_FLAGS);
}

export function setCF(on: bool): void {
  materialize();
  const f = load<u32>(S, S_FLAGS);
  store<u32>(S, on ? f | F_CF : f & ~F_CF, S_FLAGS);
}

// x86 condition codes 0..15 (the low nibble of jcc/setcc/cmovcc)
@inline export function cond(cc: u32): bool {
  const op = load<u32>(S, S_LF_OP);
  // after cmp/sub the common conditions come straight from the operands
  if ((op >> 2) == 3) {
    const si = op & 3;
    const m = maskOf(si);
    const a = load<u32>(S, S_LF_A) & m, b = load<u32>(S, S_LF_B) & m;
    const sh: u32 = si == 2 ? 0 : si == 1 ? 16 : 24;
    switch (cc) {
      case 2: return a < b;
      case 3: return a >= b;
      case 4: return a == b;
      case 5: return a != b;
      case 6: return a <= b;
      case 7: return a > b;
      case 12: return <i32>(a << sh) < <i32>(b << sh);
      case 13: return <i32>(a << sh) >= <i32>(b << sh);
      case 14: return <i32>(a << sh) <= <i32>(b << sh);
      case 15: return <i32>(a << sh) > <i32>(b << sh);
      default: break;
    }
  }
  let r: bool;
  switch (cc >> 1) {
    case 0: r = getOF(); break;
    case 1: r = getCF() != 0; break;
    case 2: r = getZF(); break;
    case 3: r = getCF() != 0 || getZF(); break;
    case 4: r = getSF(); break;
    case 5: r = getPF(); break;
    case 6: r = getSF() != getOF(); break;
    default: r = getZF() || getSF() != getOF(); break;
  }
  return (cc & 1) != 0 ? !r : r;
}
