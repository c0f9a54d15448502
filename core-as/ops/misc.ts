// Instructions with no better home: NOP and friends.
import { modrm } from "../fetch";
import { rep } from "../state";
import { pause } from "../cpu";
// 90: NOP, and with F3 PAUSE, the spin-wait hint (cpu.ts counts it)
export function nop(): void { if (rep == 0xf3) pause(); }
// 0F 18..1F: hint NOPs with a ModR/M operand that is decoded but never accessed
export function nop_Ev(): void { modrm(); }
