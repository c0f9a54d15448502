// Inline group 3 and 5 register/memory forms: NOT, NEG, TEST Ev,Iz, INC/DEC Ev, PUSH Ev; flags
// as core-as/ops/arith.ts sets them (NEG is 0 - a as LF_SUB, INC/DEC keep CF in the operand word).
import { type Block, CF1, LF_CO, LF_DEC, LF_INC, LF_SUB } from "../block.ts";
import type { Insn } from "../decode.ts";
import { readE } from "./mov.ts";
import { push32 } from "./stack.ts";

// read-modify-write of the 32-bit ModR/M operand: f computes the result local from the old value
function rmwE(b: Block, ins: Insn, f: (a: number) => number): void {
  const c = b.c;
  const a = b.tmp();
  if (!ins.mem) {
    b.reg32(ins.rm).c.set(a);
    const r = f(a);
    b.setReg32(ins.rm, () => c.get(r));
    return;
  }
  const lin = b.lin(ins, 4, true);
  const rmw = b.rmwRead(lin, 4);
  c.set(a);
  rmw.writeBack(f(a));
}

export function incDec(b: Block, a: number, dec: boolean): number {
  const c = b.c;
  const cf = b.tmp(), res = b.tmp();
  b.cond(2); // (also when the result is dead: a later fault may still have to store it)
  c.set(cf);
  c.get(a).const(1);
  if (dec) c.sub();
  else c.add();
  c.set(res);
  b.setFlags(dec ? LF_DEC : LF_INC, 4, res, a, cf);
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
    b.setFlags(CF1, 4, cf, cf, -1);
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
  if (ins.op === 0xff) {
    if (ins.reg === 0 || ins.reg === 1) {
      rmwE(b, ins, (a) => incDec(b, a, ins.reg === 1));
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
