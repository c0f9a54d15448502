// 0F AE (group 15) and the cache-control instructions: FXSAVE/FXRSTOR/LDMXCSR/STMXCSR with a
// memory operand (fxsave.ts), CLFLUSH; with a register ModR/M the fences. LFENCE and SFENCE
// order nothing a single interpreter thread could observe (guest loads and stores are plain wasm
// accesses, TSO on an x86-64 host: ARCHITECTURE.md "Memory ordering"); MFENCE also orders
// earlier stores before later loads, which takes a real fence (binaryen rejects atomic.fence in
// a shared-memory module built this way, so a locked read-modify-write of a scratch word). PREFETCHh (0F 18) is a NOP hint in
// the table (ops/misc.ts nop_Ev).
import { S } from "../state";
import { S_CPL, S_SSE_TMP } from "../layout";
import { modrm, mmem, mreg, mseg, moff } from "../fetch";
import { ud } from "../fault";
import { linR } from "../seg";
import { translate } from "../mmu";
import { fxsave, fxrstor, ldmxcsr, stmxcsr } from "./fxsave";

export function grp15(): void {
  modrm();
  if (!mmem) {
    // /5 LFENCE, /6 MFENCE, /7 SFENCE (any r/m)
    if (mreg == 6) atomic.add<u32>(S + S_SSE_TMP, 0); // (a locked RMW: a full fence on the host)
    else if (mreg != 5 && mreg != 7) ud();
    return;
  }
  switch (mreg) {
    case 0: fxsave(); break;
    case 1: fxrstor(); break;
    case 2: ldmxcsr(); break;
    case 3: stmxcsr(); break;
    case 7: clflush(); break;
    default: ud(); // XSAVE, XRSTOR, XSAVEOPT: not on this CPU
  }
}

// CLFLUSH m8: guest RAM is always coherent, so only the checks of a one-byte read remain (the
// segment, and the page walk: #PF for an unmapped page, as a load would)
function clflush(): void {
  const lin = linR(mseg, moff, 1);
  translate(lin, false, load<u32>(S, S_CPL) == 3);
}
