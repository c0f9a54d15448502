// Inline block ends: Jcc, JMP, CALL (direct and through r/m32) and RET near in flat 32-bit code
// (CS base 0, 4 GiB limit, so no limit check). They set ip, take their budget and leave the block.
import { type Block, G } from "../block.ts";
import type { Insn } from "../decode.ts";
import { pop32, push32 } from "./stack.ts";
import { readE } from "./mov.ts";

// true when the instruction was emitted; `retired` = instructions of the block including this one
export function emitBranch(b: Block, ins: Insn, retired: number): boolean {
  const c = b.c;
  const op = ins.op;
  const next = (ins.at + ins.len) | 0;
  if ((op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f)) {
    c.const(ins.imm).const(next);
    b.cond(op & 15);
    c.select().gset(G.ip);
  } else if (op === 0xeb || op === 0xe9) {
    c.const(ins.imm).gset(G.ip);
  } else if (op === 0xe8) {
    const v = b.tmp();
    c.const(next).set(v);
    push32(b, v);
    c.const(ins.imm).gset(G.ip);
  } else if (op === 0xc3) {
    const v = pop32(b);
    c.get(v).gset(G.ip);
  } else if (op === 0xc2) { // RET imm16: ESP + 4 + imm once the return address is read
    const lin = b.tmp(), v = b.tmp();
    b.reg32(4).c.set(lin);
    b.read(lin, 4).c.set(v);
    b.setReg32(4, () => c.get(lin).const((4 + ins.imm) | 0).add());
    c.get(v).gset(G.ip);
  } else if (op === 0xff && (ins.reg === 2 || ins.reg === 4)) { // call / jmp r/m32
    const t = b.tmp();
    readE(b, ins, 4);
    c.set(t);
    if (ins.reg === 2) {
      const v = b.tmp();
      c.const(next).set(v);
      push32(b, v);
    }
    c.get(t).gset(G.ip);
  } else {
    return false;
  }
  c.gget(G.budget).const(retired - 1).sub().gset(G.budget);
  return true;
}
