// Inline CMPXCHG r/m32, r32 with a memory destination (LOCK or not, any segment override: a
// uniprocessor Linux patches its LOCK prefixes into DS overrides): the lock word of every mutex
// and allocator arena. Aligned and in a page the TLB holds for writing, it is one wasm
// atomic compare-exchange on the guest's shared memory, so other vCPUs see it atomic as with the
// interpreter (core-as/ops/move.ts). Anything else (a TLB miss, a fault, a split access) runs
// through the interpreter; both paths leave EAX = the old destination and the flags of
// CMP EAX, old (the interpreter's lazy flags are read back), so the block goes on knowing them.
import { type Block, F, LF_ADD, LF_SUB } from "../block.ts";
import { type Insn, PFX_LOCK } from "../decode.ts";
import * as L from "../../../core-as/layout.ts";
import { I32 } from "../wasm.ts";

function isInlineCmpxchg(ins: Insn): boolean {
  return ins.op === 0x1b1 && ins.mem && (ins.pfx === 0 || ins.pfx === PFX_LOCK);
}
// XADD r/m32, r32 without LOCK (a LOCK goes to the interpreter's atomic add): the counters of a
// uniprocessor kernel (its LOCK XADDs patched into DS-prefixed ones)
function isInlineXadd(ins: Insn): boolean {
  return ins.op === 0x1c1 && ins.pfx === 0;
}
export function isInlineAtomic(ins: Insn): boolean {
  return isInlineCmpxchg(ins) || isInlineXadd(ins);
}

export function emitAtomic(b: Block, ins: Insn): boolean {
  if (isInlineXadd(ins)) return emitXadd(b, ins);
  if (!isInlineCmpxchg(ins)) return false;
  const c = b.c;
  const eax = b.tmp(), src = b.tmp(), old = b.tmp(), res = b.tmp();
  const lin = b.lin(ins, 4, true);
  const host = b.hostOf(lin, 4, true);
  b.reg32(0).c.set(eax);
  b.reg32(ins.reg).c.set(src);
  c.get(host).const(0).ne().get(lin).const(3).and().eqz().and();
  c.if_(I32);
  c.get(host).get(eax).get(src).atomicCmpxchg(0);
  c.else_();
  b.spillFlags();
  b.flushRegs();
  c.const(ins.at).const(b.done).call(F.step);
  b.noteSlowStore(); // (it may have stored into this block's page)
  c.const(0).load(b.S + L.S_LF_B);
  c.end();
  c.set(old);
  c.get(eax).get(old).sub().set(res);
  b.setReg32(0, () => c.get(old));
  b.setFlags(LF_SUB, 4, res, eax, old);
  return true;
}

// TEMP = DEST + SRC; SRC = DEST; DEST = TEMP (core-as/ops/move.ts xadd): with both operands the
// same register the sum wins; a memory destination is written (or faults) before SRC changes
function emitXadd(b: Block, ins: Insn): boolean {
  const c = b.c;
  const src = b.tmp(), a = b.tmp(), r = b.tmp();
  b.reg32(ins.reg).c.set(src);
  if (!ins.mem) {
    b.reg32(ins.rm).c.set(a);
    c.get(a).get(src).add().set(r);
    b.setFlags(LF_ADD, 4, r, a, src);
    b.setReg32(ins.reg, () => c.get(a));
    b.setReg32(ins.rm, () => c.get(r));
    return true;
  }
  const lin = b.lin(ins, 4, true);
  const rmw = b.rmwRead(lin, 4);
  c.set(a);
  c.get(a).get(src).add().set(r);
  b.setFlags(LF_ADD, 4, r, a, src);
  rmw.writeBack(r);
  b.setReg32(ins.reg, () => c.get(a));
  return true;
}
