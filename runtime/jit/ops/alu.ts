// Inline integer ALU: ADD OR AND SUB XOR CMP TEST in their ModR/M, accumulator and group-1 forms,
// INC/DEC of a register. 32-, 16- (66 prefix) and 8-bit operands. The lazy flags are written as core-as/flags.ts
// reads them, and only when a later instruction may read them (Block.flagsLive).
import { type Block, LF_ADC, LF_ADD, LF_CO, LF_SBB, LF_SUB, szi } from "../block.ts";
import { type Insn, PFX_66 } from "../decode.ts";
import { readE } from "./mov.ts";
import { incDec } from "./unary.ts";

const ADD = 0, OR = 1, ADC = 2, SBB = 3, AND = 4, SUB = 5, XOR = 6, CMP = 7;
export const INLINE_OPS = new Set([ADD, OR, ADC, SBB, AND, SUB, XOR, CMP]);

// res = a op b from locals; sets the flags; returns the result local
function alu(b: Block, op: number, size: number, a: number, v: number): number {
  const c = b.c;
  const r = b.tmp();
  if (op === ADC || op === SBB) {
    // the carry decides the kind: LF_ADC/LF_SBB mean "with a carry in"
    const cf = b.tmp(), kind = b.tmp();
    b.cond(2);
    c.set(cf);
    c.get(a).get(v);
    if (op === ADC) c.add().get(cf).add();
    else c.sub().get(cf).sub();
    c.set(r);
    const [withC, without] = op === ADC ? [LF_ADC, LF_ADD] : [LF_SBB, LF_SUB];
    c.const(withC | szi(size)).const(without | szi(size)).get(cf).select().set(kind);
    b.setFlags(withC, size, r, a, v, kind);
    return r;
  }
  c.get(a).get(v);
  switch (op) {
    case ADD:
      c.add();
      break;
    case OR:
      c.or();
      break;
    case AND:
      c.and();
      break;
    case XOR:
      c.xor();
      break;
    default:
      c.sub();
      break; // SUB, CMP
  }
  c.set(r);
  if (op === ADD) b.setFlags(LF_ADD, size, r, a, v);
  else if (op === SUB || op === CMP) b.setFlags(LF_SUB, size, r, a, v);
  else b.setFlags(LF_CO, size, r, -1, -1);
  return r;
}

// op on the ModR/M operand (destination) with the value in local v
function aluE(b: Block, ins: Insn, op: number, size: number, v: number): void {
  const c = b.c;
  const a = b.tmp();
  if (!ins.mem) {
    b.regN(ins.rm, size).c.set(a);
    const r = alu(b, op, size, a, v);
    if (op !== CMP) b.setRegN(ins.rm, size, () => c.get(r));
    return;
  }
  const lin = b.lin(ins, size, op !== CMP);
  if (op === CMP) {
    b.read(lin, size);
    c.set(a);
    alu(b, op, size, a, v);
    return;
  }
  const rmw = b.rmwRead(lin, size);
  c.set(a);
  const r = alu(b, op, size, a, v);
  rmw.writeBack(r);
}

function test(b: Block, size: number, a: number, v: number): void {
  const r = b.tmp();
  b.c.get(a).get(v).and().set(r);
  b.setFlags(LF_CO, size, r, -1, -1);
}

export function emitAlu(b: Block, ins: Insn): boolean {
  const c = b.c;
  const op = ins.op;
  if (op < 0x40 && (op & 7) < 6) {
    const aop = op >> 3;
    if (!INLINE_OPS.has(aop)) return false;
    const size = (op & 1) ? (ins.pfx & PFX_66 ? 2 : 4) : 1;
    switch (op & 7) {
      case 0:
      case 1: { // Ev, Gv
        const v = b.tmp();
        b.regN(ins.reg, size).c.set(v);
        aluE(b, ins, aop, size, v);
        return true;
      }
      case 2:
      case 3: { // Gv, Ev
        const a = b.tmp(), v = b.tmp();
        readE(b, ins, size);
        c.set(v);
        b.regN(ins.reg, size).c.set(a);
        const r = alu(b, aop, size, a, v);
        if (aop !== CMP) b.setRegN(ins.reg, size, () => c.get(r));
        return true;
      }
      default: { // AL/eAX, imm
        const a = b.tmp(), v = b.tmp();
        c.const(ins.imm).set(v);
        b.regN(0, size).c.set(a);
        const r = alu(b, aop, size, a, v);
        if (aop !== CMP) b.setRegN(0, size, () => c.get(r));
        return true;
      }
    }
  }
  switch (op) {
    case 0x80:
    case 0x81:
    case 0x83: {
      if (!INLINE_OPS.has(ins.reg)) return false;
      const size = op === 0x80 ? 1 : ins.pfx & PFX_66 ? 2 : 4;
      const v = b.tmp();
      c.const(ins.imm).set(v);
      aluE(b, ins, ins.reg, size, v);
      return true;
    }
    case 0x84:
    case 0x85: {
      const size = op === 0x84 ? 1 : ins.pfx & PFX_66 ? 2 : 4;
      const a = b.tmp(), v = b.tmp();
      readE(b, ins, size);
      c.set(a);
      b.regN(ins.reg, size).c.set(v);
      test(b, size, a, v);
      return true;
    }
    case 0xa8:
    case 0xa9: {
      const size = op === 0xa8 ? 1 : ins.pfx & PFX_66 ? 2 : 4;
      const a = b.tmp(), v = b.tmp();
      b.regN(0, size).c.set(a);
      c.const(ins.imm).set(v);
      test(b, size, a, v);
      return true;
    }
  }
  if (op >= 0x40 && op <= 0x4f) { // inc / dec r32
    const r = op & 7;
    const a = b.tmp();
    b.reg32(r).c.set(a);
    const res = incDec(b, a, op >= 0x48);
    b.setReg32(r, () => c.get(res));
    return true;
  }
  return false;
}
