// Far CALL/JMP with an immediate pointer, far returns and IRET: the opcode handlers; the
// transfers themselves are in ../fartransfer.ts.
import { fetch16, fetchN } from "../fetch";
import { farCall, farJump, farRet, iretFar } from "../fartransfer";
import { S } from "../state";
import { S_NMI } from "../layout";
import * as cpu from "../cpu";

@inline export function call_far_Ap(size: u32): void {
  const off = fetchN(size);
  const sel = fetch16();
  farCall(sel, off, size);
}
@inline export function jmp_far_Ap(size: u32): void {
  const off = fetchN(size);
  const sel = fetch16();
  farJump(sel, off, size);
}
@inline export function retf(size: u32): void { farRet(size, 0); }
@inline export function retf_Iw(size: u32): void { farRet(size, fetch16()); }
// IRET ends the NMI handler's blocking of further NMIs (SDM vol. 3, 6.7.1)
@inline export function iret(size: u32): void {
  iretFar(size);
  if (load<u32>(S, S_NMI) != 0) cpu.nmiUnblock();
}
