// Data movement and condition-code consumers against the host CPU: mov, movzx/movsx, xchg,
// cmpxchg, xadd, cbw/cwde/cwd/cdq, lea, xlat, setcc, cmovcc, lahf/sahf, flag bit instructions,
// pushf/popf, and jcc after flag-producing instructions.
import { Case, diffGroup, Template } from "./lib/harness.ts";
import * as L from "../../core-as/layout.ts";

const T: Template[] = [];
const t = (name: string, asm: string, mem = 0, extra: Partial<Template> = {}) => T.push({ name, asm, mem, ...extra });

// ---- mov -------------------------------------------------------------------------------------
t("mov r32, r32", "mov ebx, esi");
t("mov r16, r16", "mov bx, si");
t("mov r8h, r8", "mov ch, dl");
t("mov r8, r8h", "mov dl, bh");
t("mov r32, imm32", "mov edi, 0x89abcdef");
t("mov r16, imm16", "mov di, 0x8001");
t("mov r8, imm8", "mov ah, 0x80");
t("mov r/m32, imm32 (C7)", "mov dword [DATA+4], 0xdeadbeef", 16);
t("mov r/m8, imm8 (C6)", "mov byte [DATA+5], 0x7f", 16);
t("mov r/m16, imm16 (C7)", "mov word [DATA+6], 0x8000", 16);
t("mov m32, r32", "mov [DATA+4], ebp", 16);
t("mov r32, m32", "mov ebp, [DATA+5]", 16);
t("mov m8, r8h", "mov [DATA+7], dh", 16);
t("mov r16, m16", "mov cx, [DATA+9]", 16);
t("mov eax, moffs32", "mov eax, [DATA+8]", 16);
t("mov moffs8, al", "mov [DATA+3], al", 16);
t("mov r32, [base+index*4+disp8]", "mov eax, [ebx+esi*4+8]", 64, {
  gen: (r, c) => {
    c.regs[3] = 0x300000 + r.below(16);
    c.regs[6] = r.below(8);
  },
});
t("mov [index*8+disp32], r32", "mov [edi*8+DATA], ecx", 128, { gen: (r, c) => (c.regs[7] = r.below(15)) });

// ---- extensions --------------------------------------------------------------------------------
for (
  const [n, asm, mem] of [
    ["movzx r32, r8", "movzx eax, bl", 0],
    ["movzx r32, r8h", "movzx ebx, ah", 0],
    ["movzx r32, r16", "movzx ecx, si", 0],
    ["movzx r16, r8", "movzx dx, cl", 0],
    ["movzx r32, m8", "movzx esi, byte [DATA+3]", 16],
    ["movzx r32, m16", "movzx edi, word [DATA+3]", 16],
    ["movsx r32, r8", "movsx eax, bl", 0],
    ["movsx r32, r8h", "movsx ebx, ah", 0],
    ["movsx r32, r16", "movsx ecx, si", 0],
    ["movsx r16, r8", "movsx dx, cl", 0],
    ["movsx r32, m8", "movsx esi, byte [DATA+3]", 16],
    ["movsx r32, m16", "movsx edi, word [DATA+3]", 16],
    ["movzx r16, r16 (66 0F B7)", "db 0x66, 0x0f, 0xb7, 0xc3", 0],
    ["movsx r16, m16 (66 0F BF)", "db 0x66, 0x0f, 0xbf, 0x2c, 0x25\ndd DATA", 16],
    ["cbw", "cbw", 0],
    ["cwde", "cwde", 0],
    ["cwd", "cwd", 0],
    ["cdq", "cdq", 0],
  ] as [string, string, number][]
) t(n, asm, mem);

// ---- exchanges -------------------------------------------------------------------------------
t("xchg r32, r32", "xchg ebx, esi");
t("xchg eax, r32 (91+r)", "xchg eax, edi");
t("xchg ax, r16 (66 91+r)", "xchg ax, dx");
t("xchg r8, r8h", "xchg cl, bh");
t("xchg m32, r32", "xchg [DATA+4], ecx", 16);
t("xchg m8, r8", "xchg [DATA+5], dl", 16);
t("xchg r16, m16", "xchg si, [DATA+6]", 16);
t("lock xchg m32, r32", "lock xchg [DATA+8], ebp", 16);
// CMPXCHG: flags as CMP accumulator, destination
const eqAcc = (bytes: number, memOff: number | null, reg: number) => (r: { chance(p: number): boolean }, c: Case) => {
  if (!r.chance(0.4)) return;
  const m = bytes === 4 ? 0xffffffff : (1 << (8 * bytes)) - 1;
  let v: number;
  if (memOff !== null) {
    v = 0;
    for (let i = 0; i < bytes; i++) v |= c.mem[memOff + i] << (8 * i);
  } else v = c.regs[reg];
  c.regs[0] = ((c.regs[0] & ~m) | (v & m)) >>> 0;
};
t("cmpxchg r32, r32", "cmpxchg ebx, esi", 0, { gen: eqAcc(4, null, 3) });
t("cmpxchg r16, r16", "cmpxchg bx, si", 0, { gen: eqAcc(2, null, 3) });
t("cmpxchg r8, r8", "cmpxchg bl, dh", 0, { gen: eqAcc(1, null, 3) });
t("cmpxchg r32, r32 (dest eax)", "cmpxchg eax, ecx");
t("cmpxchg m32, r32", "cmpxchg [DATA+4], edx", 16, { gen: eqAcc(4, 4, 0) });
t("lock cmpxchg m32, r32", "lock cmpxchg [DATA+4], edx", 16, { gen: eqAcc(4, 4, 0) });
t("cmpxchg m16, r16", "cmpxchg [DATA+6], dx", 16, { gen: eqAcc(2, 6, 0) });
t("cmpxchg m8, r8", "cmpxchg [DATA+7], ah", 16, { gen: eqAcc(1, 7, 0) });
// CMPXCHG8B: edx:eax against m64; ecx:ebx stored on equality; only ZF changes
t("cmpxchg8b m64", "cmpxchg8b [DATA+8]", 16, {
  gen: (r, c) => {
    if (!r.chance(0.5)) return;
    c.regs[0] = (c.mem[8] | c.mem[9] << 8 | c.mem[10] << 16 | c.mem[11] << 24) >>> 0;
    c.regs[2] = (c.mem[12] | c.mem[13] << 8 | c.mem[14] << 16 | c.mem[15] << 24) >>> 0;
  },
});
t("xadd r32, r32", "xadd ebx, esi");
t("xadd r16, r16", "xadd bx, si");
t("xadd r8, r8h", "xadd cl, ah");
t("xadd r32, same r32", "xadd edi, edi");
t("xadd m32, r32", "xadd [DATA+4], edx", 16);
t("lock xadd m16, r16", "lock xadd [DATA+6], dx", 16);
t("xadd m8, r8", "xadd [DATA+5], bl", 16);

// ---- lea -------------------------------------------------------------------------------------
for (
  const [n, asm] of [
    ["lea r32, [b+i*4+d32]", "lea eax, [ebx+ecx*4+0x12345678]"],
    ["lea r32, [b+i*8-d8]", "lea edi, [esi+edx*8-100]"],
    ["lea r32, [ebp+d8]", "lea ecx, [ebp+0x7f]"],
    ["lea r32, [i*2] (no base)", "lea esi, [ebx*2+0]"],
    ["lea r32, [d32]", "lea edx, [0x80000000]"],
    ["lea r16, [b+i]", "lea ax, [ebx+esi]"],
    ["lea r32, [b+i*1]", "lea eax, [ecx+ebx*1]"],
    ["lea r32, [b+b*2]", "lea ebx, [ebx+ebx*2]"],
  ]
) t(n, asm);

// ---- xlat -------------------------------------------------------------------------------------
t("xlatb", "xlatb", 272, { gen: (r, c) => (c.regs[3] = 0x300000 + r.below(16)) });

// ---- condition codes --------------------------------------------------------------------------
const CC = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
const ccStart = T.length;
for (const cc of CC) {
  t(`set${cc} r8`, `set${cc} bh`);
  t(`set${cc} m8`, `set${cc} [DATA+3]`, 8);
  t(`cmov${cc} r32, r32`, `cmov${cc} esi, edi`);
  t(`cmov${cc} r16, m16`, `cmov${cc} si, [DATA+2]`, 8);
  // the same consumers right after the flag producers whose lazy state they read
  t(`cmp r32 ; set${cc}`, `cmp eax, ebx\nset${cc} cl`);
  t(`cmp r8 ; set${cc}`, `cmp al, bl\nset${cc} cl`);
  t(`cmp r16 ; cmov${cc}`, `cmp si, di\ncmov${cc} edx, ebp`);
  t(`sub r32 ; set${cc}`, `sub edx, esi\nset${cc} al`);
  t(`add r32 ; set${cc}`, `add ebx, ecx\nset${cc} dl`);
  t(`adc r16 ; set${cc}`, `adc bx, cx\nset${cc} dl`);
  t(`sbb r8 ; set${cc}`, `sbb bl, cl\nset${cc} dh`);
  t(`inc r32 ; set${cc}`, `inc edi\nset${cc} al`);
  t(`dec r8 ; set${cc}`, `dec bl\nset${cc} al`);
  t(`neg r32 ; set${cc}`, `neg ecx\nset${cc} al`);
  t(`test r32 ; set${cc}`, `test ecx, ebp\nset${cc} al`, 0, { undef: L.F_AF });
  t(`and r8 ; set${cc}`, `and cl, dl\nset${cc} al`, 0, { undef: L.F_AF });
  t(`shl r32, cl ; set${cc}`, `shl edi, cl\nset${cc} al`, 0, {
    // flags after the shift are only defined where the shift defines them
    undef: (c) => ((c.regs[1] & 31) === 0 ? 0 : L.F_AF | ((c.regs[1] & 31) === 1 ? 0 : L.F_OF)),
    undefRegs: (c) => ((c.regs[1] & 31) > 1 && ["o", "no", "l", "ge", "le", "g"].includes(cc) ? 1 : 0),
  });
  t(`cmp r32 ; j${cc}`, `cmp eax, ebx\nj${cc} .t\nmov ecx, 0\njmp .e\n.t: mov ecx, 1\n.e:`);
  t(`sub r8 ; j${cc} (near)`, `sub al, bl\nj${cc} near .t\nmov ecx, 0\njmp near .e\n.t: mov ecx, 1\n.e:`);
}

for (let i = ccStart; i < T.length; i++) T[i].cases ??= 400; // 16 conditions x 19 forms

// ---- flags -------------------------------------------------------------------------------------
for (const op of ["clc", "stc", "cmc", "cld", "std", "lahf", "sahf"]) t(op, op);
t("add ; lahf", "add eax, ebx\nlahf");
t("sahf ; lahf", "sahf\nlahf");
// PUSHF/POPF at the user-visible bits. The native side runs at CPL 3 with 8-byte stack slots, so
// IF, IOPL (privileged; ring3 runs this at CPL 0), VM/RF (never pushed) and AC (would arm
// alignment checks in the host runner) are excluded from the inputs and the comparison.
const POPF_BITS = 0xffffffff & ~(L.F_IF | L.F_IOPL | L.F_TF | L.F_AC | L.F_VM | L.F_RF | L.F_VIF | L.F_VIP);
// NT is taken from the input, not from the host: this host's virtualisation sometimes loses a
// user-mode NT across an interrupt that lands between the POPF and the PUSHF (seen once in
// thousands of runs), while POPF architecturally keeps NT as written at any CPL.
const popfCmp = (exp: Uint8Array, got: Uint8Array, c: Case) => {
  const dv = (m: Uint8Array) => new DataView(m.buffer, m.byteOffset, m.byteLength);
  const nt = dv(c.mem).getUint32(0, true) & L.F_NT;
  const e = ((dv(exp).getUint32(4, true) & POPF_BITS & ~L.F_NT) | nt) >>> 0;
  const g = dv(got).getUint32(4, true) & POPF_BITS;
  return e === g ? null : `pushed flags exp ${e.toString(16)} got ${g.toString(16)}`;
};
const popfGen = (r: { u32(): number }, c: Case) => {
  const v = (r.u32() & POPF_BITS & 0x3fffff) >>> 0;
  c.mem.set([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24], 0);
};
t("popfd ; pushfd", "push dword [DATA]\npopfd\npushfd\npop dword [DATA+4]", 16, {
  asm64: "push qword [DATA]\npopfq\npushfq\npop qword [DATA+4]",
  memCompare: popfCmp,
  gen: popfGen,
});
t("popfw ; pushfw", "push word [DATA]\npopfw\npushfw\npop word [DATA+4]", 16, {
  memCompare: (e, g, c) =>
    popfCmp(e.map((b, i) => (i === 6 || i === 7 ? 0 : b)), g.map((b, i) => (i === 6 || i === 7 ? 0 : b)), {
      ...c,
      mem: c.mem.map((b, i) => (i === 2 || i === 3 ? 0 : b)),
    }),
  gen: popfGen,
});

diffGroup("data", T);
