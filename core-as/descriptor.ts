// Protected-mode descriptors: reading them from the GDT/LDT, decoding, the accessed/busy bits,
// and loading data/stack segment registers with the SDM's checks (vol. 3, 5.5-5.10; MOV/POP/LDS
// pseudocode in vol. 2). Also the supervisor "new stack" writer used by interrupt delivery and
// call gates, which must check and probe the whole frame before any state changes.
import { S } from "./state";
import {
  S_GDTR_BASE, S_GDTR_LIMIT, S_CPL, S_CR0, S_FLAGS, CR0_PE, F_VM, F_IOPL, SEG_SS, SEG_LDTR, SEG_CS,
  EXC_GP, EXC_NP, EXC_SS, 
} from "./layout";
import { srd32, translate, phost, isRom } from "./mmu";
import { codeWrite } from "./codemap";
import { raise } from "./fault";
import { segp, segSet, segLoadReal, segLoadV86, segAttr, segBase, segLimit } from "./seg";
import { mmio_rd, mmio_wr } from "./env";
import { SG_ATTR, SG_SEL, SG_BASE, SG_LIMIT } from "./layout";

// the descriptor read last: low and high dwords, and its linear address
export let dlo: u32 = 0;
export let dhi: u32 = 0;
export let daddr: u32 = 0;

// ---- decoding -------------------------------------------------------------------------------
@inline export function dBase(lo: u32, hi: u32): u32 { return (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000); }
@inline export function dLimit(lo: u32, hi: u32): u32 {
  const l = (lo & 0xffff) | (hi & 0xf0000);
  return (hi & 0x800000) != 0 ? (l << 12) | 0xfff : l;
}
// the cache's attribute word (layout.ts SG_ATTR)
@inline export function dAttr(hi: u32): u32 { return (hi >>> 8) & 0xf0ff; }
@inline export function dType(hi: u32): u32 { return (hi >>> 8) & 0xf; }
@inline export function dSys(hi: u32): bool { return (hi & 0x1000) == 0; }
@inline export function dDpl(hi: u32): u32 { return (hi >>> 13) & 3; }
@inline export function dPresent(hi: u32): bool { return (hi & 0x8000) != 0; }
@inline export function dCode(hi: u32): bool { return (hi & 0x1800) == 0x1800; }
@inline export function dData(hi: u32): bool { return (hi & 0x1800) == 0x1000; }
@inline export function dConforming(hi: u32): bool { return (hi & 0x1c00) == 0x1c00; }
// data: writable; code: readable
@inline export function dRW(hi: u32): bool { return (hi & 0x200) != 0; }

@inline export function cpl(): u32 { return load<u32>(S, S_CPL); }
@inline export function v86(): bool { return (load<u32>(S, S_FLAGS) & F_VM) != 0; }
// IOPL-sensitive instructions in virtual-8086 mode (CLI, STI, PUSHF, POPF, INT n, IRET; no VME):
// #GP(0) to the monitor unless IOPL is 3
@inline export function v86Sensitive(): void {
  const f = load<u32>(S, S_FLAGS);
  if ((f & F_VM) != 0 && (f & F_IOPL) != F_IOPL) raise(EXC_GP, 0);
}
@inline export function protMode(): bool {
  return (load<u32>(S, S_CR0) & CR0_PE) != 0 && (load<u32>(S, S_FLAGS) & F_VM) == 0;
}

// ---- reading ---------------------------------------------------------------------------------
// Linear address of the descriptor `sel` names, or 0xffffffff when it lies outside its table
// (or names the LDT while LDTR is unusable).
export function descAddr(sel: u32): u32 {
  let base: u32, limit: u32;
  if ((sel & 4) != 0) {
    const p = segp(SEG_LDTR);
    if ((load<u32>(p, SG_ATTR) & 0x80) == 0 || (load<u32>(p, SG_SEL) & 0xfffc) == 0) return 0xffffffff;
    base = load<u32>(p, SG_BASE);
    limit = load<u32>(p, SG_LIMIT);
  } else {
    base = load<u32>(S, S_GDTR_BASE);
    limit = load<u32>(S, S_GDTR_LIMIT);
  }
  if ((sel | 7) > limit) return 0xffffffff;
  return base + (sel & 0xfff8);
}

// read the descriptor into dlo/dhi; false when outside the table (page faults still raise)
export function tryDesc(sel: u32): bool {
  const a = descAddr(sel);
  if (a == 0xffffffff) return false;
  daddr = a;
  dlo = srd32(a);
  dhi = srd32(a + 4);
  return true;
}

// read the descriptor or raise `vec` with the selector's error code (+EXT)
export function readDesc(sel: u32, vec: u32, ext: u32): void {
  if (!tryDesc(sel)) raise(vec, (sel & 0xfffc) | ext);
}

// a GDT-only read (TSS and LDT descriptors)
export function readGdtDesc(sel: u32, vec: u32, ext: u32): void {
  if ((sel & 4) != 0) raise(vec, (sel & 0xfffc) | ext);
  readDesc(sel, vec, ext);
}

// ---- supervisor read-modify-write of a descriptor byte (accessed / busy bits) -------------------
// Atomic because another vCPU may touch the same byte (busy and accessed bits share it).
function sbyteOp(lin: u32, orBits: u32, andBits: u32): void {
  const phys = translate(lin, true, false);
  const h = phost(phys, true);
  if (h != 0) {
    codeWrite(phys);
    if (orBits != 0) atomic.or<u8>(h, <u8>orBits);
    if (andBits != 0xff) atomic.and<u8>(h, <u8>andBits);
    return;
  }
  if (isRom(phys)) return;
  mmio_wr(phys, 1, ((mmio_rd(phys, 1) | orBits) & andBits) & 0xff);
}

// set the accessed bit of the descriptor at `addr` whose high dword is `hi`
export function setAccessed(addr: u32, hi: u32): void {
  if ((hi & 0x100) == 0) sbyteOp(addr + 5, 1, 0xff);
}
export function setBusy(addr: u32, busy: bool): void {
  if (busy) sbyteOp(addr + 5, 2, 0xff); else sbyteOp(addr + 5, 0, 0xfd);
}

// ---- segment register loads --------------------------------------------------------------------
// Load DS/ES/FS/GS/SS from `sel` under the current mode. In protected mode the checks raise
// `gpVec` (#GP for MOV/POP/LxS, #TS in a task switch) with the selector as error code, #NP (or
// #SS for SS) when the segment is not present. `rpl` privilege is checked against `curCpl`.
export function loadSegPm(seg: u32, sel: u32, curCpl: u32, gpVec: u32, ext: u32): void {
  sel &= 0xffff;
  const err = (sel & 0xfffc) | ext;
  if ((sel & 0xfffc) == 0) {
    if (seg == SEG_SS) raise(gpVec, gpVec == EXC_GP ? ext : err);
    segSet(seg, sel, 0, 0, 0); // null: the register is unusable until reloaded
    return;
  }
  readDesc(sel, gpVec, ext);
  const hi = dhi, lo = dlo, addr = daddr;
  const rpl = sel & 3, dpl = dDpl(hi);
  if (seg == SEG_SS) {
    if (rpl != curCpl || !dData(hi) || !dRW(hi) || dpl != curCpl) raise(gpVec, err);
    if (!dPresent(hi)) raise(EXC_SS, err);
  } else {
    if (dSys(hi) || (dCode(hi) && !dRW(hi))) raise(gpVec, err);
    if (!dConforming(hi) && (rpl > dpl || curCpl > dpl)) raise(gpVec, err);
    if (!dPresent(hi)) raise(EXC_NP, err);
  }
  setAccessed(addr, hi);
  segSet(seg, sel, dBase(lo, hi), dLimit(lo, hi), dAttr(hi) | 1);
}

// MOV Sreg / POP Sreg / LDS...: real mode and VM86 only change selector and base
export function loadSeg(seg: u32, sel: u32): void {
  if ((load<u32>(S, S_CR0) & CR0_PE) == 0) { segLoadReal(seg, sel); return; }
  if ((load<u32>(S, S_FLAGS) & F_VM) != 0) { segLoadV86(seg, sel); return; }
  loadSegPm(seg, sel, cpl(), EXC_GP, 0);
}

// CS from a checked code descriptor; RPL becomes the new CPL
export function loadCS(sel: u32, lo: u32, hi: u32, newCpl: u32): void {
  segSet(SEG_CS, (sel & 0xfffc) | newCpl, dBase(lo, hi), dLimit(lo, hi), dAttr(hi) | 1);
  store<u32>(S, newCpl, S_CPL);
}

// after a return to an outer ring: data segments the new CPL may not use become null
export function nullInaccessible(seg: u32, newCpl: u32): void {
  const a = segAttr(seg);
  if ((a & 0x80) == 0) return;
  const codeConf = (a & 0x1c) == 0x1c;
  if (!codeConf && ((a >> 5) & 3) < newCpl) segSet(seg, 0, 0, 0, 0);
}

// ---- writing a frame onto a (possibly new) stack --------------------------------------------
// The stack segment the frame goes to, set by stkUse / stkUseCurrent.
let kBase: u32 = 0;
let kLimit: u32 = 0;
let kAttr: u32 = 0;
let kUser: bool = false;
export let kSp: u32 = 0; // stack pointer while pushing (offset; masked to 16 bits on a 16-bit stack)

export function stkUse(base: u32, limit: u32, attr: u32, sp: u32, newCpl: u32): void {
  kBase = base; kLimit = limit; kAttr = attr; kUser = newCpl == 3; kSp = sp;
}
export function stkUseCurrent(): void {
  stkUse(segBase(SEG_SS), segLimit(SEG_SS), segAttr(SEG_SS), load<u32>(S, 16), cpl());
}
@inline function kMask(): u32 { return (kAttr & 0x4000) != 0 ? 0xffffffff : 0xffff; }

function offOk(off: u32, w: u32): bool {
  const end = <u64>off + <u64>(w - 1);
  if ((kAttr & 0x80) == 0) return false;
  if ((kAttr & 0xc) == 4) { // expand-down data
    const top: u64 = (kAttr & 0x4000) != 0 ? 0xffffffff : 0xffff;
    return off > kLimit && end <= top;
  }
  return end <= <u64>kLimit;
}

// Check that n items of w bytes can be pushed below kSp (limits, then pages); raises #SS(err)
// or #PF. Nothing changes.
export function stkCheck(n: u32, w: u32, ssErr: u32): void {
  const m = kMask();
  for (let i: u32 = 1; i <= n; i++) {
    const off = (kSp - i * w) & m;
    if (!offOk(off, w)) raise(EXC_SS, ssErr);
  }
  for (let i: u32 = 1; i <= n; i++) {
    const lin = kBase + ((kSp - i * w) & m);
    translate(lin, true, kUser);
    if (((lin & 0xfff) + w) > 0x1000) translate(lin + w - 1, true, kUser);
  }
}

function kwr8(lin: u32, v: u32): void {
  const phys = translate(lin, true, kUser);
  const h = phost(phys, true);
  if (h != 0) {
    codeWrite(phys);
    store<u8>(h, <u8>v);
  } else if (!isRom(phys)) mmio_wr(phys, 1, v & 0xff);
}

// push after stkCheck succeeded (cannot fault)
export function stkPush(v: u32, w: u32): void {
  kSp = (kSp - w) & kMask();
  const lin = kBase + kSp;
  if ((lin & 0xfff) <= 0x1000 - w) {
    const phys = translate(lin, true, kUser);
    const h = phost(phys, true);
    if (h != 0) {
      codeWrite(phys);
      if (w == 4) store<u32>(h, v); else store<u16>(h, <u16>v);
      return;
    }
  }
  for (let k: u32 = 0; k < w; k++) kwr8(lin + k, v >> (k << 3));
}

// the final ESP: only SP changes on a 16-bit stack
export function stkCommitEsp(): void {
  if ((kAttr & 0x4000) != 0) store<u32>(S, kSp, 16);
  else store<u16>(S, <u16>kSp, 16);
}
