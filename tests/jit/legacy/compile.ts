// Block formation and emission: decode from the entry address to the first branch (or page end,
// or an instruction the decoder does not know), find which lazy-flag results a later instruction
// may read, then emit each instruction inline (runtime/jit/ops/) or as a call to the interpreter.
import { Block, F, G } from "../../../runtime/jit/block.ts";
import * as L from "../../../core-as/layout.ts";
import { decode, type Insn, PFX_66, type Thunk } from "./decode.ts";
import { emitMov } from "../../../runtime/jit/ops/mov.ts";
import { emitAlu } from "../../../runtime/jit/ops/alu.ts";
import { emitStack, pop32, push32 } from "../../../runtime/jit/ops/stack.ts";
import { emitBranch, isInlineBranch } from "../../../runtime/jit/ops/branch.ts";
import { emitShift, SHIFT_INLINE } from "../../../runtime/jit/ops/shift.ts";
import { emitUnary } from "../../../runtime/jit/ops/unary.ts";
import { emitCond } from "../../../runtime/jit/ops/cond.ts";
import { emitMul } from "../../../runtime/jit/ops/mul.ts";
import { emitX87, isInlineX87 } from "../../../runtime/jit/ops/x87.ts";
import { emitCmpxchg, isInlineCmpxchg } from "../../../runtime/jit/ops/atomic.ts";

export const MAX_INSNS = 96;
// blocks go on into the next compiled block with a tail call (RING3_JIT_CHAIN=0: back to the loop)
const chaining = Deno.env.get("RING3_JIT_CHAIN") !== "0";

function isJcc(ins: Insn): boolean {
  return (ins.op >= 0x70 && ins.op <= 0x7f) || (ins.op >= 0x180 && ins.op <= 0x18f);
}

// Instructions that change control flow (the block ends after them; the interpreter's handler sets
// ip when it is not emitted inline) or the mode the block was compiled for (far transfers).
// A Jcc emitted inline does not end the block: its taken side leaves, the fall-through goes on.
export function endsBlock(ins: Insn): boolean {
  const op = ins.op;
  if (isJcc(ins)) return ins.pfx !== 0;
  if (op === 0xeb || op === 0xe9 || op === 0xe8 || op === 0xc3 || op === 0xc2) return true;
  if (op >= 0xe0 && op <= 0xe3) return true; // LOOP, JECXZ
  if (op === 0xff && ins.reg >= 2 && ins.reg <= 5) return true; // indirect near and far call/jmp
  return false;
}

// how an instruction emitted inline uses the lazy flags: w = sets them all, r = reads them,
// rw = reads CF and sets them all, n = neither; x = handed to the interpreter (reads, may write)
type FlagUse = "w" | "r" | "rw" | "n" | "x";
// (a ROL/ROR is "n": it keeps the other flags, so whatever came before is live exactly when its
// own result is)
export function flagUse(ins: Insn): FlagUse {
  const op = ins.op;
  if (ins.pfx === PFX_66 && OPSIZE16.has(op)) return op === 0x85 ? "w" : "n";
  if (isInlineCmpxchg(ins)) return "w";
  if (ins.pfx !== 0) return "x";
  if (isInlineX87(ins)) return "n"; // (EFLAGS are not the x87's)
  if (op === 0xf6 && ins.reg === 0) return "w";
  if ((op === 0x1ba && ins.reg === 4) || (op === 0x1a3 && !ins.mem)) return "n"; // BT: CF alone
  const adcSbb = (o: number) => o === 2 || o === 3;
  if (op < 0x40 && (op & 7) < 6) return adcSbb(op >> 3) ? "rw" : "w";
  if (op === 0x80 || op === 0x81 || op === 0x83) return adcSbb(ins.reg) ? "rw" : "w";
  if ((op === 0xc1 || op === 0xd1) && SHIFT_INLINE.has(ins.reg) && (op === 0xd1 || (ins.imm & 31) !== 0)) {
    return ins.reg <= 1 ? "n" : "w";
  }
  if (op === 0xf7 && (ins.reg === 0 || ins.reg === 3)) return "w";
  if (op === 0xf7 && ins.reg === 2) return "n";
  if (op === 0xff && (ins.reg === 0 || ins.reg === 1)) return "rw";
  if (op === 0xff && ins.reg === 6) return "n";
  if (op === 0x1af || op === 0x69 || op === 0x6b) return "w";
  if ((op >= 0x190 && op <= 0x19f) || (op >= 0x140 && op <= 0x14f)) return "r";
  if (op >= 0xa0 && op <= 0xa3) return "n";
  if (op === 0xff && (ins.reg === 2 || ins.reg === 4)) return "n";
  if (op === 0x99 || op === 0x98 || op === 0x90 || (op >= 0x91 && op <= 0x97) || (op === 0x87 && !ins.mem)) return "n";
  if (op >= 0x1c8 && op <= 0x1cf) return "n";
  if (op === 0x84 || op === 0x85 || op === 0xa8 || op === 0xa9) return "w";
  if (op >= 0x40 && op <= 0x4f) return "rw";
  if ((op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f)) return "r";
  if (op === 0x88 || op === 0x89 || op === 0x8a || op === 0x8b || op === 0x8d || (op >= 0xb0 && op <= 0xbf)) return "n";
  if (((op === 0xc6 || op === 0xc7) && ins.reg === 0) || op === 0x1b6 || op === 0x1b7 || op === 0x1be || op === 0x1bf) {
    return "n";
  }
  if (
    (op >= 0x50 && op <= 0x5f) || op === 0x68 || op === 0x6a || op === 0xeb || op === 0xe9 || op === 0xe8 || op === 0xc3
  ) {
    return "n";
  }
  return "x";
}

// with an operand-size prefix only these are emitted inline (16-bit MOV and TEST)
const OPSIZE16 = new Set([0x89, 0x8b, 0xc7, 0x85]);
function emitInline(b: Block, ins: Insn): boolean {
  if (isInlineCmpxchg(ins)) return emitCmpxchg(b, ins);
  if (ins.pfx !== 0 && !(ins.pfx === PFX_66 && OPSIZE16.has(ins.op))) return false;
  return emitMov(b, ins) || emitAlu(b, ins) || emitStack(b, ins) || emitShift(b, ins) || emitUnary(b, ins) ||
    emitCond(b, ins) || emitMul(b, ins) || emitX87(b, ins);
}

export interface Compiled {
  bytes: Uint8Array<ArrayBuffer>;
  insns: number;
  inline: number;
  stepped: Insn[];
  list: Insn[];
}

// A CALL to a PIC thunk (`mov reg, [esp]; ret`, which i386 code calls at the top of most
// functions) is three instructions and two block transitions for `push next; reg = next`. The
// block inlines it and goes on at the return address. The thunk must be known code: on the
// block's page (covered by the block's generation), or on a page marked in CODEMAP whose mapping
// (TLB tag and delta) and generation the block checks where the call runs.
function thunkAt(mem: Uint8Array, t: number, h: number, lin: number, tlb: number): Thunk | null {
  if ((t & 0xfff) > 0xffc) return null;
  const dv = new DataView(mem.buffer);
  let host: number, page = -1, delta = 0;
  if (t >>> 12 === lin >>> 12) host = (h & ~0xfff) + (t & 0xfff);
  else {
    if (tlb < 0) return null;
    const e = tlb + ((t >>> 12) & (L.TLB_ENTRIES - 1)) * 4;
    if (dv.getUint32(e + L.TLB_TAG_R, true) !== (t & ~0xfff) >>> 0) return null;
    delta = dv.getUint32(e + L.TLB_DELTA, true);
    host = (t + delta) >>> 0;
    page = t >>> 12;
  }
  if (host < L.RAM_BASE || host + 4 > mem.length) return null;
  const pg = (host - L.RAM_BASE) >>> 12;
  if (page >= 0 && mem[L.CODEMAP + pg] === 0) return null;
  const m = mem[host + 1];
  if (mem[host] !== 0x8b || (m & 0xc7) !== 0x04 || m === 0x24 || mem[host + 2] !== 0x24 || mem[host + 3] !== 0xc3) {
    return null;
  }
  const genAddr = L.PAGEGEN + pg * 4;
  return { reg: (m >> 3) & 7, page, delta, genAddr, gen: dv.getUint32(genAddr, true) };
}

// The inlined CALL: the return address is pushed (a fault is the call's), then the thunk's page is
// checked; if it changed, ip goes to the thunk and the block leaves as a plain CALL would.
function emitThunkCall(b: Block, ins: Insn, chain: number): void {
  const c = b.c, t = ins.thunk!;
  const next = (ins.at + ins.len) | 0;
  const v = b.tmp();
  c.const(next).set(v);
  push32(b, v);
  if (t.page >= 0) {
    const e = b.tmp();
    c.get(b.tlbL).const((t.page & (L.TLB_ENTRIES - 1)) * 4).add().tee(e).load(L.TLB_TAG_R).const(t.page << 12).ne();
    c.get(e).load(L.TLB_DELTA).const(t.delta | 0).ne().or();
    c.const(0).load(t.genAddr).const(t.gen | 0).ne().or().if_();
    c.const(ins.imm).gset(G.ip);
    c.const(1).set(chain);
    b.exitRetired(b.done + 1, 2);
    c.end();
  }
  b.setReg32(4, () => b.reg32(4).c.const(4).add()); // the thunk's RET
  b.setReg32(t.reg, () => c.get(v));
}

// An entry whose first instruction the decoder cannot take (it crosses the page end, or the
// decoder does not know it) becomes a block of that one instruction, stepped by the interpreter:
// a hot entry there then costs a block entry instead of a visit count and the dispatch loop.
function stepBlock(lin: number, S: number, memPages: number, profile: number): Compiled {
  const b = new Block(S);
  const c = b.c;
  if (profile >= 0) c.const(0).const(0).load(profile).const(1).add().store(profile);
  c.const(lin).const(0).call(F.step);
  c.const(1).gset(G.head);
  const ins = unknownInsn(lin);
  return { bytes: Block.build(c, b.nlocals, memPages, b.nGlobals), insns: 1, inline: 0, stepped: [ins], list: [ins] };
}
function unknownInsn(at: number): Insn {
  return {
    at,
    len: 0,
    op: -1,
    pfx: 0,
    seg: -1,
    modrm: -1,
    reg: 0,
    rm: 0,
    mem: false,
    base: -1,
    index: -1,
    scale: 0,
    disp: 0,
    ss: false,
    imm: 0,
  };
}

// Compile the block at host offset h (guest linear address lin). S = this vCPU's state block.
export function compileBlock(
  mem: Uint8Array,
  h: number,
  lin: number,
  S: number,
  memPages: number,
  profile = -1,
  tlb = -1, // the TLB set in use (finds thunks on other pages), -1 none
): Compiled | null {
  const insns: Insn[] = [];
  const end = (h | 0xfff) + 1;
  let p = h, a = lin;
  const seen = new Set<number>();
  const page = (x: number) => x >>> 12 === lin >>> 12;
  const returns: Insn[] = []; // CALLs the block went on into, innermost last
  while (insns.length < MAX_INSNS) {
    const ins = decode(mem, p, end, a);
    if (!ins) break;
    insns.push(ins);
    seen.add(ins.at);
    p += ins.len;
    a = (a + ins.len) | 0;
    if (endsBlock(ins)) {
      // a JMP to code of this page not yet in the block: the block goes on there (no transition)
      if ((ins.op === 0xeb || ins.op === 0xe9) && (ins.imm >>> 12) === (lin >>> 12) && !seen.has(ins.imm)) {
        ins.follow = true;
        p = (h & ~0xfff) + (ins.imm & 0xfff);
        a = ins.imm;
        continue;
      }
      // the RET of a CALL the block went on into: on at the return address (checked where it runs)
      if (ins.op === 0xc3 && ins.pfx === 0 && returns.length) {
        const call = returns.pop()!;
        ins.ret = (call.at + call.len) | 0;
        p = (h & ~0xfff) + (ins.ret & 0xfff);
        a = ins.ret;
        continue;
      }
      if (ins.op !== 0xe8 || ins.pfx !== 0) break;
      const t = thunkAt(mem, ins.imm >>> 0, h, lin, tlb);
      if (t) {
        ins.thunk = t;
        continue;
      }
      // a CALL into this page, returning into it: the block goes on into the callee
      const back = (ins.at + ins.len) | 0;
      if (!page(ins.imm) || !page(back) || returns.length >= 4) break;
      ins.into = true;
      returns.push(ins);
      p = (h & ~0xfff) + (ins.imm & 0xfff);
      a = ins.imm;
    }
  }
  if (insns.length === 0) return stepBlock(lin, S, memPages, profile);
  // a followed JMP, a CALL or RET the block goes on from, with nothing decoded after it, leaves
  // the block as a JMP, CALL or RET
  const tail = insns[insns.length - 1];
  tail.follow = tail.into = false;
  tail.ret = undefined;

  const pg = (h - L.RAM_BASE) >>> 12;
  const genAddr = L.PAGEGEN + pg * 4;
  const b = new Block(S, genAddr, new DataView(mem.buffer).getUint32(genAddr, true));
  b.entry = lin;
  b.linking = chaining;
  const uses = insns.map(flagUse);
  // backwards: flags are live after the block; an "x" or "r" reads them; a "w" kills them
  let live = true;
  for (let i = insns.length - 1; i >= 0; i--) {
    b.flagsLive[i] = live;
    const u = uses[i];
    if (u === "w") live = false;
    else if (u !== "n") live = true;
  }

  const c = b.c;
  let inline = 0;
  const stepped: Insn[] = [];
  if (profile >= 0) c.const(0).const(0).load(profile).const(1).add().store(profile);
  const chain = b.tmp();
  // the block ends after instruction i, which falls through: ip is the next one, and the block
  // may go on into the block there
  const fallOut = (ins: Insn, after: number) => {
    const next = (ins.at + ins.len) | 0;
    c.const(next).gset(G.ip);
    c.gget(G.budget).const(after - 1).sub().gset(G.budget);
    c.const(1).set(chain);
    b.spillFlags();
    b.flushRegs();
    b.linkExit(next);
  };
  // self-modifying code: a store into this block's page ends the block after the store
  const smcCheck = (ins: Insn, after: number, next = (ins.at + ins.len) | 0) => {
    c.get(b.wroteSlow).if_();
    c.const(0).set(b.wroteSlow);
    c.const(0).load(b.genAddr).const(b.gen).ne().if_();
    c.const(next).gset(G.ip);
    b.exitRetired(after, 3);
    c.end();
    c.end();
  };
  c.block(); // $exit
  c.loop(); // $top: a Jcc back to the entry loops here while budget and attention allow
  let done = 0; // instructions retired before instruction i (an inlined call is three)
  for (let i = 0; i < insns.length; i++, done = b.done + (insns[i - 1].thunk ? 3 : 1)) {
    const ins = insns[i];
    b.i = i;
    b.done = done;
    b.ins = ins;
    const after = done + (ins.thunk ? 3 : 1);
    const last = i === insns.length - 1;
    if (isJcc(ins) && ins.pfx === 0) {
      inline++;
      b.cond(ins.op & 15);
      c.if_();
      if (ins.imm === lin) {
        b.spillFlags(); // the loop's top reads the flags and registers from memory
        b.flushRegs();
        c.gget(G.budget).const(after).sub().gset(G.budget);
        c.gget(G.budget).const(0).gtS().const(0).load(S + L.S_ATTN).eqz().and().brIf(1);
        c.const(lin).gset(G.ip);
        c.gget(G.budget).const(1).add().gset(G.budget).br(2);
      } else {
        c.const(ins.imm).gset(G.ip);
        c.const(1).set(chain);
        b.exitLinked(after, 2, ins.imm);
      }
      c.end();
      if (last) fallOut(ins, after);
      continue;
    }
    if (ins.follow) {
      inline++;
      continue;
    }
    if (ins.into) { // the return address is pushed; the callee's code comes next
      inline++;
      const v = b.tmp();
      c.const((ins.at + ins.len) | 0).set(v);
      b.storedThisInsn = false;
      push32(b, v);
      if (b.storedThisInsn) smcCheck(ins, after, ins.imm);
      continue;
    }
    if (ins.ret !== undefined) { // back where the CALL was, unless the callee changed its return address
      inline++;
      const v = pop32(b);
      c.get(v).const(ins.ret).ne().if_();
      c.get(v).gset(G.ip);
      c.const(1).set(chain);
      b.exitLinked(after, 2, -1);
      c.end();
      continue;
    }
    b.storedThisInsn = false;
    if (ins.thunk) {
      inline++;
      emitThunkCall(b, ins, chain);
      if (b.storedThisInsn && !last) smcCheck(ins, after);
      if (last) fallOut(ins, after);
      continue;
    }
    if (last && isInlineBranch(ins)) {
      emitBranch(b, ins, after);
      c.const(1).set(chain);
      b.spillFlags();
      b.flushRegs();
      b.linkExit(ins.op === 0xe8 || ins.op === 0xe9 || ins.op === 0xeb ? ins.imm : -1);
      inline++;
      break;
    }
    if (emitInline(b, ins)) {
      inline++;
      if (b.storedThisInsn && !last) smcCheck(ins, after);
      if (last) fallOut(ins, after);
      continue;
    }
    // the interpreter runs it in place; it must fall through to the next instruction, or the
    // block ends here (a taken branch, a REP string instruction yielding, a length mismatch)
    b.spillFlags();
    b.dropRegs();
    stepped.push(ins);
    c.const(ins.at).const(done).call(F.step);
    b.reloadTlb();
    b.known = null;
    b.unstored = [];
    if (last) {
      c.gget(G.budget).const(done).sub().gset(G.budget);
    } else {
      // it must have fallen through, not stored into this page, and left the attention word clear
      // (an STI or POPF shadow or trap, an interrupt an OUT raised, HLT: the dispatch loop's work)
      c.gget(G.ip).const((ins.at + ins.len) | 0).ne();
      c.const(0).load(b.genAddr).const(b.gen).ne().or();
      c.const(0).load(S + L.S_ATTN).or().if_();
      b.exitRetired(after, 2);
      c.end();
    }
  }
  b.spillFlags();
  b.flushRegs();
  c.end(); // $top
  c.end();
  // only where the block itself decided ip (not after an instruction the interpreter ran, which
  // may have changed the mode the next block was compiled for)
  if (chaining) {
    c.get(chain).if_();
    b.chainToNext();
    c.end();
  }
  c.const(1).gset(G.head);
  return { bytes: Block.build(c, b.nlocals, memPages, b.nGlobals), insns: insns.length, inline, stepped, list: insns };
}
