// Inline x87 register-file moves: FLD m64, FST/FSTP m64 and FST/FSTP st(i) (DD /0, /2, /3), the
// bulk of what compiled double-precision code (awk, libm callers) executes. Each is emitted as a
// fast path for the common case, with the whole instruction handed to the interpreter (jitStep)
// whenever anything is unusual, so every exception, stack fault and corner of core-as/x87 keeps
// its one implementation there. The fast path needs: CR0.EM and CR0.TS clear (no #NM), no
// pending unmasked exception (SW.ES clear: no #MF), the TLB holding the operand, and
// - FLD m64: an empty destination (no stack overflow) and an operand that is neither a signalling
//   NaN nor a denormal (no IE/DE);
// - FST(P) m64: a valid ST(0) without an exact 80-bit image (so the double is the value, and
//   storing it needs no rounding) that is not a signalling NaN;
// - FST(P) st(i): a valid ST(0).
// It then does what core-as/x87 does: the register and its image byte, the tag, TOP, C1 = 0, and
// fpNote's FIP/FCS/FOP (and FDP/FDS for memory forms) for a flat CS/DS/SS.
import { type Block, F } from "../block.ts";
import type { Insn } from "../decode.ts";
import * as L from "../../../core-as/layout.ts";

const SW_C1 = 0x200;
const SW_ES = 0x80;
const EXT_VALID = 10; // byte offset of the image's valid byte

export function isInlineX87(ins: Insn): boolean {
  if (ins.op !== 0xdd || ins.pfx !== 0 || ins.seg !== -1) return false;
  return ins.mem ? ins.reg === 0 || ins.reg === 2 || ins.reg === 3 : ins.reg === 2 || ins.reg === 3;
}

export function emitX87(b: Block, ins: Insn): boolean {
  if (!isInlineX87(ins)) return false;
  const c = b.c, fpu = b.S + L.S_FPU;
  const ok = b.tmp(), top = b.tmp(), p = b.tmp(), lo = b.tmp(), hi = b.tmp();
  const pop = ins.reg === 3;
  let host = -1, lin = -1;
  if (ins.mem) {
    lin = b.lin(ins, 8, ins.reg !== 0);
    host = b.hostOf(lin, 8, ins.reg !== 0);
  }
  // no #NM, no #MF
  c.const(0).load(b.S + L.S_CR0).const(L.CR0_EM | L.CR0_TS).and().eqz();
  c.const(0).load(fpu + L.FP_SW).const(SW_ES).and().eqz().and();
  if (host >= 0) c.get(host).const(0).ne().and();
  c.set(ok);
  c.const(0).load(fpu + L.FP_TOP).set(top);
  const tagOf = (phys: number) => c.const(0).load(fpu + L.FP_TAG).get(phys).const(1).shl().shrU().const(3).and();
  const reg = (phys: number) => c.get(phys).const(3).shl().const(fpu).add();
  const ext = (phys: number) => c.get(phys).const(4).shl().const(fpu + L.FP_EXT).add();
  c.get(ok).if_();
  if (ins.mem && ins.reg === 0) {
    c.get(top).const(1).sub().const(7).and().set(p);
    c.get(host).load(0).set(lo);
    c.get(host).load(4).set(hi);
    tagOf(p);
    c.const(3).eq();
    notSpecial(b, lo, hi, true);
    c.and().set(ok);
  } else {
    c.get(top).set(p);
    reg(p).load(0).set(lo);
    reg(p).load(4).set(hi);
    tagOf(p);
    c.const(3).ne();
    if (ins.mem) {
      ext(p).load8u(EXT_VALID).eqz().and();
      notSpecial(b, lo, hi, false);
      c.and();
    }
    c.set(ok);
  }
  c.end();

  c.get(ok).if_();
  const clearTag = (phys: number) => {
    c.const(0).const(0).load(fpu + L.FP_TAG).const(3).get(phys).const(1).shl().shl().const(-1).xor().and();
    c.store(fpu + L.FP_TAG);
  };
  if (ins.mem && ins.reg === 0) {
    c.const(0).get(p).store(fpu + L.FP_TOP);
    reg(p).get(lo).store(0);
    reg(p).get(hi).store(4);
    ext(p).const(0).store8(EXT_VALID);
    clearTag(p);
  } else if (ins.mem) {
    c.get(host).get(lo).store(0);
    c.get(host).get(hi).store(4);
  } else {
    // st(i) = st(0), with its image
    const d = b.tmp();
    c.get(top).const(ins.rm).add().const(7).and().set(d);
    reg(d).get(lo).store(0);
    reg(d).get(hi).store(4);
    for (let o = 0; o < 16; o += 4) {
      ext(d);
      ext(p).load(o);
      c.store(o);
    }
    clearTag(d);
  }
  if (pop) {
    // tag 3 (empty), TOP + 1
    c.const(0).const(0).load(fpu + L.FP_TAG).const(3).get(p).const(1).shl().shl().or().store(fpu + L.FP_TAG);
    c.const(0).get(p).const(1).add().const(7).and().store(fpu + L.FP_TOP);
  }
  c.const(0).const(0).load(fpu + L.FP_SW).const(~SW_C1).and().store(fpu + L.FP_SW);
  // fpNote: FIP (flat CS: the linear address), FCS, FOP; FDP and FDS for a memory operand
  const sel = (seg: number) => c.const(0).load16u(b.S + L.S_SEG + seg * L.SEG_SIZE + L.SG_SEL);
  c.const(0).const(ins.at).store(fpu + L.FP_IP);
  c.const(0);
  sel(L.SEG_CS).store(fpu + L.FP_CS);
  c.const(0).const((5 << 8) | ins.modrm).store(fpu + L.FP_OP);
  if (ins.mem) {
    c.const(0).get(lin).store(fpu + L.FP_DP);
    c.const(0);
    sel(ins.ss ? L.SEG_SS : L.SEG_DS).store(fpu + L.FP_DS);
  }
  c.else_();
  // everything else: the interpreter runs the instruction (it changes no integer register and no
  // EFLAGS bit, so the block's register cache and flags stay as they are; it may fault, so
  // EFLAGS and the registers in memory must be current)
  b.spillFlags();
  b.flushRegs();
  c.const(ins.at).const(b.done).call(F.step);
  if (ins.mem && ins.reg !== 0) b.noteSlowStore(); // it may have stored into this block's page
  c.end();
  return true;
}

// push: the double in (lo, hi) is not a signalling NaN and, when `den`, not a denormal
function notSpecial(b: Block, lo: number, hi: number, den: boolean): void {
  const c = b.c;
  const e = b.tmp();
  c.get(hi).const(20).shrU().const(0x7ff).and().set(e);
  // signalling NaN: exponent all ones, quiet bit clear, fraction nonzero
  c.get(e).const(0x7ff).eq();
  c.get(hi).const(0x80000).and().eqz().and();
  c.get(hi).const(0x7ffff).and().get(lo).or().const(0).ne().and();
  if (den) {
    c.get(e).eqz();
    c.get(hi).const(0xfffff).and().get(lo).or().const(0).ne().and();
    c.or();
  }
  c.eqz();
}
