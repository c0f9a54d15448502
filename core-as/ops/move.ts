// Data movement: MOV (not segment registers), LEA, MOVZX/MOVSX, XCHG, XADD, CMPXCHG, CMPXCHG8B,
// CMOVcc, SETcc, CBW/CWDE, CWD/CDQ, XLAT.
import { S, a32, lock, r8, r16, r32, w8, w16, w32, rN, wN } from "../state";
import { S_FLAGS, F_ZF, R_EAX, R_EBX, R_ECX, R_EDX } from "../layout";
import { modrm, modrmB, mmem, mreg, mrmi, mseg, moff, fetch8, fetch16, fetch32, dataSeg } from "../fetch";
import { rmRd8, rmRd16, rmRd32, rmWr8, rmWr16, rmWr32, rmWrN, rmRdW } from "../operand";
import { linR, linW } from "../seg";
import { lrd8, lrd16, lrd32, lwr8, lwr16, lwr32, lrdN, lwrN, lhostW, lprobeW } from "../mmu";
import { setLazy, szi, cond, materialize, LF_ADD, LF_SUB } from "../flags";
import { ud } from "../fault";
import { busLock, busUnlock } from "../buslock";

@inline function maskN(size: u32): u32 { return size == 4 ? 0xffffffff : size == 2 ? 0xffff : 0xff; }

// ---- MOV ------------------------------------------------------------------------------------
// register forms straight from the ModR/M byte, before any decoding
export function mov_EbGb(): void {
  const m = fetch8();
  if (m >= 0xc0) { w8(m & 7, r8((m >> 3) & 7)); return; }
  modrmB(m);
  rmWr8(r8(mreg));
}
export function mov_GbEb(): void {
  const m = fetch8();
  if (m >= 0xc0) { w8((m >> 3) & 7, r8(m & 7)); return; }
  modrmB(m);
  w8(mreg, rmRd8());
}
@inline export function mov_EvGv(size: u32): void {
  const m = fetch8();
  if (m >= 0xc0) {
    if (size == 4) w32(m & 7, r32((m >> 3) & 7)); else w16(m & 7, r16((m >> 3) & 7));
    return;
  }
  modrmB(m);
  if (size == 4) rmWr32(r32(mreg)); else rmWr16(r16(mreg));
}
@inline export function mov_GvEv(size: u32): void {
  const m = fetch8();
  if (m >= 0xc0) {
    if (size == 4) w32((m >> 3) & 7, r32(m & 7)); else w16((m >> 3) & 7, r16(m & 7));
    return;
  }
  modrmB(m);
  if (size == 4) w32(mreg, rmRd32()); else w16(mreg, rmRd16());
}
// moffs forms: the offset has the address size; the segment is DS or the override
@inline function moffs(): u32 { return a32 ? fetch32() : fetch16(); }
export function mov_ALOb(): void { const o = moffs(); w8(0, lrd8(linR(dataSeg(), o, 1))); }
export function mov_ObAL(): void { const o = moffs(); lwr8(linW(dataSeg(), o, 1), r8(0)); }
@inline export function mov_eAXOv(size: u32): void {
  const o = moffs();
  if (size == 4) w32(R_EAX >> 2, lrd32(linR(dataSeg(), o, 4)));
  else w16(R_EAX >> 2, lrd16(linR(dataSeg(), o, 2)));
}
@inline export function mov_OveAX(size: u32): void {
  const o = moffs();
  if (size == 4) lwr32(linW(dataSeg(), o, 4), r32(0));
  else lwr16(linW(dataSeg(), o, 2), r16(0));
}
@inline export function mov_ZbIb(r: u32): void { w8(r, fetch8()); }
@inline export function mov_ZvIv(r: u32, size: u32): void {
  if (size == 4) w32(r, fetch32()); else w16(r, fetch16());
}
// C6 /0 and C7 /0; the other reg values are undefined opcodes on a P6
export function mov_EbIb(): void {
  modrm();
  if (mreg != 0) ud();
  rmWr8(fetch8());
}
@inline export function mov_EvIz(size: u32): void {
  modrm();
  if (mreg != 0) ud();
  if (size == 4) rmWr32(fetch32()); else rmWr16(fetch16());
}

// ---- LEA, MOVZX, MOVSX ------------------------------------------------------------------------
// the effective offset is already truncated to the address size; the operand size truncates again
@inline export function lea(size: u32): void {
  modrm();
  if (!mmem) ud();
  if (size == 4) w32(mreg, moff); else w16(mreg, moff);
}
@inline export function movzx_GvEb(size: u32): void {
  modrm();
  const v = rmRd8();
  if (size == 4) w32(mreg, v); else w16(mreg, v);
}
@inline export function movzx_GvEw(size: u32): void {
  modrm();
  const v = rmRd16();
  if (size == 4) w32(mreg, v); else w16(mreg, v);
}
@inline export function movsx_GvEb(size: u32): void {
  modrm();
  const v = <u32><i32><i8>rmRd8();
  if (size == 4) w32(mreg, v); else w16(mreg, v);
}
@inline export function movsx_GvEw(size: u32): void {
  modrm();
  const v = <u32><i32><i16>rmRd16();
  if (size == 4) w32(mreg, v); else w16(mreg, v);
}

// ---- XCHG -----------------------------------------------------------------------------------
// A memory operand is always locked (atomic for the other vCPUs) whether or not LOCK is present.
function xchgMem(size: u32, v: u32): u32 {
  const lin = linW(mseg, moff, size);
  const h = lhostW(lin, size);
  if (h != 0) {
    if (size == 4) return atomic.xchg<u32>(h, v);
    if (size == 2) return <u32>atomic.xchg<u16>(h, <u16>v);
    return <u32>atomic.xchg<u8>(h, <u8>v);
  }
  // split or non-RAM operand: lhostW already probed the write
  busLock();
  const old = lrdN(lin, size);
  lwrN(lin, v, size);
  busUnlock();
  return old;
}
export function xchg_EbGb(): void {
  modrm();
  const g = r8(mreg);
  if (mmem) { w8(mreg, xchgMem(1, g)); return; }
  const e = r8(mrmi);
  w8(mrmi, g);
  w8(mreg, e);
}
@inline export function xchg_EvGv(size: u32): void {
  modrm();
  const g = size == 4 ? r32(mreg) : r16(mreg);
  if (mmem) { const old = xchgMem(size, g); if (size == 4) w32(mreg, old); else w16(mreg, old); return; }
  if (size == 4) { const e = r32(mrmi); w32(mrmi, g); w32(mreg, e); }
  else { const e = r16(mrmi); w16(mrmi, g); w16(mreg, e); }
}
@inline export function xchg_Zv(r: u32, size: u32): void {
  if (size == 4) { const a = r32(0); w32(0, r32(r)); w32(r, a); }
  else { const a = r16(0); w16(0, r16(r)); w16(r, a); }
}

// ---- XADD -----------------------------------------------------------------------------------
function xadd(size: u32): void {
  modrm();
  const src = rN(mreg, size);
  let dst: u32;
  if (mmem && lock) {
    const lin = linW(mseg, moff, size);
    const h = lhostW(lin, size);
    if (h != 0) {
      dst = size == 4 ? atomic.add<u32>(h, src) : size == 2 ? <u32>atomic.add<u16>(h, <u16>src) : <u32>atomic.add<u8>(h, <u8>src);
    } else {
      busLock(); // (lhostW probed the write)
      dst = lrdN(lin, size);
      lwrN(lin, dst + src, size);
      busUnlock();
    }
  } else {
    dst = rmRdW(size);
    rmWrN(dst + src, size);
  }
  const res = (dst + src) & maskN(size);
  // SDM order: SRC <- DEST, then DEST <- TEMP (so with both operands the same register, the sum wins)
  wN(mreg, dst, size);
  if (!mmem) wN(mrmi, res, size);
  setLazy(LF_ADD | szi(size), res, dst, src);
}
export function xadd_EbGb(): void { xadd(1); }
@inline export function xadd_EvGv(size: u32): void { xadd(size); }

// ---- CMPXCHG --------------------------------------------------------------------------------
// Compares the accumulator with the destination. Equal: ZF=1, destination <- source. Not equal:
// ZF=0, accumulator <- destination, and the destination is still written (with its old value:
// the processor always performs the write cycle, so a read-only page faults either way).
function cmpxchg(size: u32): void {
  modrm();
  const acc = rN(0, size);
  const src = rN(mreg, size);
  let dst: u32;
  if (mmem) {
    const lin = linW(mseg, moff, size);
    const h = lock ? lhostW(lin, size) : 0;
    if (h != 0) {
      dst = size == 4 ? atomic.cmpxchg<u32>(h, acc, src)
        : size == 2 ? <u32>atomic.cmpxchg<u16>(h, <u16>acc, <u16>src)
        : <u32>atomic.cmpxchg<u8>(h, <u8>acc, <u8>src);
    } else {
      lprobeW(lin, size);
      if (lock) busLock();
      dst = lrdN(lin, size);
      lwrN(lin, dst == acc ? src : dst, size);
      if (lock) busUnlock();
    }
  } else {
    dst = rN(mrmi, size);
    if (dst == acc) wN(mrmi, src, size);
  }
  if (dst != acc) wN(0, dst, size);
  setLazy(LF_SUB | szi(size), (acc - dst) & maskN(size), acc, dst);
}
export function cmpxchg_EbGb(): void { cmpxchg(1); }
@inline export function cmpxchg_EvGv(size: u32): void { cmpxchg(size); }

// 0F C7 /1: CMPXCHG8B m64. Only ZF changes. Atomic as one 64-bit cmpxchg when locked and aligned.
export function grp9(): void {
  modrm();
  if (!mmem || mreg != 1) ud();
  const lin = linW(mseg, moff, 8);
  const expect: u64 = (<u64>r32(R_EDX >> 2) << 32) | <u64>r32(R_EAX >> 2);
  const repl: u64 = (<u64>r32(R_ECX >> 2) << 32) | <u64>r32(R_EBX >> 2);
  let old: u64;
  const h = lock ? lhostW(lin, 8) : 0;
  if (h != 0) {
    old = atomic.cmpxchg<u64>(h, expect, repl);
  } else {
    lprobeW(lin, 8);
    if (lock) busLock();
    old = (<u64>lrd32(lin + 4) << 32) | <u64>lrd32(lin);
    const w = old == expect ? repl : old;
    lwr32(lin, <u32>w);
    lwr32(lin + 4, <u32>(w >> 32));
    if (lock) busUnlock();
  }
  materialize();
  const f = load<u32>(S, S_FLAGS);
  if (old == expect) {
    store<u32>(S, f | F_ZF, S_FLAGS);
  } else {
    store<u32>(S, f & ~F_ZF, S_FLAGS);
    w32(R_EAX >> 2, <u32>old);
    w32(R_EDX >> 2, <u32>(old >> 32));
  }
}

// ---- CMOVcc, SETcc --------------------------------------------------------------------------
// the source is read (and may fault) even when the condition is false
@inline export function cmovcc(cc: u32, size: u32): void {
  modrm();
  const v = size == 4 ? rmRd32() : rmRd16();
  if (cond(cc)) { if (size == 4) w32(mreg, v); else w16(mreg, v); }
}
@inline export function setcc(cc: u32): void {
  modrm();
  rmWr8(cond(cc) ? 1 : 0);
}

// ---- CBW/CWDE, CWD/CDQ, XLAT ----------------------------------------------------------------
@inline export function cbw(size: u32): void {
  if (size == 4) w32(0, <u32><i32><i16>r16(0));
  else w16(0, <u32><i32><i8>r8(0));
}
@inline export function cwd(size: u32): void {
  if (size == 4) w32(R_EDX >> 2, <i32>r32(0) < 0 ? 0xffffffff : 0);
  else w16(R_EDX >> 2, (r16(0) & 0x8000) != 0 ? 0xffff : 0);
}
export function xlat(): void {
  const off = a32 ? r32(R_EBX >> 2) + r8(0) : (r16(R_EBX >> 2) + r8(0)) & 0xffff;
  w8(0, lrd8(linR(dataSeg(), off, 1)));
}
