// Integer ALU group against the host CPU: add or adc sbb and sub xor cmp test, inc dec neg not,
// in every operand form (r/m, reg, imm8 sign-extended, imm, accumulator short forms, memory).
import { diffGroup, Template } from "./lib/harness.ts";
import * as L from "../../core-as/layout.ts";

const T: Template[] = [];
const ARITH = ["add", "adc", "sub", "sbb", "cmp"]; // every flag defined
const LOGIC = ["and", "or", "xor", "test"]; // SDM: AF undefined; OF = CF = 0
const AF = L.F_AF;

for (const op of [...ARITH, ...LOGIC]) {
  const undef = LOGIC.includes(op) ? AF : 0;
  const t = (name: string, asm: string, mem = 0, extra: Partial<Template> = {}) =>
    T.push({ name: `${op} ${name}`, asm, undef, mem, ...extra });
  t("r8, r8", `${op} al, bl`);
  t("r8h, r8h", `${op} ah, ch`);
  t("r8h, r8", `${op} dh, cl`);
  t("r16, r16", `${op} si, di`);
  t("r32, r32", `${op} ebx, esi`);
  t("r32, same r32", `${op} edx, edx`);
  if (op !== "test") {
    // the reg <- r/m direction (02/03 forms) with a register source
    t("r32, r/m32 (03)", `db 0x${(opBase(op) + 3).toString(16)}, 0xc8`); // ecx, eax
    t("r8, r/m8 (02)", `db 0x${(opBase(op) + 2).toString(16)}, 0xd3`); // dl, bl
    t("al, imm8", `${op} al, 0x80`);
    t("eax, imm32", `${op} eax, 0x80000000`);
    t("ax, imm16", `${op} ax, 0x7fff`);
    t("r32, imm8 (83)", `${op} edi, byte -1`);
    t("r32, imm8 0x7f (83)", `${op} ecx, byte 0x7f`);
    t("r16, imm8 (83)", `${op} bx, byte -128`);
    t("r32, imm32 (81)", `${op} esi, dword 0x12345678`);
    t("r8, imm8 (80)", `${op} ch, 0xff`);
    // 82 is an alias of 80 that 64-bit mode removed: the native side runs the 80 encoding
    const m82 = (0xc0 | opBase(op) | 1).toString(16); // cl
    t("r8, imm8 (82)", `db 0x82, 0x${m82}, 0x01`, 0, { asm64: `db 0x80, 0x${m82}, 0x01` });
    t("m32, r32", `${op} [DATA+4], ecx`, 16);
    t("r32, m32", `${op} ecx, [DATA+4]`, 16);
    t("m16, r16", `${op} [DATA+6], dx`, 16);
    t("m8, r8", `${op} [DATA+3], bh`, 16);
    t("m8, imm8", `${op} byte [DATA+9], 0x7f`, 16);
    t("m32, imm8", `${op} dword [DATA+8], byte -2`, 16);
    t("m16, imm16", `${op} word [DATA+2], 0x8000`, 16);
  } else {
    t("al, imm8", `test al, 0x81`);
    t("eax, imm32", `test eax, 0x80000001`);
    t("r32, imm32 (F7)", `test esi, 0xffff0000`);
    t("r8, imm8 (F6)", `test bh, 0x80`);
    t("m32, r32", `test [DATA+4], ecx`, 16);
    t("m16, imm16", `test word [DATA+2], 0x8001`, 16);
  }
}

function opBase(op: string): number {
  return ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"].indexOf(op) * 8;
}

// inc/dec leave CF alone (it must come through from the input); neg: CF = (src != 0); not: no flags
for (const op of ["inc", "dec", "neg", "not"]) {
  const t = (name: string, asm: string, mem = 0) => T.push({ name: `${op} ${name}`, asm, mem });
  t("r32", `${op} ebx`); // inc/dec: 40+r in 32-bit mode, FF /0 natively (same semantics)
  t("r16", `${op} si`);
  t("r8", `${op} al`);
  t("r8h", `${op} dh`);
  t("m32", `${op} dword [DATA+4]`, 16);
  t("m16", `${op} word [DATA+2]`, 16);
  t("m8", `${op} byte [DATA+7]`, 16);
}
// the ModR/M forms of inc/dec on a register (FF /0, FF /1, FE /0) that nasm never picks in bits 32
T.push({ name: "inc r/m32 (FF /0)", asm: "db 0xff, 0xc1" });
T.push({ name: "dec r/m32 (FF /1)", asm: "db 0xff, 0xce" });
T.push({ name: "dec r/m16 (66 FF /1)", asm: "db 0x66, 0xff, 0xcf" });
T.push({ name: "inc r/m8 (FE /0)", asm: "db 0xfe, 0xc4" });

// flags produced by one instruction and consumed by the next (lazy flags across instructions)
for (
  const [a, b] of [
    ["add eax, ebx", "adc ecx, edx"],
    ["sub al, bl", "sbb cl, dl"],
    ["inc esi", "adc edi, 0"],
    ["dec si", "sbb di, 1"],
    ["and eax, ebx", "adc ecx, edx"],
    ["cmp ecx, edx", "sbb eax, eax"],
    ["neg ebx", "adc eax, 0"],
    ["add ax, bx", "cmc\n    adc cx, dx"],
  ]
) {
  T.push({ name: `${a} ; ${b.replace(/\n\s*/g, " ; ")}`, asm: `${a}\n${b}` });
}

diffGroup("alu", T);
