// Direct flag instructions: CLC STC CMC CLD STD SAHF LAHF.
import { S, r8, w8 } from "../state";
import { setCF, getCF, getFlags, materialize } from "../flags";
import { S_FLAGS, F_DF } from "../layout";

export function clc(): void { setCF(false); }
export function stc(): void { setCF(true); }
export function cmc(): void { setCF(getCF() == 0); }
// DF is never lazy
export function cld(): void { store<u32>(S, load<u32>(S, S_FLAGS) & ~F_DF, S_FLAGS); }
export function std(): void { store<u32>(S, load<u32>(S, S_FLAGS) | F_DF, S_FLAGS); }

// SAHF loads SF ZF AF PF CF from AH; OF stays
export function sahf(): void {
  materialize();
  store<u32>(S, (load<u32>(S, S_FLAGS) & ~0xd5) | (r8(4) & 0xd5), S_FLAGS);
}
// LAHF: AH = SF ZF 0 AF 0 PF 1 CF
export function lahf(): void {
  w8(4, (getFlags() & 0xd5) | 2);
}
