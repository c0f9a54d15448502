// Inline SETcc and CMOVcc (32-bit). CMOV reads its source even when the condition is false, so a
// memory source faults the same way (core-as/ops/move.ts).
import type { Block } from "../block.ts";
import type { Insn } from "../decode.ts";
import { readE, writeE } from "./mov.ts";

export function emitCond(b: Block, ins: Insn): boolean {
  const c = b.c;
  const op = ins.op;
  if (op >= 0x190 && op <= 0x19f) {
    const v = b.tmp();
    b.cond(op & 15);
    c.set(v);
    writeE(b, ins, 1, v);
    return true;
  }
  if (op >= 0x140 && op <= 0x14f) {
    const v = b.tmp(), t = b.tmp();
    readE(b, ins, 4);
    c.set(v);
    b.cond(op & 15);
    c.set(t);
    b.setReg32(ins.reg, () => {
      c.get(v);
      b.reg32(ins.reg);
      c.get(t).select();
    });
    return true;
  }
  return false;
}
