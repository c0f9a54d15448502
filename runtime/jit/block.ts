// One compiled block: the emitting context the instruction groups (runtime/jit/ops/*.ts) write
// into, and the module around it. A block is straight-line 32-bit code from one entry address to
// the first branch, page end, or instruction that changes the mode; each instruction is either
// emitted inline or handed to the interpreter (core-as `jitStep`) in place.
import * as L from "../../core-as/layout.ts";
import { Code, type FuncType, I32, type Import, OneFunctionModule } from "./wasm.ts";
import type { Insn } from "./decode.ts";

// lazy-flag kinds (core-as/flags.ts)
export const LF_ADD = 1 << 2;
export const LF_ADC = 2 << 2;
export const LF_SUB = 3 << 2;
export const LF_SBB = 4 << 2;
export const LF_INC = 5 << 2;
export const LF_DEC = 6 << 2;
export const LF_CO = 7 << 2;
// not a core kind: ROL/ROR set CF (local a) and OF (local b) and keep the other flags
export const ROT = -1;
// not a core kind either: BT and friends set CF (local a) alone
export const CF1 = -2;
export const szi = (size: number) => size >> 1;

// what the block knows about the lazy flags after the last instruction it emitted inline
export interface KnownFlags {
  kind: number; // LF_* without size
  kindLocal?: number; // local holding the whole LF_OP word when the kind is known only at run time
  size: number;
  res: number; // locals
  a: number;
  b: number;
  // INC/DEC whose flags nothing in the block reads: CF (kept in b) is not computed inline but
  // where they are stored (a slow path), from the flags in memory, which are then still the ones
  // before the INC/DEC
  cfLater?: boolean;
}

const TYPES: FuncType[] = [
  { params: [], results: [] }, // 0: a block
  { params: [I32, I32], results: [] }, // 1: jitStep(at, done)
  { params: [I32, I32, I32], results: [I32] }, // 2: jitRdN(lin, at, done)
  { params: [I32, I32, I32, I32], results: [] }, // 3: jitWrN(lin, v, at, done)
  { params: [I32, I32, I32, I32], results: [I32] }, // 4: jitRdW(lin, size, at, done)
  { params: [I32], results: [I32] }, // 5: jitCond(cc)
  { params: [I32], results: [] }, // 6: jitSetCF(cf)
  { params: [I32, I32, I32, I32, I32], results: [I32] }, // 7: jitSegLin(seg, off, lenw, at, done)
  { params: [I32], results: [] }, // 8: a region's body (the unit to start at)
  { params: [], results: [I32] }, // 9: jitFlags()
];
const REGION_BODY = 8;
// imported functions, in import order (their index in the module)
export const F = {
  step: 0,
  rd8: 1,
  rd16: 2,
  rd32: 3,
  wr8: 4,
  wr16: 5,
  wr32: 6,
  rdW: 7,
  cond: 8,
  setco: 9,
  setcf: 10,
  seglin: 11,
  flags: 12,
};
export const FUNC_IMPORTS: [string, number][] = [
  ["jitStep", 1],
  ["jitRd8", 2],
  ["jitRd16", 2],
  ["jitRd32", 2],
  ["jitWr8", 3],
  ["jitWr16", 3],
  ["jitWr32", 3],
  ["jitRdW", 4],
  ["jitCond", 5],
  ["jitSetCO", 1],
  ["jitSetCF", 6],
  ["jitSegLin", 7],
  ["jitFlags", 9],
];
export const G = { ip: 0, ip0: 1, budget: 2, head: 3, tlb: 4 };
const GLOBAL_IMPORTS = ["ip", "ip0", "budget", "head", "TLB"];

export class Block {
  readonly c = new Code();
  nlocals = 0;
  // index in the block of the instruction being emitted, and how many instructions retired before
  // it (more than i when an inlined call came before: see compile.ts, thunks)
  i = 0;
  done = 0;
  ins!: Insn;
  known: KnownFlags | null = null;
  // flag results computed but not yet written to the state block, oldest first (a ROL/ROR result
  // builds on the one before it)
  unstored: KnownFlags[] = [];
  // flagsLive[i]: the lazy flags instruction i produces may be read later
  flagsLive: boolean[] = [];

  // A store through a slow path may have hit this block's own page (its generation word at
  // genAddr then differs from gen): set in those paths, checked at the end of the instruction.
  wroteSlow = -1; // local, or -1 before the first store of the block
  // the TLB set in use (CPL and alignment checking cannot change inside a block), read at entry
  // and again after each instruction the interpreter ran
  readonly tlbL: number;
  storedThisInsn = false;
  // ---- direct links ---------------------------------------------------------------------------
  // An exit to an address known at compile time (a Jcc, JMP or CALL target, the fall-through)
  // remembers the block it found there the first time, in globals of this module, and later
  // enters it with no hash lookup. A link is followed only while it is still what the lookup
  // would find: a target on this block's page has this block's generation (checked by one load);
  // a target on another page needs its TLB entry (tag and delta) and its page generation unchanged.
  linking = true;
  entry = 0; // the block's entry (linear)
  nGlobals = 0; // this module's own globals, after the imported ones
  private links: { target: number; same: boolean; g: number }[] = [];
  private linkId = -1; // local: 1 + the index of the link the block left by, 0 for none

  // params: 1 for a region's body, whose local 0 is the unit it starts at (compile.ts)
  constructor(readonly S: number, readonly genAddr = 0, readonly gen = 0, readonly params = 0) {
    this.nlocals = this.cursor = params;
    this.tlbL = this.tmp();
    this.c.gget(G.tlb).set(this.tlbL);
  }
  reloadTlb(): void {
    this.c.gget(G.tlb).set(this.tlbL);
  }

  noteSlowStore(): void {
    if (this.wroteSlow < 0) this.wroteSlow = this.tmp();
    this.c.const(1).set(this.wroteSlow);
    this.storedThisInsn = true;
  }

  // Locals: nlocals is how many the function declares (the most in use at once); a region's units
  // share theirs (each unit's temporaries die at its end: what goes on lives in the fixed
  // register locals, the flags in memory), so the function has about as many as its largest
  // unit, not the sum: fewer locals for V8 to carry around the dispatcher loop.
  private cursor = 0;
  private poolBase = -1;
  tmp(): number {
    const l = this.cursor++;
    if (this.cursor > this.nlocals) this.nlocals = this.cursor;
    return l;
  }

  // ---- registers ----------------------------------------------------------------------------------
  // The guest registers live in the state block; inside a block a 32-bit register is kept in a wasm
  // local from its first use (regLocal) and written back (regDirty) before anything that needs
  // memory to be current: a call into the interpreter, a slow path that may fault, a block exit.
  // Code under a run-time branch must not change the cache (beginCond/endCond around it).
  private regLocal = [-1, -1, -1, -1, -1, -1, -1, -1];
  private regDirty = [false, false, false, false, false, false, false, false];

  // A region (compile.ts) keeps each register in one local of its own across its units: loaded
  // at the function's start, and at each transition between units written back where dirty and
  // loaded again where an instruction went through memory, so every unit starts with all eight
  // in their locals and memory the same (regions()/syncRegs()).
  private fixed: number[] | null = null;
  regions(): void {
    this.fixed = [];
    for (let r = 0; r < 8; r++) {
      const l = this.tmp();
      this.fixed.push(l);
      this.c.const(0).load(this.S + r * 4).set(l);
    }
    // the locals that outlive a unit, before the units' shared ones
    this.wroteSlow = this.tmp();
    this.linkId = this.tmp();
    this.poolBase = this.cursor;
  }
  private newRegLocal(r: number): number {
    return this.fixed ? this.fixed[r] : this.tmp();
  }
  // before a transition to another unit: memory current and every register in its local
  syncRegs(): void {
    this.flushRegs();
    if (!this.fixed) return;
    for (let r = 0; r < 8; r++) {
      if (this.regLocal[r] < 0) this.c.const(0).load(this.S + r * 4).set(this.fixed[r]);
    }
  }

  reg32(r: number): this {
    const l = this.regLocal[r];
    if (l >= 0) this.c.get(l);
    else {
      const n = this.regLocal[r] = this.newRegLocal(r);
      this.c.const(0).load(this.S + r * 4).tee(n);
    }
    return this;
  }
  // store the value the callback pushes into a 32-bit register
  setReg32(r: number, value: () => void): this {
    value();
    const l = this.regLocal[r] >= 0 ? this.regLocal[r] : (this.regLocal[r] = this.newRegLocal(r));
    this.c.set(l);
    this.regDirty[r] = true;
    return this;
  }
  // write the dirty registers back (the cache stays valid)
  flushRegs(): void {
    for (let r = 0; r < 8; r++) {
      if (this.regDirty[r]) this.c.const(0).get(this.regLocal[r]).store(this.S + r * 4);
    }
  }
  // write back and forget: memory is the only copy (before the interpreter runs an instruction)
  dropRegs(): void {
    this.flushRegs();
    this.regLocal.fill(-1);
    this.regDirty.fill(false);
  }
  // after the write-back the cache state is clean, so code on either side of a run-time branch
  // sees the same state
  cleanRegs(): void {
    this.flushRegs();
    this.regDirty.fill(false);
  }
  beginCond(): void {
    this.dropRegs();
  }
  endCond(): void {
    this.dropRegs();
  }
  // Partial registers live in their full register's local too (8-bit: the full register is
  // r & 3, bits 8-15 for AH..BH; 16-bit: r): a byte or word store into the register's memory
  // followed by a dword load of it is a store-forwarding stall on the host, and byte-heavy guest
  // code (string scans, tokenizers) does that all the time.
  reg8(r: number): this {
    this.reg32(r & 3);
    if (r >= 4) this.c.const(8).shrU();
    this.c.const(0xff).and();
    return this;
  }
  setReg8(r: number, value: () => void): this {
    const v = this.tmp();
    value();
    this.c.set(v);
    const full = r & 3, sh = r >= 4 ? 8 : 0;
    this.setReg32(full, () => {
      this.reg32(full).c.const(~(0xff << sh)).and();
      this.c.get(v).const(0xff).and();
      if (sh) this.c.const(sh).shl();
      this.c.or();
    });
    return this;
  }
  reg16(r: number): this {
    this.reg32(r).c.const(0xffff).and();
    return this;
  }
  setReg16(r: number, value: () => void): this {
    const v = this.tmp();
    value();
    this.c.set(v);
    this.setReg32(r, () => {
      this.reg32(r).c.const(0xffff0000 | 0).and();
      this.c.get(v).const(0xffff).and().or();
    });
    return this;
  }
  regN(r: number, size: number): this {
    return size === 4 ? this.reg32(r) : size === 2 ? this.reg16(r) : this.reg8(r);
  }
  setRegN(r: number, size: number, value: () => void): this {
    return size === 4 ? this.setReg32(r, value) : size === 2 ? this.setReg16(r, value) : this.setReg8(r, value);
  }

  // ---- memory operands: flat segments, so the linear address is the offset ----------------------
  // push the effective address of the instruction's ModR/M memory operand
  ea(ins: Insn): this {
    const c = this.c;
    let any = false;
    if (ins.base >= 0) {
      this.reg32(ins.base);
      any = true;
    }
    if (ins.index >= 0) {
      this.reg32(ins.index);
      if (ins.scale) c.const(ins.scale).shl();
      if (any) c.add();
      any = true;
    }
    if (!any) c.const(ins.disp);
    else if (ins.disp !== 0) c.const(ins.disp).add();
    return this;
  }

  // a new local with the linear address of the ModR/M memory operand of `size` bytes: the offset,
  // or for an FS/GS/CS override base + offset when the offset is inside the segment's fast-path
  // window (core-as/seg.ts linR/linW), else through jitSegLin (limit checks, faults)
  lin(ins: Insn, size: number, write: boolean): number {
    const l = this.tmp(), c = this.c;
    this.ea(ins);
    c.set(l);
    if (ins.seg === 1 || ins.seg >= 4) {
      const p = this.S + L.S_SEG + ins.seg * L.SEG_SIZE;
      c.get(l).const(0).load(p + (write ? L.SG_WLO : L.SG_RLO)).geU();
      c.get(l).const(0).load(p + (write ? L.SG_WHI : L.SG_RHI)).const(size - 1).sub().leU().and();
      c.if_(I32);
      c.const(0).load(p + L.SG_BASE).get(l).add();
      c.else_();
      this.spillFlags();
      this.flushRegs();
      c.const(ins.seg).get(l).const(size | (write ? 0x100 : 0)).const(ins.at).const(this.done).call(F.seglin);
      c.end();
      c.set(l);
    }
    return l;
  }

  // TLB entry address of the linear address in local `lin`, into a new local
  private tlbEntry(lin: number): number {
    const e = this.tmp();
    this.c.get(this.tlbL).get(lin).const(12).shrU().const(L.TLB_ENTRIES - 1).and().const(2).shl().add().set(e);
    return e;
  }
  // push: the TLB entry of local `e` matches `lin` for an access of `size` (tag at `tag`)
  private tlbHit(e: number, lin: number, size: number, tag: number): void {
    const c = this.c;
    c.get(e).load(tag).get(lin).const(0xfffff000).and().eq();
    if (size > 1) c.get(lin).const(0xfff).and().const(0x1000 - size).leU().and();
  }
  private loadN(size: number, off = 0): void {
    if (size === 4) this.c.load(off);
    else if (size === 2) this.c.load16u(off);
    else this.c.load8u(off);
  }
  private storeN(size: number, off = 0): void {
    if (size === 4) this.c.store(off);
    else if (size === 2) this.c.store16(off);
    else this.c.store8(off);
  }
  private rdFn(size: number): number {
    return size === 4 ? F.rd32 : size === 2 ? F.rd16 : F.rd8;
  }
  private wrFn(size: number): number {
    return size === 4 ? F.wr32 : size === 2 ? F.wr16 : F.wr8;
  }

  // a new local with the host address of `size` bytes at the linear address in local `lin` when
  // the TLB has them for reading (or writing), else 0 (RAM_BASE is above 0); nothing faults
  hostOf(lin: number, size: number, write: boolean): number {
    const c = this.c, h = this.tmp();
    const e = this.tlbEntry(lin);
    c.get(lin).get(e).load(L.TLB_DELTA).add().const(0);
    this.tlbHit(e, lin, size, write ? L.TLB_TAG_W : L.TLB_TAG_R);
    c.select().set(h);
    return h;
  }

  // push the `size`-byte value at the linear address in local `lin`
  read(lin: number, size: number): this {
    const c = this.c;
    const e = this.tlbEntry(lin);
    this.tlbHit(e, lin, size, L.TLB_TAG_R);
    c.if_(I32);
    c.get(lin).get(e).load(L.TLB_DELTA).add();
    this.loadN(size);
    c.else_();
    this.spillFlags();
    this.flushRegs();
    c.get(lin).const(this.ins.at).const(this.done).call(this.rdFn(size));
    c.end();
    return this;
  }
  // write local `v` to the linear address in local `lin`
  write(lin: number, v: number, size: number): this {
    const c = this.c;
    const e = this.tlbEntry(lin);
    this.tlbHit(e, lin, size, L.TLB_TAG_W);
    c.if_();
    c.get(lin).get(e).load(L.TLB_DELTA).add().get(v);
    this.storeN(size);
    c.else_();
    this.spillFlags();
    this.flushRegs();
    c.get(lin).get(v).const(this.ins.at).const(this.done).call(this.wrFn(size));
    this.noteSlowStore();
    c.end();
    return this;
  }
  // Read-modify-write of a memory operand: pushes the old value; afterwards writeBack(result)
  // stores without faulting (the read probed the write).
  rmwRead(lin: number, size: number): { writeBack: (v: number) => void } {
    const c = this.c;
    const e = this.tlbEntry(lin);
    const h = this.tmp();
    this.tlbHit(e, lin, size, L.TLB_TAG_W);
    c.if_(I32);
    c.get(lin).get(e).load(L.TLB_DELTA).add().tee(h);
    this.loadN(size);
    c.else_();
    c.const(0).set(h);
    this.spillFlags();
    this.flushRegs();
    c.get(lin).const(size).const(this.ins.at).const(this.done).call(F.rdW);
    c.end();
    return {
      writeBack: (v: number) => {
        c.get(h).if_();
        c.get(h).get(v);
        this.storeN(size);
        c.else_();
        this.flushRegs();
        c.get(lin).get(v).const(this.ins.at).const(this.done).call(this.wrFn(size));
        this.noteSlowStore();
        c.end();
      },
    };
  }

  // ---- lazy flags ----------------------------------------------------------------------------
  // the instruction sets the flags from locals: stored only when something may read them
  setFlags(
    kind: number,
    size: number,
    res: number,
    a: number,
    b: number,
    kindLocal?: number,
    cfLater = false,
  ): void {
    const k: KnownFlags = { kind, size, res, a, b, kindLocal, cfLater };
    const partial = kind === ROT || kind === CF1;
    this.known = partial || kindLocal !== undefined ? null : k;
    // A full result is not stored here but where something needs EFLAGS in memory: the exits of
    // the block, a slow path that may fault, the interpreter, a condition the block cannot compute
    // inline (spillFlags). ROL/ROR and BT results are merged into the flags in memory at once
    // when live (so what came before is stored first).
    if (!partial) {
      this.unstored = [k];
      return;
    }
    if (!this.flagsLive[this.i]) {
      this.unstored.push(k);
      return;
    }
    this.spillFlags();
    this.unstored = [];
    this.storeFlags(k);
  }
  private storeFlags(k: KnownFlags): void {
    const c = this.c, S = this.S;
    if (k.cfLater) c.const(2).call(F.cond).set(k.b);
    if (k.kind === ROT) {
      c.get(k.a).get(k.b).call(F.setco);
      return;
    }
    if (k.kind === CF1) {
      c.get(k.a).call(F.setcf);
      return;
    }
    c.const(0);
    if (k.kindLocal !== undefined) c.get(k.kindLocal);
    else c.const(k.kind | szi(k.size));
    c.store(S + L.S_LF_OP);
    c.const(0).get(k.res).store(S + L.S_LF_RES);
    c.const(0);
    if (k.a < 0) c.const(0);
    else c.get(k.a);
    c.store(S + L.S_LF_A);
    c.const(0);
    if (k.b < 0) c.const(0);
    else c.get(k.b);
    c.store(S + L.S_LF_B);
  }
  // on a slow path that may fault: the flags in memory must be the architectural ones
  spillFlags(): void {
    for (const k of this.unstored) this.storeFlags(k);
  }

  // push condition cc (0..15) of the current flags as 0/1
  cond(cc: number): void {
    if (this.condInline(cc)) return;
    this.spillFlags();
    this.c.const(cc).call(F.cond);
  }
  // INC/DEC: true when nothing reads the flags the instruction sets before the next writer and the
  // flags before it are in memory. Its CF is then computed only where the flags are stored on a
  // slow path, from memory.
  deferCF(): boolean {
    return !this.flagsLive[this.i] && this.unstored.length === 0;
  }
  // push condition cc of the known flags and return true, or push nothing and return false
  private condInline(cc: number): boolean {
    const k = this.known;
    const c = this.c;
    // after a 32-bit INC/DEC (CF kept in the operand word) or ADD (CF: the sum wrapped)
    if (k && (k.kind === LF_INC || k.kind === LF_DEC || k.kind === LF_ADD) && k.size === 4) {
      let done = true;
      switch (cc & ~1) {
        case 2:
          if (k.kind === LF_ADD) c.get(k.res).get(k.a).ltU();
          else c.get(k.b).const(1).and();
          break;
        case 4:
          c.get(k.res).eqz();
          break;
        case 8:
          c.get(k.res).const(0).ltS();
          break;
        default:
          done = false;
      }
      if (done) {
        if (cc & 1) c.eqz();
        return true;
      }
    }
    if (k && (k.kind === LF_SUB || k.kind === LF_CO)) {
      const sh = k.size === 4 ? 0 : k.size === 2 ? 16 : 24;
      const m = k.size === 4 ? -1 : k.size === 2 ? 0xffff : 0xff;
      const val = (l: number, signed: boolean) => {
        c.get(l);
        if (signed && sh) c.const(sh).shl();
        else if (!signed && m !== -1) c.const(m).and();
      };
      const neg = (cc & 1) !== 0;
      const base = cc & ~1;
      let done = true;
      if (k.kind === LF_SUB) {
        switch (base) {
          case 2:
            val(k.a, false);
            val(k.b, false);
            c.ltU();
            break; // B
          case 4:
            val(k.a, false);
            val(k.b, false);
            c.eq();
            break; // Z
          case 6:
            val(k.a, false);
            val(k.b, false);
            c.leU();
            break; // BE
          case 8:
            val(k.res, true);
            c.const(0).ltS();
            break; // S
          case 12:
            val(k.a, true);
            val(k.b, true);
            c.ltS();
            break; // L
          case 14:
            val(k.a, true);
            val(k.b, true);
            c.leS();
            break; // LE
          default:
            done = false;
        }
      } else if (k.b >= 0) {
        // CF, AF and OF as EFLAGS bits in b (IMUL, shifts, BT)
        const of = () => c.get(k.b).const(11).shrU().const(1).and();
        const sf = () => {
          val(k.res, true);
          c.const(0).ltS();
        };
        switch (base) {
          case 0:
            of();
            break; // O
          case 2:
            c.get(k.b).const(1).and();
            break; // B
          case 4:
            val(k.res, false);
            c.eqz();
            break; // Z
          case 6:
            c.get(k.b).const(1).and();
            val(k.res, false);
            c.eqz().or();
            break; // BE
          case 8:
            sf();
            break; // S
          case 12:
            sf();
            of();
            c.xor();
            break; // L
          case 14:
            sf();
            of();
            c.xor();
            val(k.res, false);
            c.eqz().or();
            break; // LE
          default:
            done = false;
        }
      } else {
        switch (base) {
          case 0:
          case 2:
            c.const(0);
            break; // O, B: clear after logic ops
          case 4:
          case 6:
            val(k.res, false);
            c.eqz();
            break; // Z, BE (CF = 0)
          case 8:
          case 12:
            val(k.res, true);
            c.const(0).ltS();
            break; // S, L (OF = 0)
          case 14:
            val(k.res, true);
            c.const(1).ltS();
            break; // LE: ZF or SF
          default:
            done = false;
        }
      }
      if (done) {
        if (neg) c.eqz();
        return true;
      }
    }
    return false;
  }

  // ---- control ----------------------------------------------------------------------------------
  // At a block's end, with ip = the next instruction: when the budget and the attention word allow
  // and a current compiled block exists for ip (the lookup core-as/jit.ts jitEnter does, through
  // the TLB for the host address; the fetch tag, so an execute-disabled page is never entered), go
  // straight on into it with a tail call instead of returning
  // to the dispatch loop. It takes the instruction the loop would have taken.
  // At an exit to `target` (ip, budget and registers in memory are final): follow the link if it
  // is set and current; otherwise note which link the lookup at the end of the block may set.
  // target -1: the exit's address is only known at run time (RET, indirect JMP and CALL); the
  // link then remembers the last address too, and holds while the exit goes there again.
  linkExit(target: number): void {
    if (!this.linking) return;
    const c = this.c;
    const dyn = target === -1;
    const same = !dyn && (target >>> 12) === (this.entry >>> 12);
    const g = GLOBAL_IMPORTS.length + this.nGlobals;
    // table index; for another page its TLB delta, generation address and value; the address
    this.nGlobals += same ? 1 : dyn ? 5 : 4;
    const k = this.links.push({ target, same, g });
    if (this.linkId < 0) this.linkId = this.tmp();
    c.ggetOwn(g).if_();
    c.gget(G.budget).const(1).gtS().const(0).load(this.S + L.S_ATTN).eqz().and();
    if (same) c.const(0).load(this.genAddr).const(this.gen).eq().and();
    else {
      const e = this.tmp();
      if (dyn) {
        const t = this.tmp();
        c.gget(G.ip).tee(t).ggetOwn(g + 4).eq().and();
        c.get(this.tlbL).get(t).const(12).shrU().const(L.TLB_ENTRIES - 1).and().const(2).shl().add().tee(e);
        c.load(L.TLB_TAG_X).get(t).const(0xfffff000).and().eq().and();
      } else {
        c.get(this.tlbL).const(((target >>> 12) & (L.TLB_ENTRIES - 1)) * 4).add().tee(e);
        c.load(L.TLB_TAG_X).const((target & ~0xfff) | 0).eq().and();
      }
      c.get(e).load(L.TLB_DELTA).ggetOwn(g + 1).eq().and();
      c.ggetOwn(g + 2).load(0).ggetOwn(g + 3).eq().and();
    }
    c.if_();
    c.gget(G.budget).const(1).sub().gset(G.budget);
    c.ggetOwn(g).returnCallIndirect(0);
    c.end();
    c.end();
    c.const(k).set(this.linkId);
  }

  chainToNext(): void {
    const c = this.c, S = this.S;
    const t = this.tmp(), e = this.tmp(), h = this.tmp(), s = this.tmp(), f = this.tmp(), g = this.tmp();
    const ga = this.tmp();
    const jh = L.JIT_HASH + ((S - L.CPU_BASE) / L.CPU_STRIDE) * L.JIT_HASH_STRIDE;
    c.gget(G.budget).const(1).gtS().const(0).load(S + L.S_ATTN).eqz().and().if_();
    c.gget(G.ip).set(t);
    c.gget(G.tlb).get(t).const(12).shrU().const(L.TLB_ENTRIES - 1).and().const(2).shl().add().tee(e);
    c.load(L.TLB_TAG_X).get(t).const(0xfffff000).and().eq().if_();
    c.get(t).get(e).load(L.TLB_DELTA).add().tee(h).const(L.RAM_BASE).geU().if_();
    // generation of the target's page
    c.get(h).const(L.RAM_BASE).sub().const(12).shrU().const(2).shl().const(L.PAGEGEN).add().tee(ga).load(0).set(g);
    c.get(h).const(0x9e3779b1 | 0).mul().const(20).shrU().const(5).shl().const(jh).add().set(s);
    for (let way = 0; way < 2; way++) {
      // slot: host address, table index, generation, linear address
      c.get(s).load(0).get(h).eq();
      c.get(s).load(12).get(t).eq().and();
      c.get(s).load(8).get(g).eq().and();
      c.get(s).load(4).tee(f).const(0).ne().and().if_();
      this.setLink(f, g, h, t, ga);
      c.gget(G.budget).const(1).sub().gset(G.budget);
      c.get(f).returnCallIndirect(0);
      c.end();
      if (way === 0) c.get(s).const(16).add().set(s);
    }
    c.end();
    c.end();
    c.end();
  }

  // the lookup found block f (generation g, host address h) for the exit of link linkId
  private setLink(f: number, g: number, h: number, t: number, ga: number): void {
    if (this.linkId < 0) return;
    const c = this.c;
    this.links.forEach((l, i) => {
      c.get(this.linkId).const(i + 1).eq();
      if (l.same) c.get(g).const(this.gen).eq().and();
      c.if_();
      c.get(f).gsetOwn(l.g);
      if (!l.same) {
        c.get(h).get(t).sub().gsetOwn(l.g + 1);
        c.get(ga).gsetOwn(l.g + 2);
        c.get(g).gsetOwn(l.g + 3);
        if (l.target === -1) c.get(t).gsetOwn(l.g + 4);
      }
      c.end();
    });
  }

  // leave the block after instruction i: ip is already set; `retired` instructions ran. `depth`
  // counts the structured blocks from the code to $exit as if it were the only unit; depth0 adds
  // the blocks around the unit being emitted (compile.ts: a region's dispatcher)
  exitRetired(retired: number, depth: number): void {
    this.spillFlags();
    this.flushRegs();
    this.c.gget(G.budget).const(retired - 1).sub().gset(G.budget).br(depth + this.depth0);
  }
  // the same, to `target` (ip is set), through its link when there is one
  exitLinked(retired: number, depth: number, target: number): void {
    this.spillFlags();
    this.flushRegs();
    this.c.gget(G.budget).const(retired - 1).sub().gset(G.budget);
    this.linkExit(target);
    this.c.br(depth + this.depth0);
  }
  // the blocks of a region's dispatcher around the unit being emitted (0 for the last unit)
  depth0 = 0;
  // a unit of a region starts: nothing is known about registers or flags (they are in memory)
  startUnit(): void {
    if (this.poolBase >= 0) this.cursor = this.poolBase;
    if (this.fixed) this.fixed.forEach((l, r) => this.regLocal[r] = l);
    else this.regLocal.fill(-1);
    this.regDirty.fill(false);
    this.known = null;
    this.unstored = [];
    this.flagsLive = [];
    this.i = 0;
    this.done = 0;
  }

  private static frames = new Map<number, OneFunctionModule>();
  // entries > 0: a region's body (its locals after the one parameter) entered by that many exports
  static build(body: Code, nlocals: number, memPages: number, nGlobals = 0, entries = 0): Uint8Array<ArrayBuffer> {
    const f = Block.frame(memPages);
    if (entries > 0) return f.buildEntries(body, nlocals - 1, nGlobals, entries, REGION_BODY);
    return f.build(body, nlocals, nGlobals);
  }
  // blocks compiled alone (Compiled.fn) in one module: block k is its export "p<k>"
  static buildPack(
    fns: { body: Code; nlocals: number; nGlobals: number }[],
    memPages: number,
  ): Uint8Array<ArrayBuffer> {
    return Block.frame(memPages).buildPack(fns);
  }
  private static frame(memPages: number): OneFunctionModule {
    let f = Block.frames.get(memPages);
    if (!f) {
      const imports: Import[] = [
        { name: "memory", kind: "memory", memMin: memPages, memMax: memPages },
        { name: "table", kind: "table" },
        ...GLOBAL_IMPORTS.map((n) => ({ name: n, kind: "global" as const })),
        ...FUNC_IMPORTS.map(([n, t]) => ({ name: n, kind: "func" as const, type: t })),
      ];
      f = new OneFunctionModule(TYPES, imports);
      Block.frames.set(memPages, f);
    }
    return f;
  }
}
