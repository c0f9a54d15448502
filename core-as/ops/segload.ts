// Segment register loads and stores: MOV Sreg, PUSH/POP Sreg, LDS/LES/LSS/LFS/LGS. The checks are
// in ../descriptor.ts (loadSeg); MOV SS and POP SS hold off interrupts for one instruction.
import { S, w16, w32, ss32 } from "../state";
import * as st from "../state";
import { SEG_SS, SEG_CS, R_ESP } from "../layout";
import { modrm, mmem, mseg, moff, mreg, mrmi } from "../fetch";
import { rmRd16 } from "../operand";
import { linR, linW, segSel } from "../seg";
import { lrd16, lrd32, lwr16 } from "../mmu";
import { ud } from "../fault";
import { loadSeg } from "../descriptor";
import * as cpu from "../cpu";

// 8E: MOV Sreg, Ew (CS is not loadable; 6 and 7 do not name a register)
export function mov_SwEw(): void {
  modrm();
  const s = mreg;
  if (s == SEG_CS || s > 5) ud();
  const v = rmRd16();
  loadSeg(s, v);
  if (s == SEG_SS) cpu.setShadow(cpu.SHADOW_SS);
}

// 8C: MOV Ew, Sreg. A memory destination is always 16 bits; a register one is written whole
// with o32 (zero-extended, as P6 and later do).
@inline export function mov_EwSw(size: u32): void {
  modrm();
  if (mreg > 5) ud();
  const v = segSel(mreg) & 0xffff;
  if (mmem) lwr16(linW(mseg, moff, 2), v);
  else if (size == 4) w32(mrmi, v);
  else w16(mrmi, v);
}

// PUSH Sreg: with o32 the slot is 4 bytes but only its low word is written (16-bit move, as
// current Intel processors do)
@inline export function push_sreg(s: u32, size: u32): void {
  const n = ss32 ? load<u32>(S, R_ESP) - size : (load<u32>(S, R_ESP) - size) & 0xffff;
  const lin = linW(SEG_SS, n, size);
  lwr16(lin, segSel(s));
  if (ss32) store<u32>(S, n, R_ESP); else store<u16>(S, <u16>n, R_ESP);
}

@inline export function pop_sreg(s: u32, size: u32): void {
  const sp = ss32 ? load<u32>(S, R_ESP) : load<u32>(S, R_ESP) & 0xffff;
  const lin = linR(SEG_SS, sp, size);
  const v = size == 4 ? lrd32(lin) & 0xffff : lrd16(lin);
  const wide = ss32;
  loadSeg(s, v);
  if (wide) store<u32>(S, sp + size, R_ESP); else store<u16>(S, <u16>(sp + size), R_ESP);
  if (s == SEG_SS) cpu.setShadow(cpu.SHADOW_SS);
}

// LxS r, m16:16/32: offset first, selector after it
function loadFar(s: u32, size: u32): void {
  modrm();
  if (!mmem) ud();
  const off = size == 4 ? lrd32(linR(mseg, moff, 4)) : lrd16(linR(mseg, moff, 2));
  const sel = lrd16(linR(mseg, (moff + size) & (st.a32 ? 0xffffffff : 0xffff), 2));
  loadSeg(s, sel);
  if (size == 4) w32(mreg, off); else w16(mreg, off);
}
@inline export function les(size: u32): void { loadFar(0, size); }
@inline export function lds(size: u32): void { loadFar(3, size); }
@inline export function lss(size: u32): void { loadFar(2, size); }
@inline export function lfs(size: u32): void { loadFar(4, size); }
@inline export function lgs(size: u32): void { loadFar(5, size); }
