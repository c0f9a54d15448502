// The packed integer operations of int.ts for the core built without WebAssembly SIMD
// (state.ts, "ASC_FEATURE_SIMD"): the same results lane by lane through memory. Operands are
// host addresses of n bytes (16 for XMM, 8 for MMX: an MMX pack or unpack takes the lanes of
// 8 bytes only, as the SIMD forms do); the result goes to a third address that may be neither
// operand (packs and unpacks read lanes after writing others).

// lane i of width e bytes (1, 2, 4, 8) at p: zero-extended, sign-extended; a store
@inline function lu(p: usize, i: u32, e: u32): u64 {
  if (e == 1) return <u64>load<u8>(p + i);
  if (e == 2) return <u64>load<u16>(p + (i << 1));
  if (e == 4) return <u64>load<u32>(p + (i << 2));
  return load<u64>(p + (i << 3));
}
@inline function sx(v: u64, e: u32): i64 {
  const sh = <u64>(64 - (e << 3));
  return (<i64>(v << sh)) >> <i64>sh;
}
@inline function st(p: usize, i: u32, e: u32, v: u64): void {
  if (e == 1) store<u8>(p + i, <u8>v);
  else if (e == 2) store<u16>(p + (i << 1), <u16>v);
  else if (e == 4) store<u32>(p + (i << 2), <u32>v);
  else store<u64>(p + (i << 3), v);
}
@inline function maskOf(e: u32): u64 { return e == 8 ? <u64>-1 : (<u64>1 << <u64>(e << 3)) - 1; }
// signed saturation to e bytes
@inline function satS(v: i64, e: u32): u64 {
  const hi = <i64>(maskOf(e) >> 1), lo = -hi - 1;
  return <u64>(v > hi ? hi : v < lo ? lo : v) & maskOf(e);
}

// the lane width of a lane-wise opcode (0: not lane-wise)
function width(op: u32): u32 {
  switch (op) {
    case 0x54: case 0x55: case 0x56: case 0x57: case 0xdb: case 0xdf: case 0xeb: case 0xef:
    case 0xd4: case 0xfb: case 0xf4: case 0xf6:
      return 8;
    case 0x64: case 0x74: case 0xd8: case 0xda: case 0xdc: case 0xde: case 0xe0: case 0xe8: case 0xec:
    case 0xf8: case 0xfc:
      return 1;
    case 0x65: case 0x75: case 0xd5: case 0xd9: case 0xdd: case 0xe3: case 0xe4: case 0xe5: case 0xe9:
    case 0xea: case 0xed: case 0xee: case 0xf9: case 0xfd:
      return 2;
    case 0x66: case 0x76: case 0xfa: case 0xfe: case 0xf5:
      return 4;
    default:
      return 0;
  }
}

// one lane: x, y zero-extended lanes of width e
function lane(op: u32, x: u64, y: u64, e: u32): u64 {
  const m = maskOf(e);
  switch (op) {
    case 0x54: case 0xdb: return x & y;
    case 0x55: case 0xdf: return ~x & y; // ~dst & src
    case 0x56: case 0xeb: return x | y;
    case 0x57: case 0xef: return x ^ y;
    case 0x64: case 0x65: case 0x66: return sx(x, e) > sx(y, e) ? m : 0;
    case 0x74: case 0x75: case 0x76: return x == y ? m : 0;
    case 0xd4: case 0xfc: case 0xfd: case 0xfe: return (x + y) & m;
    case 0xf8: case 0xf9: case 0xfa: case 0xfb: return (x - y) & m;
    case 0xd5: return (x * y) & 0xffff;
    case 0xd8: case 0xd9: return x > y ? x - y : 0;
    case 0xdc: case 0xdd: { const s = x + y; return s > m ? m : s; }
    case 0xe8: case 0xe9: return satS(sx(x, e) - sx(y, e), e);
    case 0xec: case 0xed: return satS(sx(x, e) + sx(y, e), e);
    case 0xda: return x < y ? x : y;
    case 0xde: return x > y ? x : y;
    case 0xea: return sx(x, e) < sx(y, e) ? x : y;
    case 0xee: return sx(x, e) > sx(y, e) ? x : y;
    case 0xe0: case 0xe3: return (x + y + 1) >> 1;
    case 0xe4: return (x * y) >> 16;
    case 0xe5: return <u64>((sx(x, 2) * sx(y, 2)) >> 16) & 0xffff;
    case 0xf4: return (x & 0xffffffff) * (y & 0xffffffff);
    case 0xf5: // PMADDWD: wraps (-32768 * -32768 twice is 0x80000000)
      return <u64>(sx(x & 0xffff, 2) * sx(y & 0xffff, 2) + sx((x >> 16) & 0xffff, 2) * sx((y >> 16) & 0xffff, 2)) &
        0xffffffff;
    case 0xf6: { // PSADBW
      let s: u64 = 0;
      for (let i: u64 = 0; i < 64; i += 8) {
        const a = (x >> i) & 0xff, b = (y >> i) & 0xff;
        s += a > b ? a - b : b - a;
      }
      return s;
    }
    default: unreachable(); return 0;
  }
}

// shifts: kind 2 right logical, 4 right arithmetic, 6 left; lanes of w bits, in place
export function shiftS(kind: u32, w: u32, p: usize, c: u64, n: u32): void {
  const e = w >> 3;
  const m = maskOf(e);
  for (let i: u32 = 0; i < n / e; i++) {
    const x = lu(p, i, e);
    let r: u64;
    if (kind == 4) r = <u64>(sx(x, e) >> <i64>(c >= <u64>w ? w - 1 : <u32>c)) & m;
    else if (c >= <u64>w) r = 0;
    else r = kind == 2 ? x >> c : (x << c) & m;
    st(p, i, e, r);
  }
}

// r = a op b for the opcode byte `op` (int.ts's table), n = 16 or 8 bytes
export function calcS(op: u32, a: usize, b: usize, r: usize, n: u32): void {
  const e = width(op);
  if (e != 0) {
    for (let i: u32 = 0; i < n / e; i++) st(r, i, e, lane(op, lu(a, i, e), lu(b, i, e), e));
    return;
  }
  switch (op) {
    case 0x60: case 0x61: case 0x62: case 0x6c: // PUNPCKL*: the low halves interleaved
    case 0x68: case 0x69: case 0x6a: case 0x6d: { // PUNPCKH*: the high halves
      const u: u32 = op == 0x60 || op == 0x68 ? 1 : op == 0x61 || op == 0x69 ? 2 : op == 0x62 || op == 0x6a ? 4 : 8;
      const k = n / (u << 1);
      const o: u32 = (op >= 0x68 && op <= 0x6a) || op == 0x6d ? k : 0;
      for (let i: u32 = 0; i < k; i++) {
        st(r, i << 1, u, lu(a, o + i, u));
        st(r, (i << 1) + 1, u, lu(b, o + i, u));
      }
      return;
    }
    case 0x63: case 0x67: case 0x6b: { // PACKSSWB, PACKUSWB, PACKSSDW: a's lanes, then b's
      const u: u32 = op == 0x6b ? 4 : 2;
      const h = u >> 1;
      const k = n / u;
      for (let i: u32 = 0; i < k; i++) {
        const x = sx(lu(a, i, u), u), y = sx(lu(b, i, u), u);
        if (op == 0x67) {
          st(r, i, 1, <u64>(x < 0 ? 0 : x > 255 ? 255 : x));
          st(r, k + i, 1, <u64>(y < 0 ? 0 : y > 255 ? 255 : y));
        } else {
          st(r, i, h, satS(x, h));
          st(r, k + i, h, satS(y, h));
        }
      }
      return;
    }
    case 0xd1: case 0xd2: case 0xd3: case 0xe1: case 0xe2: case 0xf1: case 0xf2: case 0xf3: { // by b's qword
      const c = load<u64>(b);
      for (let i: u32 = 0; i < n; i += 8) store<u64>(r + i, load<u64>(a + i));
      const w: u32 = (op & 3) == 1 ? 16 : (op & 3) == 2 ? 32 : 64;
      shiftS(op >= 0xf0 ? 6 : op >= 0xe0 ? 4 : 2, w, r, c, n);
      return;
    }
    default: unreachable();
  }
}
