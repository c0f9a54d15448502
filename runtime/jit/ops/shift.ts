// Inline shifts and rotates (group 2): of 32-bit operands ROL ROR SHL SHR SAL SAR by 1, by an
// immediate, by CL; of 8- and 16-bit operands SHL SHR SAL SAR by 1 or an immediate (compile.ts
// WHEN sends the rest to the interpreter). The flags are core-as/ops/shift.ts's: SHL/SHR/SAR write
// all six lazily (AF set, OF by the count-1 formula), ROL/ROR change only CF and OF. RCL/RCR go
// to the interpreter. SHLD/SHRD of 32-bit operands by an immediate or CL (libgcc's 64-bit shifts:
// busybox sort -n stepped SHLD by CL 2.3 M times), with core-as/ops/shift.ts shxd's flags.
import { type Block, LF_CO, ROT } from "../block.ts";
import { type Insn, PFX_66 } from "../decode.ts";

const ROL = 0, ROR = 1, SHL = 4, SHR = 5, SAL = 6, SAR = 7;
export const SHIFT_INLINE = new Set([ROL, ROR, SHL, SHR, SAL, SAR]);
const F_AF = 0x10;

// r = a <op> count (count in local n, 1..31); sets the flags; returns the result local
function shift(b: Block, op: number, a: number, n: number): number {
  const c = b.c;
  const r = b.tmp(), cf = b.tmp(), of = b.tmp();
  switch (op) {
    case ROL:
      c.get(a).get(n).rotl().tee(r).const(1).and().set(cf);
      c.get(r).const(31).shrU().get(cf).xor().set(of);
      b.setFlags(ROT, 4, r, cf, of);
      return r;
    case ROR:
      c.get(a).get(n).rotr().tee(r).const(31).shrU().set(cf);
      c.get(r).const(30).shrU().get(r).const(31).shrU().xor().const(1).and().set(of);
      b.setFlags(ROT, 4, r, cf, of);
      return r;
    case SHL:
    case SAL:
      c.get(a).get(n).shl().set(r);
      c.get(a).const(32).get(n).sub().shrU().const(1).and().set(cf);
      c.get(r).const(31).shrU().get(cf).xor().const(11).shl().get(cf).or().const(F_AF).or().set(of);
      break;
    case SHR:
      c.get(a).get(n).shrU().set(r);
      c.get(a).get(n).const(1).sub().shrU().const(1).and().set(cf);
      c.get(r).const(31).shrU().get(r).const(30).shrU().xor().const(1).and().const(11).shl().get(cf).or().const(F_AF)
        .or()
        .set(of);
      break;
    default: // SAR
      c.get(a).get(n).shrS().set(r);
      c.get(a).get(n).const(1).sub().shrS().const(1).and().const(F_AF).or().set(of);
      break;
  }
  b.setFlags(LF_CO, 4, r, -1, of); // the flag word: CF | AF | OF << 11
  return r;
}

// r = a <op> count for an 8- or 16-bit operand (a zero-extended in its local; `count` 1..31, a
// constant; op SHL/SAL/SHR/SAR), exactly as core-as/ops/shift.ts shiftOp computes it
function shiftSmall(b: Block, op: number, a: number, count: number, size: number): number {
  const c = b.c;
  const bits = size * 8, top = bits - 1, mask = (1 << bits) - 1;
  const r = b.tmp(), of = b.tmp();
  if (op === SHL || op === SAL) {
    // CF: bit `bits` of a << count (0 once the count is past the operand)
    c.get(a).const(count).shl().const(mask).and().set(r);
    if (count <= bits) c.get(a).const(bits - count).shrU().const(1).and();
    else c.const(0);
    c.set(of);
    c.get(r).const(top).shrU().get(of).xor().const(1).and().const(11).shl().get(of).or().const(F_AF).or().set(of);
  } else if (op === SHR) {
    c.get(a).const(count).shrU().set(r);
    c.get(a).const(count - 1).shrU().const(1).and().set(of);
    c.get(r).const(top).shrU().get(r).const(top - 1).shrU().xor().const(1).and().const(11).shl().get(of).or()
      .const(F_AF).or().set(of);
  } else { // SAR: of the sign-extended value
    const sa = b.tmp();
    c.get(a);
    if (size === 1) c.ext8s();
    else c.ext16s();
    c.set(sa);
    c.get(sa).const(count).shrS().const(mask).and().set(r);
    c.get(sa).const(count - 1).shrS().const(1).and().const(F_AF).or().set(of);
  }
  b.setFlags(LF_CO, size, r, -1, of); // the flag word: CF | AF | OF << 11
  return r;
}

// r = SHLD/SHRD of a by n (local, 1..31) with bits from src; the flags as shxd sets them: CF the
// last bit out, OF as SHL (MSB ^ CF) or SHR (top two bits differ), AF set
function shiftDouble(b: Block, right: boolean, a: number, src: number, n: number): number {
  const c = b.c;
  const r = b.tmp(), f = b.tmp();
  if (right) {
    c.get(a).get(n).shrU().get(src).const(32).get(n).sub().shl().or().set(r);
    c.get(a).get(n).const(1).sub().shrU().const(1).and().set(f); // CF
    c.get(r).const(31).shrU().get(r).const(30).shrU().xor();
  } else {
    c.get(a).get(n).shl().get(src).const(32).get(n).sub().shrU().or().set(r);
    c.get(a).const(32).get(n).sub().shrU().const(1).and().set(f); // CF
    c.get(r).const(31).shrU().get(f).xor();
  }
  c.const(1).and().const(11).shl().get(f).or().const(F_AF).or().set(f);
  b.setFlags(LF_CO, 4, r, -1, f); // the flag word: CF | AF | OF << 11
  return r;
}

export function emitShift(b: Block, ins: Insn): boolean {
  const op = ins.op;
  if (op === 0x1a4 || op === 0x1a5 || op === 0x1ac || op === 0x1ad) return emitShiftDouble(b, ins);
  if (op !== 0xc0 && op !== 0xc1 && op !== 0xd0 && op !== 0xd1 && op !== 0xd3) return false;
  if (!SHIFT_INLINE.has(ins.reg)) return false;
  const size = op === 0xc0 || op === 0xd0 ? 1 : ins.pfx & PFX_66 ? 2 : 4;
  const c = b.c;
  const dyn = op === 0xd3;
  const count = op === 0xd1 || op === 0xd0 ? 1 : ins.imm & 31;
  if (size < 4) {
    if (dyn || ins.reg < 2 || count === 0) return false; // (compile.ts WHEN declines these first)
    const a = b.tmp();
    if (ins.mem) {
      const lin = b.lin(ins, size, true);
      const rmw = b.rmwRead(lin, size);
      c.set(a);
      rmw.writeBack(shiftSmall(b, ins.reg, a, count, size));
    } else {
      b.regN(ins.rm, size).c.set(a);
      const r = shiftSmall(b, ins.reg, a, count, size);
      b.setRegN(ins.rm, size, () => c.get(r));
    }
    return true;
  }
  if (!dyn && count === 0) return false; // changes nothing but may fault: the interpreter's
  emitShift32(b, ins, dyn, count, (a, n) => shift(b, ins.reg, a, n));
  return true;
}

// The 32-bit shift skeleton both groups share: the count into a local (CL masked to 5 bits, or
// the immediate), `prep` (reads another operand), the operand read (a read-modify-write of memory
// or a register), then `compute(a, n)`'s result written back. A CL count of 0 writes nothing and
// keeps the flags: they are spilled on both sides of the conditional.
function emitShift32(
  b: Block,
  ins: Insn,
  dyn: boolean,
  count: number,
  compute: (a: number, n: number) => number,
  prep?: () => void,
): void {
  const c = b.c;
  const n = b.tmp(), a = b.tmp();
  if (dyn) {
    b.spillFlags(); // a count of 0 leaves the flags as they are: they must be in memory
    b.reg8(1).c.const(31).and().set(n);
  } else {
    c.const(count).set(n);
  }
  prep?.();
  let writeBack: (v: number) => void;
  if (ins.mem) {
    const lin = b.lin(ins, 4, true);
    const rmw = b.rmwRead(lin, 4);
    c.set(a);
    writeBack = rmw.writeBack;
  } else {
    b.reg32(ins.rm).c.set(a);
    writeBack = (v) => b.setReg32(ins.rm, () => c.get(v));
  }
  if (!dyn) {
    writeBack(compute(a, n));
    return;
  }
  b.spillFlags();
  b.unstored = [];
  b.beginCond();
  c.get(n).if_();
  b.flagsLive[b.i] = true;
  writeBack(compute(a, n));
  b.spillFlags();
  b.endCond();
  c.end();
  b.known = null;
  b.unstored = [];
}

// SHLD/SHRD Ev, Gv, Ib/CL (32-bit): a count of 0 reads the operand (which may fault) and changes
// nothing, flags included
function emitShiftDouble(b: Block, ins: Insn): boolean {
  if (ins.pfx & PFX_66) return false;
  const op = ins.op;
  const right = op === 0x1ac || op === 0x1ad, dyn = op === 0x1a5 || op === 0x1ad;
  const count = ins.imm & 31;
  if (!dyn && count === 0) return false; // changes nothing but may fault: the interpreter's
  const src = b.tmp();
  emitShift32(b, ins, dyn, count, (a, n) => shiftDouble(b, right, a, src, n), () => b.reg32(ins.reg).c.set(src));
  return true;
}
