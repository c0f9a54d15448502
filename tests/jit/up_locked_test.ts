// What a uniprocessor Linux runs where an SMP one has LOCK: its alternatives patch every LOCK
// prefix into a DS override, so the kernel's atomics are DS-prefixed CMPXCHG, BTS/BTR/BTC Ev,Ib
// and XADD. Compiled inline (runtime/jit/ops/atomic.ts, unary.ts) with and without the override,
// on registers and memory (one operand across a page boundary: the slow path), each followed by
// all 16 conditions and by ADC/SBB that read CF; compared with the interpreter alone. A fault in
// the middle of each is in tests/jit/fault_test.ts.
import { edgeRounds, matchesInterpreter } from "./lib.ts";

// before each form: operands from the round's table entries, flags that the form must replace
// (or, for BTx, keep apart from CF)
const load = `  mov ebx, [valB]\n  mov edx, [valC]\n  mov [memD], ebx\n  mov [edgeD], ebx\n` +
  `  mov eax, ebx\n  xor eax, ebp\n  add eax, edx\n`;

const FORMS = [
  "ds cmpxchg [memD], edx",
  "cmpxchg [memD], edx",
  "ds cmpxchg [edgeD], edx",
  "es cmpxchg [memD], ebx",
  ...[0, 1, 7, 31].flatMap((n) => [
    `ds bts dword [memD], ${n}`,
    `btr dword [memD], ${n}`,
    `ds btc dword [memD], ${n}`,
    `bts ebx, ${n}`,
    `btr edx, ${n}`,
    `btc eax, ${n}`,
  ]),
  "ds bts dword [edgeD], 13",
  "btr dword [edgeD], 30",
  "ds xadd [memD], edx",
  "xadd [memD], ebx",
  "ds xadd [edgeD], edx",
  "xadd ebx, edx",
  "xadd edx, edx",
  "xadd eax, ebx",
];

const body = edgeRounds({
  pick: "bits",
  edges: [0, 1, 0xffffffff, 0x80000000, 0x7fffffff, 0x40000001, 0xdeadbeef, 0x0000ffff],
  forms: FORMS,
  load,
  after: "  adc eax, ebx\n  sbb esi, edx\n  xor esi, [memD]\n  add esi, [edgeD]\n",
  sums: "  add esi, edi\n  add esi, ebx\n  add esi, eax\n",
  vars: "memD: dd 0\n",
  edge: { label: "edgeD", size: 4 },
});

matchesInterpreter(
  "jit: DS-prefixed CMPXCHG, BTS/BTR/BTC Ev,Ib and XADD (a UP kernel's atomics) compiled inline match the interpreter",
  () => body,
);
