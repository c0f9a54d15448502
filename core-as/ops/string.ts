// String instructions MOVS CMPS STOS LODS SCAS INS OUTS, with REP / REPE / REPNE.
// Source DS:(E)SI (segment override allowed), destination ES:(E)DI (never overridden); SI/DI
// or ESI/EDI and CX/ECX by the address size; direction by EFLAGS.DF.
//
// A REP instruction runs at most CHUNK elements per execution and, if the count is not used up,
// leaves EIP at its first prefix byte so the run loop executes it again (interrupts and the
// instruction budget get their turn in between). Registers are written after every element, so
// a fault in the middle leaves ECX/ESI/EDI counting exactly the completed elements and the
// restart continues from there.
//
// Fast path: when a run of elements stays inside one page on both sides, inside the segments'
// fast windows, and both pages are RAM already in the TLB, the run is done on host memory with
// memory.copy / memory.fill or a tight loop, keeping the element-by-element semantics of
// overlapping moves.
import { S, TLB, a32, rep, r8, r16, r32, w8, w16, w32 } from "../state";
import * as st from "../state";
import {
  S_FLAGS, F_DF, F_TF, SEG_ES, TLB_ENTRIES, TLB_TAG_R, TLB_TAG_W, TLB_DELTA, SG_RLO, SG_RHI, SG_WLO, SG_WHI, SG_BASE,
} from "../layout";
import { linR, linW, segp } from "../seg";
import { dataSeg } from "../fetch";
import { lrd8, lrd16, lrd32, lwr8, lwr16, lwr32, lprobeW } from "../mmu";
import { setLazy, szi, getZF, LF_SUB } from "../flags";
import { ioCheck } from "../ioperm";
import { io_in, io_out } from "../env";

const CHUNK: u32 = 16384; // elements per execution of a REP instruction
const R_CX: u32 = 1, R_SI: u32 = 6, R_DI: u32 = 7;

// ---- small helpers --------------------------------------------------------------------------
@inline function back(): bool { return (load<u32>(S, S_FLAGS) & F_DF) != 0; }
@inline function idx(r: u32): u32 { return a32 ? r32(r) : r16(r); }
@inline function setIdx(r: u32, v: u32): void { if (a32) w32(r, v); else w16(r, v); }
@inline function counter(): u32 { return a32 ? r32(R_CX) : r16(R_CX); }
@inline function setCounter(v: u32): void { if (a32) w32(R_CX, v); else w16(R_CX, v); }
@inline function rd(lin: u32, size: u32): u32 { return size == 4 ? lrd32(lin) : size == 2 ? lrd16(lin) : lrd8(lin); }
@inline function wr(lin: u32, v: u32, size: u32): void {
  if (size == 4) lwr32(lin, v); else if (size == 2) lwr16(lin, v); else lwr8(lin, v);
}
@inline function acc(size: u32): u32 { return size == 4 ? r32(0) : size == 2 ? r16(0) : r8(0); }
@inline function setAcc(v: u32, size: u32): void { if (size == 4) w32(0, v); else if (size == 2) w16(0, v); else w8(0, v); }
@inline function hload(h: u32, size: u32): u32 { return size == 4 ? load<u32>(h) : size == 2 ? <u32>load<u16>(h) : <u32>load<u8>(h); }
@inline function hstore(h: u32, v: u32, size: u32): void {
  if (size == 4) store<u32>(h, v); else if (size == 2) store<u16>(h, <u16>v); else store<u8>(h, <u8>v);
}
@inline function minU(a: u32, b: u32): u32 { return a < b ? a : b; }
// elements to execute in this pass; one at a time under single-step so each element traps
@inline function chunk(): u32 { return (load<u32>(S, S_FLAGS) & F_TF) != 0 ? 1 : CHUNK; }
@inline function yieldRep(): void { st.ip = st.ip0; }

// ---- fast-path run geometry -------------------------------------------------------------------
// Elements, starting with the one at offset `off` (linear `lin`), that stay inside lin's page and
// do not wrap a 16-bit index.
@inline function pageElems(lin: u32, off: u32, size: u32, down: bool): u32 {
  const po = lin & 0xfff;
  if (po + size > 0x1000) return 0;
  let k: u32;
  if (!down) {
    k = (0x1000 - po) / size;
    if (!a32) k = off + size > 0x10000 ? 0 : minU(k, (0x10000 - off) / size);
  } else {
    k = po / size + 1;
    if (!a32) k = off + size > 0x10000 ? 0 : minU(k, off / size + 1);
  }
  return k;
}
// all bytes of the k-element run lie inside the segment's fast window, so no access can fault there
function winOk(seg: u32, off: u32, k: u32, size: u32, down: bool, write: bool): bool {
  const nb = k * size;
  const lo = down ? off - (nb - size) : off;
  const hi = lo + nb - 1;
  if (hi < lo) return false;
  const p = segp(seg);
  if (write) return lo >= load<u32>(p, SG_WLO) && hi <= load<u32>(p, SG_WHI);
  return lo >= load<u32>(p, SG_RLO) && hi <= load<u32>(p, SG_RHI);
}
// host address of a linear address whose page is in the TLB for this access, else 0
@inline function tlbHost(lin: u32, write: bool): u32 {
  const e = TLB + (((lin >>> 12) & (TLB_ENTRIES - 1)) << 2);
  const tag = write ? load<u32>(e, TLB_TAG_W) : load<u32>(e, TLB_TAG_R);
  if (tag != (lin & 0xfffff000)) return 0;
  return lin + load<u32>(e, TLB_DELTA);
}

// Element-by-element copy of n bytes between host ranges given by their lowest addresses, in
// ascending (up) or descending order. Equivalent to memmove unless the destination overlaps the
// part of the source still to be read; then the already copied bytes are re-read (pattern
// replication), in gap-sized pieces, or element by element when the gap is below one element.
function hostCopy(hd: u32, hs: u32, n: u32, size: u32, down: bool): void {
  if (!down) {
    if (hd <= hs || hd - hs >= n) { memory.copy(hd, hs, n); return; }
    const g = hd - hs;
    if (g >= size) {
      for (let o: u32 = 0; o < n; o += g) memory.copy(hd + o, hs + o, minU(g, n - o));
    } else {
      for (let o: u32 = 0; o < n; o += size) hstore(hd + o, hload(hs + o, size), size);
    }
  } else {
    if (hd >= hs || hs - hd >= n) { memory.copy(hd, hs, n); return; }
    const g = hs - hd;
    if (g >= size) {
      for (let e: u32 = n; e > 0;) { const l = minU(g, e); e -= l; memory.copy(hd + e, hs + e, l); }
    } else {
      for (let o: u32 = n; o > 0;) { o -= size; hstore(hd + o, hload(hs + o, size), size); }
    }
  }
}

// ---- MOVS -----------------------------------------------------------------------------------
@inline function movsOne(size: u32, seg: u32, d: u32): void {
  const si = idx(R_SI), di = idx(R_DI);
  const v = rd(linR(seg, si, size), size);
  wr(linW(SEG_ES, di, size), v, size);
  setIdx(R_SI, si + d);
  setIdx(R_DI, di + d);
}
// one fast run of up to max elements; returns how many were done (0: take the slow path)
function movsRun(size: u32, seg: u32, down: bool, max: u32): u32 {
  const si = idx(R_SI), di = idx(R_DI);
  const sl = load<u32>(segp(seg), SG_BASE) + si;
  const dl = load<u32>(segp(SEG_ES), SG_BASE) + di;
  const k = minU(max, minU(pageElems(sl, si, size, down), pageElems(dl, di, size, down)));
  if (k == 0) return 0;
  if (!winOk(seg, si, k, size, down, false) || !winOk(SEG_ES, di, k, size, down, true)) return 0;
  const hs = tlbHost(sl, false);
  const hd = tlbHost(dl, true);
  if (hs == 0 || hd == 0) return 0;
  const nb = k * size;
  const low = down ? nb - size : 0;
  hostCopy(hd - low, hs - low, nb, size, down);
  setIdx(R_SI, down ? si - nb : si + nb);
  setIdx(R_DI, down ? di - nb : di + nb);
  return k;
}
@inline export function movs(size: u32): void {
  const down = back();
  const d: u32 = down ? -size : size;
  if (rep == 0) { movsOne(size, dataSeg(), d); return; }
  let n = counter();
  if (n == 0) return;
  const seg = dataSeg();
  let left = chunk();
  for (;;) {
    let k = movsRun(size, seg, down, minU(n, left));
    if (k == 0) { movsOne(size, seg, d); k = 1; }
    n -= k;
    setCounter(n);
    if (n == 0) return;
    left -= k;
    if (left == 0) { yieldRep(); return; }
  }
}

// ---- STOS -----------------------------------------------------------------------------------
@inline function stosOne(size: u32, v: u32, d: u32): void {
  const di = idx(R_DI);
  wr(linW(SEG_ES, di, size), v, size);
  setIdx(R_DI, di + d);
}
function stosRun(size: u32, v: u32, down: bool, max: u32): u32 {
  const di = idx(R_DI);
  const dl = load<u32>(segp(SEG_ES), SG_BASE) + di;
  const k = minU(max, pageElems(dl, di, size, down));
  if (k == 0 || !winOk(SEG_ES, di, k, size, down, true)) return 0;
  const hd = tlbHost(dl, true);
  if (hd == 0) return 0;
  const nb = k * size;
  const lo = down ? hd - (nb - size) : hd;
  const b = v & 0xff;
  if (size == 1 || v == b * (size == 4 ? 0x01010101 : 0x0101)) memory.fill(lo, <u8>b, nb);
  else for (let o: u32 = 0; o < nb; o += size) hstore(lo + o, v, size);
  setIdx(R_DI, down ? di - nb : di + nb);
  return k;
}
@inline export function stos(size: u32): void {
  const down = back();
  const d: u32 = down ? -size : size;
  const v = acc(size);
  if (rep == 0) { stosOne(size, v, d); return; }
  let n = counter();
  if (n == 0) return;
  let left = chunk();
  for (;;) {
    let k = stosRun(size, v, down, minU(n, left));
    if (k == 0) { stosOne(size, v, d); k = 1; }
    n -= k;
    setCounter(n);
    if (n == 0) return;
    left -= k;
    if (left == 0) { yieldRep(); return; }
  }
}

// ---- LODS -----------------------------------------------------------------------------------
@inline export function lods(size: u32): void {
  const d: u32 = back() ? -size : size;
  const seg = dataSeg();
  if (rep == 0) {
    const si = idx(R_SI);
    setAcc(rd(linR(seg, si, size), size), size);
    setIdx(R_SI, si + d);
    return;
  }
  let n = counter();
  if (n == 0) return;
  let left = chunk();
  for (;;) {
    const si = idx(R_SI);
    const v = rd(linR(seg, si, size), size);
    setAcc(v, size);
    setIdx(R_SI, si + d);
    n--;
    setCounter(n);
    if (n == 0) return;
    if (--left == 0) { yieldRep(); return; }
  }
}

// ---- SCAS: compare the accumulator with ES:(E)DI -------------------------------------------------
// REPE (F3) stops on a mismatch, REPNE (F2) on a match, both when the count runs out
@inline function stopRep(eq: bool): bool { return rep == 0xf3 ? !eq : eq; }
function scasRun(size: u32, a: u32, down: bool, max: u32): u32 {
  const di = idx(R_DI);
  const dl = load<u32>(segp(SEG_ES), SG_BASE) + di;
  const k = minU(max, pageElems(dl, di, size, down));
  if (k == 0 || !winOk(SEG_ES, di, k, size, down, false)) return 0;
  const hd = tlbHost(dl, false);
  if (hd == 0) return 0;
  const d: u32 = down ? -size : size;
  const want = rep == 0xf2; // REPNE: scan until equal
  let i: u32 = 0, p = hd, v: u32 = 0;
  for (;;) {
    v = hload(p, size);
    i++;
    if ((v == a) == want || i == k) break;
    p += d;
  }
  setLazy(LF_SUB | szi(size), a - v, a, v);
  setIdx(R_DI, di + i * d);
  return i;
}
@inline export function scas(size: u32): void {
  const down = back();
  const d: u32 = down ? -size : size;
  const a = acc(size);
  if (rep == 0) {
    const di = idx(R_DI);
    const v = rd(linR(SEG_ES, di, size), size);
    setLazy(LF_SUB | szi(size), a - v, a, v);
    setIdx(R_DI, di + d);
    return;
  }
  let n = counter();
  if (n == 0) return;
  let left = chunk();
  for (;;) {
    let k = scasRun(size, a, down, minU(n, left));
    if (k == 0) {
      const di = idx(R_DI);
      const v = rd(linR(SEG_ES, di, size), size);
      setLazy(LF_SUB | szi(size), a - v, a, v);
      setIdx(R_DI, di + d);
      k = 1;
    }
    n -= k;
    setCounter(n);
    if (n == 0 || stopRep(getZF())) return;
    left -= k;
    if (left == 0) { yieldRep(); return; }
  }
}

// ---- CMPS: compare [src] with ES:[(E)DI] (flags of src - dst) ----------------------------------
@inline function cmpsOne(size: u32, seg: u32, d: u32): void {
  const si = idx(R_SI), di = idx(R_DI);
  const a = rd(linR(seg, si, size), size);
  const b = rd(linR(SEG_ES, di, size), size);
  setLazy(LF_SUB | szi(size), a - b, a, b);
  setIdx(R_SI, si + d);
  setIdx(R_DI, di + d);
}
function cmpsRun(size: u32, seg: u32, down: bool, max: u32): u32 {
  const si = idx(R_SI), di = idx(R_DI);
  const sl = load<u32>(segp(seg), SG_BASE) + si;
  const dl = load<u32>(segp(SEG_ES), SG_BASE) + di;
  const k = minU(max, minU(pageElems(sl, si, size, down), pageElems(dl, di, size, down)));
  if (k == 0) return 0;
  if (!winOk(seg, si, k, size, down, false) || !winOk(SEG_ES, di, k, size, down, false)) return 0;
  const hs = tlbHost(sl, false);
  const hd = tlbHost(dl, false);
  if (hs == 0 || hd == 0) return 0;
  const d: u32 = down ? -size : size;
  const want = rep == 0xf2; // REPNE: until equal; REPE: until different
  let i: u32 = 0, a: u32 = 0, b: u32 = 0;
  for (;;) {
    a = hload(hs + i * d, size);
    b = hload(hd + i * d, size);
    i++;
    if ((a == b) == want || i == k) break;
  }
  setLazy(LF_SUB | szi(size), a - b, a, b);
  setIdx(R_SI, si + i * d);
  setIdx(R_DI, di + i * d);
  return i;
}
@inline export function cmps(size: u32): void {
  const down = back();
  const d: u32 = down ? -size : size;
  const seg = dataSeg();
  if (rep == 0) { cmpsOne(size, seg, d); return; }
  let n = counter();
  if (n == 0) return;
  let left = chunk();
  for (;;) {
    let k = cmpsRun(size, seg, down, minU(n, left));
    if (k == 0) { cmpsOne(size, seg, d); k = 1; }
    n -= k;
    setCounter(n);
    if (n == 0 || stopRep(getZF())) return;
    left -= k;
    if (left == 0) { yieldRep(); return; }
  }
}

// ---- INS / OUTS: port DX, checked against IOPL / the TSS bitmap before each element ----------
// INS probes the destination before reading the port, so a fault never loses a device read.
@inline function insOne(size: u32, port: u32, d: u32): void {
  ioCheck(port, size);
  const di = idx(R_DI);
  const lin = linW(SEG_ES, di, size);
  lprobeW(lin, size);
  wr(lin, io_in(port, size), size);
  setIdx(R_DI, di + d);
}
@inline function outsOne(size: u32, port: u32, seg: u32, d: u32): void {
  ioCheck(port, size);
  const si = idx(R_SI);
  const v = rd(linR(seg, si, size), size);
  io_out(port, size, v);
  setIdx(R_SI, si + d);
}
@inline export function ins(size: u32): void {
  const d: u32 = back() ? -size : size;
  const port = r16(2);
  if (rep == 0) { insOne(size, port, d); return; }
  let n = counter();
  if (n == 0) return;
  let left = chunk();
  for (;;) {
    insOne(size, port, d);
    n--;
    setCounter(n);
    if (n == 0) return;
    if (--left == 0) { yieldRep(); return; }
  }
}
@inline export function outs(size: u32): void {
  const d: u32 = back() ? -size : size;
  const port = r16(2);
  const seg = dataSeg();
  if (rep == 0) { outsOne(size, port, seg, d); return; }
  let n = counter();
  if (n == 0) return;
  let left = chunk();
  for (;;) {
    outsOne(size, port, seg, d);
    n--;
    setCounter(n);
    if (n == 0) return;
    if (--left == 0) { yieldRep(); return; }
  }
}
