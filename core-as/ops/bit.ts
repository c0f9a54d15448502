// Bit instructions: BT/BTS/BTR/BTC (register and immediate offsets), BSF, BSR, BSWAP.
// BT* set CF to the selected bit and leave the other flags alone. With a register offset and a
// memory operand the offset is signed and selects memory outside the operand itself.
import { S, lock, rN, wN, w16, w32, r32, a32 } from "../state";
import { modrm, mmem, mreg, mrmi, mseg, moff, fetch8 } from "../fetch";
import { linR, linW } from "../seg";
import { lrdN, lwrN, lprobeW, lhostW } from "../mmu";
import { setCF, LF_NONE } from "../flags";
import { S_FLAGS, S_LF_OP, F_ARITH, F_ZF, F_PF } from "../layout";
import { ud } from "../fault";
import { busLock, busUnlock } from "../buslock";
import { wHost, hostLd, hostSt, rmRdN } from "../operand";

// kind: 0 BT, 1 BTS, 2 BTR, 3 BTC; `off` is the memory offset of the operand holding bit `bit`
@inline function newVal(kind: u32, a: u32, m: u32): u32 {
  return kind == 1 ? a | m : kind == 2 ? a & ~m : a ^ m;
}

@inline function btMem(kind: u32, off: u32, bit: u32, size: u32): void {
  const m: u32 = <u32>1 << bit;
  if (kind == 0) {
    setCF((lrdN(linR(mseg, off, size), size) & m) != 0);
    return;
  }
  const lin = linW(mseg, off, size);
  if (lock) {
    const h = lhostW(lin, size);
    if (h != 0) {
      let a: u32;
      if (size == 4) {
        a = kind == 1 ? atomic.or<u32>(h, m) : kind == 2 ? atomic.and<u32>(h, ~m) : atomic.xor<u32>(h, m);
      } else {
        a = kind == 1 ? <u32>atomic.or<u16>(h, <u16>m) : kind == 2 ? <u32>atomic.and<u16>(h, <u16>~m) : <u32>atomic.xor<u16>(h, <u16>m);
      }
      setCF((a & m) != 0);
      return;
    }
    busLock(); // (lhostW probed the write)
    const a = lrdN(lin, size);
    lwrN(lin, newVal(kind, a, m), size);
    busUnlock();
    setCF((a & m) != 0);
    return;
  }
  const h = wHost(lin, size);
  if (h != 0) {
    const a = hostLd(h, size);
    hostSt(h, newVal(kind, a, m), size);
    setCF((a & m) != 0);
    return;
  }
  lprobeW(lin, size);
  const a = lrdN(lin, size);
  lwrN(lin, newVal(kind, a, m), size);
  setCF((a & m) != 0);
}

@inline function btReg(kind: u32, bit: u32, size: u32): void {
  const m: u32 = <u32>1 << bit;
  const a = rN(mrmi, size);
  if (kind != 0) wN(mrmi, newVal(kind, a, m), size);
  setCF((a & m) != 0);
}

@inline export function bt_EvGv(kind: u32, size: u32): void {
  modrm();
  const o = rN(mreg, size);
  const bits: u32 = size << 3;
  if (!mmem) { btReg(kind, o & (bits - 1), size); return; }
  // signed offset: whole operands of `size` bytes below or above the addressed one
  const units: i32 = size == 4 ? <i32>o >> 5 : <i32><i16>o >> 4;
  let off = moff + <u32>(units * <i32>size);
  if (!a32) off &= 0xffff;
  btMem(kind, off, o & (bits - 1), size);
}

// 0F BA /4../7 with an immediate bit offset (taken modulo the operand size)
@inline export function grp8_EvIb(size: u32): void {
  modrm();
  if (mreg < 4) ud();
  const bit = fetch8() & ((size << 3) - 1);
  if (!mmem) btReg(mreg - 4, bit, size);
  else btMem(mreg - 4, moff, bit, size);
}

// BSF/BSR: a zero source sets ZF and leaves the destination as it was. Of the undefined flags
// PF follows the parity of the bit index (1 for a zero source) and the rest are cleared, as
// current parts report. All six are known, so they go straight to S_FLAGS.
@inline function bsx(rev: bool, size: u32): void {
  modrm();
  const v = rmRdN(size);
  let f = load<u32>(S, S_FLAGS) & ~F_ARITH;
  if (v == 0) {
    f |= F_ZF | F_PF;
  } else {
    const i = rev ? 31 - clz<u32>(v) : ctz<u32>(v);
    if ((popcnt<u32>(i) & 1) == 0) f |= F_PF;
    wN(mreg, i, size);
  }
  store<u32>(S, f, S_FLAGS);
  store<u32>(S, LF_NONE, S_LF_OP);
}
@inline export function bsf(size: u32): void { bsx(false, size); }
@inline export function bsr(size: u32): void { bsx(true, size); }

// BSWAP with a 16-bit operand is undefined; real parts clear the low word
@inline export function bswap(r: u32, size: u32): void {
  if (size == 4) { const v = r32(r); w32(r, rotl<u32>(v & 0xff00ff00, 8) | rotr<u32>(v & 0x00ff00ff, 8)); }
  else w16(r, 0);
}
