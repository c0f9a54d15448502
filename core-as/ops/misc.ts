// Instructions with no better home: NOP and friends.
import { modrm } from "../fetch";
export function nop(): void {}
// 0F 18..1F: hint NOPs with a ModR/M operand that is decoded but never accessed
export function nop_Ev(): void { modrm(); }
