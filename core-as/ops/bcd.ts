// Decimal adjust instructions (DAA DAS AAA AAS AAM AAD) and SALC, per the current SDM pseudocode
// (P6 and later: AAA/AAS adjust all of AX). Undefined flags: OF is 0 after DAA/DAS; AAA/AAS take
// SF/ZF/PF from the final AL with OF 0; AAM clears CF/AF/OF; AAD sets CF/AF/OF as the byte add
// AL + AH*imm8 that produces its result.
import { r8, w8, r16, w16 } from "../state";
import { fetch8 } from "../fetch";
import { setLazy, getCF, getAF, LF_CO, LF_ADD } from "../flags";
import { raise, NO_ERR } from "../fault";
import { EXC_DE, F_CF, F_AF } from "../layout";

export function daa(): void {
  const al = r8(0);
  const cf = getCF();
  let r = al;
  let f: u32 = 0;
  if ((al & 0xf) > 9 || getAF()) { r += 6; f = F_AF; }
  if (al > 0x99 || cf != 0) { r += 0x60; f |= F_CF; }
  w8(0, r);
  setLazy(LF_CO, r, 0, f);
}

export function das(): void {
  const al = r8(0);
  const cf = getCF();
  let r = al;
  let f: u32 = cf;
  if ((al & 0xf) > 9 || getAF()) { f |= (al < 6 ? F_CF : 0) | F_AF; r -= 6; }
  if (al > 0x99 || cf != 0) { r -= 0x60; f |= F_CF; }
  w8(0, r);
  setLazy(LF_CO, r, 0, f);
}

export function aaa(): void {
  let ax = r16(0);
  let f: u32 = 0;
  if ((ax & 0xf) > 9 || getAF()) { ax += 0x106; f = F_AF | F_CF; }
  ax &= 0xff0f;
  w16(0, ax);
  setLazy(LF_CO, ax, 0, f);
}

export function aas(): void {
  let ax = r16(0);
  let f: u32 = 0;
  if ((ax & 0xf) > 9 || getAF()) { ax = ax - 6 - 0x100; f = F_AF | F_CF; }
  ax &= 0xff0f;
  w16(0, ax);
  setLazy(LF_CO, ax, 0, f);
}

export function aam(): void {
  const base = fetch8();
  if (base == 0) raise(EXC_DE, NO_ERR);
  const al = r8(0);
  const r = al % base;
  w16(0, ((al / base) << 8) | r);
  setLazy(LF_CO, r, 0, 0);
}

export function aad(): void {
  const base = fetch8();
  const al = r8(0);
  const b = (r8(4) * base) & 0xff;
  const r = al + b;
  w16(0, r & 0xff);
  setLazy(LF_ADD, r, al, b);
}

// undocumented D6: AL = CF ? FF : 00, flags unchanged
export function salc(): void {
  w8(0, getCF() != 0 ? 0xff : 0);
}
