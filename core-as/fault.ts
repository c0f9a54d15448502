// Raising an exception: record it in the state block and unwind the whole wasm stack with a
// trap. The host catches the trap, sees S_PEND_VEC, and calls deliver(). Handlers therefore
// commit architectural state only after their last access that can fault, and a faulting
// instruction leaves every register as it was (precise faults).
import { S } from "./state";
import { busRelease } from "./buslock";
import { S_PEND_VEC, S_PEND_ERR, S_CR2, EXC_GP, EXC_UD, EXC_PF, EXC_SS, EXC_NM, EXC_TS, EXC_NP } from "./layout";

export const NO_ERR: i32 = -1;

export function raise(vec: u32, err: i32): void {
  busRelease();
  store<i32>(S, vec, S_PEND_VEC);
  store<i32>(S, err, S_PEND_ERR);
  unreachable();
}
export function gp(err: u32): void { raise(EXC_GP, err); }
export function ss(err: u32): void { raise(EXC_SS, err); }
export function ts(err: u32): void { raise(EXC_TS, err); }
export function np(err: u32): void { raise(EXC_NP, err); }
export function ud(): void { raise(EXC_UD, NO_ERR); }
export function nm(): void { raise(EXC_NM, NO_ERR); }
export function pf(lin: u32, err: u32): void {
  store<u32>(S, lin, S_CR2);
  raise(EXC_PF, err);
}
