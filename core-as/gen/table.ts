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
//        "stack" "shift" "unary" "cond" "mul" "x87" "atomic" "branch"), which may still decline
//        a form and hand it to the interpreter; "step": the interpreter's handler runs it in place
//        inside the block; no `jit`: not compiled, the block ends before it.
//   end  it changes control flow or the mode a block was compiled for: "jcc" (conditional: ends
//        a block unless emitted inline), "jmp", "call", "ret" (near), "far" (far transfers,
//        interrupts), "mode" (CS/DS/ES/SS, descriptor tables, control registers). (What only sets
//        the attention word, such as POPF, STI or HLT, is stepped: the block leaves after it when
//        it did. FS and GS are read where a block uses them.)
//   nf   it cannot fault except through a memory operand (register forms never fault).
//   o16  its emitter also compiles the 66-prefixed (16-bit) form.
//   lock its emitter also compiles the LOCK-prefixed form.
//   only "reg": compiled inline only with a register r/m operand.
//   g    per ModR/M /reg ("0", "2-3"...): fields that differ from the entry's for those /reg.
export type Flags = "w" | "-" | "c" | "co" | "r" | "rw";
export type Emit = "alu" | "mov" | "stack" | "shift" | "unary" | "cond" | "mul" | "x87" | "atomic" | "branch" | "step";
export type End = "jcc" | "jmp" | "call" | "ret" | "far" | "mode";
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
const GRP2: Record<string, Facts> = { "0-1": { f: "co" }, "2-3": { f: "rw" } };
const GRP2_JIT: Record<string, Facts> = { "0-1": { f: "co" }, "2-3": { f: "rw", jit: "step" } };

export const TABLE: Record<string, Op> = {
  // ---- one-byte map -------------------------------------------------------------------------
  "00": { h: "alu_EbGb(0)", a: "Eb,Gb", f: "w", jit: "alu", nf: 1 },
  "01": { h: "alu_EvGv(0, $s)", a: "Ev,Gv", f: "w", jit: "alu", nf: 1 },
  "02": { h: "alu_GbEb(0)", a: "Gb,Eb", f: "w", jit: "alu", nf: 1 },
  "03": { h: "alu_GvEv(0, $s)", a: "Gv,Ev", f: "w", jit: "alu", nf: 1 },
  "04": { h: "alu_ALIb(0)", a: "AL,Ib", f: "w", jit: "alu", nf: 1 },
  "05": { h: "alu_eAXIz(0, $s)", a: "eAX,Iz", f: "w", jit: "alu", nf: 1 },
  "06": { h: "push_sreg(0, $s)", f: "-" },
  "07": { h: "pop_sreg(0, $s)", f: "-", end: "mode" },
  "08": { h: "alu_EbGb(1)", a: "Eb,Gb", f: "w", jit: "alu", nf: 1 },
  "09": { h: "alu_EvGv(1, $s)", a: "Ev,Gv", f: "w", jit: "alu", nf: 1 },
  "0A": { h: "alu_GbEb(1)", a: "Gb,Eb", f: "w", jit: "alu", nf: 1 },
  "0B": { h: "alu_GvEv(1, $s)", a: "Gv,Ev", f: "w", jit: "alu", nf: 1 },
  "0C": { h: "alu_ALIb(1)", a: "AL,Ib", f: "w", jit: "alu", nf: 1 },
  "0D": { h: "alu_eAXIz(1, $s)", a: "eAX,Iz", f: "w", jit: "alu", nf: 1 },
  "0E": { h: "push_sreg(1, $s)", f: "-" },
  "0F": { h: "twobyte()" },
  "10": { h: "alu_EbGb(2)", a: "Eb,Gb", f: "rw", jit: "alu", nf: 1 },
  "11": { h: "alu_EvGv(2, $s)", a: "Ev,Gv", f: "rw", jit: "alu", nf: 1 },
  "12": { h: "alu_GbEb(2)", a: "Gb,Eb", f: "rw", jit: "alu", nf: 1 },
  "13": { h: "alu_GvEv(2, $s)", a: "Gv,Ev", f: "rw", jit: "alu", nf: 1 },
  "14": { h: "alu_ALIb(2)", a: "AL,Ib", f: "rw", jit: "alu", nf: 1 },
  "15": { h: "alu_eAXIz(2, $s)", a: "eAX,Iz", f: "rw", jit: "alu", nf: 1 },
  "16": { h: "push_sreg(2, $s)", f: "-" },
  "17": { h: "pop_sreg(2, $s)", f: "-", end: "mode" },
  "18": { h: "alu_EbGb(3)", a: "Eb,Gb", f: "rw", jit: "alu", nf: 1 },
  "19": { h: "alu_EvGv(3, $s)", a: "Ev,Gv", f: "rw", jit: "alu", nf: 1 },
  "1A": { h: "alu_GbEb(3)", a: "Gb,Eb", f: "rw", jit: "alu", nf: 1 },
  "1B": { h: "alu_GvEv(3, $s)", a: "Gv,Ev", f: "rw", jit: "alu", nf: 1 },
  "1C": { h: "alu_ALIb(3)", a: "AL,Ib", f: "rw", jit: "alu", nf: 1 },
  "1D": { h: "alu_eAXIz(3, $s)", a: "eAX,Iz", f: "rw", jit: "alu", nf: 1 },
  "1E": { h: "push_sreg(3, $s)", f: "-" },
  "1F": { h: "pop_sreg(3, $s)", f: "-", end: "mode" },
  "20": { h: "alu_EbGb(4)", a: "Eb,Gb", f: "w", jit: "alu", nf: 1 },
  "21": { h: "alu_EvGv(4, $s)", a: "Ev,Gv", f: "w", jit: "alu", nf: 1 },
  "22": { h: "alu_GbEb(4)", a: "Gb,Eb", f: "w", jit: "alu", nf: 1 },
  "23": { h: "alu_GvEv(4, $s)", a: "Gv,Ev", f: "w", jit: "alu", nf: 1 },
  "24": { h: "alu_ALIb(4)", a: "AL,Ib", f: "w", jit: "alu", nf: 1 },
  "25": { h: "alu_eAXIz(4, $s)", a: "eAX,Iz", f: "w", jit: "alu", nf: 1 },
  "26": { h: "pfx_seg(0)" },
  "27": { h: "daa()", f: "rw", jit: "step", nf: 1 },
  "28": { h: "alu_EbGb(5)", a: "Eb,Gb", f: "w", jit: "alu", nf: 1 },
  "29": { h: "alu_EvGv(5, $s)", a: "Ev,Gv", f: "w", jit: "alu", nf: 1 },
  "2A": { h: "alu_GbEb(5)", a: "Gb,Eb", f: "w", jit: "alu", nf: 1 },
  "2B": { h: "alu_GvEv(5, $s)", a: "Gv,Ev", f: "w", jit: "alu", nf: 1 },
  "2C": { h: "alu_ALIb(5)", a: "AL,Ib", f: "w", jit: "alu", nf: 1 },
  "2D": { h: "alu_eAXIz(5, $s)", a: "eAX,Iz", f: "w", jit: "alu", nf: 1 },
  "2E": { h: "pfx_seg(1)" },
  "2F": { h: "das()", f: "rw", jit: "step", nf: 1 },
  "30": { h: "alu_EbGb(6)", a: "Eb,Gb", f: "w", jit: "alu", nf: 1 },
  "31": { h: "alu_EvGv(6, $s)", a: "Ev,Gv", f: "w", jit: "alu", nf: 1 },
  "32": { h: "alu_GbEb(6)", a: "Gb,Eb", f: "w", jit: "alu", nf: 1 },
  "33": { h: "alu_GvEv(6, $s)", a: "Gv,Ev", f: "w", jit: "alu", nf: 1 },
  "34": { h: "alu_ALIb(6)", a: "AL,Ib", f: "w", jit: "alu", nf: 1 },
  "35": { h: "alu_eAXIz(6, $s)", a: "eAX,Iz", f: "w", jit: "alu", nf: 1 },
  "36": { h: "pfx_seg(2)" },
  "37": { h: "aaa()", f: "rw", jit: "step", nf: 1 },
  "38": { h: "alu_EbGb(7)", a: "Eb,Gb", f: "w", jit: "alu", nf: 1 },
  "39": { h: "alu_EvGv(7, $s)", a: "Ev,Gv", f: "w", jit: "alu", nf: 1 },
  "3A": { h: "alu_GbEb(7)", a: "Gb,Eb", f: "w", jit: "alu", nf: 1 },
  "3B": { h: "alu_GvEv(7, $s)", a: "Gv,Ev", f: "w", jit: "alu", nf: 1 },
  "3C": { h: "alu_ALIb(7)", a: "AL,Ib", f: "w", jit: "alu", nf: 1 },
  "3D": { h: "alu_eAXIz(7, $s)", a: "eAX,Iz", f: "w", jit: "alu", nf: 1 },
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
  "81": { h: "grp1_EvIz($s)", a: "Ev,Iz", f: "w", jit: "alu", nf: 1, g: GRP1 },
  "82": { h: "grp1_EbIb()", a: "Eb,Ib", f: "w", jit: "step", nf: 1, g: GRP1 },
  "83": { h: "grp1_EvIb($s)", a: "Ev,Ibs", f: "w", jit: "alu", nf: 1, g: GRP1 },
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
  "8E": { h: "mov_SwEw()", a: "Sw,Ew", f: "-", end: "mode" },
  "8F": { h: "pop_Ev($s)", a: "Ev", f: "-", jit: "step" },
  "90": { h: "nop()", f: "-", jit: "mov", nf: 1 },
  "91-97": { h: "xchg_Zv($r, $s)", a: "Zv,eAX", f: "-", jit: "mov", nf: 1 },
  "98": { h: "cbw($s)", f: "-", jit: "mov", nf: 1 },
  "99": { h: "cwd($s)", f: "-", jit: "mov", nf: 1 },
  "9A": { h: "call_far_Ap($s)", a: "Ap", f: "-", end: "far" },
  "9B": { h: "fwait()", f: "-", jit: "step" },
  "9C": { h: "pushf($s)", f: "r", jit: "step" },
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
  "A9": { h: "test_eAXIz($s)", a: "eAX,Iz", f: "w", jit: "alu", nf: 1 },
  "AA": { h: "stos(1)", a: "Yb,AL", f: "-", jit: "step" },
  "AB": { h: "stos($s)", a: "Yv,eAX", f: "-", jit: "step" },
  "AC": { h: "lods(1)", a: "AL,Xb", f: "-", jit: "step" },
  "AD": { h: "lods($s)", a: "eAX,Xv", f: "-", jit: "step" },
  "AE": { h: "scas(1)", a: "AL,Yb", f: "w", jit: "step" },
  "AF": { h: "scas($s)", a: "eAX,Yv", f: "w", jit: "step" },
  "B0-B7": { h: "mov_ZbIb($r)", a: "Zb,Ib", f: "-", jit: "mov", nf: 1 },
  "B8-BF": { h: "mov_ZvIv($r, $s)", a: "Zv,Iv", f: "-", jit: "mov", nf: 1 },
  "C0": { h: "grp2_EbIb()", a: "Eb,Ib", f: "w", jit: "step", nf: 1, g: GRP2 },
  "C1": { h: "grp2_EvIb($s)", a: "Ev,Ib", f: "w", jit: "shift", nf: 1, g: GRP2_JIT },
  "C2": { h: "ret_Iw($s)", a: "Iw", f: "-", jit: "step", end: "ret" },
  "C3": { h: "ret($s)", f: "-", jit: "branch", end: "ret" },
  "C4": { h: "les($s)", a: "Gv,Mp", f: "-", end: "mode" },
  "C5": { h: "lds($s)", a: "Gv,Mp", f: "-", end: "mode" },
  "C6": { h: "mov_EbIb()", a: "Eb,Ib", f: "-", jit: "step", g: { "0": { jit: "mov", nf: 1 } } },
  "C7": { h: "mov_EvIz($s)", a: "Ev,Iz", f: "-", jit: "step", g: { "0": { jit: "mov", nf: 1, o16: 1 } } },
  "C8": { h: "enter($s)", a: "Iw,Ib", f: "-" },
  "C9": { h: "leave($s)", f: "-", jit: "step" },
  "CA": { h: "retf_Iw($s)", a: "Iw", f: "-", end: "far" },
  "CB": { h: "retf($s)", f: "-", end: "far" },
  "CC": { h: "int3()", f: "r", end: "far" },
  "CD": { h: "int_Ib()", a: "Ib", f: "r", end: "far" },
  "CE": { h: "into()", f: "r", end: "far" },
  "CF": { h: "iret($s)", f: "w", end: "far" },
  "D0": { h: "grp2_Eb1()", a: "Eb,1", f: "w", jit: "step", nf: 1, g: GRP2 },
  "D1": { h: "grp2_Ev1($s)", a: "Ev,1", f: "w", jit: "shift", nf: 1, g: GRP2_JIT },
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
      "6-7": { f: "-" },
    },
  },
  "F8": { h: "clc()", f: "c", jit: "step", nf: 1 },
  "F9": { h: "stc()", f: "c", jit: "step", nf: 1 },
  "FA": { h: "cli()", f: "-", jit: "step" },
  "FB": { h: "sti()", f: "-", jit: "step" },
  "FC": { h: "cld()", f: "-", jit: "step", nf: 1 },
  "FD": { h: "std()", f: "-", jit: "step", nf: 1 },
  "FE": { h: "grp4_Eb()", a: "Eb", f: "rw", jit: "step", g: { "0-1": { nf: 1 } } },
  "FF": {
    h: "grp5_Ev($s)",
    a: "Ev",
    f: "-",
    jit: "step",
    g: {
      "0-1": { f: "rw", jit: "unary", nf: 1 },
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
  "0F 18-1E": { h: "nop_Ev()", a: "Ev", f: "-" },
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
  "0F A0": { h: "push_sreg(4, $s)", f: "-", jit: "step" },
  "0F A1": { h: "pop_sreg(4, $s)", f: "-", jit: "step" },
  "0F A2": { h: "cpuid()", f: "-", jit: "step" },
  "0F A3": { h: "bt_EvGv(0, $s)", a: "Ev,Gv", f: "c", jit: "unary", nf: 1, only: "reg" },
  "0F A4": { h: "shld_EvGvIb($s)", a: "Ev,Gv,Ib", f: "w", jit: "step", nf: 1 },
  "0F A5": { h: "shld_EvGvCL($s)", a: "Ev,Gv,CL", f: "rw", jit: "step", nf: 1 },
  "0F A8": { h: "push_sreg(5, $s)", f: "-", jit: "step" },
  "0F A9": { h: "pop_sreg(5, $s)", f: "-", jit: "step" },
  "0F AB": { h: "bt_EvGv(1, $s)", a: "Ev,Gv", f: "c", jit: "step", nf: 1 },
  "0F AC": { h: "shrd_EvGvIb($s)", a: "Ev,Gv,Ib", f: "w", jit: "step", nf: 1 },
  "0F AD": { h: "shrd_EvGvCL($s)", a: "Ev,Gv,CL", f: "rw", jit: "step", nf: 1 },
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
    g: { "4": { jit: "unary", nf: 1 }, "5-7": { nf: 1 } },
  },
  "0F BB": { h: "bt_EvGv(3, $s)", a: "Ev,Gv", f: "c", jit: "step", nf: 1 },
  "0F BC": { h: "bsf($s)", a: "Gv,Ev", f: "rw", jit: "step", nf: 1 },
  "0F BD": { h: "bsr($s)", a: "Gv,Ev", f: "rw", jit: "step", nf: 1 },
  "0F BE": { h: "movsx_GvEb($s)", a: "Gv,Eb", f: "-", jit: "mov", nf: 1 },
  "0F BF": { h: "movsx_GvEw($s)", a: "Gv,Ew", f: "-", jit: "mov", nf: 1 },
  "0F C0": { h: "xadd_EbGb()", a: "Eb,Gb", f: "w", jit: "step", nf: 1 },
  "0F C1": { h: "xadd_EvGv($s)", a: "Ev,Gv", f: "w", jit: "step", nf: 1 },
  "0F C7": { h: "grp9()", a: "Mq", f: "rw", jit: "step" },
  "0F C8-CF": { h: "bswap($r, $s)", a: "Zv", f: "-", jit: "mov", nf: 1 },
};
