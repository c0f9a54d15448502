// Prefix bytes and the 0F escape: each sets decode state and returns the next opcode for the
// dispatch switch (generated/dispatch.ts) to go round again.
import { ip, ip0, o32, cs32, lock } from "../state";
import * as st from "../state";
import { fetch8 } from "../fetch";
import { gp, ud } from "../fault";

function next(): u32 {
  if (ip - ip0 > 14) gp(0); // an instruction is at most 15 bytes
  const op = fetch8();
  if (lock) lockValidate(op);
  return op | (o32 ? 0x100 : 0);
}

export function pfx_seg(s: u32): u32 { st.segovr = <i32>s; st.dirty = true; return next(); }
export function pfx_opsize(): u32 { st.o32 = !cs32; st.dirty = true; return next(); }
export function pfx_adsize(): u32 { st.a32 = !cs32; st.dirty = true; return next(); }
export function pfx_lock(): u32 { st.lock = true; st.dirty = true; return next(); }
export function pfx_rep(p: u32): u32 { st.rep = p; st.dirty = true; return next(); }
export function twobyte(): u32 { return 0x200 | fetch8() | (o32 ? 0x100 : 0); }

// LOCK is allowed only on read-modify-write instructions with a memory destination (#UD
// otherwise). Prefixes after LOCK are still to come, so they pass here and are checked when
// the real opcode arrives.
function lockValidate(op: u32): void {
  if (op == 0x26 || op == 0x2e || op == 0x36 || op == 0x3e || op == 0x64 || op == 0x65 ||
      op == 0x66 || op == 0x67 || op == 0xf0 || op == 0xf2 || op == 0xf3) return;
  const save = ip;
  let ok = false;
  let m: u32 = 0;
  if (op == 0x0f) {
    const op2 = fetch8();
    m = fetch8();
    const r = (m >> 3) & 7;
    ok = op2 == 0xab || op2 == 0xb3 || op2 == 0xbb || op2 == 0xb0 || op2 == 0xb1 || op2 == 0xc0 ||
      op2 == 0xc1 || (op2 == 0xba && r >= 4) || (op2 == 0xc7 && r == 1);
  } else {
    m = fetch8();
    const r = (m >> 3) & 7;
    ok = (op < 0x38 && (op & 7) < 2) || ((op >= 0x80 && op <= 0x83) && r != 7) || op == 0x86 || op == 0x87 ||
      ((op == 0xf6 || op == 0xf7) && (r == 2 || r == 3)) || ((op == 0xfe || op == 0xff) && r < 2);
  }
  st.ip = save;
  if (!ok || m >= 0xc0) ud();
}
