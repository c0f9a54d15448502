// CLD, STD and CLI inline: they change one bit of the EFLAGS word in memory (S_FLAGS holds every
// bit but the six lazy arithmetic flags, so the block's lazy flags are not involved). CLI is
// allowed when CPL <= IOPL (blocks run only in 32-bit protected mode, never in virtual-8086 mode,
// core-as/jit.ts); otherwise the interpreter runs it and raises its #GP. STI stays stepped: its
// interrupt shadow is the dispatch loop's work.
import { type Block, F } from "../block.ts";
import type { Insn } from "../decode.ts";
import * as L from "../../../core-as/layout.ts";

export function emitEflags(b: Block, ins: Insn): boolean {
  const c = b.c, f = b.S + L.S_FLAGS;
  if (ins.op === 0xfc || ins.op === 0xfd) {
    c.const(0).const(0).load(f);
    if (ins.op === 0xfc) c.const(~L.F_DF).and();
    else c.const(L.F_DF).or();
    c.store(f);
    return true;
  }
  if (ins.op !== 0xfa) return false;
  c.const(0).load(b.S + L.S_CPL);
  c.const(0).load(f).const(12).shrU().const(3).and();
  c.leU().if_();
  c.const(0).const(0).load(f).const(~L.F_IF).and().store(f);
  c.else_();
  // #GP(0): the interpreter's, with the registers and flags in memory
  b.spillFlags();
  b.flushRegs();
  c.const(ins.at).const(b.done).call(F.step);
  c.end();
  return true;
}
