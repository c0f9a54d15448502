// Inline two- and three-operand IMUL (32-bit): the low half of the product, CF = OF = the signed
// product does not fit, SF/ZF/PF from the result (LF_CO, core-as/ops/muldiv.ts).
import { type Block, LF_CO } from "../block.ts";
import type { Insn } from "../decode.ts";
import { readE } from "./mov.ts";

const CO = 0x801; // CF | OF

export function emitMul(b: Block, ins: Insn): boolean {
  const op = ins.op;
  if (op !== 0x1af && op !== 0x69 && op !== 0x6b) return false;
  const c = b.c;
  const x = b.tmp(), y = b.tmp(), r = b.tmp(), f = b.tmp();
  readE(b, ins, 4);
  c.set(x);
  if (op === 0x1af) b.reg32(ins.reg).c.set(y);
  else c.const(ins.imm).set(y);
  c.get(x).get(y).mul().set(r);
  // overflow: the 64-bit product differs from the sign-extended low half
  c.get(x).byte(0xac).get(y).byte(0xac).byte(0x7e); // i64.extend_i32_s x2, i64.mul
  c.get(r).byte(0xac).byte(0x52); // i64.ne
  c.const(CO).mul().set(f);
  b.setFlags(LF_CO, 4, r, -1, f);
  b.setReg32(ins.reg, () => c.get(r));
  return true;
}
