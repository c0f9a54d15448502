// Block formation and emission: decode from the entry address to the first branch (or page end,
// or an instruction the decoder does not know), find which lazy-flag results a later instruction
// may read, then emit each instruction inline (runtime/jit/ops/) or as a call to the interpreter.
import { Block, F, G } from "./block.ts";
import type { Code } from "./wasm.ts";
import * as L from "../../core-as/layout.ts";
import { blankInsn, decode, type Insn, PFX_66, PFX_LOCK, type Thunk } from "./decode.ts";
import {
  EMIT_STEP,
  emitId,
  emitOf,
  END_CALL,
  END_FLAT,
  END_JCC,
  END_JMP,
  END_NONE,
  END_RET,
  endOf,
  F_LOCK,
  F_O16,
  F_ONLY_REG,
  FL_KILL,
  FL_PASS,
  FL_USE,
  flagClass,
  IMM_IB,
  IMM_JB,
  IMM_JZ,
  immKind,
} from "../../core-as/gen/facts.ts";
import { emitMov } from "./ops/mov.ts";
import { emitAlu } from "./ops/alu.ts";
import { emitStack, pop32, push32 } from "./ops/stack.ts";
import { emitBranch } from "./ops/branch.ts";
import { emitShift } from "./ops/shift.ts";
import { emitUnary } from "./ops/unary.ts";
import { emitCond } from "./ops/cond.ts";
import { emitMul } from "./ops/mul.ts";
import { emitX87, isInlineX87 } from "./ops/x87.ts";
import { emitEflags } from "./ops/eflags.ts";
import { emitAtomic, isInlineAtomic } from "./ops/atomic.ts";
import { emitSse, isInlineSse } from "./ops/sse.ts";
import { host } from "../platform/mod.ts";
import { hasTailCalls } from "./tailcall.ts";

export const MAX_INSNS = 96;
// blocks go on into the next compiled block with a tail call (RING3_JIT_CHAIN=0, or a host wasm
// without tail calls, tailcall.ts: back to the loop)
const chaining = host.env.get("RING3_JIT_CHAIN") !== "0" && hasTailCalls();

// Which instructions end a block, how they use the lazy flags and which emitter compiles them
// are the opcode table's facts (core-as/gen/table.ts via facts.ts, in ins.facts).
const BRANCH = emitId("branch");
const SSE = emitId("sse");
const EMIT: ((b: Block, ins: Insn) => boolean)[] = [];
EMIT[emitId("alu")] = emitAlu;
EMIT[emitId("mov")] = emitMov;
EMIT[emitId("stack")] = emitStack;
EMIT[emitId("shift")] = emitShift;
EMIT[emitId("unary")] = emitUnary;
EMIT[emitId("cond")] = emitCond;
EMIT[emitId("mul")] = emitMul;
EMIT[emitId("x87")] = emitX87;
EMIT[emitId("atomic")] = emitAtomic;
EMIT[emitId("sse")] = emitSse;
EMIT[emitId("eflags")] = emitEflags;
EMIT[BRANCH] = () => false; // (compileBlock emits the branches that end or continue a block)
// an emitter's own preconditions, where the flag analysis must know them before emission (an
// instruction the emitter declines runs in the interpreter: its flags count as read)
const WHEN: ((ins: Insn) => boolean)[] = [];
WHEN[emitId("x87")] = isInlineX87;
WHEN[emitId("atomic")] = isInlineAtomic;
WHEN[emitId("shift")] = (ins) => {
  // 8/16-bit operands: SHL/SHR/SAR by 1 or an immediate (ROL/ROR and counts in CL: the interpreter)
  if ((ins.op === 0xc0 || ins.op === 0xd0 || (ins.pfx & PFX_66)) && (ins.op === 0xd3 || ins.reg < 2)) return false;
  return immKind(ins.facts) !== IMM_IB || (ins.imm & 31) !== 0; // (a count of 0: no-op)
};

// the instruction goes to its emitter (which may still decline it); prefixed forms only where the
// table says the emitter takes them (16-bit operands, LOCK)
function inlineCandidate(ins: Insn): boolean {
  const f = ins.facts;
  const e = emitOf(f);
  if (e <= EMIT_STEP) return false;
  if (e === SSE) return isInlineSse(ins); // (its mandatory prefixes select the instruction)
  if (ins.pfx !== 0 && !(ins.pfx === PFX_66 && (f & F_O16)) && !(ins.pfx === PFX_LOCK && (f & F_LOCK))) return false;
  if ((f & F_ONLY_REG) && ins.mem) return false;
  return WHEN[e]?.(ins) ?? true;
}

// a Jcc emitted inline (its taken side leaves the block, the fall-through goes on)
function inlineJcc(ins: Insn): boolean {
  return endOf(ins.facts) === END_JCC && emitOf(ins.facts) === BRANCH && ins.pfx === 0;
}
// a direct JMP or CALL (its target is ins.imm)
function direct(ins: Insn, end: number): boolean {
  const k = immKind(ins.facts);
  return endOf(ins.facts) === end && (k === IMM_JB || k === IMM_JZ);
}

// a near RET without an immediate (the block's own branch code emits it)
function plainRet(ins: Insn): boolean {
  return ins.op === 0xc3 && endOf(ins.facts) === END_RET && emitOf(ins.facts) === BRANCH;
}

// Instructions that change control flow (the block ends after them; the interpreter's handler sets
// ip when it is not emitted inline) or the mode the block was compiled for.
// A Jcc emitted inline does not end the block: its taken side leaves, the fall-through goes on.
export function endsBlock(ins: Insn): boolean {
  const end = endOf(ins.facts);
  return end === END_JCC ? !inlineJcc(ins) : end !== END_NONE && end !== END_FLAT;
}

// how an instruction uses the lazy flags (facts.ts FL_*): KILL = writes them all without reading,
// PASS = neither (or CF/OF alone: a ROL/ROR keeps the other flags, so whatever came before is live
// exactly when its own result is), USE = reads them; an instruction handed to the interpreter
// counts as USE (it reads, and may write)
export function flagUse(ins: Insn): number {
  return inlineCandidate(ins) ? flagClass(ins.facts) : FL_USE;
}

function emitInline(b: Block, ins: Insn): boolean {
  return inlineCandidate(ins) && EMIT[emitOf(ins.facts)](b, ins);
}

export interface Compiled {
  bytes: Uint8Array<ArrayBuffer>;
  // a block alone (not a region): its function, which can also go into a module of several blocks
  // (Block.buildPack)
  fn?: { body: Code; nlocals: number; nGlobals: number };
  insns: number;
  inline: number;
  stepped: Insn[];
  list: Insn[]; // the entry unit's instructions
  units: number; // blocks in the region (1: the entry's alone)
  // the generation of the entry's page, read before any of its bytes: a store to the page while it
  // was being decoded (another vCPU, or the guest while a background compile ran) bumps it past
  // this, so the block is never entered with stale code
  gen: number;
  // the units' linear addresses: unit k > 0 is the module's export "e<k>" (the entry's is "b")
  entries?: number[];
}

// A CALL to a PIC thunk (`mov reg, [esp]; ret`, which i386 code calls at the top of most
// functions) is three instructions and two block transitions for `push next; reg = next`. The
// block inlines it and goes on at the return address. The thunk must be known code: on the
// block's page (covered by the block's generation), or on a page marked in CODEMAP whose mapping
// (fetch TLB tag and delta: an execute-disabled page fails it) and generation the block checks
// where the call runs.
function thunkAt(mem: Uint8Array, t: number, h: number, lin: number, tlb: number): Thunk | null {
  if ((t & 0xfff) > 0xffc) return null;
  const dv = new DataView(mem.buffer);
  let host: number, page = -1, delta = 0;
  if (t >>> 12 === lin >>> 12) host = (h & ~0xfff) + (t & 0xfff);
  else {
    if (tlb < 0) return null;
    const e = tlb + ((t >>> 12) & (L.TLB_ENTRIES - 1)) * 4;
    if (dv.getUint32(e + L.TLB_TAG_X, true) !== (t & ~0xfff) >>> 0) return null;
    delta = dv.getUint32(e + L.TLB_DELTA, true);
    host = (t + delta) >>> 0;
    page = t >>> 12;
  }
  if (host < L.RAM_BASE || host + 4 > mem.length) return null;
  const pg = (host - L.RAM_BASE) >>> 12;
  if (page >= 0 && mem[L.CODEMAP + pg] === 0) return null;
  const genAddr = L.PAGEGEN + pg * 4;
  const gen = Atomics.load(new Uint32Array(mem.buffer, genAddr, 1), 0); // before the bytes (Compiled.gen)
  const m = mem[host + 1];
  if (mem[host] !== 0x8b || (m & 0xc7) !== 0x04 || m === 0x24 || mem[host + 2] !== 0x24 || mem[host + 3] !== 0xc3) {
    return null;
  }
  return { reg: (m >> 3) & 7, page, delta, genAddr, gen };
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
    c.get(b.tlbL).const((t.page & (L.TLB_ENTRIES - 1)) * 4).add().tee(e).load(L.TLB_TAG_X).const(t.page << 12).ne();
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
function stepBlock(lin: number, S: number, memPages: number, profile: number, gen: number): Compiled {
  const b = new Block(S);
  const c = b.c;
  if (profile >= 0) c.const(0).const(0).load(profile).const(1).add().store(profile);
  c.const(lin).const(0).call(F.step);
  c.const(1).gset(G.head);
  const ins = blankInsn(lin);
  return {
    bytes: Block.build(c, b.nlocals, memPages, b.nGlobals),
    fn: { body: c, nlocals: b.nlocals, nGlobals: b.nGlobals },
    insns: 1,
    inline: 0,
    stepped: [ins],
    list: [ins],
    units: 1,
    gen,
  };
}

// A region: the block at the entry and, as further units of the same wasm function, the blocks
// at the same-page targets of its Jcc's (and of its units' Jcc's, fall-outs and JMPs back) that
// were visited before. A transition between units is a branch to the function's dispatcher (a
// br_table in a loop), not a tail call through the table.
export const MAX_UNITS = 16;
export const MAX_REGION_INSNS = 320;
// Regions are off by default: raced against blocks alone on this (heavily shared) machine they
// were not faster on any row and slower on several (ARCHITECTURE.md, "Regions").
// RING3_JIT_REGIONS=1 turns them on; the tests run both ways (jitOptions.regions).
// regions: compile page regions (off by default); waitShort: short blocks wait longer (jit.ts
// worthIt; the tests' bare machines turn it off unless a test is about it)
// batch: blocks compiled together into one module (runtime/jit/jit.ts, "Blocks share modules";
// RING3_JIT_BATCH=N, 1 = each alone)
export const jitOptions = {
  regions: host.env.get("RING3_JIT_REGIONS") === "1",
  waitShort: true,
  batch: Math.max(1, Math.min(64, Number(host.env.get("RING3_JIT_BATCH") ?? 8) | 0 || 1)),
};
const trace = !!host.env.get("RING3_JIT_TRACE");
const hex = (x: number) => (x >>> 0).toString(16);

// the instructions a block compiled at `lin` (host offset h) would hold (at least 1: an entry the
// compiler cannot decode becomes a one-instruction block)
export function blockLength(mem: Uint8Array, h: number, lin: number, tlb: number): number {
  return Math.max(1, decodeUnit(mem, h, lin, tlb).length);
}

// Decode one unit from linear address `at` (host offset h) to the first branch it does not
// follow, the page end, an instruction the compiler does not take, or MAX_INSNS; and (outside
// the CALLs it goes on into) before the start of another unit (`stops`), which it goes on to.
function decodeUnit(mem: Uint8Array, h: number, at: number, tlb: number, stops?: Set<number>): Insn[] {
  const insns: Insn[] = [];
  const end = (h | 0xfff) + 1;
  const lin = at;
  let p = h, a = at;
  const seen = new Set<number>();
  const page = (x: number) => x >>> 12 === lin >>> 12;
  const returns: Insn[] = []; // CALLs the block went on into, innermost last
  const stop = (x: number) => x !== at && returns.length === 0 && stops !== undefined && stops.has(x);
  while (insns.length < MAX_INSNS) {
    if (insns.length && stop(a) && insns[insns.length - 1].ret === undefined) break;
    const ins = decode(mem, p, end, a);
    if (!ins) break;
    insns.push(ins);
    seen.add(ins.at);
    p += ins.len;
    a = (a + ins.len) | 0;
    if (endsBlock(ins)) {
      // a JMP to code of this page not yet in the block: the block goes on there (no transition);
      // not a prefixed one (LOCK JMP is #UD, which the interpreter raises)
      if (direct(ins, END_JMP) && ins.pfx === 0 && page(ins.imm) && !seen.has(ins.imm) && !stop(ins.imm)) {
        ins.follow = true;
        p = (h & ~0xfff) + (ins.imm & 0xfff);
        a = ins.imm;
        continue;
      }
      // the RET of a CALL the block went on into: on at the return address (checked where it runs)
      if (plainRet(ins) && ins.pfx === 0 && returns.length) {
        const call = returns.pop()!;
        ins.ret = (call.at + call.len) | 0;
        p = (h & ~0xfff) + (ins.ret & 0xfff);
        a = ins.ret;
        continue;
      }
      if (!direct(ins, END_CALL) || ins.pfx !== 0) break;
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
  if (insns.length) {
    // a followed JMP, a CALL or RET the block goes on from, with nothing decoded after it, leaves
    // the block as a JMP, CALL or RET
    const tail = insns[insns.length - 1];
    tail.follow = tail.into = false;
    tail.ret = undefined;
  }
  return insns;
}

// where a unit goes on that another unit could start: its Jcc targets (taken: true when the
// interpreter must have been there for it to count), the JMPs it follows or ends with, the
// instruction after its last when that falls through or returns from a CALL
function successors(insns: Insn[]): [number, boolean][] {
  const out: [number, boolean][] = [];
  for (const ins of insns) {
    if (inlineJcc(ins)) out.push([ins.imm, true]);
    else if (ins.follow) out.push([ins.imm, false]);
  }
  const tail = insns[insns.length - 1];
  const next = (tail.at + tail.len) | 0;
  if (direct(tail, END_JMP) && tail.pfx === 0) out.push([tail.imm, false]);
  else if (!endsBlock(tail) || tail.thunk || inlineJcc(tail)) out.push([next, false]);
  // the return address of a CALL the unit leaves by: the callee's RET comes back there (through
  // the unit's entry), when it did before
  else if (endOf(tail.facts) === END_CALL && tail.pfx === 0) out.push([next, true]);
  return out;
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
): Compiled {
  const pg = (h - L.RAM_BASE) >>> 12;
  const genAddr = L.PAGEGEN + pg * 4;
  const gen = Atomics.load(new Uint32Array(mem.buffer, genAddr, 1), 0);
  const first = decodeUnit(mem, h, lin, tlb);
  if (first.length === 0) return stepBlock(lin, S, memPages, profile, gen);
  const units = [{ at: lin, insns: first }];
  const unitOf = new Map<number, number>([[lin, 0]]);
  const hostOf = (x: number) => (h & ~0xfff) + (x & 0xfff);
  const dv = new DataView(mem.buffer);
  // warm: the interpreter came there by a branch at least 1/8 as often as makes an entry hot (its
  // visit counter), or it is compiled already (in this vCPU's entry hash); at a threshold of 1
  // (tests) nothing is counted, so every target counts
  const hot = dv.getUint32(L.MACHINE + L.M_JIT, true);
  const jh = L.JIT_HASH + ((S - L.CPU_BASE) / L.CPU_STRIDE) * L.JIT_HASH_STRIDE;
  const visited = (x: number) => {
    if (hot <= 1) return true;
    const hx = hostOf(x) >>> 0;
    const ctr = S + L.S_JIT_COUNT + ((Math.imul(hx, 0x85ebca6b) >>> (32 - 13)) & (L.JIT_COUNTERS - 1)) * 4;
    if (dv.getUint32(ctr, true) >= Math.max(1, hot >>> 3)) return true;
    const s0 = jh + ((Math.imul(hx, 0x9e3779b1) >>> 20) & (L.JIT_ENTRIES / 2 - 1)) * 32;
    for (const s of [s0, s0 + 16]) {
      if (dv.getUint32(s, true) === hx && dv.getUint32(s + 12, true) === x >>> 0 && dv.getUint32(s + 4, true)) {
        return true;
      }
    }
    return false;
  };
  // the units: found breadth-first from the entry (each decoded up to the units known by then),
  // then decoded again up to all of them (a unit found later may start inside one found before)
  const stops = new Set<number>([lin]);
  for (let u = 0; jitOptions.regions && u < units.length && units.length < MAX_UNITS; u++) {
    for (const [t, taken] of successors(units[u].insns)) {
      if (units.length >= MAX_UNITS || unitOf.has(t) || t >>> 12 !== lin >>> 12) continue;
      if (taken && !visited(t)) continue;
      const insns = decodeUnit(mem, hostOf(t), t, tlb, stops);
      if (insns.length === 0) continue;
      unitOf.set(t, units.length);
      units.push({ at: t, insns });
      stops.add(t);
    }
  }
  if (units.length > 1) {
    let total = 0, n = 0;
    for (const u of units) {
      // (again only where it ran into a unit found after it)
      if (u.insns.some((ins, i) => i > 0 && stops.has(ins.at))) {
        u.insns = decodeUnit(mem, hostOf(u.at), u.at, tlb, stops);
      }
      total += u.insns.length;
      if (n > 0 && total > MAX_REGION_INSNS) break;
      n++;
    }
    units.splice(n);
    // Only loops: a unit stays when it is on a cycle of units (or is the entry). A loop makes its
    // transitions many times for each entry of the region; straight-line code and the paths out
    // of a loop would only add compile time (V8's grows with the bytes), and run as well as
    // blocks of their own. (A join whose decode came out empty has no code and goes too: the
    // transitions to one leave the region there.)
    const m = units.length;
    const reach = units.map((u) => {
      let bits = 0;
      for (const [t] of successors(u.insns)) {
        const k = unitOf.get(t);
        if (k !== undefined && k < m) bits |= 1 << k;
      }
      return bits;
    });
    for (let changed = true; changed;) {
      changed = false;
      for (let i = 0; i < m; i++) {
        let r = reach[i];
        for (let k = 0; k < m; k++) if (r & (1 << k)) r |= reach[k];
        if (r !== reach[i]) reach[i] = r, changed = true;
      }
    }
    const kept = units.filter((u, k) => k === 0 || (u.insns.length > 0 && (reach[k] & (1 << k)) !== 0));
    units.length = 0;
    units.push(...kept);
    unitOf.clear();
    units.forEach((u, k) => unitOf.set(u.at, k));
  }
  if (trace) console.error(`jit: region ${hex(lin)}: ${units.map((u) => `${hex(u.at)}:${u.insns.length}`).join(" ")}`);

  const n = units.length;
  // a region's body takes the unit to start at (local 0): each unit is an entry of the module
  const b = new Block(S, genAddr, gen, n > 1 ? 1 : 0);
  b.entry = lin;
  b.linking = chaining;
  const c = b.c;
  let inline = 0;
  const stepped: Insn[] = [];
  if (profile >= 0) c.const(0).const(0).load(profile).const(1).add().store(profile);
  const chain = b.tmp();
  const unitL = n > 1 ? 0 : b.tmp(); // the unit the dispatcher goes to (0: the entry)
  if (n > 1) b.regions();
  c.block(); // $exit
  c.loop(); // $top: the dispatcher
  for (let k = 0; k < n; k++) c.block();
  if (n > 1) c.get(unitL).brTable(units.map((_, k) => k), 0);
  c.end();
  for (let k = 0; k < n; k++) {
    b.depth0 = n - 1 - k;
    const u = emitUnit(b, units[k].insns, k, chain, unitL, unitOf, stepped);
    inline += u.inline;
    if (k < n - 1) {
      if (!u.fellIn) {
        b.spillFlags();
        b.flushRegs();
        c.br(1 + b.depth0); // $exit
      }
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
  const list = units.flatMap((u) => u.insns);
  return {
    bytes: Block.build(c, b.nlocals, memPages, b.nGlobals, n > 1 ? n : 0),
    fn: n > 1 ? undefined : { body: c, nlocals: b.nlocals, nGlobals: b.nGlobals },
    insns: list.length,
    inline,
    stepped,
    list: first,
    units: n,
    gen,
    entries: units.map((u) => u.at),
  };
}

// Emit one unit (its code is inside b.depth0 blocks of the dispatcher, then $top, then $exit).
// Returns how many instructions went inline and whether its code ends by going on into the unit
// after it (the next in the function), with no branch.
function emitUnit(
  b: Block,
  insns: Insn[],
  cur: number,
  chain: number,
  unitL: number,
  unitOf: Map<number, number>,
  stepped: Insn[],
): { inline: number; fellIn: boolean } {
  const c = b.c, S = b.S;
  b.startUnit();
  const uses = insns.map(flagUse);
  // backwards: flags are live after the block; an "x" or "r" reads them; a "w" kills them
  let live = true;
  for (let i = insns.length - 1; i >= 0; i--) {
    b.flagsLive[i] = live;
    const u = uses[i];
    if (u === FL_KILL) live = false;
    else if (u !== FL_PASS) live = true;
  }
  let inline = 0;
  let fellIn = false;
  // to unit k (at `target`) after `retired` instructions, from code `d` structured blocks deep in
  // the unit. The unit there reads the flags from memory and the registers from their locals.
  // A back-edge (to this unit or one before it) goes through the dispatcher while the budget and
  // the attention word allow, else out; so every loop checks them, and a forward transition
  // need not. Either leaves if a store hit this page (its code may have changed).
  const goUnit = (k: number, target: number, retired: number, d: number) => {
    b.spillFlags();
    b.syncRegs();
    c.gget(G.budget).const(retired).sub().gset(G.budget);
    const leave = (depth: number) => {
      c.const(target).gset(G.ip);
      c.gget(G.budget).const(1).add().gset(G.budget).br(depth);
    };
    if (k > cur) {
      c.const(0).load(b.genAddr).const(b.gen).ne().if_();
      leave(d + 2 + b.depth0);
      c.end();
      if (k === cur + 1 && d === 0) fellIn = true;
      else c.const(k).set(unitL).br(d + b.depth0);
      return;
    }
    c.const(k).set(unitL);
    c.gget(G.budget).const(0).gtS().const(0).load(S + L.S_ATTN).eqz().and();
    c.const(0).load(b.genAddr).const(b.gen).eq().and().brIf(d + b.depth0); // $top
    leave(d + 1 + b.depth0);
  };
  // the block ends after instruction i, which falls through: ip is the next one, and the block
  // may go on into the block there (a unit of this region, or another block)
  const fallOut = (ins: Insn, after: number) => {
    const next = (ins.at + ins.len) | 0;
    const k = unitOf.get(next);
    if (k !== undefined) return goUnit(k, next, after, 0);
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
  let done = 0; // instructions retired before instruction i (an inlined call is three)
  for (let i = 0; i < insns.length; i++, done = b.done + (insns[i - 1].thunk ? 3 : 1)) {
    const ins = insns[i];
    b.i = i;
    b.done = done;
    b.ins = ins;
    const after = done + (ins.thunk ? 3 : 1);
    const last = i === insns.length - 1;
    if (inlineJcc(ins)) {
      inline++;
      b.cond(ins.op & 15);
      c.if_();
      const k = unitOf.get(ins.imm);
      if (k !== undefined) goUnit(k, ins.imm, after, 1);
      else {
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
    if (last && direct(ins, END_JMP) && ins.pfx === 0 && unitOf.has(ins.imm)) {
      inline++;
      goUnit(unitOf.get(ins.imm)!, ins.imm, after, 0);
      break;
    }
    if (last && emitOf(ins.facts) === BRANCH && ins.pfx === 0) {
      emitBranch(b, ins, after);
      c.const(1).set(chain);
      b.spillFlags();
      b.flushRegs();
      b.linkExit(direct(ins, END_CALL) || direct(ins, END_JMP) ? ins.imm : -1);
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
      c.const(0).load(S + L.S_ATTN).or();
      if (endOf(ins.facts) === END_FLAT) {
        // a load of ES or DS: the rest of the block assumes the segment flat (base 0, every
        // offset readable and writable: what seg.ts segFlat() calls flat)
        const p = S + L.S_SEG + (ins.op === 0x8e ? ins.reg : ins.op === 0x07 ? L.SEG_ES : L.SEG_DS) * L.SEG_SIZE;
        c.const(0).load(p + L.SG_BASE);
        c.const(0).load(p + L.SG_WLO).or();
        c.const(0).load(p + L.SG_WHI).const(-1).ne().or();
        c.or();
      }
      c.if_();
      b.exitRetired(after, 2);
      c.end();
    }
  }
  return { inline, fellIn };
}
