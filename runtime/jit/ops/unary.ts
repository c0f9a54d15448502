// Inline group 3 and 5 register/memory forms: NOT, NEG, TEST Ev,Iz, INC/DEC Ev, PUSH Ev; flags
// as core-as/ops/arith.ts sets them (NEG is 0 - a as LF_SUB, INC/DEC keep CF in the operand word).
import { type Block, CF1, LF_ADD, LF_CO, LF_DEC, LF_INC, LF_SUB } from "../block.ts";
import { type Insn, PFX_66 } from "../decode.ts";
import { readE } from "./mov.ts";
import { push32 } from "./stack.ts";

// read-modify-write of the ModR/M operand of `size` bytes: f computes the result local from the old
// value (zero-extended)
function rmwE(b: Block, ins: Insn, f: (a: number) => number, size = 4): void {
  const c = b.c;
  const a = b.tmp();
  if (!ins.mem) {
    b.regN(ins.rm, size).c.set(a);
    const r = f(a);
    b.setRegN(ins.rm, size, () => c.get(r));
    return;
  }
  const lin = b.lin(ins, size, true);
  const rmw = b.rmwRead(lin, size);
  c.set(a);
  rmw.writeBack(f(a));
}

export function incDec(b: Block, a: number, dec: boolean, size = 4): number {
  const c = b.c;
  const cf = b.tmp(), res = b.tmp();
  // when the result is dead, a later fault may still have to store it: CF then comes from memory
  // on that slow path (setFlags, cfLater) instead of a call here
  const later = b.deferCF();
  if (!later) {
    b.cond(2);
    c.set(cf);
  }
  c.get(a).const(1);
  if (dec) c.sub();
  else c.add();
  c.set(res);
  b.setFlags(dec ? LF_DEC : LF_INC, size, res, a, cf, undefined, later);
  return res;
}

export function emitUnary(b: Block, ins: Insn): boolean {
  const c = b.c;
  if (ins.op === 0xf6 && ins.reg === 0) { // test Eb, Ib
    const a = b.tmp(), r = b.tmp();
    readE(b, ins, 1);
    c.set(a);
    c.get(a).const(ins.imm & 0xff).and().set(r);
    b.setFlags(LF_CO, 1, r, -1, -1);
    return true;
  }
  if ((ins.op === 0x1ba && ins.reg === 4) || (ins.op === 0x1a3 && !ins.mem)) { // bt Ev, Ib / bt r, r
    const a = b.tmp(), cf = b.tmp();
    readE(b, ins, 4);
    c.set(a);
    c.get(a);
    if (ins.op === 0x1ba) c.const(ins.imm & 31);
    else b.reg32(ins.reg).c.const(31).and();
    c.shrU().const(1).and().set(cf);
    btFlags(b, cf);
    return true;
  }
  if (ins.op === 0x1ba && ins.reg >= 5) { // bts / btr / btc Ev, Ib (no prefix: compile.ts)
    const bit = ins.imm & 31, m = (1 << bit) | 0;
    rmwE(b, ins, (a) => {
      const cf = b.tmp(), r = b.tmp();
      c.get(a).const(bit).shrU().const(1).and().set(cf);
      c.get(a).const(ins.reg === 6 ? ~m : m);
      if (ins.reg === 5) c.or();
      else if (ins.reg === 6) c.and();
      else c.xor();
      c.set(r);
      btFlags(b, cf);
      return r;
    });
    return true;
  }
  if (ins.op === 0xf7) {
    switch (ins.reg) {
      case 0: { // test Ev, Iz
        const a = b.tmp(), r = b.tmp();
        readE(b, ins, 4);
        c.set(a);
        c.get(a).const(ins.imm).and().set(r);
        b.setFlags(LF_CO, 4, r, -1, -1);
        return true;
      }
      case 2: // not
        rmwE(b, ins, (a) => {
          const r = b.tmp();
          c.get(a).const(-1).xor().set(r);
          return r;
        });
        return true;
      case 3: // neg
        rmwE(b, ins, (a) => {
          const r = b.tmp(), z = b.tmp();
          c.const(0).set(z);
          c.const(0).get(a).sub().set(r);
          b.setFlags(LF_SUB, 4, r, z, a);
          return r;
        });
        return true;
    }
    return false;
  }
  if (ins.op === 0xfe && (ins.reg === 0 || ins.reg === 1)) { // inc / dec Eb
    rmwE(b, ins, (a) => incDec(b, a, ins.reg === 1, 1), 1);
    return true;
  }
  if (ins.op === 0xff) {
    if (ins.reg === 0 || ins.reg === 1) { // inc / dec Ev (66: 16-bit)
      const size = ins.pfx & PFX_66 ? 2 : 4;
      rmwE(b, ins, (a) => incDec(b, a, ins.reg === 1, size), size);
      return true;
    }
    if (ins.reg === 6) {
      const v = b.tmp();
      readE(b, ins, 4);
      c.set(v);
      push32(b, v);
      return true;
    }
  }
  return false;
}

// BT changes CF and keeps the other arithmetic flags. When the flags before it are known in
// locals (a logic op, or a 32-bit ADD/SUB/CMP), the result is one LF_CO state: ZF, SF and PF still
// come from the same result, and CF, AF and OF are computed here as EFLAGS bits; the flags stay
// known, so the JB/JNB after it tests a local. Otherwise jitSetCF folds them in memory.
function btFlags(b: Block, cf: number): void {
  const k = b.known, c = b.c;
  const v = (l: number) => l < 0 ? c.const(0) : c.get(l);
  if (
    k && k.kindLocal === undefined && (k.kind === LF_CO || ((k.kind === LF_ADD || k.kind === LF_SUB) && k.size === 4))
  ) {
    const bits = b.tmp();
    if (k.kind === LF_CO) {
      v(k.b);
      c.const(~1).and().get(cf).or().set(bits);
    } else {
      // AF = bit 4 of a ^ b ^ res; OF (bit 11) = sign of (a ^ res) & (b ^ res) for ADD,
      // (a ^ b) & (a ^ res) for SUB
      v(k.a);
      v(k.b).xor().get(k.res).xor().const(0x10).and();
      if (k.kind === LF_ADD) {
        v(k.a);
        c.get(k.res).xor();
        v(k.b);
        c.get(k.res).xor().and();
      } else {
        v(k.a);
        v(k.b).xor();
        v(k.a);
        c.get(k.res).xor().and();
      }
      c.const(31).shrU().const(11).shl().or().get(cf).or().set(bits);
    }
    b.setFlags(LF_CO, k.size, k.res, -1, bits);
    return;
  }
  b.setFlags(CF1, 4, cf, cf, -1);
}
