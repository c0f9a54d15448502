// Shared bench of the block-compiler tests: bare-metal programs (flat 32-bit, nasm) run once with
// the JIT off and once with it compiling every block at its first visit, and everything the guest
// can observe must match: port output, exit code, registers, flags, EIP, memory and the
// retired-instruction count. An instrumented function table proves that compiled code did run.
import assert from "node:assert/strict";
import { Bare } from "../lib/bare.ts";
import * as L from "../../core-as/layout.ts";
import { OUTPUT_ASM, OUTPUT_MACROS, TABLE_MACROS } from "../lib/guest_asm.ts";
import { HAVE_NASM, nasm } from "../lib/tools.ts";
import { jitOptions } from "../../runtime/jit/compile.ts";

export const ORG = 0x10000;

// ---- execution evidence -----------------------------------------------------------------------
// A block's stats count compiles, not runs. To see runs, every compiled block's table entry is
// replaced by a tiny wasm function that calls a JS counter and then the block (same type, so the
// core's call_indirect is unchanged). Module: imports env.f (the block) and env.n (the counter),
// exports w() { n(); f(); } with f as a tail call, as blocks chain into each other that way.
export const WRAP = new WebAssembly.Module(Uint8Array.from(
  [
    "0061736d 01000000", // magic, version
    "01 04 01 600000", // types: 0 = [] -> []
    "02 11 02 03656e76 0166 0000 03656e76 016e 0000", // imports: env.f, env.n, functions of type 0
    "03 02 01 00", // functions: one of type 0
    "07 05 01 0177 00 02", // exports: "w" = function 2
    "0a 08 01 06 00 1001 1200 0b", // code: w() { call n; return_call f } (blocks chain by tail calls)
  ].join("").replaceAll(" ", "").match(/../g)!,
  (h) => parseInt(h, 16),
));

export interface Evidence {
  runs: number; // compiled block executions
  entries: Map<number, number>; // block entry (linear) -> executions
  units: Map<number, number>; // the part of those through a region's other units' entries
}

export function instrument(bare: Bare): Evidence {
  const ev: Evidence = { runs: 0, entries: new Map(), units: new Map() };
  const jit = bare.core.jit;
  const compile = jit.compile.bind(jit);
  const wrap = (idx: number, at: number, unit = false) => {
    const n = () => {
      ev.runs++;
      ev.entries.set(at, (ev.entries.get(at) ?? 0) + 1);
      if (unit) ev.units.set(at, (ev.units.get(at) ?? 0) + 1);
    };
    const inst = new WebAssembly.Instance(WRAP, { env: { f: jit.table.get(idx)!, n } });
    jit.table.set(idx, inst.exports.w as () => void);
  };
  jit.compile = (h: number, lin: number): number => {
    const idx = compile(h, lin);
    if (idx !== 0) {
      wrap(idx, lin >>> 0);
      // a region's other units, entries of the same module (runtime/jit/jit.ts)
      for (const [i, at] of jit.entered) wrap(i, at, true);
    }
    return idx;
  };
  return ev;
}

// ---- programs ---------------------------------------------------------------------------------
// the page directory and the one page table MAP_4M fills (page-aligned, at the program's end)
export const PAGE_TABLES = "align 4096\npd: times 1024 dd 0\npt: times 1024 dd 0\n";

// Flat 32-bit code at ORG with its own GDT (the selectors startFlat32 uses) and an IDT whose
// vectors report "!<vector>" and end the run, except #PF when the program brings `pf_handler`.
export function program(body: string, pf = false): string {
  return `
bits 32
org ${ORG}
%define ABS(x) ((x) - $$ + ${ORG})
${TABLE_MACROS}${OUTPUT_MACROS}%macro PUTC 1
  push eax
  mov al, %1
  out 0xe9, al
  pop eax
%endmacro
; page tables at pt/pd (the program ends with PAGE_TABLES): identity map of 0-4 MiB, then paging on;
; PAGE_OFF/PAGE_ON addr clear/set the present bit of addr's page, PAGE_MAP addr, phys maps it elsewhere
%macro MAP_4M 0
  mov edi, pt
  mov eax, 3
  mov ecx, 1024
%%map:
  mov [edi], eax
  add eax, 4096
  add edi, 4
  dec ecx
  jnz %%map
%endmacro
%macro PAGING_ON 0
  mov dword [pd], pt + 3
  mov eax, pd
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
%endmacro
%macro PAGE_OFF 1
  and dword [pt + ((%1) >> 12) * 4], ~1
  invlpg [%1]
%endmacro
%macro PAGE_ON 1
  or dword [pt + ((%1) >> 12) * 4], 1
  invlpg [%1]
%endmacro
%macro PAGE_MAP 2
  mov dword [pt + ((%1) >> 12) * 4], (%2) + 3
  invlpg [%1]
%endmacro
start:
  lgdt [gdtr]
  lidt [idtr]
  jmp body
${OUTPUT_ASM}%assign v 0
%rep 32
stub %+ v:
  push dword v
  jmp unexpected
%assign v v+1
%endrep
unexpected:
  PUTC '!'
  pop eax
  call puthex
  EXIT 0xee
align 8
gdt: dq 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
gdtr: dw 23
  dd gdt
idtr: dw 32 * 8 - 1
  dd idt
idt:
%assign v 0
%rep 32
%if v == 14 && ${pf ? 1 : 0}
  GATE 0x08, ABS(pf_handler), 0x8e, 0
%else
  GATE 0x08, ABS(stub %+ v), 0x8e, 0
%endif
%assign v v+1
%endrep
body:
${body}
`;
}

export interface Outcome {
  exit: string;
  code: number;
  out: string;
  icount: bigint;
  regs: number[];
  eip: number;
  flags: number;
  mem: Uint8Array;
  blocks: number;
  packs: number; // modules of several blocks (jitOptions.batch)
  runs: number;
  entries: Map<number, number>;
  units: Map<number, number>;
}

export interface RunOptions {
  budget?: number;
  memEnd?: number; // guest memory compared: [ORG, memEnd)
  io_out?: (bare: Bare, port: number, value: number) => void;
  // compile regions (runtime/jit/compile.ts; default) or every block alone
  regions?: boolean;
  // short blocks wait longer (runtime/jit/jit.ts worthIt; default off: a block is compiled at
  // the threshold, whatever its length)
  waitShort?: boolean;
  // blocks compiled together into one module (runtime/jit/jit.ts batched; default 1: each alone,
  // at once)
  batch?: number;
}

// threshold 0 = interpreter alone; 1 = every block compiled at its first visit
export async function runImage(image: Uint8Array, threshold: number, o: RunOptions = {}): Promise<Outcome> {
  let self: Bare | null = null;
  const bare = await Bare.create({ io_out: (port, _size, value) => o.io_out?.(self!, port, value) });
  self = bare;
  // the machine word, not RING3_JIT: the outcome must not depend on the environment of the run
  new DataView(bare.memory.buffer).setUint32(L.MACHINE + L.M_JIT, threshold, true);
  const ev = instrument(bare);
  bare.load(ORG, image);
  bare.startFlat32(ORG, 0x90000);
  const was = { ...jitOptions };
  jitOptions.regions = o.regions ?? true;
  jitOptions.waitShort = o.waitShort ?? false;
  jitOptions.batch = o.batch ?? 1;
  let r;
  try {
    r = bare.run(o.budget ?? 20_000_000);
  } finally {
    Object.assign(jitOptions, was);
  }
  const core = bare.core;
  return {
    exit: r.exit,
    code: r.code,
    out: r.out,
    icount: r.icount,
    regs: bare.regs(),
    eip: core.eip,
    flags: bare.flags(),
    mem: bare.ram.read(ORG, (o.memEnd ?? 0x40000) - ORG)!,
    blocks: core.jit.stats.blocks,
    packs: core.jit.stats.packs,
    runs: ev.runs,
    entries: ev.entries,
    units: ev.units,
  };
}

export const hex = (v: number) => (v >>> 0).toString(16).padStart(8, "0");
export const REGS = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];

export function firstMemDiff(a: Uint8Array, b: Uint8Array): string {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return `first difference at ${hex(ORG + i)}: ${a[i]} (interpreter) vs ${b[i]} (jit)`;
  }
  return "";
}

// Run with the JIT off and at threshold 1 and require the same observable outcome; the compiled
// run is made twice, with regions and with every block alone (runtime/jit/compile.ts), and `on`
// is the one `o.regions` names (default: regions), which the test's own evidence checks look at.
export async function both(
  src: string,
  o: RunOptions = {},
): Promise<{ off: Outcome; on: Outcome; alt: Outcome }> {
  const image = await nasm(src);
  const off = await runImage(image, 0, o);
  const regions = o.regions ?? true;
  const alt = await runImage(image, 1, { ...o, regions: !regions });
  const on = await runImage(image, 1, { ...o, regions });
  assert.equal(off.blocks, 0, "the reference run must be the interpreter alone");
  assert.equal(off.runs, 0);
  for (const [r, how] of [[on, regions ? "regions" : "blocks"], [alt, regions ? "blocks" : "regions"]] as const) {
    assert.ok(r.blocks > 0, `no block was compiled (${how})`);
    // (a block that loops on a Jcc back to its entry runs its rounds inside one entry, so entries
    // can be fewer than compiled blocks; the tests that need it check particular blocks' entries)
    assert.ok(r.runs > 0, `no compiled block ran (${r.blocks} compiled, ${how})`);
    assert.equal(r.out, off.out, `port 0xE9 output (${how})`);
    assert.deepEqual([r.exit, r.code], [off.exit, off.code], `exit (${how})`);
    const regDiff = REGS.map((n, i) => r.regs[i] !== off.regs[i] ? `${n} ${hex(off.regs[i])} vs ${hex(r.regs[i])}` : "")
      .filter((s) => s);
    assert.deepEqual(regDiff, [], `registers (interpreter vs jit, ${how})`);
    assert.equal(hex(r.eip), hex(off.eip), `EIP (${how})`);
    assert.equal(hex(r.flags), hex(off.flags), `EFLAGS (${how})`);
    assert.equal(firstMemDiff(off.mem, r.mem), "", `memory (${how})`);
  }
  return { off, on, alt };
}

// the retired-instruction count is exact with blocks (a separate assertion: its own message)
export function sameCount(r: { off: Outcome; on: Outcome; alt?: Outcome }): void {
  assert.equal(r.on.icount, r.off.icount, `instructions retired: ${r.off.icount} interpreter, ${r.on.icount} jit`);
  if (r.alt) {
    assert.equal(
      r.alt.icount,
      r.off.icount,
      `instructions retired: ${r.off.icount} interpreter, ${r.alt.icount} jit (alt)`,
    );
  }
}

// Flag checks after an instruction, for programs with a 16-byte `cc` buffer: SETcc of all 16
// conditions into it (SETcc leaves the flags alone, so each reads that instruction's own flags,
// from the block's locals when they share a block), then the buffer folded into EDI.
const CONDS = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
export const SET_ALL_CC = CONDS.map((c, i) => `  set${c} byte [cc + ${i}]`).join("\n");
export const FOLD_CC = [0, 4, 8, 12].map((o) => `  add edi, [cc + ${o}]\n  rol edi, 3`).join("\n");

// A test that the program (program()'s body) gives the same outcome and instruction count with
// the block compiler as with the interpreter alone (both(), sameCount()); skipped without nasm.
export function matchesInterpreter(name: string, body: () => string): void {
  Deno.test({
    name,
    ignore: !HAVE_NASM,
    fn: async () => sameCount(await both(program(body()))),
  });
}

// A program that runs instruction forms over edge values, for the tests of inline arithmetic:
// each round picks two operands from `edges` into valB and valC ("bits": 64 rounds, edges[ebp &
// 7] and edges[ebp >> 3] into EAX and EBX; "div7": 49 rounds, edges[ebp % 7] and edges[ebp / 7]
// into EBX and ECX, every pair once), runs `perRound`, then for every form `load`, the form,
// SET_ALL_CC, `after` (what reads CF: ADC/SBB) and FOLD_CC; `sums` folds the round's registers
// and memory into ESI. The data sit on pages of their own (a store to a code page ends the
// block): edges, cc, valB, valC, `vars`, and `edge` (one label, a word or a dword) across the
// page boundary at ORG + 0x6000, where a compiled access takes its slow path.
export interface EdgeRounds {
  pick: "bits" | "div7";
  edges: number[];
  forms: string[];
  load: string;
  after: string;
  sums: string;
  pre?: string; // before the first round
  perRound?: string; // after the pick
  vars?: string;
  edge: { label: string; size: 2 | 4; init?: number };
}
const PICK = {
  bits: `  mov ebp, 64
  mov esi, 0x9e3779b9
PRE.round:
  mov eax, ebp
  and eax, 7
  mov ebx, ebp
  shr ebx, 3
  mov eax, [edges + eax * 4]
  mov ebx, [edges + ebx * 4]
  mov [valB], eax
  mov [valC], ebx
`,
  div7: `  mov ebp, 49
  mov esi, 0x9e3779b9
PRE.round:
  mov eax, ebp
  xor edx, edx
  mov ecx, 7
  div ecx
  mov ebx, [edges + edx * 4]
  mov ecx, [edges + eax * 4]
  mov [valB], ebx
  mov [valC], ecx
  xor edx, edx
`,
};
export function edgeRounds(o: EdgeRounds): string {
  const hx = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, "0")}`;
  const e = o.edge;
  return `
${PICK[o.pick].replace("PRE", o.pre ?? "")}${o.perRound ?? ""}${
    o.forms.map((f) => `${o.load}  ${f}\n${SET_ALL_CC}\n${o.after}${FOLD_CC}\n`).join("")
  }${o.sums}
  rol esi, 5
  dec ebp
  jnz .round
  PUTHEX esi
  PUTHEX edi
  EXIT 7
align 4096 ; (data on pages of their own: a store to a code page ends the block)
edges: dd ${o.edges.map(hx).join(", ")}
cc: times 16 db 0
valB: dd 0
valC: dd 0
${o.vars ?? ""}  times (0x6000 - ${e.size / 2}) - ($ - $$) db 0
${e.label}: ${e.size === 2 ? "dw" : "dd"} ${e.init ?? 0} ; across the page boundary at 0x...6000
`;
}
