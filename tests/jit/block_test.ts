// The block compiler against the interpreter: bare-metal programs (flat 32-bit, nasm) run once
// with the JIT off and once with it compiling every block at its first visit, and everything the
// guest can observe must match: port output, exit code, registers, flags, EIP, memory and the
// retired-instruction count. Each program loops hundreds of times, so its blocks are compiled
// early and then run many times; an instrumented table proves that compiled code did run.
import assert from "node:assert/strict";
import { Bare, nasm } from "../lib/bare.ts";
import * as L from "../../core-as/layout.ts";
import { MAX_INSNS } from "../../runtime/jit/compile.ts";

const ORG = 0x10000;
const HAVE_NASM = (() => {
  try {
    return new Deno.Command("nasm", { args: ["-v"], stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();

// ---- execution evidence -----------------------------------------------------------------------
// A block's stats count compiles, not runs. To see runs, every compiled block's table entry is
// replaced by a tiny wasm function that calls a JS counter and then the block (same type, so the
// core's call_indirect is unchanged). Module: imports env.f (the block) and env.n (the counter),
// exports w() { n(); f(); } with f as a tail call, as blocks chain into each other that way.
const WRAP = new WebAssembly.Module(Uint8Array.from(
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

interface Evidence {
  runs: number; // compiled block executions
  entries: Map<number, number>; // block entry (linear) -> executions
}

function instrument(bare: Bare): Evidence {
  const ev: Evidence = { runs: 0, entries: new Map() };
  const jit = bare.core.jit;
  const compile = jit.compile.bind(jit);
  jit.compile = (h: number, lin: number): number => {
    const idx = compile(h, lin);
    if (idx !== 0) {
      const at = lin >>> 0;
      const n = () => {
        ev.runs++;
        ev.entries.set(at, (ev.entries.get(at) ?? 0) + 1);
      };
      const inst = new WebAssembly.Instance(WRAP, { env: { f: jit.table.get(idx)!, n } });
      jit.table.set(idx, inst.exports.w as () => void);
    }
    return idx;
  };
  return ev;
}

// ---- programs ---------------------------------------------------------------------------------
// Flat 32-bit code at ORG with its own GDT (the selectors startFlat32 uses) and an IDT whose
// vectors report "!<vector>" and end the run, except #PF when the program brings `pf_handler`.
function program(body: string, pf = false): string {
  return `
bits 32
org ${ORG}
%define ABS(x) ((x) - $$ + ${ORG})
%macro PUTHEX 1
  push eax
  mov eax, %1
  call puthex
  pop eax
%endmacro
%macro PUTC 1
  push eax
  mov al, %1
  out 0xe9, al
  pop eax
%endmacro
%macro PRINT 1
  jmp %%go
%%s: db %1, 0
%%go:
  push esi
  mov esi, %%s
  call puts
  pop esi
%endmacro
%macro EXIT 1
  mov al, %1
  out 0xf4, al
  cli
  hlt
%endmacro
%macro GATE 1
  dw ABS(%1) & 0xffff
  dw 0x08
  db 0, 0x8e
  dw ABS(%1) >> 16
%endmacro
start:
  lgdt [gdtr]
  lidt [idtr]
  jmp body
puthex:
  pushad
  mov ebx, eax
  mov ecx, 8
.l:
  rol ebx, 4
  mov eax, ebx
  and eax, 0xf
  mov al, [hexd + eax]
  out 0xe9, al
  dec ecx
  jnz .l
  popad
  ret
hexd: db "0123456789abcdef"
puts:
  push eax
  push esi
.l:
  mov al, [esi]
  inc esi
  test al, al
  jz .d
  out 0xe9, al
  jmp .l
.d:
  pop esi
  pop eax
  ret
%assign v 0
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
  GATE pf_handler
%else
  GATE stub %+ v
%endif
%assign v v+1
%endrep
body:
${body}
`;
}

interface Outcome {
  exit: string;
  code: number;
  out: string;
  icount: bigint;
  regs: number[];
  eip: number;
  flags: number;
  mem: Uint8Array;
  blocks: number;
  runs: number;
  entries: Map<number, number>;
}

interface RunOptions {
  budget?: number;
  memEnd?: number; // guest memory compared: [ORG, memEnd)
  io_out?: (bare: Bare, port: number, value: number) => void;
}

// threshold 0 = interpreter alone; 1 = every block compiled at its first visit
async function runImage(image: Uint8Array, threshold: number, o: RunOptions = {}): Promise<Outcome> {
  let self: Bare | null = null;
  const bare = await Bare.create({ io_out: (port, _size, value) => o.io_out?.(self!, port, value) });
  self = bare;
  // the machine word, not RING3_JIT: the outcome must not depend on the environment of the run
  new DataView(bare.memory.buffer).setUint32(L.MACHINE + L.M_JIT, threshold, true);
  const ev = instrument(bare);
  bare.load(ORG, image);
  bare.startFlat32(ORG, 0x90000);
  const r = bare.run(o.budget ?? 20_000_000);
  const core = bare.core;
  return {
    exit: r.exit,
    code: r.code,
    out: r.out,
    icount: r.icount,
    regs: [...Array(8)].map((_, i) => core.reg(i)),
    eip: core.eip,
    flags: (core.ex as unknown as { getFlags(): number }).getFlags() >>> 0,
    mem: bare.ram.slice(ORG, o.memEnd ?? 0x40000),
    blocks: core.jit.stats.blocks,
    runs: ev.runs,
    entries: ev.entries,
  };
}

const hex = (v: number) => (v >>> 0).toString(16).padStart(8, "0");
const REGS = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];

function firstMemDiff(a: Uint8Array, b: Uint8Array): string {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return `first difference at ${hex(ORG + i)}: ${a[i]} (interpreter) vs ${b[i]} (jit)`;
  }
  return "";
}

// Run with the JIT off and at threshold 1 and require the same observable outcome.
async function both(src: string, o: RunOptions = {}): Promise<{ off: Outcome; on: Outcome }> {
  const image = await nasm(src);
  const off = await runImage(image, 0, o);
  const on = await runImage(image, 1, o);
  assert.equal(off.blocks, 0, "the reference run must be the interpreter alone");
  assert.equal(off.runs, 0);
  assert.ok(on.blocks > 0, "no block was compiled");
  // (a block that loops on a Jcc back to its entry runs its rounds inside one entry, so entries
  // can be fewer than compiled blocks; the tests that need it check particular blocks' entries)
  assert.ok(on.runs > 0, `no compiled block ran (${on.blocks} compiled)`);
  assert.equal(on.out, off.out, "port 0xE9 output");
  assert.deepEqual([on.exit, on.code], [off.exit, off.code], "exit");
  const regDiff = REGS.map((n, i) => on.regs[i] !== off.regs[i] ? `${n} ${hex(off.regs[i])} vs ${hex(on.regs[i])}` : "")
    .filter((s) => s);
  assert.deepEqual(regDiff, [], "registers (interpreter vs jit)");
  assert.equal(hex(on.eip), hex(off.eip), "EIP");
  assert.equal(hex(on.flags), hex(off.flags), "EFLAGS");
  assert.equal(firstMemDiff(off.mem, on.mem), "", "memory");
  return { off, on };
}

// the retired-instruction count is exact with blocks (a separate assertion: its own message)
function sameCount(r: { off: Outcome; on: Outcome }): void {
  assert.equal(r.on.icount, r.off.icount, `instructions retired: ${r.off.icount} interpreter, ${r.on.icount} jit`);
}

// ---- 1. integer code --------------------------------------------------------------------------
const CC = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
let label = 0;
// every condition after one flag-setting instruction (repeated before each Jcc: the paths change
// the flags), short and near forms alternating; the path taken is folded into esi
function allCc(setter: string): string {
  let s = "";
  CC.forEach((cc, i) => {
    const n = label++;
    s += `  ${setter}\n  j${cc} ${(i & 1) ? "near " : ""}.t${n}\n  add esi, ${i * 2 + 1}\n  jmp .n${n}\n`;
    s += `.t${n}:\n  xor esi, ${(0x100 << i) >>> 0}\n.n${n}:\n  rol esi, 1\n`;
  });
  return s;
}
// EFLAGS after an instruction, as PUSHFD sees them (arithmetic flags only) folded into esi
const SAMPLE = "  pushfd\n  pop edx\n  and edx, 0x8d5\n  add esi, edx\n  rol esi, 5\n";

const MIXED = program(`
  mov dword [count], 300
  mov esi, 0x12345678
  mov ebp, 0x9e3779b9
.loop:
  ; pseudo-random operands; every 4th iteration two equal ones (ZF, equal compares)
  imul ebp, ebp, 1103515245
  add ebp, 12345
  mov eax, ebp
  mov ebx, ebp
  rol ebx, 13
  mov ecx, ebx
  ror ecx, 7
  test ebp, 0x30000
  jnz .noeq
  mov ebx, eax
.noeq:
  ; memory operands [base + index*scale + disp] of every scale, loads, stores, read-modify-write
  mov edi, [count]
  and edi, 63
  mov [tbl + edi*4], eax
  mov [tbl + edi + 256], bl
  mov [tbl + edi*2 + 512], cx
  mov [edi*8 + tbl + 640], ecx
  push edi
  lea edi, [tbl + edi*4]
  add [edi + 4], eax
  sub [edi + 8], ebx
  xor [edi], ecx
  or [edi + 12], ebp
  and [edi + 16], eax
  add eax, [edi + 4]
  xor ecx, [edi - 4 + 4]
  sub ebx, [edi + 8]
  cmp [edi + 12], eax
${SAMPLE}
  add byte [edi + 1], 0x81
  sub byte [edi + 2], bl
${SAMPLE}
  pop edi
  movzx edx, byte [tbl + edi + 256]
  add esi, edx
  movsx edx, byte [tbl + edi*4 + 1]
  add esi, edx
  movzx edx, word [tbl + edi*2 + 512]
  xor esi, edx
  movsx edx, word [tbl + edi*4 + 2]
  sub esi, edx
  movzx edx, ah
  add esi, edx
  movsx edx, bh
  add esi, edx
  movsx edx, cx
  xor esi, edx
  movzx edx, ch
  add esi, edx
  mov edx, [tbl + edi*8 + 640]
  add esi, edx
  ; 8-bit registers, high halves included
  mov dl, ah
  add dl, bh
  sub ah, cl
${SAMPLE}
  xor bh, al
  and ch, dh
${SAMPLE}
  or dh, bl
  mov al, ch
  mov bl, 0x7f
  add bl, al
${SAMPLE}
  cmp ah, bh
${SAMPLE}
  add esi, eax
  xor esi, ebx
  add esi, ecx
  ; lea forms
  lea edx, [eax + ebx*2 + 0x1234]
  add esi, edx
  lea edx, [edi*8 + 5]
  add esi, edx
  lea edx, [eax + ecx]
  xor esi, edx
  lea edx, [ebx*4 - 7]
  add esi, edx
  lea edx, [esi + 1]
  mov esi, edx
  ; flags of each inline ALU form as PUSHFD sees them
  add eax, ebx
${SAMPLE}
  sub ecx, eax
${SAMPLE}
  and ebx, ecx
${SAMPLE}
  or eax, 0x80
${SAMPLE}
  xor ecx, -1
${SAMPLE}
  inc eax
${SAMPLE}
  dec ebx
${SAMPLE}
  cmp eax, ebx
  inc ecx                 ; keeps the carry of the compare
${SAMPLE}
  cmp ebx, eax
  dec ecx
${SAMPLE}
  add eax, 0x7fffffff
  adc ecx, ebx            ; interpreted: reads the inline add's carry
  sbb ebx, 3
${SAMPLE}
  test eax, ecx
${SAMPLE}
  sub al, bh
${SAMPLE}
  ; every condition after each kind of flag setter
${allCc("cmp eax, ebx")}
${allCc("cmp al, bl")}
${allCc("cmp ah, bh")}
${allCc("cmp ecx, 0x7fffffff")}
${allCc("cmp byte [tbl + 3], 0x80")}
${allCc("cmp eax, [tbl + 8]")}
${allCc("cmp ax, bx")}
${allCc("test eax, ebx")}
${allCc("test al, 0x81")}
${allCc("test ch, ch")}
${allCc("and ecx, eax")}
${allCc("sub ecx, ebx")}
${allCc("add eax, ebx")}
${allCc("or cl, bh")}
${allCc("xor ah, al")}
${allCc("inc eax")}
${allCc("dec ebx")}
  ; calls and returns, push and pop
  push eax
  push ebx
  call mix1
  pop ecx
  pop edx
  add esi, ecx
  xor esi, edx
  push 0x1234
  push -5
  pop edx
  add esi, edx
  pop edx
  add esi, edx
  call [mixptr]
  push ebx
  call mix2
  sub dword [count], 1
  jnz .loop
  ; results: esi and a checksum of the table
  mov ecx, (tblend - tbl) / 4
  xor eax, eax
.sum:
  add eax, [tbl + ecx*4 - 4]
  rol eax, 1
  dec ecx
  jnz .sum
  PUTHEX esi
  PUTC ' '
  PUTHEX eax
  EXIT 0x42
mix1:
  push ebp
  mov ebp, esp
  mov eax, [ebp + 8]
  mov ebx, [ebp + 12]
  add eax, ebx
  mov [ebp + 8], eax
  pop ebp
  call mix2sub
  ret
mix2sub:
  xor esi, 0x5a5a5a5a
  ret
mix2:
  mov edx, [esp + 4]
  add esi, edx
  ret 4
align 4096 ; data on its own page: stores to a code page make its blocks stale (tested below)
mixptr: dd mix2sub
count: dd 0
tbl: times 1200 db 0
tblend:
`);

Deno.test({
  name: "jit: integer loop (ALU, memory operands, 8-bit registers, movzx/movsx, lea, stack, all Jcc)",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(MIXED);
    assert.equal(r.on.exit, "done");
    assert.equal(r.on.code, 0x42);
    assert.match(r.on.out, /^[0-9a-f]{8} [0-9a-f]{8}$/);
    assert.ok(r.on.runs > 20_000, `only ${r.on.runs} block executions`);
    sameCount(r);
  },
});

// ---- 2. self-modifying code -------------------------------------------------------------------
// A routine that is compiled and run, then patched (the imm32 of its `mov eax, imm32`) through
// a guest store, and run again: the patched value must be seen. Each case checks the sum of all
// values seen against the model here, and the JIT run against the interpreter. The patched
// instruction sits at a fixed address (ROUTINE) and is a block entry, so the test can tell its
// block did run compiled.
const ITER = 300;
const patchValue = (ecx: number) => Math.imul(ecx, 0x01000193) >>> 0;
const rol3 = (v: number) => ((v << 3) | (v >>> 29)) >>> 0;
const rol5 = (v: number) => ((v << 5) | (v >>> 27)) >>> 0;

// The routine runs twice between patches: the first call after a patch finds its block stale and
// compiles it again, the second runs the new block. \`check\` reports the first time the patched
// instruction produced something else than the bytes in memory say.
const SMC_LOOP = `
  mov ecx, ${ITER}
  xor esi, esi
  mov edi, 0x11111111        ; the routine's immediate as it is in memory
.loop:
  call routine
  call check
  add esi, eax
  rol esi, 5
  call routine
  call check
  add esi, eax
  rol esi, 3
  mov edi, ecx
  imul edi, edi, 0x01000193
  mov [routine + 3], edi
  dec ecx
  jnz .loop
  PUTHEX esi
  EXIT 0x42
`;
const SMC_CHECK = `
check:
  cmp eax, edi
  je .r
  cmp byte [reported], 0
  jne .r
  mov byte [reported], 1
  PRINT " stale code ran: ecx="
  PUTHEX ecx
  PRINT " eax="
  PUTHEX eax
  PRINT ", the bytes in memory say "
  PUTHEX edi
  PRINT 10
.r:
  ret
reported: db 0
`;
function smcLoopExpected(): string {
  let esi = 0, imm = 0x11111111;
  for (let ecx = ITER; ecx > 0; ecx--) {
    esi = rol3((rol5((esi + imm) >>> 0) + imm) >>> 0);
    imm = patchValue(ecx);
  }
  return hex(esi);
}
// the routine: a jump first, so that its second instruction is a branch target (a block entry)
// even when the call crossed a page (the interpreter runs the first instruction on a new page)
const ROUTINE_AT = (off: number) => `
times ${off} - ($ - $$) db 0x90
routine:
  jmp short .in
.in:
  mov eax, 0x11111111
  ret
`;

const SMC_CASES: { name: string; src: string; entry: number; want: string }[] = [
  {
    name: "a routine on another page",
    src: program(SMC_LOOP + SMC_CHECK + ROUTINE_AT(0x3000)),
    entry: ORG + 0x3002,
    want: smcLoopExpected(),
  },
  {
    name: "a routine on the same page as the patching loop",
    src: program(SMC_LOOP + SMC_CHECK + ROUTINE_AT(0xc00)),
    entry: ORG + 0xc02,
    want: smcLoopExpected(),
  },
  {
    // No branch between the store and the patched instruction: the interpreter (and every CPU
    // since the Pentium, which snoops stores against prefetched code) runs the new bytes. The
    // block stores to a data page on most iterations, so it is compiled and runs; every 16th
    // iteration the same store hits the block's own later instruction. \`check\` is on another
    // page: coming back refetches the loop's page, so each patch is the first store to a code
    // page (the case above is not involved).
    name: "an instruction later in the running block",
    src: program(`
  mov ecx, ${ITER}
  xor esi, esi
  jmp .loop
times 0xc00 - ($ - $$) db 0x90
.loop:
  mov edi, ecx
  imul edi, edi, 0x01000193
  mov ebx, scratch
  mov edx, .p + 1
  test ecx, 15
  cmovz ebx, edx
  mov [ebx], edi
.p:
  mov eax, 0x11111111
  mov edi, [.p + 1]
  call check
  add esi, eax
  rol esi, 3
  dec ecx
  jnz .loop
  PUTHEX esi
  EXIT 0x42
times 0x2000 - ($ - $$) db 0x90
${SMC_CHECK}
align 4096
scratch: dd 0
`),
    entry: ORG + 0xc00,
    want: (() => {
      let esi = 0, imm = 0x11111111;
      for (let ecx = ITER; ecx > 0; ecx--) {
        if (ecx % 16 === 0) imm = patchValue(ecx);
        esi = rol3((esi + imm) >>> 0);
      }
      return hex(esi);
    })(),
  },
];

Deno.test({
  name: "jit: self-modifying code is seen (page generations)",
  ignore: !HAVE_NASM,
  fn: async (t) => {
    for (const c of SMC_CASES) {
      await t.step(c.name, async () => {
        const image = await nasm(c.src);
        const off = await runImage(image, 0);
        assert.equal(off.out, c.want, "interpreter (the model of the program is wrong)");
        const r = await both(c.src);
        assert.ok(
          (r.on.entries.get(c.entry) ?? 0) > 100,
          `the patched block ran compiled ${r.on.entries.get(c.entry)} times`,
        );
        sameCount(r);
      });
    }
  },
});

// ---- 3. a page fault in the middle of a compiled block ---------------------------------------
// Paging with identity-mapped 4 MiB; every 64th iteration the loop unmaps the data page and
// enters the hot block through a jump, so the block (compiled long before) faults at FAULT, in
// its middle. The #PF handler reports CR2, the error code, the pushed EIP and EFLAGS and the
// registers the instructions before FAULT wrote (they retired), maps the page back and returns:
// the instruction runs again and the program finishes. `before` is what runs between the flag
// setter and FAULT; the flags it leaves must be in the pushed EFLAGS exactly as the interpreter
// has them.
const DP = 0x200000; // the data page that comes and goes
function faultProgram(before: string, fault: string): string {
  return program(
    `
  ; page tables: identity map of 0-4 MiB
  mov edi, pt
  mov eax, 3
  mov ecx, 1024
.map:
  mov [edi], eax
  add eax, 4096
  add edi, 4
  dec ecx
  jnz .map
  mov dword [pd], pt + 3
  mov eax, pd
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  jmp .paged
.paged:
  ; the data page: a pattern
  mov edi, ${DP}
  mov eax, 0x01010101
  mov ecx, 1024
.fill:
  mov [edi], eax
  add eax, 0x01020304
  add edi, 4
  dec ecx
  jnz .fill
  PRINT "fault at "
  PUTHEX ..@fault
  PRINT " in the block at "
  PUTHEX ..@hot
  PRINT 10
  mov ecx, 400
  xor esi, esi
  xor edx, edx
.loop:
  test ecx, 63
  jnz .hot
  and dword [pt + (${DP} >> 12) * 4], ~1
  invlpg [${DP}]
  jmp .hot
.hot:
..@hot:
  mov eax, ecx
  add eax, 0x1000
  mov ebx, 0xfffffff0
  lea ebp, [eax + ecx]
  cmp eax, ebx
${before}
  mov edi, eax
..@fault:
  ${fault}
  add ebp, eax
  add esi, ebp
  rol esi, 1
  dec ecx
  jnz .loop
  ; the data page's checksum (the faulting instruction may be a store)
  mov ecx, 1024
.sum:
  add esi, [${DP} + ecx*4 - 4]
  rol esi, 1
  dec ecx
  jnz .sum
  PUTHEX esi
  EXIT 0x42

pf_handler:
  mov [saved], eax
  mov [saved + 4], ecx
  mov [saved + 8], edx
  mov [saved + 12], ebx
  mov [saved + 16], ebp
  mov [saved + 20], esi
  mov [saved + 24], edi
  mov eax, [esp]
  mov [saved + 28], eax
  PRINT "#PF cr2="
  mov eax, cr2
  PUTHEX eax
  PRINT " err="
  PUTHEX [saved + 28]
  PRINT " eip="
  mov eax, [esp + 4]
  PUTHEX eax
  PRINT " eflags="
  mov eax, [esp + 12]
  PUTHEX eax
  PRINT " eax="
  PUTHEX [saved]
  PRINT " ecx="
  PUTHEX [saved + 4]
  PRINT " edx="
  PUTHEX [saved + 8]
  PRINT " ebx="
  PUTHEX [saved + 12]
  PRINT " ebp="
  PUTHEX [saved + 16]
  PRINT " esi="
  PUTHEX [saved + 20]
  PRINT " edi="
  PUTHEX [saved + 24]
  PRINT 10
  or dword [pt + (${DP} >> 12) * 4], 1
  invlpg [${DP}]
  mov eax, [saved]
  add esp, 4
  iret
align 4096
saved: times 8 dd 0
align 4096
pd: times 1024 dd 0
pt: times 1024 dd 0
`,
    true,
  );
}

const FAULT_CASES: { name: string; before: string; fault: string; err: number }[] = [
  { name: "load, flags of a compare", before: "", fault: "mov ebp, [${DP} + ecx*4]", err: 0 },
  { name: "load, after an interpreted instruction", before: "  adc edx, 0", fault: "add ebp, [${DP} + ecx*4]", err: 0 },
  // INC keeps CF: the compare's carry must survive into the pushed EFLAGS
  { name: "load, flags of an INC after a compare", before: "  inc edx", fault: "mov ebp, [${DP} + ecx*4]", err: 0 },
  { name: "load, flags of a DEC after a compare", before: "  dec edx", fault: "mov ebp, [${DP} + ecx*4]", err: 0 },
  { name: "store", before: "  sub edx, ecx", fault: "mov [${DP} + ecx*4], ebp", err: 2 },
  { name: "read-modify-write", before: "  and edx, ecx", fault: "add [${DP} + ecx*4], eax", err: 2 },
  { name: "8-bit load", before: "  add dl, cl", fault: "movzx ebp, byte [${DP} + ecx*4 + 1]", err: 0 },
  { name: "16-bit load", before: "  xor edx, ecx", fault: "movsx ebp, word [${DP} + ecx*4 + 2]", err: 0 },
  { name: "compare with memory", before: "  or edx, ebx", fault: "cmp [${DP} + ecx*4], eax", err: 0 },
  { name: "an interpreted instruction", before: "  sub edx, 1", fault: "imul ebp, [${DP} + ecx*4], 3", err: 0 },
];

Deno.test({
  name: "jit: a page fault in the middle of a compiled block",
  ignore: !HAVE_NASM,
  fn: async (t) => {
    for (const c of FAULT_CASES) {
      await t.step(c.name, async () => {
        const src = faultProgram(c.before.replaceAll("${DP}", String(DP)), c.fault.replaceAll("${DP}", String(DP)));
        const r = await both(src, { memEnd: 0x20000 });
        const lines = r.off.out.trim().split("\n");
        const [, at, hot] = lines[0].match(/^fault at ([0-9a-f]{8}) in the block at ([0-9a-f]{8})$/)!;
        const runs = r.on.entries.get(parseInt(hot, 16)) ?? 0;
        assert.ok(runs > 300, `the faulting block ran compiled ${runs} times`);
        const faults = lines.filter((l) => l.startsWith("#PF"));
        assert.equal(faults.length, 6, r.off.out);
        for (const f of faults) {
          assert.match(f, new RegExp(`err=${hex(c.err)} eip=${at} `), "the interpreter's fault report");
        }
        sameCount(r);
      });
    }
  },
});

// ---- 4. instruction count ----------------------------------------------------------------------
// Blocks account for their instructions themselves (and for the ones they hand to the
// interpreter): the retired count must come out exact. Every program above checks it; this one
// puts the interpreted kinds in the middle of blocks: REP string instructions (one that yields
// and restarts), LOOP/JECXZ, indirect calls, RET imm16, DIV, LEAVE, PUSHAD/POPAD, string
// instructions without REP, flag readers and writers.
const COUNTING = program(`
  mov dword [count], 200
.loop:
  mov esi, src
  mov edi, dst
  mov ecx, 64
  cld
  rep movsd
  mov edi, big
  mov ecx, 40000             ; more than one pass of the interpreter's REP chunk: it yields
  mov al, [count]
  rep stosb
  mov ecx, 5
.l2:
  add eax, ecx
  loop .l2
  xor ecx, ecx
  jecxz .z
  inc eax
.z:
  push eax
  call [fptr]
  mov edx, 0
  mov eax, [count]
  add eax, 1000
  mov ebx, 7
  div ebx
  cdq
  xchg eax, ebx
  bswap eax
  cmp eax, ebx
  setc dl
  cmovz eax, ebx
  bt eax, 3
  shld eax, ebx, 5
  pushad
  add dword [esp], 3
  popad
  mov esi, src
  mov edi, dst
  lodsd
  stosd
  movsb
  cmpsb
  scasb
  lahf
  xor ah, 0x41
  sahf
  adc eax, ebx
  stc
  cmc
  push ebp
  mov ebp, esp
  sub esp, 16
  leave
  xor [sum], eax
  add [sum], ebx
  sub dword [count], 1
  jnz .loop
  PUTHEX [sum]
  EXIT 0x42
fn:
  add [sum], eax
  ret 4
align 4096
fptr: dd fn
count: dd 0
sum: dd 0
src: times 256 dd 0x5a5aa5a5
dst: times 256 dd 0
big: times 40000 db 0
`);

Deno.test({
  name: "jit: the retired-instruction count is exact with interpreted instructions inside blocks",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(COUNTING, { memEnd: 0x20000 });
    assert.equal(r.on.code, 0x42);
    sameCount(r);
  },
});

// ---- 5. budget and attention ------------------------------------------------------------------
// A loop that never halts, in compiled blocks: run(budget) must come back with "budget", at most
// one block past it (a block runs to its end once entered).
const SPIN = program(`
  xor eax, eax
  xor ebx, ebx
.l:
  inc eax
  add ebx, eax
  call .f
  jmp .l
.f:
  xor ecx, ebx
  ret
`);

Deno.test({
  name: "jit: compiled loops stop at the instruction budget",
  ignore: !HAVE_NASM,
  fn: async () => {
    const image = await nasm(SPIN);
    for (const budget of [1000, 10_007, 300_001]) {
      const r = await runImage(image, 1, { budget });
      assert.equal(r.exit, "budget");
      assert.ok(r.runs > 0, "no compiled block ran");
      assert.ok(
        r.icount >= BigInt(budget) && r.icount < BigInt(budget + MAX_INSNS),
        `${r.icount} retired for a budget of ${budget}`,
      );
    }
  },
});

// The host asks the CPU to stop (ATTN_STOP, as the machine does for SMP and pausing) from an I/O
// callback while compiled blocks are running: the run returns at the same instruction as the
// interpreter's.
Deno.test({
  name: "jit: a stop request from the host ends the run at the same instruction",
  ignore: !HAVE_NASM,
  fn: async () => {
    const src = program(`
  xor eax, eax
  xor esi, esi
.l:
  inc eax
  add esi, eax
  cmp eax, 5000
  jne .l
  out 0x80, al
.spin:
  inc esi
  jmp .spin
`);
    const stop = (bare: Bare, port: number) => {
      if (port === 0x80) bare.core.set(L.S_ATTN, bare.core.get(L.S_ATTN) | L.ATTN_STOP);
    };
    const r = await both(src, { io_out: stop });
    assert.equal(r.on.exit, "stop");
    assert.equal(r.on.regs[0], 5000);
    sameCount(r);
  },
});

// ---- 6. one physical page at two linear addresses ---------------------------------------------
// Blocks are found by the host address of their entry, i.e. by physical page, but their code
// has linear addresses built in (the next EIP, branch targets, pushed return addresses). Shared
// code mapped at different addresses (a library in two processes, a kernel's identity and high
// mappings) must still run at the address it was reached by. The routine reports where it runs
// (call/pop); it is run through one alias until its blocks are compiled and hot, then through
// the other.
const ALIAS = 0x200000; // linear page mapped to the routine's physical page (ORG + 0x3000)
const ALIASES = program(`
  mov edi, pt
  mov eax, 3
  mov ecx, 1024
.map:
  mov [edi], eax
  add eax, 4096
  add edi, 4
  dec ecx
  jnz .map
  mov dword [pt + (${ALIAS} >> 12) * 4], routine + 3
  mov dword [pd], pt + 3
  mov eax, pd
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  jmp .paged
.paged:
  mov ecx, 100
.warm:
  call routine
  dec ecx
  jnz .warm
  PRINT "direct "
  PUTHEX eax
  mov ecx, 100
.alias:
  mov eax, ${ALIAS}
  call eax
  dec ecx
  jnz .alias
  PRINT " alias "
  PUTHEX eax
  mov eax, routine
  call eax
  PRINT " direct again "
  PUTHEX eax
  EXIT 0x42
times 0x3000 - ($ - $$) db 0x90
routine:
  jmp short .in              ; so that .in is a block entry whichever page the call came from
.in:
  call .here
.here:
  pop eax
  ret
align 4096
pd: times 1024 dd 0
pt: times 1024 dd 0
`);

Deno.test({
  name: "jit: code reached through two linear aliases of one physical page runs at the right address",
  ignore: !HAVE_NASM,
  fn: async () => {
    const image = await nasm(ALIASES);
    const off = await runImage(image, 0, { memEnd: 0x20000 });
    const here = (base: number) => hex(base + 7); // .here: after the 2-byte jmp and the 5-byte call
    assert.equal(off.out, `direct ${here(ORG + 0x3000)} alias ${here(ALIAS)} direct again ${here(ORG + 0x3000)}`);
    const r = await both(ALIASES, { memEnd: 0x20000 });
    assert.ok((r.on.entries.get(ORG + 0x3002) ?? 0) > 50, "the routine's block ran compiled");
    sameCount(r);
  },
});

// Blocks keep 32-bit registers in wasm locals; 8- and 16-bit accesses go through memory after the
// full register is written back. Every register as a 16-bit and (eax..ebx) 8-bit operand right
// after a 32-bit write to it: a mix-up of which full register a partial one belongs to shows.
Deno.test({
  name: "jit: 8- and 16-bit register operands after 32-bit writes (register caching)",
  ignore: !HAVE_NASM,
  fn: async () => {
    const src = program(`
  mov ecx, 400
  xor ebp, ebp
.l:
  mov esi, ecx
  imul esi, esi, 0x9e3779b1
  mov edi, esi
  rol edi, 7
  mov edx, 0x12345678
  mov [buf], si
  mov [buf + 2], di
  mov dx, word [buf + 2]
  add ebp, edx
  mov ebx, esi
  mov [buf], bh
  mov al, [buf]
  mov ah, bl
  add ebp, eax
  mov ax, si
  add ebp, eax
  test si, si
  jz .z
  add ebp, 3
.z:
  dec ecx
  jnz .l
  PUTHEX ebp
  EXIT 0x42
align 4096 ; (data on the code's page would make every store a code change)
buf: dd 0
`);
    const r = await both(src);
    assert.equal(r.on.exit, "done");
    assert.equal(r.on.code, 0x42);
    sameCount(r);
  },
});

// A block that fails to compile (here: its module cannot be instantiated) leaves the code with the
// interpreter: the program still computes the same result, and the failure is counted.
Deno.test({
  name: "jit: a block-compiler failure falls back to the interpreter (not strict)",
  ignore: !HAVE_NASM,
  fn: async () => {
    const image = await nasm(program(`
  mov ecx, 500
  xor eax, eax
.l:
  add eax, ecx
  rol eax, 3
  dec ecx
  jnz .l
  PUTHEX eax
  EXIT 0x42
`));
    const off = await runImage(image, 0);
    const b = await Bare.create({ ramBytes: 4 << 20 });
    new DataView(b.memory.buffer).setUint32(L.MACHINE + L.M_JIT, 1, true);
    const jit = b.core.jit as unknown as { strict: boolean; env: unknown; stats: { failed: number; blocks: number } };
    jit.strict = false;
    jit.env = {}; // no imports: every instantiation fails
    const errors: string[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => errors.push(a.join(" "));
    try {
      b.load(ORG, image);
      b.startFlat32(ORG, 0x9f000);
      const r = b.run(10_000_000);
      assert.equal(r.exit, "done");
      assert.equal(r.out, off.out);
    } finally {
      console.error = orig;
    }
    assert.ok(jit.stats.failed > 0, "no failure was counted");
    assert.equal(jit.stats.blocks, 0);
    assert.ok(errors.length > 0 && errors.length <= 3, `reported ${errors.length} times`);
    assert.match(errors[0], /block compiler failed at [0-9a-f]+: .*that code stays with the interpreter/);
  },
});
