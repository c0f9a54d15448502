// Group 2 shifts and rotates (ROL ROR RCL RCR SHL SHR SAL SAR) and SHLD/SHRD.
// The count is masked to 5 bits; a masked count of 0 changes neither the operand nor any flag.
// Flags the SDM leaves undefined are computed the way current x86 parts do:
//   OF for every nonzero count by the count-1 formula (SHL/ROL/RCL: MSB(r) ^ CF; SHR/ROR/RCR:
//   top two bits of r differ; SAR: 0); AF = 1 after SHL/SHR/SAR; rotates leave SF/ZF/AF/PF alone.
import { S, rN, wN, r8 } from "../state";
import { modrm, modrmB, mmem, mrmi, mseg, moff, fetch8, mreg as mregf } from "../fetch";
import { linW } from "../seg";
import { lrdN, lwrN, lprobeW } from "../mmu";
import { setLazy, szi, getCF, materialize, LF_CO } from "../flags";
import { S_FLAGS, F_CF, F_OF, F_AF } from "../layout";
import { wHost, hostLd, hostSt } from "../operand";

// linear address of a read-modify-write memory operand (write-probed), or its host address
let rmwLin: u32 = 0;
let rmwHost: u32 = 0;

// read the destination of a shift: a memory operand is checked for writing first
@inline function rdDst(size: u32): u32 {
  if (!mmem) return rN(mrmi, size);
  const lin = linW(mseg, moff, size);
  const h = wHost(lin, size);
  rmwHost = h;
  if (h != 0) return hostLd(h, size);
  lprobeW(lin, size);
  rmwLin = lin;
  return lrdN(lin, size);
}
@inline function wrDst(v: u32, size: u32): void {
  if (!mmem) wN(mrmi, v, size);
  else if (rmwHost != 0) hostSt(rmwHost, v, size);
  else lwrN(rmwLin, v, size);
}

@inline function setCO(cf: u32, ovf: u32): void {
  materialize();
  store<u32>(S, (load<u32>(S, S_FLAGS) & ~(F_CF | F_OF)) | cf | (ovf << 11), S_FLAGS);
}

// value after shifting/rotating a (size bytes) by c in 1..31 with op = ModR/M reg; sets flags
@inline function shiftOp(op: u32, a: u32, c: u32, size: u32): u32 {
  const n: u32 = size << 3;
  const top: u32 = n - 1;
  const mask: u32 = size == 4 ? 0xffffffff : (<u32>1 << n) - 1;
  let r: u32;
  switch (op) {
    case 0: { // ROL
      const k = c & top;
      r = k == 0 ? a : ((a << k) | (a >>> (n - k))) & mask;
      const cf = r & 1;
      setCO(cf, ((r >>> top) ^ cf) & 1);
      return r;
    }
    case 1: { // ROR
      const k = c & top;
      r = k == 0 ? a : ((a >>> k) | (a << (n - k))) & mask;
      setCO((r >>> top) & 1, ((r >>> top) ^ (r >>> (top - 1))) & 1);
      return r;
    }
    case 2: { // RCL: rotate the (n+1)-bit value CF:a
      const k = size == 4 ? c : c % (n + 1);
      const v: u64 = (<u64>getCF() << n) | <u64>a;
      const w: u64 = k == 0 ? v : ((v << k) | (v >>> (n + 1 - k)));
      r = <u32>w & mask;
      const cf = <u32>(w >>> n) & 1;
      setCO(cf, ((r >>> top) ^ cf) & 1);
      return r;
    }
    case 3: { // RCR
      const k = size == 4 ? c : c % (n + 1);
      const v: u64 = (<u64>getCF() << n) | <u64>a;
      const w: u64 = k == 0 ? v : ((v >>> k) | (v << (n + 1 - k)));
      r = <u32>w & mask;
      setCO(<u32>(w >>> n) & 1, ((r >>> top) ^ (r >>> (top - 1))) & 1);
      return r;
    }
    case 4: case 6: { // SHL / SAL
      const w: u64 = <u64>a << c;
      r = <u32>w & mask;
      const cf = <u32>(w >>> n) & 1;
      setLazy(LF_CO | szi(size), r, 0, cf | F_AF | ((((r >>> top) ^ cf) & 1) << 11));
      return r;
    }
    case 5: { // SHR
      r = a >>> c;
      const cf = (a >>> (c - 1)) & 1;
      setLazy(LF_CO | szi(size), r, 0, cf | F_AF | ((((r >>> top) ^ (r >>> (top - 1))) & 1) << 11));
      return r;
    }
    default: { // SAR
      const sa: i32 = size == 4 ? <i32>a : size == 2 ? <i32><i16>a : <i32><i8>a;
      r = <u32>(sa >> c) & mask;
      setLazy(LF_CO | szi(size), r, 0, (<u32>(sa >> (c - 1)) & 1) | F_AF);
      return r;
    }
  }
}

// register operand straight from the ModR/M byte m
@inline function grp2R(m: u32, c: u32, size: u32): void {
  if (c == 0) return;
  const d = m & 7;
  wN(d, shiftOp((m >> 3) & 7, rN(d, size), c, size), size);
}
// memory operand, ModR/M decoded
@inline function grp2M(c: u32, size: u32): void {
  const a = rdDst(size);
  if (c == 0) return;
  wrDst(shiftOp(mregf, a, c, size), size);
}

export function grp2_EbIb(): void {
  const m = fetch8();
  if (m >= 0xc0) { grp2R(m, fetch8() & 31, 1); return; }
  modrmB(m);
  grp2M(fetch8() & 31, 1);
}
@inline export function grp2_EvIb(size: u32): void {
  const m = fetch8();
  if (m >= 0xc0) { grp2R(m, fetch8() & 31, size); return; }
  modrmB(m);
  grp2M(fetch8() & 31, size);
}
export function grp2_Eb1(): void {
  const m = fetch8();
  if (m >= 0xc0) { grp2R(m, 1, 1); return; }
  modrmB(m);
  grp2M(1, 1);
}
@inline export function grp2_Ev1(size: u32): void {
  const m = fetch8();
  if (m >= 0xc0) { grp2R(m, 1, size); return; }
  modrmB(m);
  grp2M(1, size);
}
export function grp2_EbCL(): void {
  const m = fetch8();
  if (m >= 0xc0) { grp2R(m, r8(1) & 31, 1); return; }
  modrmB(m);
  grp2M(r8(1) & 31, 1);
}
@inline export function grp2_EvCL(size: u32): void {
  const m = fetch8();
  if (m >= 0xc0) { grp2R(m, r8(1) & 31, size); return; }
  modrmB(m);
  grp2M(r8(1) & 31, size);
}

// ---- SHLD / SHRD --------------------------------------------------------------------------------
// OF: SHLD as SHL (MSB(r) ^ CF), SHRD as SHR (top two result bits differ); AF = 1.
// 16-bit forms with a count above 16 are undefined; hardware shifts through dst:src:src (SHLD) or
// src:src:dst (SHRD) and reports CF = 0 (and OF = 0 for SHLD): do the same.
@inline function shxd(right: bool, c: u32, size: u32): void {
  const a = rdDst(size);
  if (c == 0) return;
  const b = rN(mregf, size);
  const top: u32 = (size << 3) - 1;
  let r: u32, cf: u32, ovf: u32;
  if (size == 4) {
    if (right) { r = (a >>> c) | (b << (32 - c)); cf = (a >>> (c - 1)) & 1; }
    else { r = (a << c) | (b >>> (32 - c)); cf = (a >>> (32 - c)) & 1; }
  } else if (right) {
    const v: u64 = <u64>a | (<u64>b << 16) | (<u64>b << 32);
    r = <u32>(v >>> c) & 0xffff;
    cf = c > 16 ? 0 : <u32>(v >>> (c - 1)) & 1;
  } else {
    const v: u64 = (<u64>a << 32) | (<u64>b << 16) | <u64>b;
    r = <u32>(v >>> (32 - c)) & 0xffff;
    cf = c > 16 ? 0 : <u32>(v >>> (48 - c)) & 1;
  }
  if (right) ovf = ((r >>> top) ^ (r >>> (top - 1))) & 1;
  else ovf = size == 2 && c > 16 ? 0 : ((r >>> top) ^ cf) & 1;
  setLazy(LF_CO | szi(size), r, 0, cf | F_AF | (ovf << 11));
  wrDst(r, size);
}
@inline export function shld_EvGvIb(size: u32): void { modrm(); shxd(false, fetch8() & 31, size); }
@inline export function shld_EvGvCL(size: u32): void { modrm(); shxd(false, r8(1) & 31, size); }
@inline export function shrd_EvGvIb(size: u32): void { modrm(); shxd(true, fetch8() & 31, size); }
@inline export function shrd_EvGvCL(size: u32): void { modrm(); shxd(true, r8(1) & 31, size); }
