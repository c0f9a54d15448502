// The block compiler against the interpreter (tests/jit/lib.ts): integer code, instruction counts,
// budget and stop requests, partial registers, and the fallback when a block cannot be compiled.
import assert from "node:assert/strict";
import { both, ORG, program, runImage, sameCount } from "./lib.ts";
import { Bare } from "../lib/bare.ts";
import { HAVE_NASM, nasm } from "../lib/tools.ts";
import * as L from "../../core-as/layout.ts";
import { MAX_INSNS } from "../../runtime/jit/compile.ts";

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
  add eax, ebx            ; BT keeps the flags it does not set: all of them, as PUSHFD sees them
  bt ecx, 7
${SAMPLE}
  sub ecx, ebp
  bt ecx, 2
${SAMPLE}
  imul eax, ebp
  bt ecx, 4
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
${allCc("imul eax, ebx")}
${allCc("imul ecx, ebp, 0x10001")}
${allCc("shl eax, 3")}
${allCc("shr ebx, 1")}
${allCc("sar ecx, 5")}
${allCc("and eax, ebx\n  bt eax, 3")}
${allCc("add eax, ebx\n  bt ecx, 7")}
${allCc("cmp eax, ebx\n  bt ebx, 31")}
${allCc("sub ecx, ebp\n  bt ecx, ebx")}
${allCc("imul ebx, ebp\n  bt ebx, 5")}
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
    const r = await both(MIXED, { regions: false }); // (evidence of blocks alone; both() runs regions too)
    assert.equal(r.on.exit, "done");
    assert.equal(r.on.code, 0x42);
    assert.match(r.on.out, /^[0-9a-f]{8} [0-9a-f]{8}$/);
    assert.ok(r.on.runs > 20_000, `only ${r.on.runs} block executions`);
    sameCount(r);
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

// BT sets CF and keeps every other arithmetic flag: after a known ADD, SUB, logic op or IMUL the
// block folds them into one flag word (ops/unary.ts btFlags); PUSHFD shows all of them (the first
// two setters overflow with a carry out of bit 3: OF and AF set).
Deno.test({
  name: "jit: BT keeps the other flags of the ADD, SUB, AND or IMUL before it",
  ignore: !HAVE_NASM,
  fn: async () => {
    const seq = (setter: string, bit: string) => `  ${setter}\n  bt ecx, ${bit}\n${SAMPLE}`;
    const r = await both(program(`
  xor esi, esi
  mov ecx, 200
  mov eax, 0x12345
  mov ebx, 0x0f0f0f
  mov ebp, 0x7ffffff0
.loop:
  mov edx, 0x7fffffff
${seq("add edx, 0x11", "6")}
  mov edx, 0x80000000
${seq("sub edx, 0x11", "6")}
${seq("add eax, ebx", "2")}
${seq("sub ebx, eax", "3")}
${seq("cmp ebp, ecx", "0")}
${seq("and eax, ebp", "1")}
${seq("imul ebp, ebx", "4")}
  add ebx, 0x1357
  add ebp, 0x10000001
  dec ecx
  jnz .loop
  PUTHEX esi
  EXIT 0x42
`));
    assert.match(r.off.out, /^[0-9a-f]{8}$/);
    sameCount(r);
  },
});
