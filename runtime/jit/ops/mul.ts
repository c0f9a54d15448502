// Inline two- and three-operand IMUL (32-bit): the low half of the product, CF = OF = the signed
// product does not fit, SF/ZF/PF from the result (LF_CO, core-as/ops/muldiv.ts). And MUL/IMUL Ev
// (F7 /4 and /5, 32-bit): EDX:EAX = EAX * Ev, CF = OF = EDX is not the zero or sign extension of
// EAX, SF/ZF/PF from EAX (mulDivV); 64-bit arithmetic in libgcc and strtoull (busybox sort -n
// stepped MUL 2.4 M times).
import { type Block, LF_CO } from "../block.ts";
import { type Insn, PFX_66 } from "../decode.ts";
import { readE } from "./mov.ts";

const CO = 0x801; // CF | OF

export function emitMul(b: Block, ins: Insn): boolean {
  const op = ins.op;
  if (op === 0xf7) return emitMulEv(b, ins, ins.reg === 5);
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

function emitMulEv(b: Block, ins: Insn, signed: boolean): boolean {
  if (ins.pfx & PFX_66) return false;
  const c = b.c;
  const x = b.tmp(), y = b.tmp(), lo = b.tmp(), hi = b.tmp(), f = b.tmp();
  readE(b, ins, 4);
  c.set(x);
  b.reg32(0).c.set(y);
  c.get(x).get(y).mul().set(lo);
  // the high half: i64.extend_i32_u (or _s) x2, i64.mul, i64.const 32, i64.shr_u, i32.wrap_i64
  const ext = signed ? 0xac : 0xad;
  c.get(x).byte(ext).get(y).byte(ext).byte(0x7e).byte(0x42).byte(32).byte(0x88).byte(0xa7).set(hi);
  c.get(hi);
  if (signed) c.get(lo).const(31).shrS();
  else c.const(0);
  c.ne().const(CO).mul().set(f);
  b.setFlags(LF_CO, 4, lo, -1, f);
  b.setReg32(0, () => c.get(lo));
  b.setReg32(2, () => c.get(hi));
  return true;
}
