// Far JMP/CALL through a selector. STUB written by the data-movement work so grp5 (FF /3, /5)
// links: real mode only. The system-instructions work replaces this file with the full
// protected-mode version (descriptor checks, call gates, task switches) under the same signatures.
import { S, ip } from "./state";
import * as st from "./state";
import { S_CR0, CR0_PE, SEG_CS } from "./layout";
import { segBase, segLimit, segSel, segLoadReal } from "./seg";
import { probePush, push16, push32 } from "./stack";
import { gp, ud } from "./fault";

// off is already truncated to the operand size by the caller
export function farJump(sel: u32, off: u32, size: u32): void {
  if ((load<u32>(S, S_CR0) & CR0_PE) != 0) ud(); // protected mode: not in this stub
  if (off > segLimit(SEG_CS)) gp(0);
  segLoadReal(SEG_CS, sel);
  st.ip = ((sel & 0xffff) << 4) + off;
}

export function farCall(sel: u32, off: u32, size: u32): void {
  if ((load<u32>(S, S_CR0) & CR0_PE) != 0) ud();
  if (off > segLimit(SEG_CS)) gp(0);
  const ret = ip - segBase(SEG_CS);
  probePush(size << 1);
  if (size == 4) { push32(segSel(SEG_CS)); push32(ret); } else { push16(segSel(SEG_CS)); push16(ret); }
  segLoadReal(SEG_CS, sel);
  st.ip = ((sel & 0xffff) << 4) + off;
}
