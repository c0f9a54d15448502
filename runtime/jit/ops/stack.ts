// Inline stack operations on a flat 32-bit stack: PUSH/POP r32, PUSH imm, PUSH Sreg, PUSHFD. ESP
// changes only after the memory access succeeded, as in core-as/stack.ts.
import { type Block, F } from "../block.ts";
import type { Insn } from "../decode.ts";
import * as L from "../../../core-as/layout.ts";

// opcode (two-byte ones as 0x100 | second byte) -> segment register index
const SREG_PUSH: Record<number, number> = { 0x06: 0, 0x0e: 1, 0x16: 2, 0x1e: 3, 0x1a0: 4, 0x1a8: 5 };

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
  // PUSH ES/CS/SS/DS/FS/GS: ESP - 4, and a 16-bit write of the selector (the slot's upper half
  // keeps what it had, as core-as/ops/segload.ts push_sreg writes it)
  const seg = SREG_PUSH[op];
  if (seg !== undefined) {
    const v = b.tmp(), lin = b.tmp();
    b.c.const(0).load16u(b.S + L.S_SEG + seg * L.SEG_SIZE + L.SG_SEL).set(v);
    b.reg32(4).c.const(4).sub().set(lin);
    b.write(lin, v, 2);
    b.setReg32(4, () => b.c.get(lin));
    return true;
  }
  // LEAVE: EBP's dword read first (a fault changes nothing), then ESP = EBP + 4, EBP = the dword
  if (op === 0xc9) {
    const lin = b.tmp(), v = b.tmp();
    b.reg32(5).c.set(lin);
    b.read(lin, 4).c.set(v);
    b.setReg32(4, () => b.c.get(lin).const(4).add());
    b.setReg32(5, () => b.c.get(v));
    return true;
  }
  // PUSHFD: EFLAGS without VM and RF (blocks never run in virtual-8086 mode)
  if (op === 0x9c) {
    b.spillFlags();
    const v = b.tmp();
    b.c.call(F.flags).const(~(L.F_VM | L.F_RF)).and().set(v);
    push32(b, v);
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
