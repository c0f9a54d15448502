// Linear -> physical -> host translation: the software TLB, the page walks (32-bit paging with
// 4 KiB and PSE 4 MiB pages; PAE paging with 64-bit entries, 2 MiB pages, reserved-bit checks and
// the XD bit under EFER.NXE), A/D bits set atomically, CR0.WP, and physical memory (RAM, the BIOS
// ROM alias below 4 GiB, MMIO through the host). A TLB hit costs one compare and one add.
import { S, TLB, setTlbSetDirect, fpageReset } from "./state";
import {
  MACHINE, M_RAM_SIZE, M_ROM_SIZE, RAM_BASE, ROM_HI, CODEMAP,
  S_CR0, S_CR3, S_CR4, S_CPL, S_FLAGS, S_TLB, TLB_SET_SIZE, TLB_TAG_R, TLB_TAG_W, TLB_TAG_X, TLB_DELTA,
  TLB_ENTRIES, TLB_INVALID, TLB_SET_SUP, TLB_SET_USR, TLB_SET_NONE,
  CR0_PG, CR0_WP, CR0_AM, CR4_PSE, CR4_PAE, F_AC, EXC_AC, S_EFER, S_PDPTE, EFER_NXE,
} from "./layout";
import { pf, raise, gp } from "./fault";
import { mmio_rd, mmio_wr } from "./env";
import { codeWrite } from "./codemap";

// ---- physical memory ------------------------------------------------------------------------
// host address of a physical byte, or 0 when it is not RAM/ROM (MMIO or nothing)
export function phost(phys: u32, write: bool): u32 {
  if (phys < load<u32>(MACHINE, M_RAM_SIZE)) return RAM_BASE + phys;
  const rs = load<u32>(MACHINE, M_ROM_SIZE);
  if (!write && rs != 0 && phys >= 0 - rs) return ROM_HI + (phys - (0 - rs));
  return 0;
}

// a physical address inside the BIOS ROM alias below 4 GiB (writes there are dropped); with no
// ROM loaded (size 0) nothing is ROM and every non-RAM address is MMIO
@inline export function isRom(phys: u32): bool {
  const rs = load<u32>(MACHINE, M_ROM_SIZE);
  return rs != 0 && phys >= 0 - rs;
}

export function prd32(phys: u32): u32 {
  const h = phost(phys, false);
  return h ? load<u32>(h) : mmio_rd(phys, 4);
}
export function pwr32(phys: u32, v: u32): void {
  const h = phost(phys, true);
  if (h) store<u32>(h, v); else if (!isRom(phys)) mmio_wr(phys, 4, v);
}

// ---- modes ----------------------------------------------------------------------------------
// choose the TLB set from CPL and the alignment-check condition; call after CPL, CR0 or EFLAGS.AC change
export function updateMode(): void {
  const cpl = load<u32>(S, S_CPL);
  if (cpl == 3 && (load<u32>(S, S_CR0) & CR0_AM) != 0 && (load<u32>(S, S_FLAGS) & F_AC) != 0) {
    setTlbSetDirect(TLB_SET_NONE);
  } else {
    setTlbSetDirect(cpl == 3 ? TLB_SET_USR : TLB_SET_SUP);
  }
}

export function tlbFlushAll(): void {
  const base = S + S_TLB;
  for (let set: u32 = 0; set < 3; set++) {
    const t = base + set * TLB_SET_SIZE;
    memory.fill(t + TLB_TAG_R, 0xff, TLB_ENTRIES * 8); // both tag arrays: 0xffffffff has low bits set
    memory.fill(t + TLB_TAG_X, 0xff, TLB_ENTRIES * 4);
  }
  largeInTlb = false;
  fpageReset();
}

export function tlbFlushPage(lin: u32): void {
  // the TLB holds large pages as 4 KiB pieces: INVLPG of a large page drops all of them
  if (largeInTlb) { tlbFlushAll(); return; }
  const i = ((lin >>> 12) & (TLB_ENTRIES - 1)) << 2;
  for (let set: u32 = 0; set < 2; set++) {
    const t = S + S_TLB + set * TLB_SET_SIZE + i;
    store<u32>(t, TLB_INVALID, TLB_TAG_R);
    store<u32>(t, TLB_INVALID, TLB_TAG_W);
    store<u32>(t, TLB_INVALID, TLB_TAG_X);
  }
  fpageReset();
}

// ---- CR3 and the PAE PDPTE registers ----------------------------------------------------------
// some entry of the TLB came from a 4 MiB or 2 MiB page (INVLPG must then flush everything)
let largeInTlb = false;

@inline function paePaging(): bool {
  return (load<u32>(S, S_CR0) & CR0_PG) != 0 && (load<u32>(S, S_CR4) & CR4_PAE) != 0;
}

// PDPTE bits that must be 0 when the entry is present: 2:1, 8:5 and 63:36 (MAXPHYADDR 36)
const PDPTE_RSVD: u64 = 0xfffffff000000000 | 0x1e6;

// Load the four PDPTE registers from the 32-byte-aligned table at cr3 (PAE paging is about to
// be, or stays, on): #GP(0) if a present entry has a reserved bit set, and then nothing changes.
// A table outside RAM reads as not-present entries (as page-table reads outside RAM do).
export function loadPdptes(cr3: u32): void {
  const base = cr3 & 0xffffffe0;
  const h = phost(base, false);
  for (let k: u32 = 0; k < 4; k++) {
    const e: u64 = h != 0 ? load<u64>(h + k * 8) : 0;
    if ((e & 1) != 0 && (e & PDPTE_RSVD) != 0) gp(0);
  }
  for (let k: u32 = 0; k < 4; k++) {
    store<u64>(S + S_PDPTE + k * 8, h != 0 ? load<u64>(h + k * 8) : 0);
  }
}

// MOV to CR3 and task switches: bits 2:0 are ignored; with PAE paging the PDPTEs load first
export function setCr3(v: u32): void {
  if (paePaging()) loadPdptes(v);
  store<u32>(S, v & 0xfffffff8, S_CR3);
  tlbFlushAll();
}

// ---- page walk ------------------------------------------------------------------------------
// Translates for the given access kind or raises #PF. On success installs the TLB entry of the
// matching privilege set (read always; write only once the page is writable and dirty; fetch
// unless the page is execute-disabled). `fetch`: an instruction fetch (#PF error-code bit 4 under
// PAE with EFER.NXE, and XD pages fault).
export function translate(lin: u32, write: bool, user: bool, fetch: bool = false): u32 {
  const cr0 = load<u32>(S, S_CR0);
  let phys: u32;
  let canWrite = true;
  const canExec = true;
  if ((cr0 & CR0_PG) == 0) {
    phys = lin;
  } else if ((load<u32>(S, S_CR4) & CR4_PAE) != 0) {
    return translatePae(lin, write, user, fetch);
  } else {
    const errBase: u32 = (write ? 2 : 0) | (user ? 4 : 0);
    const pdeAddr = (load<u32>(S, S_CR3) & 0xfffff000) + ((lin >>> 22) << 2);
    const pdeHost = phost(pdeAddr, true);
    const pde: u32 = pdeHost ? atomic.load<u32>(pdeHost) : 0;
    if ((pde & 1) == 0) { pf(lin, errBase); }
    const wp = (cr0 & CR0_WP) != 0;
    if ((pde & 0x80) != 0 && (load<u32>(S, S_CR4) & CR4_PSE) != 0) {
      // 4 MiB page
      if (user && (pde & 4) == 0) pf(lin, errBase | 1);
      canWrite = (pde & 2) != 0 || (!user && !wp);
      if (write && !canWrite) pf(lin, errBase | 1);
      const want: u32 = write ? 0x60 : 0x20;
      if ((pde & want) != want) atomic.or<u32>(pdeHost, want);
      if (!write && (pde & 0x40) == 0) canWrite = false; // not dirty yet: first write comes back here
      phys = (pde & 0xffc00000) | (lin & 0x003fffff);
      largeInTlb = true;
    } else {
      const pteAddr = (pde & 0xfffff000) + (((lin >>> 12) & 0x3ff) << 2);
      const pteHost = phost(pteAddr, true);
      const pte: u32 = pteHost ? atomic.load<u32>(pteHost) : 0;
      if ((pte & 1) == 0) pf(lin, errBase);
      if (user && ((pde & pte & 4) == 0)) pf(lin, errBase | 1);
      canWrite = ((pde & pte & 2) != 0) || (!user && !wp);
      if (write && !canWrite) pf(lin, errBase | 1);
      if ((pde & 0x20) == 0) atomic.or<u32>(pdeHost, 0x20);
      const want: u32 = write ? 0x60 : 0x20;
      if ((pte & want) != want) atomic.or<u32>(pteHost, want);
      if (!write && (pte & 0x40) == 0) canWrite = false;
      phys = (pte & 0xfffff000) | (lin & 0xfff);
    }
  }
  tlbInstall(lin, phys, user, canWrite, canExec);
  return phys;
}

// install the TLB entry of a translated page when it is plain memory
function tlbInstall(lin: u32, phys: u32, user: bool, canWrite: bool, canExec: bool): void {
  const page = phys & 0xfffff000;
  const hr = phost(page, false);
  if (hr != 0) {
    const t = S + S_TLB + (user ? TLB_SET_USR : TLB_SET_SUP) * TLB_SET_SIZE + (((lin >>> 12) & (TLB_ENTRIES - 1)) << 2);
    const lpage = lin & 0xfffff000;
    store<u32>(t, lpage, TLB_TAG_R);
    store<u32>(t, hr - lpage, TLB_DELTA);
    store<u32>(t, canExec ? lpage : TLB_INVALID, TLB_TAG_X);
    const hw = phost(page, true);
    store<u32>(t, canWrite && hw != 0 && load<u8>(CODEMAP + (page >>> 12)) == 0 ? lpage : TLB_INVALID, TLB_TAG_W);
  }
}

// A physical address above 4 GiB (a 36-bit PAE entry) is no RAM and no device: it becomes this
// address, which nothing decodes (above the IO-APIC/LAPIC pages, outside the PCI window, below
// the largest BIOS ROM alias), so reads give the open-bus value and writes are dropped, as for
// any other address outside RAM.
export const PHYS_VOID: u32 = 0xff000000;

// a PAE table entry at physical address a (64-bit): its host address, 0 when not in RAM (the
// entry then reads as 0, not present, as in the 32-bit walk)
@inline function entryHost(a: u64): u32 {
  return a < 0x100000000 ? phost(<u32>a, true) : 0;
}

const ADDR_MASK: u64 = 0x0000000ffffff000; // bits 35:12
// present PDE/PTE bits that must be 0: 62:36, and 63 (XD) unless EFER.NXE
const RSVD_HI: u64 = 0x7ffffff000000000;
const XD: u64 = 0x8000000000000000;

// PAE paging (SDM vol. 3A 4.4): PDPTE register -> PDE -> PTE or 2 MiB page
function translatePae(lin: u32, write: bool, user: bool, fetch: bool): u32 {
  const nxe = (load<u32>(S, S_EFER) & EFER_NXE) != 0;
  const err: u32 = (write ? 2 : 0) | (user ? 4 : 0) | (fetch && nxe ? 0x10 : 0);
  const rsvd: u64 = nxe ? RSVD_HI : RSVD_HI | XD;
  const pdpte = load<u64>(S + S_PDPTE + ((lin >>> 30) << 3));
  if ((pdpte & 1) == 0) pf(lin, err);
  const pdeHost = entryHost((pdpte & ADDR_MASK) + (((lin >>> 21) & 0x1ff) << 3));
  const pde: u64 = pdeHost ? atomic.load<u64>(pdeHost) : 0;
  if ((pde & 1) == 0) pf(lin, err);
  const wp = (load<u32>(S, S_CR0) & CR0_WP) != 0;
  let phys: u64;
  let canWrite: bool;
  let canExec: bool;
  if ((pde & 0x80) != 0) {
    // 2 MiB page: bits 20:13 are reserved too
    if ((pde & (rsvd | 0x1fe000)) != 0) pf(lin, err | 9);
    canExec = !nxe || (pde & XD) == 0;
    if (user && (pde & 4) == 0) pf(lin, err | 1);
    canWrite = (pde & 2) != 0 || (!user && !wp);
    if (write && !canWrite) pf(lin, err | 1);
    if (fetch && !canExec) pf(lin, err | 1);
    const want: u32 = write ? 0x60 : 0x20;
    if ((<u32>pde & want) != want) atomic.or<u32>(pdeHost, want);
    if (!write && (pde & 0x40) == 0) canWrite = false; // not dirty yet: first write comes back here
    phys = (pde & 0x0000000fffe00000) | <u64>(lin & 0x001fffff);
    largeInTlb = true;
  } else {
    if ((pde & rsvd) != 0) pf(lin, err | 9);
    const pteHost = entryHost((pde & ADDR_MASK) + (((lin >>> 12) & 0x1ff) << 3));
    const pte: u64 = pteHost ? atomic.load<u64>(pteHost) : 0;
    if ((pte & 1) == 0) pf(lin, err);
    if ((pte & rsvd) != 0) pf(lin, err | 9);
    canExec = !nxe || ((pde | pte) & XD) == 0;
    if (user && ((pde & pte & 4) == 0)) pf(lin, err | 1);
    canWrite = ((pde & pte & 2) != 0) || (!user && !wp);
    if (write && !canWrite) pf(lin, err | 1);
    if (fetch && !canExec) pf(lin, err | 1);
    if ((pde & 0x20) == 0) atomic.or<u32>(pdeHost, 0x20);
    const want: u32 = write ? 0x60 : 0x20;
    if ((<u32>pte & want) != want) atomic.or<u32>(pteHost, want);
    if (!write && (pte & 0x40) == 0) canWrite = false;
    phys = (pte & ADDR_MASK) | <u64>(lin & 0xfff);
  }
  const p32: u32 = phys < 0x100000000 ? <u32>phys : PHYS_VOID | (lin & 0xfff);
  tlbInstall(lin, p32, user, canWrite, canExec);
  return p32;
}

// ---- linear access, current privilege ------------------------------------------------------
@inline function isUser(): bool { return load<u32>(S, S_CPL) == 3; }

function acCheck(lin: u32, len: u32): void {
  if (TLB == S + S_TLB + TLB_SET_NONE * TLB_SET_SIZE && (lin & (len - 1)) != 0) raise(EXC_AC, 0);
}

function rdSlow(lin: u32, len: u32): u32 {
  acCheck(lin, len);
  if (((lin & 0xfff) + len) > 0x1000) {
    // page-crossing access: byte by byte (reads have no side effects to undo)
    let v: u32 = 0;
    for (let k: u32 = 0; k < len; k++) v |= rdPhysByte(lin + k, isUser()) << (k << 3);
    return v;
  }
  const phys = translate(lin, false, isUser());
  const h = phost(phys, false);
  if (h == 0) return mmio_rd(phys, len);
  return len == 4 ? load<u32>(h) : len == 2 ? <u32>load<u16>(h) : <u32>load<u8>(h);
}

function rdPhysByte(lin: u32, user: bool): u32 {
  const phys = translate(lin, false, user);
  const h = phost(phys, false);
  return h ? <u32>load<u8>(h) : mmio_rd(phys, 1) & 0xff;
}

function wrSlow(lin: u32, len: u32, v: u32): void {
  acCheck(lin, len);
  const user = isUser();
  if (((lin & 0xfff) + len) > 0x1000) {
    // check both pages before the first byte is written
    const p1 = translate(lin, true, user);
    const p2 = translate((lin + len - 1) & 0xfffff000, true, user);
    for (let k: u32 = 0; k < len; k++) {
      const a = lin + k;
      const p = ((a ^ lin) & 0xfffff000) == 0 ? p1 + k : p2 + ((a & 0xfff));
      wrPhysByte(p, (v >> (k << 3)) & 0xff);
    }
    return;
  }
  const phys = translate(lin, true, user);
  const h = phost(phys, true);
  if (h == 0) { if (!isRom(phys)) mmio_wr(phys, len, v); return; }
  codeWrite(phys);
  if (len == 4) store<u32>(h, v); else if (len == 2) store<u16>(h, <u16>v); else store<u8>(h, <u8>v);
}

function wrPhysByte(phys: u32, v: u32): void {
  const h = phost(phys, true);
  if (h == 0) { if (!isRom(phys)) mmio_wr(phys, 1, v); return; }
  codeWrite(phys);
  store<u8>(h, <u8>v);
}

@inline function tlbE(lin: u32): u32 { return TLB + (((lin >>> 12) & (TLB_ENTRIES - 1)) << 2); }

@inline export function lrd8(lin: u32): u32 {
  const e = tlbE(lin);
  if (load<u32>(e, TLB_TAG_R) == (lin & 0xfffff000)) return load<u8>(lin + load<u32>(e, TLB_DELTA));
  return rdSlow(lin, 1);
}
@inline export function lrd16(lin: u32): u32 {
  const e = tlbE(lin);
  if (load<u32>(e, TLB_TAG_R) == (lin & 0xfffff000) && (lin & 0xfff) <= 0xffe) return load<u16>(lin + load<u32>(e, TLB_DELTA));
  return rdSlow(lin, 2);
}
@inline export function lrd32(lin: u32): u32 {
  const e = tlbE(lin);
  if (load<u32>(e, TLB_TAG_R) == (lin & 0xfffff000) && (lin & 0xfff) <= 0xffc) return load<u32>(lin + load<u32>(e, TLB_DELTA));
  return rdSlow(lin, 4);
}
@inline export function lwr8(lin: u32, v: u32): void {
  const e = tlbE(lin);
  if (load<u32>(e, TLB_TAG_W) == (lin & 0xfffff000)) { store<u8>(lin + load<u32>(e, TLB_DELTA), <u8>v); return; }
  wrSlow(lin, 1, v);
}
@inline export function lwr16(lin: u32, v: u32): void {
  const e = tlbE(lin);
  if (load<u32>(e, TLB_TAG_W) == (lin & 0xfffff000) && (lin & 0xfff) <= 0xffe) { store<u16>(lin + load<u32>(e, TLB_DELTA), <u16>v); return; }
  wrSlow(lin, 2, v);
}
@inline export function lwr32(lin: u32, v: u32): void {
  const e = tlbE(lin);
  if (load<u32>(e, TLB_TAG_W) == (lin & 0xfffff000) && (lin & 0xfff) <= 0xffc) { store<u32>(lin + load<u32>(e, TLB_DELTA), v); return; }
  wrSlow(lin, 4, v);
}
// 8-byte operands (x87 m64): one access inside a page, else two 4-byte halves, low half first
@inline export function lrd64(lin: u32): u64 {
  const e = tlbE(lin);
  if (load<u32>(e, TLB_TAG_R) == (lin & 0xfffff000) && (lin & 0xfff) <= 0xff8) return load<u64>(lin + load<u32>(e, TLB_DELTA));
  const lo = lrd32(lin);
  return <u64>lo | (<u64>lrd32(lin + 4) << 32);
}
@inline export function lwr64(lin: u32, v: u64): void {
  const e = tlbE(lin);
  if (load<u32>(e, TLB_TAG_W) == (lin & 0xfffff000) && (lin & 0xfff) <= 0xff8) { store<u64>(lin + load<u32>(e, TLB_DELTA), v); return; }
  lwr32(lin, <u32>v);
  lwr32(lin + 4, <u32>(v >> 32));
}
export function lrdN(lin: u32, size: u32): u32 {
  return size == 4 ? lrd32(lin) : size == 2 ? lrd16(lin) : lrd8(lin);
}
export function lwrN(lin: u32, v: u32, size: u32): void {
  if (size == 4) lwr32(lin, v); else if (size == 2) lwr16(lin, v); else lwr8(lin, v);
}

// Make sure a write of len bytes at lin will not fault (so a read-modify-write or a multi-part
// write reports the fault before anything changes). Fills the write TLB entry.
export function lprobeW(lin: u32, len: u32): void {
  const e = tlbE(lin);
  if (load<u32>(e, TLB_TAG_W) == (lin & 0xfffff000) && (lin & 0xfff) <= 0x1000 - len) return;
  acCheck(lin, len);
  const user = isUser();
  translate(lin, true, user);
  if (((lin & 0xfff) + len) > 0x1000) translate((lin + len - 1) & 0xfffff000, true, user);
}

// Host address of an aligned, page-internal, writable RAM operand for LOCKed atomics; 0 when the
// operand is split or not RAM (the caller falls back to a plain read-modify-write).
export function lhostW(lin: u32, len: u32): u32 {
  lprobeW(lin, len);
  if ((lin & (len - 1)) != 0) return 0;
  const e = tlbE(lin);
  if (load<u32>(e, TLB_TAG_W) == (lin & 0xfffff000)) return lin + load<u32>(e, TLB_DELTA);
  return 0;
}

// ---- supervisor (implicit) accesses: descriptor tables, TSS, IDT -----------------------------
export function srd8(lin: u32): u32 {
  const phys = translate(lin, false, false);
  const h = phost(phys, false);
  return h ? <u32>load<u8>(h) : mmio_rd(phys, 1) & 0xff;
}
export function srd16(lin: u32): u32 { return srd8(lin) | (srd8(lin + 1) << 8); }
export function srd32(lin: u32): u32 {
  if ((lin & 0xfff) <= 0xffc) {
    const phys = translate(lin, false, false);
    const h = phost(phys, false);
    return h ? load<u32>(h) : mmio_rd(phys, 4);
  }
  return srd16(lin) | (srd16(lin + 2) << 16);
}
export function swr8(lin: u32, v: u32): void {
  const phys = translate(lin, true, false);
  wrPhysByte(phys, v & 0xff);
}
export function swr16(lin: u32, v: u32): void { swr8(lin, v); swr8(lin + 1, v >> 8); }
export function swr32(lin: u32, v: u32): void { swr16(lin, v); swr16(lin + 2, v >> 16); }
