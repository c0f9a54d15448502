// Stack instructions: PUSH/POP of registers, immediates and r/m, PUSHA/POPA, ENTER/LEAVE,
// PUSHF/POPF. The stack width (SP or ESP) follows SS.B, the pushed width the operand size.
import { ip, a32, ss32, r16, r32, w16, w32, rN } from "../state";
import * as st from "../state";
import { SEG_SS, F_VM, F_RF } from "../layout";
import { modrm, mmem, mrmi, mrm, mseg, moff, fetch8, fetch16, fetchN, fetchS8 } from "../fetch";
import { linR, linW } from "../seg";
import { lrd16, lrd32, lwr16, lwr32, lprobeW } from "../mmu";
import { push16, push32, pop16, pop32, peek16, peek32, probePush, setSp, spAdd } from "../stack";
import { ud } from "../fault";
import { getFlags } from "../flags";
import { writeEflags, popfMask } from "../eflags";
import { v86Sensitive } from "../descriptor";


@inline export function push_Zv(r: u32, size: u32): void {
  if (size == 4) push32(r32(r)); else push16(r16(r));
}
// POP ESP leaves the popped value in ESP: the register write comes after the increment
@inline export function pop_Zv(r: u32, size: u32): void {
  if (size == 4) { const v = pop32(); w32(r, v); } else { const v = pop16(); w16(r, v); }
}
@inline export function push_Iz(size: u32): void {
  if (size == 4) push32(fetchN(4)); else push16(fetch16());
}
@inline export function push_Ib(size: u32): void {
  const v = fetchS8();
  if (size == 4) push32(v); else push16(v & 0xffff);
}

// PUSH r/m is FF /6 (branch.ts); POP r/m is 8F /0. The SDM: a memory destination addressed through
// ESP uses the value ESP has after the pop. Only a SIB base can name ESP, so the already decoded
// offset is shifted by the increment when the SIB base is 4.
@inline export function pop_Ev(size: u32): void {
  const mpos = ip; // ModR/M byte
  modrm();
  if (((mrm >> 3) & 7) != 0) ud();
  const v = size == 4 ? peek32(0) : peek16(0);
  const nsp = spAdd(size);
  if (!mmem) { setSp(nsp); if (size == 4) w32(mrmi, v); else w16(mrmi, v); return; }
  let off = moff;
  if (a32 && (mrm & 7) == 4 && (sibAt(mpos + 1) & 7) == 4) {
    off += (ss32 ? nsp : (r32(4) & 0xffff0000) | nsp) - r32(4);
  }
  if (size == 4) lwr32(linW(mseg, off, 4), v); else lwr16(linW(mseg, off, 2), v);
  setSp(nsp);
}
// re-read the SIB byte that modrm() already fetched (cannot fault: its page was just fetched)
function sibAt(lin: u32): u32 {
  const save = st.ip;
  st.ip = lin;
  const b = fetch8();
  st.ip = save;
  return b;
}

// PUSHA pushes the ESP value from before the first push; everything is probed first so a fault
// leaves ESP and memory as they were.
@inline export function pusha(size: u32): void {
  const t = size == 4 ? r32(4) : r16(4);
  probePush(size << 3);
  for (let r: u32 = 0; r < 8; r++) {
    const v = r == 4 ? t : rN(r, size);
    if (size == 4) push32(v); else push16(v);
  }
}
// POPA discards the saved ESP; all eight reads happen before any register changes
@inline export function popa(size: u32): void {
  if (size == 4) {
    const di = peek32(0), si = peek32(4), bp = peek32(8), bx = peek32(16), dx = peek32(20), cx = peek32(24), ax = peek32(28);
    setSp(spAdd(32));
    w32(7, di); w32(6, si); w32(5, bp); w32(3, bx); w32(2, dx); w32(1, cx); w32(0, ax);
  } else {
    const di = peek16(0), si = peek16(2), bp = peek16(4), bx = peek16(8), dx = peek16(10), cx = peek16(12), ax = peek16(14);
    setSp(spAdd(16));
    w16(7, di); w16(6, si); w16(5, bp); w16(3, bx); w16(2, dx); w16(1, cx); w16(0, ax);
  }
}

// ENTER imm16, imm8. Level 0 is the common prologue; nested levels copy level-1 frame pointers
// from the enclosing frame ([EBP - i*size], [BP - i*size] wrapping at 64 KiB on a 16-bit stack)
// and then push the new frame pointer. The operand size picks the width of what is pushed (all
// of EBP with a 32-bit operand size on a 16-bit stack), the stack size which of BP/EBP and SP/ESP
// change. A first pass performs every read and probes every write, including one at the final
// stack pointer, and a second one commits, so faults are precise.
@inline export function enter(size: u32): void {
  const alloc = fetch16();
  const level = fetch8() & 31;
  const ebp = ss32 ? r32(5) : r16(5);
  const pushes: u32 = level == 0 ? 1 : level + 1;
  probePush(pushes * size);
  const frame = spAdd(-size); // FrameTemp: ESP after pushing EBP
  const fin = ss32 ? frame - (pushes - 1) * size - alloc : (frame - (pushes - 1) * size - alloc) & 0xffff;
  // a write of the operand size at the final stack pointer must be possible (#SS beyond the
  // limit, #PF through paging) before anything changes, as the SDM lists for ENTER
  lprobeW(linW(SEG_SS, fin, size), size);
  if (level > 1) {
    for (let i: u32 = 1; i < level; i++) {
      const a = ss32 ? ebp - i * size : (ebp - i * size) & 0xffff;
      if (size == 4) lrd32(linR(SEG_SS, a, 4)); else lrd16(linR(SEG_SS, a, 2));
    }
  }
  // commit
  if (size == 4) push32(r32(5)); else push16(r16(5));
  if (level > 0) {
    for (let i: u32 = 1; i < level; i++) {
      const a = ss32 ? ebp - i * size : (ebp - i * size) & 0xffff;
      if (size == 4) push32(lrd32(linR(SEG_SS, a, 4))); else push16(lrd16(linR(SEG_SS, a, 2)));
    }
    if (size == 4) push32(frame); else push16(frame);
  }
  if (ss32) w32(5, frame); else w16(5, frame);
  setSp(fin);
}

// LEAVE: ESP <- EBP (SP <- BP with a 16-bit stack), then pop the frame pointer
@inline export function leave(size: u32): void {
  const bp = ss32 ? r32(5) : r16(5);
  const v = size == 4 ? lrd32(linR(SEG_SS, bp, 4)) : lrd16(linR(SEG_SS, bp, 2));
  setSp(bp + size);
  if (size == 4) w32(5, v); else w16(5, v);
}

// PUSHF: the image has VM and RF clear. In virtual-8086 mode PUSHF and POPF are IOPL-sensitive
// (#GP(0) below IOPL 3); at IOPL 3 POPF changes neither IOPL nor VM (popfMask: CPL is 3 there).
@inline export function pushf(size: u32): void {
  v86Sensitive();
  const f = getFlags();
  if (size == 4) push32(f & ~(F_VM | F_RF)); else push16(f & 0xffff);
}
@inline export function popf(size: u32): void {
  v86Sensitive();
  const v = size == 4 ? pop32() & ~F_RF : pop16();
  writeEflags(v, popfMask(size));
}
