// Inline stack operations on a flat 32-bit stack: PUSH/POP r32, PUSH imm. ESP changes only after
// the memory access succeeded, as in core-as/stack.ts.
import type { Block } from "../block.ts";
import type { Insn } from "../decode.ts";

// push local v
export function push32(b: Block, v: number): void {
  const lin = b.tmp();
  b.reg32(4).c.const(4).sub().set(lin);
  b.write(lin, v, 4);
  b.setReg32(4, () => b.c.get(lin));
}

// pop into a new local (ESP already incremented)
export function pop32(b: Block): number {
  const lin = b.tmp(), v = b.tmp();
  b.reg32(4).c.set(lin);
  b.read(lin, 4).c.set(v);
  b.setReg32(4, () => b.c.get(lin).const(4).add());
  return v;
}

export function emitStack(b: Block, ins: Insn): boolean {
  const op = ins.op;
  if (op >= 0x50 && op <= 0x57) {
    const v = b.tmp();
    b.reg32(op & 7).c.set(v);
    push32(b, v);
    return true;
  }
  if (op >= 0x58 && op <= 0x5f) {
    const v = pop32(b);
    b.setReg32(op & 7, () => b.c.get(v));
    return true;
  }
  if (op === 0x68 || op === 0x6a) {
    const v = b.tmp();
    b.c.const(ins.imm).set(v);
    push32(b, v);
    return true;
  }
  return false;
}
