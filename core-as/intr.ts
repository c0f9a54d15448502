// Interrupt and exception delivery: vector -> IDT/IVT -> new CS:EIP (and stack). Real mode here;
// protected mode (interrupt, trap and task gates, stack switch through the TSS) in pmintr.ts.
import { S } from "./state";
import * as st from "./state";
import { S_CR0, CR0_PE, S_FLAGS, S_IDTR_BASE, S_IDTR_LIMIT, SEG_CS, F_IF, F_TF, F_AC, F_RF, EXC_GP } from "./layout";
import { getFlags, materialize } from "./flags";
import { push16, probePush } from "./stack";
import { srd16 } from "./mmu";
import { segSel, segLoadReal, curEip } from "./seg";
import { raise } from "./fault";
import { pmInterrupt } from "./pmintr";
export { INT_EXC, INT_SOFT, INT_EXT } from "./pmintr";

// Deliver vector `vec`. `err` is the error code or -1. The return address is the current ip
// (callers set ip to the faulting instruction for faults, or leave it after a trap).
export function interrupt(vec: u32, err: i32, kind: u32): void {
  if ((load<u32>(S, S_CR0) & CR0_PE) == 0) {
    realInterrupt(vec);
  } else {
    pmInterrupt(vec, err, kind);
  }
}

function realInterrupt(vec: u32): void {
  if (vec * 4 + 3 > load<u32>(S, S_IDTR_LIMIT)) raise(EXC_GP, vec * 8 + 2);
  const base = load<u32>(S, S_IDTR_BASE) + vec * 4;
  const off = srd16(base);
  const sel = srd16(base + 2);
  const f = getFlags();
  const eip = curEip();
  probePush(6);
  push16(f);
  push16(segSel(SEG_CS));
  push16(eip);
  materialize();
  store<u32>(S, load<u32>(S, S_FLAGS) & ~(F_IF | F_TF | F_AC | F_RF), S_FLAGS);
  segLoadReal(SEG_CS, sel);
  st.ip = (sel << 4) + off;
  st.head = true;
}
