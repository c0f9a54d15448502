// The one opcode table: both tiers are generated or derived from it.
// - gen.ts turns the handler calls (`h`) into core-as/generated/dispatch.ts, the interpreter's
//   switch; handlers are found by name in core-as/ops/*.ts and core-as/x87/*.ts.
// - facts.ts derives, at module load, what the block compiler (runtime/jit/) needs per opcode
//   and ModR/M /reg: the instruction's length (ModR/M, immediates), its lazy-flag use, whether it
//   ends a block, and which emitter compiles it.
//
// Keys: "xx" one-byte opcodes, "0F xx" two-byte ones, "lo-hi" a range with the same entry.
// In `h`, `$s` is the operand size in bytes: an entry that uses it is generated twice (o16 and
// o32); `$r` and `$c` are the low three / four bits of the opcode (register or condition).
// The other fields, all optional:
//   a    operands in the Intel manual's notation. ModR/M: Eb Ev Ew Ed Gb Gv Gw Sw Cd Dd M Mp Ms
//        Mq Fx (an x87 ModR/M), Rd (a register whatever the mod bits say: no SIB or displacement);
//        immediates: Ib (zero-extended), Ibs (sign-extended), Iw, Iz (16 or 32 bits as stored),
//        Izs (16 bits sign-extended), Iv, Jb/Jz (relative branch targets), Ob/Ov (moffs), Ap (far
//        pointer), Iw,Ib (ENTER); plain registers (AL eAX CL DX Zb Zv 1 ...) take no bytes.
//        No `a`: no ModR/M, no immediate.
//   f    the arithmetic flags (OF SF ZF AF PF CF, kept lazily) without prefixes:
//        "w"  writes all six and reads none;        "-"  neither reads nor writes them;
//        "c"  writes CF alone, keeps the others;    "co" writes CF and OF alone, keeps the others;
//        "r"  reads them (keeps them);              "rw" reads some and writes some (ADC/SBB read
//        CF; INC/DEC carry CF over in the lazy record; a shift by CL keeps them for a count of 0;
//        SAHF keeps OF...). No `f`: unknown, taken as "rw".
//   jit  how the block compiler takes it: an emitter group of runtime/jit/ops/ ("alu" "mov"
//        "stack" "shift" "unary" "cond" "mul" "x87" "atomic" "branch" "sse" "eflags"), which may still decline
//        a form and hand it to the interpreter; "step": the interpreter's handler runs it in place
//        inside the block; no `jit`: not compiled, the block ends before it.
//   end  it changes control flow or the mode a block was compiled for: "jcc" (conditional: ends
//        a block unless emitted inline), "jmp", "call", "ret" (near), "far" (far transfers,
//        interrupts), "mode" (CS/DS/ES/SS, descriptor tables, control registers), "flat" (a load
//        of DS or ES: stepped in place, and the block goes on only while that segment is still
//        flat, the mode blocks are compiled for; core-as/jit.ts). (What only sets
//        the attention word, such as POPF, STI or HLT, is stepped: the block leaves after it when
//        it did. FS and GS are read where a block uses them.)
//   nf   it cannot fault except through a memory operand (register forms never fault).
//   o16  its emitter also compiles the 66-prefixed (16-bit) form.
//   lock its emitter also compiles the LOCK-prefixed form.
//   only "reg": compiled inline only with a register r/m operand.
//   g    per ModR/M /reg ("0", "2-3"...): fields that differ from the entry's for those /reg.
export type Flags = "w" | "-" | "c" | "co" | "r" | "rw";
export type Emit =
  | "alu"
  | "mov"
  | "stack"
  | "shift"
  | "unary"
  | "cond"
  | "mul"
  | "x87"
  | "atomic"
  | "branch"
  | "sse"
  | "eflags"
  | "step";
export type End = "jcc" | "jmp" | "call" | "ret" | "far" | "mode" | "flat";
export interface Facts {
  a?: string;
  f?: Flags;
  jit?: Emit;
  end?: End;
  nf?: 1;
  o16?: 1;
  lock?: 1;
  only?: "reg";
}
export interface Op extends Facts {
  h: string;
  g?: Record<string, Facts>;
}

// the eight ALU operations' group-1 forms (80-83 /reg): ADC and SBB read CF
const GRP1: Record<string, Facts> = { "2-3": { f: "rw" } };
// group 2 (shifts, rotates by 1 / Ib / CL): ROL ROR change CF and OF only; RCL RCR read CF
const GRP2_JIT: Record<string, Facts> = { "0-1": { f: "co" }, "2-3": { f: "rw", jit: "step" } };
// the same with 16-bit SHL SHR SAL SAR compiled too (66 C1/D1)
const GRP2_JIT16: Record<string, Facts> = { ...GRP2_JIT, "4-7": { o16: 1 } };

export const TABLE: Record<string, Op> = {
  // ---- one-byte map -------------------------------------------------------------------------
  "00": { h: "alu_EbGb(0)", a: "Eb,Gb", f: "w", jit: "alu", nf: 1 },
  "01": { h: "alu_EvGv(0, $s)", a: "Ev,Gv", f: "w", jit: "alu", nf: 1, o16: 1 },
  "02": { h: "alu_GbEb(0)", a: "Gb,Eb", f: "w", jit: "alu", nf: 1 },
  "03": { h: "alu_GvEv(0, $s)", a: "Gv,Ev", f: "w", jit: "alu", nf: 1, o16: 1 },
  "04": { h: "alu_ALIb(0)", a: "AL,Ib", f: "w", jit: "alu", nf: 1 },
  "05": { h: "alu_eAXIz(0, $s)", a: "eAX,Iz", f: "w", jit: "alu", nf: 1, o16: 1 },
  "06": { h: "push_sreg(0, $s)", f: "-", jit: "stack" },
  "07": { h: "pop_sreg(0, $s)", f: "-", jit: "step", end: "flat" },
  "08": { h: "alu_EbGb(1)", a: "Eb,Gb", f: "w", jit: "alu", nf: 1 },
  "09": { h: "alu_EvGv(1, $s)", a: "Ev,Gv", f: "w", jit: "alu", nf: 1, o16: 1 },
  "0A": { h: "alu_GbEb(1)", a: "Gb,Eb", f: "w", jit: "alu", nf: 1 },
  "0B": { h: "alu_GvEv(1, $s)", a: "Gv,Ev", f: "w", jit: "alu", nf: 1, o16: 1 },
  "0C": { h: "alu_ALIb(1)", a: "AL,Ib", f: "w", jit: "alu", nf: 1 },
  "0D": { h: "alu_eAXIz(1, $s)", a: "eAX,Iz", f: "w", jit: "alu", nf: 1, o16: 1 },
  "0E": { h: "push_sreg(1, $s)", f: "-", jit: "stack" },
  "0F": { h: "twobyte()" },
  "10": { h: "alu_EbGb(2)", a: "Eb,Gb", f: "rw", jit: "alu", nf: 1 },
  "11": { h: "alu_EvGv(2, $s)", a: "Ev,Gv", f: "rw", jit: "alu", nf: 1, o16: 1 },
  "12": { h: "alu_GbEb(2)", a: "Gb,Eb", f: "rw", jit: "alu", nf: 1 },
  "13": { h: "alu_GvEv(2, $s)", a: "Gv,Ev", f: "rw", jit: "alu", nf: 1, o16: 1 },
  "14": { h: "alu_ALIb(2)", a: "AL,Ib", f: "rw", jit: "alu", nf: 1 },
  "15": { h: "alu_eAXIz(2, $s)", a: "eAX,Iz", f: "rw", jit: "alu", nf: 1, o16: 1 },
  "16": { h: "push_sreg(2, $s)", f: "-", jit: "stack" },
  "17": { h: "pop_sreg(2, $s)", f: "-", end: "mode" },
  "18": { h: "alu_EbGb(3)", a: "Eb,Gb", f: "rw", jit: "alu", nf: 1 },
  "19": { h: "alu_EvGv(3, $s)", a: "Ev,Gv", f: "rw", jit: "alu", nf: 1, o16: 1 },
  "1A": { h: "alu_GbEb(3)", a: "Gb,Eb", f: "rw", jit: "alu", nf: 1 },
  "1B": { h: "alu_GvEv(3, $s)", a: "Gv,Ev", f: "rw", jit: "alu", nf: 1, o16: 1 },
  "1C": { h: "alu_ALIb(3)", a: "AL,Ib", f: "rw", jit: "alu", nf: 1 },
  "1D": { h: "alu_eAXIz(3, $s)", a: "eAX,Iz", f: "rw", jit: "alu", nf: 1, o16: 1 },
  "1E": { h: "push_sreg(3, $s)", f: "-", jit: "stack" },
  "1F": { h: "pop_sreg(3, $s)", f: "-", jit: "step", end: "flat" },
  "20": { h: "alu_EbGb(4)", a: "Eb,Gb", f: "w", jit: "alu", nf: 1 },
  "21": { h: "alu_EvGv(4, $s)", a: "Ev,Gv", f: "w", jit: "alu", nf: 1, o16: 1 },
  "22": { h: "alu_GbEb(4)", a: "Gb,Eb", f: "w", jit: "alu", nf: 1 },
  "23": { h: "alu_GvEv(4, $s)", a: "Gv,Ev", f: "w", jit: "alu", nf: 1, o16: 1 },
  "24": { h: "alu_ALIb(4)", a: "AL,Ib", f: "w", jit: "alu", nf: 1 },
  "25": { h: "alu_eAXIz(4, $s)", a: "eAX,Iz", f: "w", jit: "alu", nf: 1, o16: 1 },
  "26": { h: "pfx_seg(0)" },
  "27": { h: "daa()", f: "rw", jit: "step", nf: 1 },
  "28": { h: "alu_EbGb(5)", a: "Eb,Gb", f: "w", jit: "alu", nf: 1 },
  "29": { h: "alu_EvGv(5, $s)", a: "Ev,Gv", f: "w", jit: "alu", nf: 1, o16: 1 },
  "2A": { h: "alu_GbEb(5)", a: "Gb,Eb", f: "w", jit: "alu", nf: 1 },
  "2B": { h: "alu_GvEv(5, $s)", a: "Gv,Ev", f: "w", jit: "alu", nf: 1, o16: 1 },
  "2C": { h: "alu_ALIb(5)", a: "AL,Ib", f: "w", jit: "alu", nf: 1 },
  "2D": { h: "alu_eAXIz(5, $s)", a: "eAX,Iz", f: "w", jit: "alu", nf: 1, o16: 1 },
  "2E": { h: "pfx_seg(1)" },
  "2F": { h: "das()", f: "rw", jit: "step", nf: 1 },
  "30": { h: "alu_EbGb(6)", a: "Eb,Gb", f: "w", jit: "alu", nf: 1 },
  "31": { h: "alu_EvGv(6, $s)", a: "Ev,Gv", f: "w", jit: "alu", nf: 1, o16: 1 },
  "32": { h: "alu_GbEb(6)", a: "Gb,Eb", f: "w", jit: "alu", nf: 1 },
  "33": { h: "alu_GvEv(6, $s)", a: "Gv,Ev", f: "w", jit: "alu", nf: 1, o16: 1 },
  "34": { h: "alu_ALIb(6)", a: "AL,Ib", f: "w", jit: "alu", nf: 1 },
  "35": { h: "alu_eAXIz(6, $s)", a: "eAX,Iz", f: "w", jit: "alu", nf: 1, o16: 1 },
  "36": { h: "pfx_seg(2)" },
  "37": { h: "aaa()", f: "rw", jit: "step", nf: 1 },
  "38": { h: "alu_EbGb(7)", a: "Eb,Gb", f: "w", jit: "alu", nf: 1 },
  "39": { h: "alu_EvGv(7, $s)", a: "Ev,Gv", f: "w", jit: "alu", nf: 1, o16: 1 },
  "3A": { h: "alu_GbEb(7)", a: "Gb,Eb", f: "w", jit: "alu", nf: 1 },
  "3B": { h: "alu_GvEv(7, $s)", a: "Gv,Ev", f: "w", jit: "alu", nf: 1, o16: 1 },
  "3C": { h: "alu_ALIb(7)", a: "AL,Ib", f: "w", jit: "alu", nf: 1 },
  "3D": { h: "alu_eAXIz(7, $s)", a: "eAX,Iz", f: "w", jit: "alu", nf: 1, o16: 1 },
  "3E": { h: "pfx_seg(3)" },
  "3F": { h: "aas()", f: "rw", jit: "step", nf: 1 },
  "40-47": { h: "inc_Zv($r, $s)", a: "Zv", f: "rw", jit: "alu", nf: 1 },
  "48-4F": { h: "dec_Zv($r, $s)", a: "Zv", f: "rw", jit: "alu", nf: 1 },
  "50-57": { h: "push_Zv($r, $s)", a: "Zv", f: "-", jit: "stack" },
  "58-5F": { h: "pop_Zv($r, $s)", a: "Zv", f: "-", jit: "stack" },
  "60": { h: "pusha($s)", f: "-", jit: "step" },
  "61": { h: "popa($s)", f: "-", jit: "step" },
  "62": { h: "bound($s)", a: "Gv,Ma", f: "-" },
  "63": { h: "arpl()", a: "Ew,Gw", f: "rw" },
  "64": { h: "pfx_seg(4)" },
  "65": { h: "pfx_seg(5)" },
  "66": { h: "pfx_opsize()" },
  "67": { h: "pfx_adsize()" },
  "68": { h: "push_Iz($s)", a: "Izs", f: "-", jit: "stack" },
  "69": { h: "imul_GvEvIz($s)", a: "Gv,Ev,Iz", f: "w", jit: "mul", nf: 1 },
  "6A": { h: "push_Ib($s)", a: "Ibs", f: "-", jit: "stack" },
  "6B": { h: "imul_GvEvIb($s)", a: "Gv,Ev,Ibs", f: "w", jit: "mul", nf: 1 },
  "6C": { h: "ins(1)", a: "Yb,DX", f: "-" },
  "6D": { h: "ins($s)", a: "Yv,DX", f: "-" },
  "6E": { h: "outs(1)", a: "DX,Xb", f: "-" },
  "6F": { h: "outs($s)", a: "DX,Xv", f: "-" },
  "70-7F": { h: "jcc_Jb($c)", a: "Jb", f: "r", jit: "branch", end: "jcc" },
  "80": { h: "grp1_EbIb()", a: "Eb,Ib", f: "w", jit: "alu", nf: 1, g: GRP1 },
  "81": { h: "grp1_EvIz($s)", a: "Ev,Iz", f: "w", jit: "alu", nf: 1, o16: 1, g: GRP1 },
  "82": { h: "grp1_EbIb()", a: "Eb,Ib", f: "w", jit: "step", nf: 1, g: GRP1 },
  "83": { h: "grp1_EvIb($s)", a: "Ev,Ibs", f: "w", jit: "alu", nf: 1, o16: 1, g: GRP1 },
  "84": { h: "test_EbGb()", a: "Eb,Gb", f: "w", jit: "alu", nf: 1 },
  "85": { h: "test_EvGv($s)", a: "Ev,Gv", f: "w", jit: "alu", nf: 1, o16: 1 },
  "86": { h: "xchg_EbGb()", a: "Eb,Gb", f: "-", jit: "step", nf: 1 },
  "87": { h: "xchg_EvGv($s)", a: "Ev,Gv", f: "-", jit: "mov", nf: 1, only: "reg" },
  "88": { h: "mov_EbGb()", a: "Eb,Gb", f: "-", jit: "mov", nf: 1 },
  "89": { h: "mov_EvGv($s)", a: "Ev,Gv", f: "-", jit: "mov", nf: 1, o16: 1 },
  "8A": { h: "mov_GbEb()", a: "Gb,Eb", f: "-", jit: "mov", nf: 1 },
  "8B": { h: "mov_GvEv($s)", a: "Gv,Ev", f: "-", jit: "mov", nf: 1, o16: 1 },
  "8C": { h: "mov_EwSw($s)", a: "Ev,Sw", f: "-", jit: "step" },
  "8D": { h: "lea($s)", a: "Gv,M", f: "-", jit: "mov" },
  // MOV to ES/DS: checked for flatness after it; to FS/GS: nothing a block assumes; SS: a shadow
  "8E": {
    h: "mov_SwEw()",
    a: "Sw,Ew",
    f: "-",
    end: "mode",
    g: { "0": { jit: "step", end: "flat" }, "3": { jit: "step", end: "flat" }, "4-5": { jit: "step", end: undefined } },
  },
  "8F": { h: "pop_Ev($s)", a: "Ev", f: "-", jit: "step" },
  "90": { h: "nop()", f: "-", jit: "mov", nf: 1 },
  "91-97": { h: "xchg_Zv($r, $s)", a: "Zv,eAX", f: "-", jit: "mov", nf: 1 },
  "98": { h: "cbw($s)", f: "-", jit: "mov", nf: 1 },
  "99": { h: "cwd($s)", f: "-", jit: "mov", nf: 1 },
  "9A": { h: "call_far_Ap($s)", a: "Ap", f: "-", end: "far" },
  "9B": { h: "fwait()", f: "-", jit: "step" },
  "9C": { h: "pushf($s)", f: "r", jit: "stack" },
  "9D": { h: "popf($s)", f: "w", jit: "step" },
  "9E": { h: "sahf()", f: "rw", jit: "step", nf: 1 },
  "9F": { h: "lahf()", f: "r", jit: "step", nf: 1 },
  "A0": { h: "mov_ALOb()", a: "AL,Ob", f: "-", jit: "mov" },
  "A1": { h: "mov_eAXOv($s)", a: "eAX,Ov", f: "-", jit: "mov" },
  "A2": { h: "mov_ObAL()", a: "Ob,AL", f: "-", jit: "mov" },
  "A3": { h: "mov_OveAX($s)", a: "Ov,eAX", f: "-", jit: "mov" },
  "A4": { h: "movs(1)", a: "Yb,Xb", f: "-", jit: "step" },
  "A5": { h: "movs($s)", a: "Yv,Xv", f: "-", jit: "step" },
  "A6": { h: "cmps(1)", a: "Xb,Yb", f: "w", jit: "step" },
  "A7": { h: "cmps($s)", a: "Xv,Yv", f: "w", jit: "step" },
  "A8": { h: "test_ALIb()", a: "AL,Ib", f: "w", jit: "alu", nf: 1 },
  "A9": { h: "test_eAXIz($s)", a: "eAX,Iz", f: "w", jit: "alu", nf: 1, o16: 1 },
  "AA": { h: "stos(1)", a: "Yb,AL", f: "-", jit: "step" },
  "AB": { h: "stos($s)", a: "Yv,eAX", f: "-", jit: "step" },
  "AC": { h: "lods(1)", a: "AL,Xb", f: "-", jit: "step" },
  "AD": { h: "lods($s)", a: "eAX,Xv", f: "-", jit: "step" },
  "AE": { h: "scas(1)", a: "AL,Yb", f: "w", jit: "step" },
  "AF": { h: "scas($s)", a: "eAX,Yv", f: "w", jit: "step" },
  "B0-B7": { h: "mov_ZbIb($r)", a: "Zb,Ib", f: "-", jit: "mov", nf: 1 },
  "B8-BF": { h: "mov_ZvIv($r, $s)", a: "Zv,Iv", f: "-", jit: "mov", nf: 1 },
  "C0": { h: "grp2_EbIb()", a: "Eb,Ib", f: "w", jit: "shift", nf: 1, g: GRP2_JIT },
  "C1": { h: "grp2_EvIb($s)", a: "Ev,Ib", f: "w", jit: "shift", nf: 1, g: GRP2_JIT16 },
  "C2": { h: "ret_Iw($s)", a: "Iw", f: "-", jit: "branch", end: "ret" },
  "C3": { h: "ret($s)", f: "-", jit: "branch", end: "ret" },
  "C4": { h: "les($s)", a: "Gv,Mp", f: "-", end: "mode" },
  "C5": { h: "lds($s)", a: "Gv,Mp", f: "-", end: "mode" },
  "C6": { h: "mov_EbIb()", a: "Eb,Ib", f: "-", jit: "step", g: { "0": { jit: "mov", nf: 1 } } },
  "C7": { h: "mov_EvIz($s)", a: "Ev,Iz", f: "-", jit: "step", g: { "0": { jit: "mov", nf: 1, o16: 1 } } },
  "C8": { h: "enter($s)", a: "Iw,Ib", f: "-" },
  "C9": { h: "leave($s)", f: "-", jit: "stack" },
  "CA": { h: "retf_Iw($s)", a: "Iw", f: "-", end: "far" },
  "CB": { h: "retf($s)", f: "-", end: "far" },
  "CC": { h: "int3()", f: "r", end: "far" },
  "CD": { h: "int_Ib()", a: "Ib", f: "r", end: "far" },
  "CE": { h: "into()", f: "r", end: "far" },
  "CF": { h: "iret($s)", f: "w", end: "far" },
  "D0": { h: "grp2_Eb1()", a: "Eb,1", f: "w", jit: "shift", nf: 1, g: GRP2_JIT },
  "D1": { h: "grp2_Ev1($s)", a: "Ev,1", f: "w", jit: "shift", nf: 1, g: GRP2_JIT16 },
  "D2": { h: "grp2_EbCL()", a: "Eb,CL", f: "rw", jit: "step", nf: 1 },
  "D3": { h: "grp2_EvCL($s)", a: "Ev,CL", f: "rw", jit: "shift", nf: 1, g: { "2-3": { jit: "step" } } },
  "D4": { h: "aam()", a: "Ib", f: "w", jit: "step" },
  "D5": { h: "aad()", a: "Ib", f: "w", jit: "step", nf: 1 },
  "D6": { h: "salc()", f: "r" },
  "D7": { h: "xlat()", f: "-", jit: "step" },
  // x87: EFLAGS change only in FCOMI/FUCOMI(P) (DB, DF) and are read by FCMOVcc (DA, DB)
  "D8": { h: "fpu_d8()", a: "Fx", f: "-", jit: "step" },
  "D9": { h: "fpu_d9()", a: "Fx", f: "-", jit: "step" },
  "DA": { h: "fpu_da()", a: "Fx", f: "rw", jit: "step" },
  "DB": { h: "fpu_db()", a: "Fx", f: "rw", jit: "step" },
  "DC": { h: "fpu_dc()", a: "Fx", f: "-", jit: "step" },
  "DD": { h: "fpu_dd()", a: "Fx", f: "-", jit: "step", g: { "0": { jit: "x87" }, "2-3": { jit: "x87" } } },
  "DE": { h: "fpu_de()", a: "Fx", f: "-", jit: "step" },
  "DF": { h: "fpu_df()", a: "Fx", f: "rw", jit: "step" },
  "E0": { h: "loopnz($s)", a: "Jb", f: "r", jit: "step", end: "jcc" },
  "E1": { h: "loopz($s)", a: "Jb", f: "r", jit: "step", end: "jcc" },
  "E2": { h: "loop($s)", a: "Jb", f: "-", jit: "step", end: "jcc" },
  "E3": { h: "jcxz($s)", a: "Jb", f: "-", jit: "step", end: "jcc" },
  "E4": { h: "in_ALIb()", a: "AL,Ib", f: "-", jit: "step" },
  "E5": { h: "in_eAXIb($s)", a: "eAX,Ib", f: "-", jit: "step" },
  "E6": { h: "out_IbAL()", a: "Ib,AL", f: "-", jit: "step" },
  "E7": { h: "out_IbeAX($s)", a: "Ib,eAX", f: "-", jit: "step" },
  "E8": { h: "call_Jz($s)", a: "Jz", f: "-", jit: "branch", end: "call" },
  "E9": { h: "jmp_Jz($s)", a: "Jz", f: "-", jit: "branch", end: "jmp" },
  "EA": { h: "jmp_far_Ap($s)", a: "Ap", f: "-", end: "far" },
  "EB": { h: "jmp_Jb($s)", a: "Jb", f: "-", jit: "branch", end: "jmp" },
  "EC": { h: "in_ALDX()", a: "AL,DX", f: "-", jit: "step" },
  "ED": { h: "in_eAXDX($s)", a: "eAX,DX", f: "-", jit: "step" },
  "EE": { h: "out_DXAL()", a: "DX,AL", f: "-", jit: "step" },
  "EF": { h: "out_DXeAX($s)", a: "DX,eAX", f: "-", jit: "step" },
  "F0": { h: "pfx_lock()" },
  "F1": { h: "int1()", f: "r", end: "far" },
  "F2": { h: "pfx_rep(0xf2)" },
  "F3": { h: "pfx_rep(0xf3)" },
  "F4": { h: "hlt()", f: "-", jit: "step" },
  "F5": { h: "cmc()", f: "rw", jit: "step", nf: 1 },
  "F6": {
    h: "grp3_Eb()",
    a: "Eb",
    f: "w",
    jit: "step",
    g: {
      "0": { a: "Eb,Ib", jit: "unary", nf: 1 },
      "1": { a: "Eb,Ib", nf: 1 },
      "2": { f: "-", nf: 1 },
      "3": { nf: 1 },
      "6-7": { f: "-" }, // (DIV, IDIV: the interpreter leaves the flags, which are undefined)
    },
  },
  "F7": {
    h: "grp3_Ev($s)",
    a: "Ev",
    f: "w",
    jit: "step",
    g: {
      "0": { a: "Ev,Iz", jit: "unary", nf: 1 },
      "1": { a: "Ev,Iz", nf: 1 },
      "2": { f: "-", jit: "unary", nf: 1 },
      "3": { jit: "unary", nf: 1 },
      "4-5": { jit: "mul", nf: 1 },
      "6-7": { f: "-" },
    },
  },
  "F8": { h: "clc()", f: "c", jit: "step", nf: 1 },
  "F9": { h: "stc()", f: "c", jit: "step", nf: 1 },
  "FA": { h: "cli()", f: "-", jit: "eflags" },
  "FB": { h: "sti()", f: "-", jit: "step" },
  "FC": { h: "cld()", f: "-", jit: "eflags", nf: 1 },
  "FD": { h: "std()", f: "-", jit: "eflags", nf: 1 },
  "FE": { h: "grp4_Eb()", a: "Eb", f: "rw", jit: "step", g: { "0-1": { jit: "unary", nf: 1 } } },
  "FF": {
    h: "grp5_Ev($s)",
    a: "Ev",
    f: "-",
    jit: "step",
    g: {
      "0-1": { f: "rw", jit: "unary", nf: 1, o16: 1 },
      "2": { jit: "branch", end: "call" },
      "3": { end: "far" },
      "4": { jit: "branch", end: "jmp" },
      "5": { end: "far" },
      "6": { jit: "unary" },
    },
  },

  // ---- two-byte map (0F xx) -----------------------------------------------------------------
  "0F 00": { h: "grp6()", a: "Ew", f: "rw", end: "mode" },
  "0F 01": { h: "grp7()", a: "Ms", f: "-", end: "mode" },
  "0F 02": { h: "lar($s)", a: "Gv,Ew", f: "rw" },
  "0F 03": { h: "lsl($s)", a: "Gv,Ew", f: "rw" },
  "0F 06": { h: "clts()", f: "-", end: "mode" },
  "0F 08": { h: "invd()", f: "-" },
  "0F 09": { h: "wbinvd()", f: "-" },
  "0F 0B": { h: "ud2()", f: "-" },
  "0F 18": { h: "nop_Ev()", a: "Ev", f: "-", jit: "step" }, // /0-3 PREFETCHNTA, PREFETCHT0-T2 (hints, never fault)
  "0F 19-1E": { h: "nop_Ev()", a: "Ev", f: "-" },
  "0F 1F": { h: "nop_Ev()", a: "Ev", f: "-", jit: "step" },
  "0F 20": { h: "mov_RdCd()", a: "Rd,Cd", f: "-" },
  "0F 21": { h: "mov_RdDd()", a: "Rd,Dd", f: "-" },
  "0F 22": { h: "mov_CdRd()", a: "Cd,Rd", f: "-", end: "mode" },
  "0F 23": { h: "mov_DdRd()", a: "Dd,Rd", f: "-", end: "mode" },
  "0F 30": { h: "wrmsr()", f: "-", jit: "step" },
  "0F 31": { h: "rdtsc()", f: "-", jit: "step" },
  "0F 32": { h: "rdmsr()", f: "-", jit: "step" },
  "0F 33": { h: "rdpmc()", f: "-" },
  "0F 34": { h: "sysenter()", f: "-", end: "far" },
  "0F 35": { h: "sysexit()", f: "-", end: "far" },
  "0F 40-4F": { h: "cmovcc($c, $s)", a: "Gv,Ev", f: "r", jit: "cond" },
  "0F 80-8F": { h: "jcc_Jz($c, $s)", a: "Jz", f: "r", jit: "branch", end: "jcc" },
  "0F 90-9F": { h: "setcc($c)", a: "Eb", f: "r", jit: "cond", nf: 1 },
  "0F A0": { h: "push_sreg(4, $s)", f: "-", jit: "stack" },
  "0F A1": { h: "pop_sreg(4, $s)", f: "-", jit: "step" },
  "0F A2": { h: "cpuid()", f: "-", jit: "step" },
  "0F A3": { h: "bt_EvGv(0, $s)", a: "Ev,Gv", f: "c", jit: "unary", nf: 1, only: "reg" },
  "0F A4": { h: "shld_EvGvIb($s)", a: "Ev,Gv,Ib", f: "w", jit: "shift", nf: 1 },
  "0F A5": { h: "shld_EvGvCL($s)", a: "Ev,Gv,CL", f: "rw", jit: "shift", nf: 1 },
  "0F A8": { h: "push_sreg(5, $s)", f: "-", jit: "stack" },
  "0F A9": { h: "pop_sreg(5, $s)", f: "-", jit: "step" },
  "0F AB": { h: "bt_EvGv(1, $s)", a: "Ev,Gv", f: "c", jit: "step", nf: 1 },
  "0F AC": { h: "shrd_EvGvIb($s)", a: "Ev,Gv,Ib", f: "w", jit: "shift", nf: 1 },
  "0F AD": { h: "shrd_EvGvCL($s)", a: "Ev,Gv,CL", f: "rw", jit: "shift", nf: 1 },
  "0F AF": { h: "imul_GvEv($s)", a: "Gv,Ev", f: "w", jit: "mul", nf: 1 },
  "0F B0": { h: "cmpxchg_EbGb()", a: "Eb,Gb", f: "w", jit: "step", nf: 1 },
  "0F B1": { h: "cmpxchg_EvGv($s)", a: "Ev,Gv", f: "w", jit: "atomic", nf: 1, lock: 1 },
  "0F B2": { h: "lss($s)", a: "Gv,Mp", f: "-", end: "mode" },
  "0F B3": { h: "bt_EvGv(2, $s)", a: "Ev,Gv", f: "c", jit: "step", nf: 1 },
  "0F B4": { h: "lfs($s)", a: "Gv,Mp", f: "-" },
  "0F B5": { h: "lgs($s)", a: "Gv,Mp", f: "-" },
  "0F B6": { h: "movzx_GvEb($s)", a: "Gv,Eb", f: "-", jit: "mov", nf: 1 },
  "0F B7": { h: "movzx_GvEw($s)", a: "Gv,Ew", f: "-", jit: "mov", nf: 1 },
  "0F BA": {
    h: "grp8_EvIb($s)",
    a: "Ev,Ib",
    f: "c",
    jit: "step",
    g: { "4-7": { jit: "unary", nf: 1 } },
  },
  "0F BB": { h: "bt_EvGv(3, $s)", a: "Ev,Gv", f: "c", jit: "step", nf: 1 },
  "0F BC": { h: "bsf($s)", a: "Gv,Ev", f: "rw", jit: "step", nf: 1 },
  "0F BD": { h: "bsr($s)", a: "Gv,Ev", f: "rw", jit: "step", nf: 1 },
  "0F BE": { h: "movsx_GvEb($s)", a: "Gv,Eb", f: "-", jit: "mov", nf: 1 },
  "0F BF": { h: "movsx_GvEw($s)", a: "Gv,Ew", f: "-", jit: "mov", nf: 1 },
  "0F C0": { h: "xadd_EbGb()", a: "Eb,Gb", f: "w", jit: "step", nf: 1 },
  "0F C1": { h: "xadd_EvGv($s)", a: "Ev,Gv", f: "w", jit: "atomic", nf: 1 },
  "0F C7": { h: "grp9()", a: "Mq", f: "rw", jit: "step" },
  "0F C8-CF": { h: "bswap($r, $s)", a: "Zv", f: "-", jit: "mov", nf: 1 },

  // ---- MMX, SSE, SSE2, SSE3: moves, logic, packed integer, state (core-as/sse/) --------------
  // A mandatory prefix selects the instruction: "0F xx" (none), "66 0F xx", "F3 0F xx", "F2 0F xx"
  // (F3/F2 win over 66; a prefix an opcode has no entry for is #UD). The prefix never changes the
  // length: every variant of an opcode has the same ModR/M and immediate (facts.ts checks).
  // Operands: P/N an MMX register (ModR/M reg / r/m), Q an MMX register or m64, V/U an XMM
  // register (reg / r/m), W an XMM register or memory, M memory only; N, U and M #UD in the other
  // ModR/M form. The SSE floating-point instructions have their own section.
  // moves (sse/mov.ts)
  "0F 10": { h: "movups_VW()", a: "Vx,Wx", f: "-", jit: "sse" }, // MOVUPS xmm, xmm/m128
  "66 0F 10": { h: "movups_VW()", a: "Vx,Wx", f: "-", jit: "sse" }, // MOVUPD xmm, xmm/m128
  "F3 0F 10": { h: "movss_VW()", a: "Vx,Wd", f: "-", jit: "sse" }, // MOVSS xmm, xmm/m32
  "F2 0F 10": { h: "movsd_VW()", a: "Vx,Wq", f: "-", jit: "sse" }, // MOVSD xmm, xmm/m64
  "0F 11": { h: "movups_WV()", a: "Wx,Vx", f: "-", jit: "sse" }, // MOVUPS xmm/m128, xmm
  "66 0F 11": { h: "movups_WV()", a: "Wx,Vx", f: "-", jit: "sse" }, // MOVUPD xmm/m128, xmm
  "F3 0F 11": { h: "movss_WV()", a: "Wd,Vx", f: "-", jit: "sse" }, // MOVSS xmm/m32, xmm
  "F2 0F 11": { h: "movsd_WV()", a: "Wq,Vx", f: "-", jit: "sse" }, // MOVSD xmm/m64, xmm
  "0F 12": { h: "movlps_VM(true)", a: "Vq,Wq", f: "-", jit: "step" }, // MOVLPS xmm, m64 / MOVHLPS xmm, xmm
  "66 0F 12": { h: "movlps_VM(false)", a: "Vq,Wq", f: "-", jit: "step" }, // MOVLPD xmm, m64
  "F3 0F 12": { h: "movsldup(0)", a: "Vx,Wx", f: "-", jit: "step" }, // MOVSLDUP xmm, xmm/m128
  "F2 0F 12": { h: "movddup()", a: "Vx,Wq", f: "-", jit: "step" }, // MOVDDUP xmm, xmm/m64
  "0F 13": { h: "movlps_MV()", a: "Mq,Vq", f: "-", jit: "step" }, // MOVLPS m64, xmm
  "66 0F 13": { h: "movlps_MV()", a: "Mq,Vq", f: "-", jit: "step" }, // MOVLPD m64, xmm
  "0F 14": { h: "unpck_ps(0)", a: "Vx,Wx", f: "-", jit: "step" }, // UNPCKLPS xmm, xmm/m128
  "66 0F 14": { h: "unpck_pd(0)", a: "Vx,Wx", f: "-", jit: "step" }, // UNPCKLPD xmm, xmm/m128
  "0F 15": { h: "unpck_ps(1)", a: "Vx,Wx", f: "-", jit: "step" }, // UNPCKHPS xmm, xmm/m128
  "66 0F 15": { h: "unpck_pd(1)", a: "Vx,Wx", f: "-", jit: "step" }, // UNPCKHPD xmm, xmm/m128
  "0F 16": { h: "movhps_VM(true)", a: "Vq,Wq", f: "-", jit: "step" }, // MOVHPS xmm, m64 / MOVLHPS xmm, xmm
  "66 0F 16": { h: "movhps_VM(false)", a: "Vq,Wq", f: "-", jit: "step" }, // MOVHPD xmm, m64
  "F3 0F 16": { h: "movsldup(1)", a: "Vx,Wx", f: "-", jit: "step" }, // MOVSHDUP xmm, xmm/m128
  "0F 17": { h: "movhps_MV()", a: "Mq,Vq", f: "-", jit: "step" }, // MOVHPS m64, xmm
  "66 0F 17": { h: "movhps_MV()", a: "Mq,Vq", f: "-", jit: "step" }, // MOVHPD m64, xmm
  "0F 28": { h: "movaps_VW()", a: "Vx,Wx", f: "-", jit: "sse" }, // MOVAPS xmm, xmm/m128
  "66 0F 28": { h: "movaps_VW()", a: "Vx,Wx", f: "-", jit: "sse" }, // MOVAPD xmm, xmm/m128
  "0F 29": { h: "movaps_WV()", a: "Wx,Vx", f: "-", jit: "sse" }, // MOVAPS xmm/m128, xmm
  "66 0F 29": { h: "movaps_WV()", a: "Wx,Vx", f: "-", jit: "sse" }, // MOVAPD xmm/m128, xmm
  "0F 2B": { h: "movnt_MV()", a: "Mx,Vx", f: "-", jit: "sse" }, // MOVNTPS m128, xmm
  "66 0F 2B": { h: "movnt_MV()", a: "Mx,Vx", f: "-", jit: "sse" }, // MOVNTPD m128, xmm
  "0F 50": { h: "movmskps(0)", a: "Gd,Ux", f: "-", jit: "step" }, // MOVMSKPS r32, xmm
  "66 0F 50": { h: "movmskps(1)", a: "Gd,Ux", f: "-", jit: "step" }, // MOVMSKPD r32, xmm
  // logic on XMM registers (sse/int.ts)
  "0F 54": { h: "sse_op(0x54)", a: "Vx,Wx", f: "-", jit: "sse" }, // ANDPS xmm, xmm/m128
  "66 0F 54": { h: "sse_op(0x54)", a: "Vx,Wx", f: "-", jit: "sse" }, // ANDPD xmm, xmm/m128
  "0F 55": { h: "sse_op(0x55)", a: "Vx,Wx", f: "-", jit: "sse" }, // ANDNPS xmm, xmm/m128
  "66 0F 55": { h: "sse_op(0x55)", a: "Vx,Wx", f: "-", jit: "sse" }, // ANDNPD xmm, xmm/m128
  "0F 56": { h: "sse_op(0x56)", a: "Vx,Wx", f: "-", jit: "sse" }, // ORPS xmm, xmm/m128
  "66 0F 56": { h: "sse_op(0x56)", a: "Vx,Wx", f: "-", jit: "sse" }, // ORPD xmm, xmm/m128
  "0F 57": { h: "sse_op(0x57)", a: "Vx,Wx", f: "-", jit: "sse" }, // XORPS xmm, xmm/m128
  "66 0F 57": { h: "sse_op(0x57)", a: "Vx,Wx", f: "-", jit: "sse" }, // XORPD xmm, xmm/m128
  // MMX and SSE2 integer: "0F xx" on MMX registers, "66 0F xx" the same operation on XMM registers (sse/int.ts,
  // sse/shuffle.ts, sse/mmx.ts)
  "0F 60": { h: "mmx_op(0x60)", a: "Pq,Qq", f: "-", jit: "sse" }, // PUNPCKLBW mm, mm/m64
  "66 0F 60": { h: "sse_op(0x60)", a: "Vx,Wx", f: "-", jit: "sse" }, // PUNPCKLBW xmm, xmm/m128
  "0F 61": { h: "mmx_op(0x61)", a: "Pq,Qq", f: "-", jit: "sse" }, // PUNPCKLWD mm, mm/m64
  "66 0F 61": { h: "sse_op(0x61)", a: "Vx,Wx", f: "-", jit: "sse" }, // PUNPCKLWD xmm, xmm/m128
  "0F 62": { h: "mmx_op(0x62)", a: "Pq,Qq", f: "-", jit: "sse" }, // PUNPCKLDQ mm, mm/m64
  "66 0F 62": { h: "sse_op(0x62)", a: "Vx,Wx", f: "-", jit: "sse" }, // PUNPCKLDQ xmm, xmm/m128
  "0F 63": { h: "mmx_op(0x63)", a: "Pq,Qq", f: "-", jit: "sse" }, // PACKSSWB mm, mm/m64
  "66 0F 63": { h: "sse_op(0x63)", a: "Vx,Wx", f: "-", jit: "sse" }, // PACKSSWB xmm, xmm/m128
  "0F 64": { h: "mmx_op(0x64)", a: "Pq,Qq", f: "-", jit: "sse" }, // PCMPGTB mm, mm/m64
  "66 0F 64": { h: "sse_op(0x64)", a: "Vx,Wx", f: "-", jit: "sse" }, // PCMPGTB xmm, xmm/m128
  "0F 65": { h: "mmx_op(0x65)", a: "Pq,Qq", f: "-", jit: "sse" }, // PCMPGTW mm, mm/m64
  "66 0F 65": { h: "sse_op(0x65)", a: "Vx,Wx", f: "-", jit: "sse" }, // PCMPGTW xmm, xmm/m128
  "0F 66": { h: "mmx_op(0x66)", a: "Pq,Qq", f: "-", jit: "sse" }, // PCMPGTD mm, mm/m64
  "66 0F 66": { h: "sse_op(0x66)", a: "Vx,Wx", f: "-", jit: "sse" }, // PCMPGTD xmm, xmm/m128
  "0F 67": { h: "mmx_op(0x67)", a: "Pq,Qq", f: "-", jit: "sse" }, // PACKUSWB mm, mm/m64
  "66 0F 67": { h: "sse_op(0x67)", a: "Vx,Wx", f: "-", jit: "sse" }, // PACKUSWB xmm, xmm/m128
  "0F 68": { h: "mmx_op(0x68)", a: "Pq,Qq", f: "-", jit: "sse" }, // PUNPCKHBW mm, mm/m64
  "66 0F 68": { h: "sse_op(0x68)", a: "Vx,Wx", f: "-", jit: "sse" }, // PUNPCKHBW xmm, xmm/m128
  "0F 69": { h: "mmx_op(0x69)", a: "Pq,Qq", f: "-", jit: "sse" }, // PUNPCKHWD mm, mm/m64
  "66 0F 69": { h: "sse_op(0x69)", a: "Vx,Wx", f: "-", jit: "sse" }, // PUNPCKHWD xmm, xmm/m128
  "0F 6A": { h: "mmx_op(0x6a)", a: "Pq,Qq", f: "-", jit: "sse" }, // PUNPCKHDQ mm, mm/m64
  "66 0F 6A": { h: "sse_op(0x6a)", a: "Vx,Wx", f: "-", jit: "sse" }, // PUNPCKHDQ xmm, xmm/m128
  "0F 6B": { h: "mmx_op(0x6b)", a: "Pq,Qq", f: "-", jit: "sse" }, // PACKSSDW mm, mm/m64
  "66 0F 6B": { h: "sse_op(0x6b)", a: "Vx,Wx", f: "-", jit: "sse" }, // PACKSSDW xmm, xmm/m128
  "66 0F 6C": { h: "sse_op(0x6c)", a: "Vx,Wx", f: "-", jit: "sse" }, // PUNPCKLQDQ xmm, xmm/m128
  "66 0F 6D": { h: "sse_op(0x6d)", a: "Vx,Wx", f: "-", jit: "sse" }, // PUNPCKHQDQ xmm, xmm/m128
  "0F 6E": { h: "movd_PE()", a: "Pq,Ed", f: "-", jit: "sse" }, // MOVD mm, r/m32
  "66 0F 6E": { h: "movd_VE()", a: "Vx,Ed", f: "-", jit: "sse" }, // MOVD xmm, r/m32
  "0F 6F": { h: "movq_PQ()", a: "Pq,Qq", f: "-", jit: "sse" }, // MOVQ mm, mm/m64
  "66 0F 6F": { h: "movaps_VW()", a: "Vx,Wx", f: "-", jit: "sse" }, // MOVDQA xmm, xmm/m128
  "F3 0F 6F": { h: "movups_VW()", a: "Vx,Wx", f: "-", jit: "sse" }, // MOVDQU xmm, xmm/m128
  "0F 70": { h: "pshufw()", a: "Pq,Qq,Ib", f: "-", jit: "sse" }, // PSHUFW mm, mm/m64, imm8
  "66 0F 70": { h: "pshufd()", a: "Vx,Wx,Ib", f: "-", jit: "sse" }, // PSHUFD xmm, xmm/m128, imm8
  "F3 0F 70": { h: "pshufhw(4)", a: "Vx,Wx,Ib", f: "-", jit: "sse" }, // PSHUFHW xmm, xmm/m128, imm8
  "F2 0F 70": { h: "pshufhw(0)", a: "Vx,Wx,Ib", f: "-", jit: "sse" }, // PSHUFLW xmm, xmm/m128, imm8
  "0F 71": { h: "mmx_shift_imm(16)", a: "Nq,Ib", f: "-", jit: "sse" }, // PSRLW/PSRAW/PSLLW mm, imm8 (/2 /4 /6)
  "66 0F 71": { h: "sse_shift_imm(16)", a: "Ux,Ib", f: "-", jit: "sse" }, // PSRLW/PSRAW/PSLLW xmm, imm8 (/2 /4 /6)
  "0F 72": { h: "mmx_shift_imm(32)", a: "Nq,Ib", f: "-", jit: "sse" }, // PSRLD/PSRAD/PSLLD mm, imm8 (/2 /4 /6)
  "66 0F 72": { h: "sse_shift_imm(32)", a: "Ux,Ib", f: "-", jit: "sse" }, // PSRLD/PSRAD/PSLLD xmm, imm8 (/2 /4 /6)
  "0F 73": { h: "mmx_shift_imm(64)", a: "Nq,Ib", f: "-", jit: "sse" }, // PSRLQ/PSLLQ mm, imm8 (/2 /6)
  "66 0F 73": { h: "sse_shift_imm(64)", a: "Ux,Ib", f: "-", jit: "sse" }, // PSRLQ/PSRLDQ/PSLLQ/PSLLDQ xmm, imm8 (/2 /3 /6 /7)
  "0F 74": { h: "mmx_op(0x74)", a: "Pq,Qq", f: "-", jit: "sse" }, // PCMPEQB mm, mm/m64
  "66 0F 74": { h: "sse_op(0x74)", a: "Vx,Wx", f: "-", jit: "sse" }, // PCMPEQB xmm, xmm/m128
  "0F 75": { h: "mmx_op(0x75)", a: "Pq,Qq", f: "-", jit: "sse" }, // PCMPEQW mm, mm/m64
  "66 0F 75": { h: "sse_op(0x75)", a: "Vx,Wx", f: "-", jit: "sse" }, // PCMPEQW xmm, xmm/m128
  "0F 76": { h: "mmx_op(0x76)", a: "Pq,Qq", f: "-", jit: "sse" }, // PCMPEQD mm, mm/m64
  "66 0F 76": { h: "sse_op(0x76)", a: "Vx,Wx", f: "-", jit: "sse" }, // PCMPEQD xmm, xmm/m128
  "0F 77": { h: "emms()", f: "-", jit: "step" }, // EMMS
  "0F 7E": { h: "movd_EP()", a: "Ed,Pq", f: "-", jit: "sse" }, // MOVD r/m32, mm
  "66 0F 7E": { h: "movd_EV()", a: "Ed,Vx", f: "-", jit: "sse" }, // MOVD r/m32, xmm
  "F3 0F 7E": { h: "movq_VW()", a: "Vx,Wq", f: "-", jit: "sse" }, // MOVQ xmm, xmm/m64
  "0F 7F": { h: "movq_QP()", a: "Qq,Pq", f: "-", jit: "sse" }, // MOVQ mm/m64, mm
  "66 0F 7F": { h: "movaps_WV()", a: "Wx,Vx", f: "-", jit: "sse" }, // MOVDQA xmm/m128, xmm
  "F3 0F 7F": { h: "movups_WV()", a: "Wx,Vx", f: "-", jit: "sse" }, // MOVDQU xmm/m128, xmm
  "0F C4": { h: "pinsrw(0)", a: "Pq,Ed,Ib", f: "-", jit: "step" }, // PINSRW mm, r32/m16, imm8
  "66 0F C4": { h: "pinsrw(1)", a: "Vx,Ed,Ib", f: "-", jit: "step" }, // PINSRW xmm, r32/m16, imm8
  "0F C5": { h: "pextrw(0)", a: "Gd,Nq,Ib", f: "-", jit: "step" }, // PEXTRW r32, mm, imm8
  "66 0F C5": { h: "pextrw(1)", a: "Gd,Ux,Ib", f: "-", jit: "step" }, // PEXTRW r32, xmm, imm8
  "0F C6": { h: "shufps()", a: "Vx,Wx,Ib", f: "-", jit: "step" }, // SHUFPS xmm, xmm/m128, imm8
  "66 0F C6": { h: "shufpd()", a: "Vx,Wx,Ib", f: "-", jit: "step" }, // SHUFPD xmm, xmm/m128, imm8
  "0F D1": { h: "mmx_op(0xd1)", a: "Pq,Qq", f: "-", jit: "step" }, // PSRLW mm, mm/m64
  "66 0F D1": { h: "sse_op(0xd1)", a: "Vx,Wx", f: "-", jit: "step" }, // PSRLW xmm, xmm/m128
  "0F D2": { h: "mmx_op(0xd2)", a: "Pq,Qq", f: "-", jit: "step" }, // PSRLD mm, mm/m64
  "66 0F D2": { h: "sse_op(0xd2)", a: "Vx,Wx", f: "-", jit: "step" }, // PSRLD xmm, xmm/m128
  "0F D3": { h: "mmx_op(0xd3)", a: "Pq,Qq", f: "-", jit: "step" }, // PSRLQ mm, mm/m64
  "66 0F D3": { h: "sse_op(0xd3)", a: "Vx,Wx", f: "-", jit: "step" }, // PSRLQ xmm, xmm/m128
  "0F D4": { h: "mmx_op(0xd4)", a: "Pq,Qq", f: "-", jit: "sse" }, // PADDQ mm, mm/m64
  "66 0F D4": { h: "sse_op(0xd4)", a: "Vx,Wx", f: "-", jit: "sse" }, // PADDQ xmm, xmm/m128
  "0F D5": { h: "mmx_op(0xd5)", a: "Pq,Qq", f: "-", jit: "sse" }, // PMULLW mm, mm/m64
  "66 0F D5": { h: "sse_op(0xd5)", a: "Vx,Wx", f: "-", jit: "sse" }, // PMULLW xmm, xmm/m128
  "66 0F D6": { h: "movq_WV()", a: "Wq,Vx", f: "-", jit: "sse" }, // MOVQ xmm/m64, xmm
  "F3 0F D6": { h: "movq2dq()", a: "Vx,Nq", f: "-", jit: "sse" }, // MOVQ2DQ xmm, mm
  "F2 0F D6": { h: "movdq2q()", a: "Pq,Ux", f: "-", jit: "sse" }, // MOVDQ2Q mm, xmm
  "0F D7": { h: "pmovmskb(0)", a: "Gd,Nq", f: "-", jit: "sse" }, // PMOVMSKB r32, mm
  "66 0F D7": { h: "pmovmskb(1)", a: "Gd,Ux", f: "-", jit: "sse" }, // PMOVMSKB r32, xmm
  "0F D8": { h: "mmx_op(0xd8)", a: "Pq,Qq", f: "-", jit: "sse" }, // PSUBUSB mm, mm/m64
  "66 0F D8": { h: "sse_op(0xd8)", a: "Vx,Wx", f: "-", jit: "sse" }, // PSUBUSB xmm, xmm/m128
  "0F D9": { h: "mmx_op(0xd9)", a: "Pq,Qq", f: "-", jit: "sse" }, // PSUBUSW mm, mm/m64
  "66 0F D9": { h: "sse_op(0xd9)", a: "Vx,Wx", f: "-", jit: "sse" }, // PSUBUSW xmm, xmm/m128
  "0F DA": { h: "mmx_op(0xda)", a: "Pq,Qq", f: "-", jit: "sse" }, // PMINUB mm, mm/m64
  "66 0F DA": { h: "sse_op(0xda)", a: "Vx,Wx", f: "-", jit: "sse" }, // PMINUB xmm, xmm/m128
  "0F DB": { h: "mmx_op(0xdb)", a: "Pq,Qq", f: "-", jit: "sse" }, // PAND mm, mm/m64
  "66 0F DB": { h: "sse_op(0xdb)", a: "Vx,Wx", f: "-", jit: "sse" }, // PAND xmm, xmm/m128
  "0F DC": { h: "mmx_op(0xdc)", a: "Pq,Qq", f: "-", jit: "sse" }, // PADDUSB mm, mm/m64
  "66 0F DC": { h: "sse_op(0xdc)", a: "Vx,Wx", f: "-", jit: "sse" }, // PADDUSB xmm, xmm/m128
  "0F DD": { h: "mmx_op(0xdd)", a: "Pq,Qq", f: "-", jit: "sse" }, // PADDUSW mm, mm/m64
  "66 0F DD": { h: "sse_op(0xdd)", a: "Vx,Wx", f: "-", jit: "sse" }, // PADDUSW xmm, xmm/m128
  "0F DE": { h: "mmx_op(0xde)", a: "Pq,Qq", f: "-", jit: "sse" }, // PMAXUB mm, mm/m64
  "66 0F DE": { h: "sse_op(0xde)", a: "Vx,Wx", f: "-", jit: "sse" }, // PMAXUB xmm, xmm/m128
  "0F DF": { h: "mmx_op(0xdf)", a: "Pq,Qq", f: "-", jit: "sse" }, // PANDN mm, mm/m64
  "66 0F DF": { h: "sse_op(0xdf)", a: "Vx,Wx", f: "-", jit: "sse" }, // PANDN xmm, xmm/m128
  "0F E0": { h: "mmx_op(0xe0)", a: "Pq,Qq", f: "-", jit: "sse" }, // PAVGB mm, mm/m64
  "66 0F E0": { h: "sse_op(0xe0)", a: "Vx,Wx", f: "-", jit: "sse" }, // PAVGB xmm, xmm/m128
  "0F E1": { h: "mmx_op(0xe1)", a: "Pq,Qq", f: "-", jit: "step" }, // PSRAW mm, mm/m64
  "66 0F E1": { h: "sse_op(0xe1)", a: "Vx,Wx", f: "-", jit: "step" }, // PSRAW xmm, xmm/m128
  "0F E2": { h: "mmx_op(0xe2)", a: "Pq,Qq", f: "-", jit: "step" }, // PSRAD mm, mm/m64
  "66 0F E2": { h: "sse_op(0xe2)", a: "Vx,Wx", f: "-", jit: "step" }, // PSRAD xmm, xmm/m128
  "0F E3": { h: "mmx_op(0xe3)", a: "Pq,Qq", f: "-", jit: "sse" }, // PAVGW mm, mm/m64
  "66 0F E3": { h: "sse_op(0xe3)", a: "Vx,Wx", f: "-", jit: "sse" }, // PAVGW xmm, xmm/m128
  "0F E4": { h: "mmx_op(0xe4)", a: "Pq,Qq", f: "-", jit: "step" }, // PMULHUW mm, mm/m64
  "66 0F E4": { h: "sse_op(0xe4)", a: "Vx,Wx", f: "-", jit: "step" }, // PMULHUW xmm, xmm/m128
  "0F E5": { h: "mmx_op(0xe5)", a: "Pq,Qq", f: "-", jit: "step" }, // PMULHW mm, mm/m64
  "66 0F E5": { h: "sse_op(0xe5)", a: "Vx,Wx", f: "-", jit: "step" }, // PMULHW xmm, xmm/m128
  "0F E7": { h: "movntq()", a: "Mq,Pq", f: "-", jit: "sse" }, // MOVNTQ m64, mm
  "66 0F E7": { h: "movnt_MV()", a: "Mx,Vx", f: "-", jit: "sse" }, // MOVNTDQ m128, xmm
  "0F E8": { h: "mmx_op(0xe8)", a: "Pq,Qq", f: "-", jit: "sse" }, // PSUBSB mm, mm/m64
  "66 0F E8": { h: "sse_op(0xe8)", a: "Vx,Wx", f: "-", jit: "sse" }, // PSUBSB xmm, xmm/m128
  "0F E9": { h: "mmx_op(0xe9)", a: "Pq,Qq", f: "-", jit: "sse" }, // PSUBSW mm, mm/m64
  "66 0F E9": { h: "sse_op(0xe9)", a: "Vx,Wx", f: "-", jit: "sse" }, // PSUBSW xmm, xmm/m128
  "0F EA": { h: "mmx_op(0xea)", a: "Pq,Qq", f: "-", jit: "sse" }, // PMINSW mm, mm/m64
  "66 0F EA": { h: "sse_op(0xea)", a: "Vx,Wx", f: "-", jit: "sse" }, // PMINSW xmm, xmm/m128
  "0F EB": { h: "mmx_op(0xeb)", a: "Pq,Qq", f: "-", jit: "sse" }, // POR mm, mm/m64
  "66 0F EB": { h: "sse_op(0xeb)", a: "Vx,Wx", f: "-", jit: "sse" }, // POR xmm, xmm/m128
  "0F EC": { h: "mmx_op(0xec)", a: "Pq,Qq", f: "-", jit: "sse" }, // PADDSB mm, mm/m64
  "66 0F EC": { h: "sse_op(0xec)", a: "Vx,Wx", f: "-", jit: "sse" }, // PADDSB xmm, xmm/m128
  "0F ED": { h: "mmx_op(0xed)", a: "Pq,Qq", f: "-", jit: "sse" }, // PADDSW mm, mm/m64
  "66 0F ED": { h: "sse_op(0xed)", a: "Vx,Wx", f: "-", jit: "sse" }, // PADDSW xmm, xmm/m128
  "0F EE": { h: "mmx_op(0xee)", a: "Pq,Qq", f: "-", jit: "sse" }, // PMAXSW mm, mm/m64
  "66 0F EE": { h: "sse_op(0xee)", a: "Vx,Wx", f: "-", jit: "sse" }, // PMAXSW xmm, xmm/m128
  "0F EF": { h: "mmx_op(0xef)", a: "Pq,Qq", f: "-", jit: "sse" }, // PXOR mm, mm/m64
  "66 0F EF": { h: "sse_op(0xef)", a: "Vx,Wx", f: "-", jit: "sse" }, // PXOR xmm, xmm/m128
  "F2 0F F0": { h: "lddqu()", a: "Vx,Mx", f: "-", jit: "step" }, // LDDQU xmm, m128
  "0F F1": { h: "mmx_op(0xf1)", a: "Pq,Qq", f: "-", jit: "step" }, // PSLLW mm, mm/m64
  "66 0F F1": { h: "sse_op(0xf1)", a: "Vx,Wx", f: "-", jit: "step" }, // PSLLW xmm, xmm/m128
  "0F F2": { h: "mmx_op(0xf2)", a: "Pq,Qq", f: "-", jit: "step" }, // PSLLD mm, mm/m64
  "66 0F F2": { h: "sse_op(0xf2)", a: "Vx,Wx", f: "-", jit: "step" }, // PSLLD xmm, xmm/m128
  "0F F3": { h: "mmx_op(0xf3)", a: "Pq,Qq", f: "-", jit: "step" }, // PSLLQ mm, mm/m64
  "66 0F F3": { h: "sse_op(0xf3)", a: "Vx,Wx", f: "-", jit: "step" }, // PSLLQ xmm, xmm/m128
  "0F F4": { h: "mmx_op(0xf4)", a: "Pq,Qq", f: "-", jit: "step" }, // PMULUDQ mm, mm/m64
  "66 0F F4": { h: "sse_op(0xf4)", a: "Vx,Wx", f: "-", jit: "step" }, // PMULUDQ xmm, xmm/m128
  "0F F5": { h: "mmx_op(0xf5)", a: "Pq,Qq", f: "-", jit: "step" }, // PMADDWD mm, mm/m64
  "66 0F F5": { h: "sse_op(0xf5)", a: "Vx,Wx", f: "-", jit: "step" }, // PMADDWD xmm, xmm/m128
  "0F F6": { h: "mmx_op(0xf6)", a: "Pq,Qq", f: "-", jit: "step" }, // PSADBW mm, mm/m64
  "66 0F F6": { h: "sse_op(0xf6)", a: "Vx,Wx", f: "-", jit: "step" }, // PSADBW xmm, xmm/m128
  "0F F7": { h: "maskmov(0)", a: "Pq,Nq", f: "-", jit: "step" }, // MASKMOVQ mm, mm (to DS:EDI)
  "66 0F F7": { h: "maskmov(1)", a: "Vx,Ux", f: "-", jit: "step" }, // MASKMOVDQU xmm, xmm (to DS:EDI)
  "0F F8": { h: "mmx_op(0xf8)", a: "Pq,Qq", f: "-", jit: "sse" }, // PSUBB mm, mm/m64
  "66 0F F8": { h: "sse_op(0xf8)", a: "Vx,Wx", f: "-", jit: "sse" }, // PSUBB xmm, xmm/m128
  "0F F9": { h: "mmx_op(0xf9)", a: "Pq,Qq", f: "-", jit: "sse" }, // PSUBW mm, mm/m64
  "66 0F F9": { h: "sse_op(0xf9)", a: "Vx,Wx", f: "-", jit: "sse" }, // PSUBW xmm, xmm/m128
  "0F FA": { h: "mmx_op(0xfa)", a: "Pq,Qq", f: "-", jit: "sse" }, // PSUBD mm, mm/m64
  "66 0F FA": { h: "sse_op(0xfa)", a: "Vx,Wx", f: "-", jit: "sse" }, // PSUBD xmm, xmm/m128
  "0F FB": { h: "mmx_op(0xfb)", a: "Pq,Qq", f: "-", jit: "sse" }, // PSUBQ mm, mm/m64
  "66 0F FB": { h: "sse_op(0xfb)", a: "Vx,Wx", f: "-", jit: "sse" }, // PSUBQ xmm, xmm/m128
  "0F FC": { h: "mmx_op(0xfc)", a: "Pq,Qq", f: "-", jit: "sse" }, // PADDB mm, mm/m64
  "66 0F FC": { h: "sse_op(0xfc)", a: "Vx,Wx", f: "-", jit: "sse" }, // PADDB xmm, xmm/m128
  "0F FD": { h: "mmx_op(0xfd)", a: "Pq,Qq", f: "-", jit: "sse" }, // PADDW mm, mm/m64
  "66 0F FD": { h: "sse_op(0xfd)", a: "Vx,Wx", f: "-", jit: "sse" }, // PADDW xmm, xmm/m128
  "0F FE": { h: "mmx_op(0xfe)", a: "Pq,Qq", f: "-", jit: "sse" }, // PADDD mm, mm/m64
  "66 0F FE": { h: "sse_op(0xfe)", a: "Vx,Wx", f: "-", jit: "sse" }, // PADDD xmm, xmm/m128
  // fences, cache control, FXSAVE/FXRSTOR, LDMXCSR/STMXCSR (sse/cache.ts, sse/fxsave.ts); MOVNTI
  "0F AE": { h: "grp15()", a: "M", f: "-", jit: "step" }, // /0 FXSAVE /1 FXRSTOR /2 LDMXCSR /3 STMXCSR /7 CLFLUSH; mod 3: /5 LFENCE /6 MFENCE /7 SFENCE
  "0F C3": { h: "movnti()", a: "Md,Gd", f: "-", jit: "step" }, // MOVNTI m32, r32
  // ---- SSE/SSE2/SSE3 floating point (core-as/sse/fparith.ts, fpcvt.ts; lanes in fpvec.ts, fpmath.ts) ----
  // fp_pk(op, double) / fp_sc(op, double): op 0 ADD 1 SUB 2 MUL 3 DIV 4 MIN 5 MAX 6 SQRT 7 RCP 8 RSQRT
  // 10 ADDSUB 11 HADD 12 HSUB; fpcvt_x(op): op 6 PD2PS 7 PS2PD 8 SD2SS 9 SS2SD 10 DQ2PS 11 PS2DQ 12 TPS2DQ
  // 13 DQ2PD 14 PD2DQ 15 TPD2DQ (fpvec.ts CV_*)
  "0F 2A": { h: "fpcvt_pi2ps()", a: "Vx,Qq", f: "-", jit: "sse" }, // CVTPI2PS xmm, mm/m64
  "66 0F 2A": { h: "fpcvt_pi2pd()", a: "Vx,Qq", f: "-", jit: "sse" }, // CVTPI2PD xmm, mm/m64
  "F3 0F 2A": { h: "fpcvt_si2s(false)", a: "Vx,Ed", f: "-", jit: "sse" }, // CVTSI2SS xmm, r/m32
  "F2 0F 2A": { h: "fpcvt_si2s(true)", a: "Vx,Ed", f: "-", jit: "sse" }, // CVTSI2SD xmm, r/m32
  "0F 2C": { h: "fpcvt_p2pi(false, true)", a: "Pq,Wq", f: "-", jit: "sse" }, // CVTTPS2PI mm, xmm/m64
  "66 0F 2C": { h: "fpcvt_p2pi(true, true)", a: "Pq,Wx", f: "-", jit: "sse" }, // CVTTPD2PI mm, xmm/m128
  "F3 0F 2C": { h: "fpcvt_s2si(false, true)", a: "Gd,Wd", f: "-", jit: "sse" }, // CVTTSS2SI r32, xmm/m32
  "F2 0F 2C": { h: "fpcvt_s2si(true, true)", a: "Gd,Wq", f: "-", jit: "sse" }, // CVTTSD2SI r32, xmm/m64
  "0F 2D": { h: "fpcvt_p2pi(false, false)", a: "Pq,Wq", f: "-", jit: "step" }, // CVTPS2PI mm, xmm/m64
  "66 0F 2D": { h: "fpcvt_p2pi(true, false)", a: "Pq,Wx", f: "-", jit: "step" }, // CVTPD2PI mm, xmm/m128
  "F3 0F 2D": { h: "fpcvt_s2si(false, false)", a: "Gd,Wd", f: "-", jit: "step" }, // CVTSS2SI r32, xmm/m32
  "F2 0F 2D": { h: "fpcvt_s2si(true, false)", a: "Gd,Wq", f: "-", jit: "step" }, // CVTSD2SI r32, xmm/m64
  "0F 2E": { h: "fp_comi(false, true)", a: "Vx,Wd", f: "w", jit: "sse" }, // UCOMISS xmm, xmm/m32
  "66 0F 2E": { h: "fp_comi(true, true)", a: "Vx,Wq", f: "w", jit: "sse" }, // UCOMISD xmm, xmm/m64
  "0F 2F": { h: "fp_comi(false, false)", a: "Vx,Wd", f: "w", jit: "sse" }, // COMISS xmm, xmm/m32
  "66 0F 2F": { h: "fp_comi(true, false)", a: "Vx,Wq", f: "w", jit: "sse" }, // COMISD xmm, xmm/m64
  "0F 51": { h: "fp_pk(6, false)", a: "Vx,Wx", f: "-", jit: "sse" }, // SQRTPS xmm, xmm/m128
  "66 0F 51": { h: "fp_pk(6, true)", a: "Vx,Wx", f: "-", jit: "sse" }, // SQRTPD xmm, xmm/m128
  "F3 0F 51": { h: "fp_sc(6, false)", a: "Vx,Wd", f: "-", jit: "sse" }, // SQRTSS xmm, xmm/m32
  "F2 0F 51": { h: "fp_sc(6, true)", a: "Vx,Wq", f: "-", jit: "sse" }, // SQRTSD xmm, xmm/m64
  "0F 52": { h: "fp_pk(8, false)", a: "Vx,Wx", f: "-", jit: "step" }, // RSQRTPS xmm, xmm/m128
  "F3 0F 52": { h: "fp_sc(8, false)", a: "Vx,Wd", f: "-", jit: "step" }, // RSQRTSS xmm, xmm/m32
  "0F 53": { h: "fp_pk(7, false)", a: "Vx,Wx", f: "-", jit: "step" }, // RCPPS xmm, xmm/m128
  "F3 0F 53": { h: "fp_sc(7, false)", a: "Vx,Wd", f: "-", jit: "step" }, // RCPSS xmm, xmm/m32
  "0F 58": { h: "fp_pk(0, false)", a: "Vx,Wx", f: "-", jit: "sse" }, // ADDPS xmm, xmm/m128
  "66 0F 58": { h: "fp_pk(0, true)", a: "Vx,Wx", f: "-", jit: "sse" }, // ADDPD xmm, xmm/m128
  "F3 0F 58": { h: "fp_sc(0, false)", a: "Vx,Wd", f: "-", jit: "sse" }, // ADDSS xmm, xmm/m32
  "F2 0F 58": { h: "fp_sc(0, true)", a: "Vx,Wq", f: "-", jit: "sse" }, // ADDSD xmm, xmm/m64
  "0F 59": { h: "fp_pk(2, false)", a: "Vx,Wx", f: "-", jit: "sse" }, // MULPS xmm, xmm/m128
  "66 0F 59": { h: "fp_pk(2, true)", a: "Vx,Wx", f: "-", jit: "sse" }, // MULPD xmm, xmm/m128
  "F3 0F 59": { h: "fp_sc(2, false)", a: "Vx,Wd", f: "-", jit: "sse" }, // MULSS xmm, xmm/m32
  "F2 0F 59": { h: "fp_sc(2, true)", a: "Vx,Wq", f: "-", jit: "sse" }, // MULSD xmm, xmm/m64
  "0F 5A": { h: "fpcvt_x(7)", a: "Vx,Wq", f: "-", jit: "step" }, // CVTPS2PD xmm, xmm/m64
  "66 0F 5A": { h: "fpcvt_x(6)", a: "Vx,Wx", f: "-", jit: "step" }, // CVTPD2PS xmm, xmm/m128
  "F3 0F 5A": { h: "fpcvt_x(9)", a: "Vx,Wd", f: "-", jit: "step" }, // CVTSS2SD xmm, xmm/m32
  "F2 0F 5A": { h: "fpcvt_x(8)", a: "Vx,Wq", f: "-", jit: "step" }, // CVTSD2SS xmm, xmm/m64
  "0F 5B": { h: "fpcvt_x(10)", a: "Vx,Wx", f: "-", jit: "step" }, // CVTDQ2PS xmm, xmm/m128
  "66 0F 5B": { h: "fpcvt_x(11)", a: "Vx,Wx", f: "-", jit: "step" }, // CVTPS2DQ xmm, xmm/m128
  "F3 0F 5B": { h: "fpcvt_x(12)", a: "Vx,Wx", f: "-", jit: "step" }, // CVTTPS2DQ xmm, xmm/m128
  "0F 5C": { h: "fp_pk(1, false)", a: "Vx,Wx", f: "-", jit: "sse" }, // SUBPS xmm, xmm/m128
  "66 0F 5C": { h: "fp_pk(1, true)", a: "Vx,Wx", f: "-", jit: "sse" }, // SUBPD xmm, xmm/m128
  "F3 0F 5C": { h: "fp_sc(1, false)", a: "Vx,Wd", f: "-", jit: "sse" }, // SUBSS xmm, xmm/m32
  "F2 0F 5C": { h: "fp_sc(1, true)", a: "Vx,Wq", f: "-", jit: "sse" }, // SUBSD xmm, xmm/m64
  "0F 5D": { h: "fp_pk(4, false)", a: "Vx,Wx", f: "-", jit: "step" }, // MINPS xmm, xmm/m128
  "66 0F 5D": { h: "fp_pk(4, true)", a: "Vx,Wx", f: "-", jit: "step" }, // MINPD xmm, xmm/m128
  "F3 0F 5D": { h: "fp_sc(4, false)", a: "Vx,Wd", f: "-", jit: "step" }, // MINSS xmm, xmm/m32
  "F2 0F 5D": { h: "fp_sc(4, true)", a: "Vx,Wq", f: "-", jit: "step" }, // MINSD xmm, xmm/m64
  "0F 5E": { h: "fp_pk(3, false)", a: "Vx,Wx", f: "-", jit: "sse" }, // DIVPS xmm, xmm/m128
  "66 0F 5E": { h: "fp_pk(3, true)", a: "Vx,Wx", f: "-", jit: "sse" }, // DIVPD xmm, xmm/m128
  "F3 0F 5E": { h: "fp_sc(3, false)", a: "Vx,Wd", f: "-", jit: "sse" }, // DIVSS xmm, xmm/m32
  "F2 0F 5E": { h: "fp_sc(3, true)", a: "Vx,Wq", f: "-", jit: "sse" }, // DIVSD xmm, xmm/m64
  "0F 5F": { h: "fp_pk(5, false)", a: "Vx,Wx", f: "-", jit: "step" }, // MAXPS xmm, xmm/m128
  "66 0F 5F": { h: "fp_pk(5, true)", a: "Vx,Wx", f: "-", jit: "step" }, // MAXPD xmm, xmm/m128
  "F3 0F 5F": { h: "fp_sc(5, false)", a: "Vx,Wd", f: "-", jit: "step" }, // MAXSS xmm, xmm/m32
  "F2 0F 5F": { h: "fp_sc(5, true)", a: "Vx,Wq", f: "-", jit: "step" }, // MAXSD xmm, xmm/m64
  "66 0F 7C": { h: "fp_pk(11, true)", a: "Vx,Wx", f: "-", jit: "step" }, // HADDPD xmm, xmm/m128
  "F2 0F 7C": { h: "fp_pk(11, false)", a: "Vx,Wx", f: "-", jit: "step" }, // HADDPS xmm, xmm/m128
  "66 0F 7D": { h: "fp_pk(12, true)", a: "Vx,Wx", f: "-", jit: "step" }, // HSUBPD xmm, xmm/m128
  "F2 0F 7D": { h: "fp_pk(12, false)", a: "Vx,Wx", f: "-", jit: "step" }, // HSUBPS xmm, xmm/m128
  "0F C2": { h: "fp_cmp(false, false)", a: "Vx,Wx,Ib", f: "-", jit: "step" }, // CMPPS xmm, xmm/m128, imm8
  "66 0F C2": { h: "fp_cmp(true, false)", a: "Vx,Wx,Ib", f: "-", jit: "step" }, // CMPPD xmm, xmm/m128, imm8
  "F3 0F C2": { h: "fp_cmp(false, true)", a: "Vx,Wd,Ib", f: "-", jit: "step" }, // CMPSS xmm, xmm/m32, imm8
  "F2 0F C2": { h: "fp_cmp(true, true)", a: "Vx,Wq,Ib", f: "-", jit: "step" }, // CMPSD xmm, xmm/m64, imm8
  "66 0F D0": { h: "fp_pk(10, true)", a: "Vx,Wx", f: "-", jit: "step" }, // ADDSUBPD xmm, xmm/m128
  "F2 0F D0": { h: "fp_pk(10, false)", a: "Vx,Wx", f: "-", jit: "step" }, // ADDSUBPS xmm, xmm/m128
  "F3 0F E6": { h: "fpcvt_x(13)", a: "Vx,Wq", f: "-", jit: "step" }, // CVTDQ2PD xmm, xmm/m64
  "66 0F E6": { h: "fpcvt_x(15)", a: "Vx,Wx", f: "-", jit: "step" }, // CVTTPD2DQ xmm, xmm/m128
  "F2 0F E6": { h: "fpcvt_x(14)", a: "Vx,Wx", f: "-", jit: "step" }, // CVTPD2DQ xmm, xmm/m128
};
