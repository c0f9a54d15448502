// Bit instructions against the host CPU: bt bts btr btc (register, immediate, and memory forms
// where the register bit offset reaches outside the addressed dword), bsf bsr, bswap.
import { diffGroup, Template } from "./lib/harness.ts";
import * as L from "../../core-as/layout.ts";

const T: Template[] = [];
// SDM BT/BTS/BTR/BTC: CF = the bit; ZF unaffected; OF SF AF PF undefined.
const BT_UNDEF = L.F_OF | L.F_SF | L.F_AF | L.F_PF;
// SDM BSF/BSR: ZF = (source == 0); CF OF SF AF PF undefined; destination undefined if source is 0.
const BS_UNDEF = L.F_CF | L.F_OF | L.F_SF | L.F_AF | L.F_PF;

const WIN = 1024; // data window; memory bit strings are addressed at its middle
for (const op of ["bt", "bts", "btr", "btc"]) {
  T.push({ name: `${op} r32, r32`, asm: `${op} esi, ecx`, undef: BT_UNDEF });
  T.push({ name: `${op} r16, r16`, asm: `${op} si, cx`, undef: BT_UNDEF });
  for (const k of [0, 5, 15, 16, 31, 32, 63, 255]) {
    T.push({ name: `${op} r32, ${k}`, asm: `${op} edi, ${k}`, undef: BT_UNDEF, cases: 150 });
    T.push({ name: `${op} r16, ${k}`, asm: `${op} di, ${k}`, undef: BT_UNDEF, cases: 150 });
    T.push({ name: `${op} m32, ${k}`, asm: `${op} dword [DATA+512], ${k}`, undef: BT_UNDEF, cases: 150, mem: WIN });
    T.push({ name: `${op} m16, ${k}`, asm: `${op} word [DATA+512], ${k}`, undef: BT_UNDEF, cases: 150, mem: WIN });
  }
  // memory bit strings: the signed register offset selects a dword/word anywhere around the base
  T.push({
    name: `${op} m32, r32 (bit string)`,
    asm: `${op} [DATA+512], ecx`,
    undef: BT_UNDEF,
    mem: WIN,
    cases: 2500,
    gen: (r, c) => {
      c.regs[1] = (r.below(8 * 1000) - 4 * 1000) >>> 0;
    },
  });
  T.push({
    name: `${op} m16, r16 (bit string, upper half of ecx ignored)`,
    asm: `${op} [DATA+512], cx`,
    undef: BT_UNDEF,
    mem: WIN,
    cases: 2500,
    gen: (r, c) => {
      c.regs[1] = ((r.u32() & 0xffff0000) | ((r.below(8 * 1000) - 4 * 1000) & 0xffff)) >>> 0;
    },
  });
  T.push({
    name: `${op} m32, r32 via [ebx+disp]`,
    asm: `${op} [ebx+3], edx`,
    undef: BT_UNDEF,
    mem: WIN,
    gen: (r, c) => {
      c.regs[3] = DATA_MID + r.below(64) - 32;
      c.regs[2] = (r.below(2048) - 1024) >>> 0;
    },
  });
}
const DATA_MID = 0x300000 + 512;

for (const op of ["bsf", "bsr"]) {
  const zero = (src: (c: { regs: number[]; mem: Uint8Array }) => number, dest: number) => ({
    undefRegs: (c: { regs: number[]; mem: Uint8Array }) => (src(c) === 0 ? 1 << dest : 0),
  });
  const gen =
    (reg: number, mask: number) =>
    (r: { below(n: number): number; chance(p: number): boolean }, c: { regs: number[] }) => {
      if (r.chance(0.15)) c.regs[reg] = (c.regs[reg] & ~mask) >>> 0;
      else if (r.chance(0.2)) c.regs[reg] = ((c.regs[reg] & ~mask) | ((1 << r.below(32)) & mask)) >>> 0;
    };
  T.push({
    name: `${op} r32, r32`,
    asm: `${op} eax, esi`,
    undef: BS_UNDEF,
    ...zero((c) => c.regs[6], 0),
    gen: gen(6, -1),
  });
  T.push({
    name: `${op} r16, r16`,
    asm: `${op} ax, si`,
    undef: BS_UNDEF,
    ...zero((c) => c.regs[6] & 0xffff, 0),
    gen: gen(6, 0xffff),
  });
  T.push({
    name: `${op} r32, m32`,
    asm: `${op} edx, [DATA+4]`,
    mem: 16,
    undef: BS_UNDEF,
    ...zero((c) => c.mem[4] | c.mem[5] | c.mem[6] | c.mem[7], 2),
  });
  T.push({
    name: `${op} r16, m16`,
    asm: `${op} dx, [DATA+4]`,
    mem: 16,
    undef: BS_UNDEF,
    ...zero((c) => c.mem[4] | c.mem[5], 2),
  });
}

for (const r of ["eax", "ecx", "ebx", "ebp", "edi"]) T.push({ name: `bswap ${r}`, asm: `bswap ${r}` });

diffGroup("bit", T);
