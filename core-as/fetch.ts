// Instruction fetch through the cached code page, and ModR/M + SIB decoding into an effective
// segment:offset. The operands the ModR/M byte names are read and written in operand.ts.
import { S, ip, fpage, a32, o32, segovr, r16, r32 } from "./state";
import * as st from "./state";
import {
  S_CPL, SEG_CS, SEG_DS, SEG_SS, EXC_GP, SG_LIMIT, SG_BASE, MACHINE, RAM_BASE, TLB_ENTRIES, TLB_TAG_X, TLB_DELTA,
} from "./layout";
import { translate, phost } from "./mmu";
import { segp } from "./seg";
import { raise } from "./fault";
import { markCode } from "./codemap";

const OPEN_BUS_PAGE: u32 = MACHINE + 0x1000; // 4 KiB of 0xff: "fetching" from MMIO

// map the page holding linear address a for fetching: from the TLB when it holds the page for
// fetches (tag_x: a read that is not execute-disabled), else through a page walk for a fetch
export function refill(a: u32): void {
  const cs = segp(SEG_CS);
  const eip = a - load<u32>(cs, SG_BASE);
  if (eip > load<u32>(cs, SG_LIMIT)) raise(EXC_GP, 0);
  const e = st.TLB + (((a >>> 12) & (TLB_ENTRIES - 1)) << 2);
  if (load<u32>(e, TLB_TAG_X) == (a & 0xfffff000)) {
    const hp = (a & 0xfffff000) + load<u32>(e, TLB_DELTA);
    if (hp >= <u32>RAM_BASE) markCode((hp - RAM_BASE) >>> 12);
    st.fpage = a & 0xfffff000;
    st.fdelta = hp - st.fpage;
    return;
  }
  const phys = translate(a, false, load<u32>(S, S_CPL) == 3, true);
  const h = phost(phys & 0xfffff000, false);
  const page = a & 0xfffff000;
  if (h == 0) { st.fpage = page; st.fdelta = OPEN_BUS_PAGE - page; return; }
  if (h >= <u32>RAM_BASE) markCode(phys >>> 12);
  st.fpage = page;
  st.fdelta = h - page;
}
@inline export function fetch8(): u32 {
  const a = ip;
  if ((a & 0xfffff000) != fpage) refill(a);
  st.ip = a + 1;
  return load<u8>(a + st.fdelta);
}
export function fetch16(): u32 {
  const a = ip;
  if ((a & 0xfff) > 0xffe) { const lo = fetch8(); return lo | (fetch8() << 8); }
  if ((a & 0xfffff000) != fpage) refill(a);
  st.ip = a + 2;
  return load<u16>(a + st.fdelta);
}
export function fetch32(): u32 {
  const a = ip;
  if ((a & 0xfff) > 0xffc) { const lo = fetch16(); return lo | (fetch16() << 16); }
  if ((a & 0xfffff000) != fpage) refill(a);
  st.ip = a + 4;
  return load<u32>(a + st.fdelta);
}
@inline export function fetchS8(): u32 { return <u32><i32><i8>fetch8(); }
@inline export function fetchO(): u32 { return o32 ? fetch32() : fetch16(); }
@inline export function fetchN(size: u32): u32 { return size == 4 ? fetch32() : size == 2 ? fetch16() : fetch8(); }

// ---- ModR/M -----------------------------------------------------------------------------------
export let mrm: u32 = 0; // the byte
export let mreg: u32 = 0; // bits 5:3
export let mrmi: u32 = 0; // bits 2:0 (register operand when mmem is false)
export let mmem: bool = false;
export let moff: u32 = 0; // effective offset
export let mseg: u32 = SEG_DS; // effective segment, override applied

@inline export function modrm(): void { modrmB(fetch8()); }
// Decode a ModR/M byte the handler already fetched (register-form fast paths test it first).
// Inlined into every handler: the register form and every 32-bit form (compiled code is full of
// [esp+disp8], a SIB form) are decoded here, the 16-bit forms out of line.
@inline export function modrmB(b: u32): void {
  mrm = b;
  mreg = (b >> 3) & 7;
  mrmi = b & 7;
  if (b >= 0xc0) { mmem = false; return; }
  mmem = true;
  if (a32) ea32(b);
  else ea16(b);
}

function ea16(b: u32): void {
  const mod = b >> 6;
  let off: u32;
  let seg: u32 = SEG_DS;
  switch (b & 7) {
    case 0: off = r16(3) + r16(6); break; // bx+si
    case 1: off = r16(3) + r16(7); break; // bx+di
    case 2: off = r16(5) + r16(6); seg = SEG_SS; break; // bp+si
    case 3: off = r16(5) + r16(7); seg = SEG_SS; break; // bp+di
    case 4: off = r16(6); break;
    case 5: off = r16(7); break;
    case 6:
      if (mod == 0) { off = fetch16(); } else { off = r16(5); seg = SEG_SS; }
      break;
    default: off = r16(3); break;
  }
  if (mod == 1) off += fetchS8(); else if (mod == 2) off += fetch16();
  moff = off & 0xffff;
  mseg = segovr >= 0 ? <u32>segovr : seg;
}

@inline function ea32(b: u32): void {
  const mod = b >> 6;
  const rm = b & 7;
  let off: u32;
  let seg: u32 = SEG_DS;
  if (rm == 4) {
    const sib = fetch8();
    const base = sib & 7;
    const idx = (sib >> 3) & 7;
    if (base == 5 && mod == 0) off = fetch32();
    else { off = r32(base); if (base == 4 || base == 5) seg = SEG_SS; }
    if (idx != 4) off += r32(idx) << (sib >> 6);
  } else if (rm == 5 && mod == 0) {
    off = fetch32();
  } else {
    off = r32(rm);
    if (rm == 5) seg = SEG_SS;
  }
  if (mod == 1) off += fetchS8(); else if (mod == 2) off += fetch32();
  moff = off;
  mseg = segovr >= 0 ? <u32>segovr : seg;
}

// the segment of a data access with no fixed segment: the override prefix, else DS
@inline export function dataSeg(): u32 { return segovr >= 0 ? <u32>segovr : SEG_DS; }
// offset after operand-size wrap for displacements in 16-bit address mode
@inline export function amask(v: u32): u32 { return a32 ? v : v & 0xffff; }

