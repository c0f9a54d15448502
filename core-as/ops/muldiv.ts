// MUL / IMUL (one, two and three operands) and DIV / IDIV. Division checks both #DE causes (zero
// divisor, quotient too wide, including the most negative dividend over -1) before any register
// is written, so a #DE leaves the registers as they were.
// Flags: CF=OF as the SDM defines for the multiplies; the undefined SF/ZF/PF are taken from the
// low half of the product and AF is 0. DIV/IDIV leave all flags unchanged (all undefined).
import { r8, r16, r32, w16, w32, rN, wN } from "../state";
import { modrmB, mreg, fetch8, fetchN, fetchS8 } from "../fetch";
import { setLazy, szi, LF_CO } from "../flags";
import { raise, NO_ERR } from "../fault";
import { EXC_DE, F_CF, F_OF } from "../layout";
import { rmRdN } from "../operand";

const CO: u32 = F_CF | F_OF;

@inline function de(): void { raise(EXC_DE, NO_ERR); }
@inline function sx(v: u32, size: u32): i32 {
  return size == 4 ? <i32>v : size == 2 ? <i32><i16>v : <i32><i8>v;
}

// F6 /4../7: AL or AX with an 8-bit operand
export function mulDivB(op: u32, src: u32): void {
  switch (op) {
    case 4: {
      const p = r8(0) * src;
      w16(0, p);
      setLazy(LF_CO, p, 0, p > 0xff ? CO : 0);
      return;
    }
    case 5: {
      const p = <u32>(<i32><i8>r8(0) * <i32><i8>src);
      w16(0, p);
      setLazy(LF_CO, p, 0, <i32><i8>p != <i32>p ? CO : 0);
      return;
    }
    case 6: {
      if (src == 0) de();
      const n = r16(0);
      const q = n / src;
      if (q > 0xff) de();
      w16(0, q | ((n % src) << 8));
      return;
    }
    default: {
      const d = <i32><i8>src;
      if (d == 0) de();
      const n = <i32><i16>r16(0);
      const q = n / d;
      if (q != <i32><i8>q) de();
      w16(0, (<u32>q & 0xff) | ((<u32>(n % d) & 0xff) << 8));
      return;
    }
  }
}

// F7 /4../7: (E)DX:(E)AX with a 16- or 32-bit operand
export function mulDivV(op: u32, src: u32, size: u32): void {
  if (size == 2) {
    switch (op) {
      case 4: {
        const p = r16(0) * src;
        w16(0, p); w16(2, p >>> 16);
        setLazy(LF_CO | 1, p, 0, p > 0xffff ? CO : 0);
        return;
      }
      case 5: {
        const p = <u32>(<i32><i16>r16(0) * <i32><i16>src);
        w16(0, p); w16(2, p >>> 16);
        setLazy(LF_CO | 1, p, 0, <i32><i16>p != <i32>p ? CO : 0);
        return;
      }
      case 6: {
        if (src == 0) de();
        const n = r16(0) | (r16(2) << 16);
        const q = n / src;
        if (q > 0xffff) de();
        w16(0, q); w16(2, n % src);
        return;
      }
      default: {
        const d = <i32><i16>src;
        if (d == 0) de();
        const n = <i32>(r16(0) | (r16(2) << 16));
        if (n == i32.MIN_VALUE && d == -1) de(); // wasm would trap on this one
        const q = n / d;
        if (q != <i32><i16>q) de();
        w16(0, <u32>q); w16(2, <u32>(n % d));
        return;
      }
    }
  }
  switch (op) {
    case 4: {
      const p = <u64>r32(0) * <u64>src;
      const hi = <u32>(p >>> 32);
      w32(0, <u32>p); w32(2, hi);
      setLazy(LF_CO | 2, <u32>p, 0, hi != 0 ? CO : 0);
      return;
    }
    case 5: {
      const p = <i64><i32>r32(0) * <i64><i32>src;
      w32(0, <u32>p); w32(2, <u32>(p >>> 32));
      setLazy(LF_CO | 2, <u32>p, 0, <i64><i32>p != p ? CO : 0);
      return;
    }
    case 6: {
      const hi = r32(2);
      if (hi >= src) de(); // covers src == 0 and every quotient wider than 32 bits
      const n = (<u64>hi << 32) | <u64>r32(0);
      w32(0, <u32>(n / <u64>src)); w32(2, <u32>(n % <u64>src));
      return;
    }
    default: {
      const d = <i64><i32>src;
      if (d == 0) de();
      const n = <i64>((<u64>r32(2) << 32) | <u64>r32(0));
      if (d == -1 && n == i64.MIN_VALUE) de(); // wasm would trap on this one
      const q = n / d;
      if (q != <i64><i32>q) de();
      w32(0, <u32>q); w32(2, <u32>(n % d));
      return;
    }
  }
}

// two- and three-operand IMUL: truncated product into Gv, CF=OF when it did not fit
@inline function imul2(d: u32, a: u32, b: u32, size: u32): void {
  let r: u32, ovf: bool;
  if (size == 4) {
    const p = <i64><i32>a * <i64><i32>b;
    r = <u32>p;
    ovf = <i64><i32>r != p;
  } else {
    const p = sx(a, 2) * sx(b, 2);
    r = <u32>p;
    ovf = <i32><i16>r != p;
  }
  wN(d, r, size);
  setLazy(LF_CO | szi(size), r, 0, ovf ? CO : 0);
}
@inline export function imul_GvEv(size: u32): void {
  const m = fetch8();
  if (m >= 0xc0) { const d = (m >> 3) & 7; imul2(d, rN(d, size), rN(m & 7, size), size); return; }
  modrmB(m);
  imul2(mreg, rN(mreg, size), rmRdN(size), size);
}
@inline export function imul_GvEvIz(size: u32): void {
  const m = fetch8();
  if (m >= 0xc0) { const b = fetchN(size); imul2((m >> 3) & 7, rN(m & 7, size), b, size); return; }
  modrmB(m);
  const b = fetchN(size);
  imul2(mreg, rmRdN(size), b, size);
}
@inline export function imul_GvEvIb(size: u32): void {
  const m = fetch8();
  if (m >= 0xc0) { const b = fetchS8(); imul2((m >> 3) & 7, rN(m & 7, size), b, size); return; }
  modrmB(m);
  const b = fetchS8();
  imul2(mreg, rmRdN(size), b, size);
}
