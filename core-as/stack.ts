// Stack pushes and pops through SS, with ESP or SP by the SS descriptor's B bit. ESP changes only
// after the memory access succeeded.
import { S, ss32, r32, w32 } from "./state";
import { R_ESP, SEG_SS } from "./layout";
import { linR, linW } from "./seg";
import { lrd16, lrd32, lwr16, lwr32, lprobeW } from "./mmu";

@inline export function sp(): u32 { return ss32 ? r32(4) : r32(4) & 0xffff; }
@inline export function setSp(v: u32): void {
  if (ss32) w32(4, v); else store<u16>(S, <u16>v, R_ESP);
}
// stack pointer after adding d, wrapped to the stack width (SS.B)
@inline export function spAdd(d: u32): u32 { return ss32 ? r32(4) + d : (r32(4) + d) & 0xffff; }

export function push32(v: u32): void {
  const n = spAdd(-4);
  lwr32(linW(SEG_SS, n, 4), v);
  setSp(n);
}
export function push16(v: u32): void {
  const n = spAdd(-2);
  lwr16(linW(SEG_SS, n, 2), v);
  setSp(n);
}
@inline export function pushN(v: u32, size: u32): void { if (size == 4) push32(v); else push16(v); }

// value on top of the stack without popping it (k bytes down)
export function peek32(k: u32): u32 { return lrd32(linR(SEG_SS, spAdd(k), 4)); }
export function peek16(k: u32): u32 { return lrd16(linR(SEG_SS, spAdd(k), 2)); }
export function pop32(): u32 {
  const v = peek32(0);
  setSp(spAdd(4));
  return v;
}
export function pop16(): u32 {
  const v = peek16(0);
  setSp(spAdd(2));
  return v;
}
@inline export function popN(size: u32): u32 { return size == 4 ? pop32() : pop16(); }

// make sure `bytes` bytes below the stack top can be written (multi-push instructions)
export function probePush(bytes: u32): void {
  const n = spAdd(-bytes);
  lprobeW(linW(SEG_SS, n, bytes > 4 ? 1 : bytes), bytes);
  linW(SEG_SS, spAdd(-1), 1);
}
