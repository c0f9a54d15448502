// Checks of the differential harness itself, so a silent plumbing bug cannot make every other
// diff test pass vacuously: the native runner against hand-written models, and ring3 on the
// instructions the core has had from the start (NOP and prefixes).
import assert from "node:assert/strict";
import { casesFor, compare, DATA, NOFAULT, Result, Ring3, Template } from "./lib/harness.ts";
import { HAVE_GCC, HAVE_NASM } from "../lib/tools.ts";
import { diffGroup } from "./lib/harness.ts";
import * as L from "../../core-as/layout.ts";

const identity = (c: { regs: number[]; flags: number; mem: Uint8Array }): Result => ({
  regs: c.regs.map((v, r) => r === 4 ? 0 : v),
  flags: c.flags,
  fault: NOFAULT,
  mem: c.mem.slice(),
});

// ring3 against the host on what ring3 already implements
diffGroup("harness", [
  { name: "nop", asm: "nop", mem: 16 },
  { name: "o16 nop", asm: "db 0x66, 0x90" },
  { name: "cs: ds: nop", asm: "db 0x2e, 0x3e, 0x90" },
  { name: "hint nop r/m32 (0F 1F /0) with memory operand", asm: "nop dword [eax+ebx*4+0x12345678]" },
]);

// ring3 against a reference that states the expected plumbing directly
diffGroup("harness-ref", [
  { name: "nop (model: identity)", asm: "nop", mem: 16, ref: identity },
  {
    name: "ud2 (model: #UD, registers untouched)",
    asm: "ud2",
    ref: (c) => ({ ...identity(c), fault: L.EXC_UD }),
  },
]);

if (HAVE_NASM && HAVE_GCC) {
  // The native runner: feed known inputs through `add` / `div` and check the records by hand.
  Deno.test("diff harness: native runner reports results, flags and #DE", async () => {
    const { runNativeForTest } = await import("./lib/harness.ts");
    const ts: Template[] = [
      { name: "add", asm: "add eax, ebx\nmov [DATA], ecx", mem: 8 },
      { name: "div", asm: "div ebx" },
    ];
    const c = { regs: [0xffffffff, 0x11223344, 0, 1, 0, 0, 0, 0], flags: L.F_DF | L.F_OF, mem: new Uint8Array(8) };
    const [[add], [div]] = await runNativeForTest(ts, [[c], [{ ...c, regs: [5, 0, 0, 0, 0, 0, 0, 0] }]]);
    assert.equal(add.fault, NOFAULT);
    assert.equal(add.regs[0], 0);
    assert.equal(add.flags & (L.F_ARITH | L.F_DF), L.F_CF | L.F_ZF | L.F_PF | L.F_AF | L.F_DF);
    assert.deepEqual([...add.mem.subarray(0, 4)], [0x44, 0x33, 0x22, 0x11]);
    assert.equal(div.fault, L.EXC_DE);
    assert.equal(div.regs[0], 5); // the state at the fault: untouched
    assert.equal(DATA, 0x300000);
  });
}

Deno.test("diff harness: comparison honours masks and reports differences", () => {
  const t: Template = { name: "x", asm: "nop", undef: L.F_AF, undefRegs: () => 1 << 2 };
  const [c] = casesFor("unit", { ...t, cases: 1 });
  const exp = identity(c);
  assert.equal(compare(t, c, exp, { ...exp, flags: exp.flags ^ L.F_AF }), null);
  assert.equal(compare(t, c, exp, { ...exp, regs: exp.regs.map((v, r) => r === 2 ? v ^ 1 : v) }), null);
  assert.match(compare(t, c, exp, { ...exp, flags: exp.flags ^ L.F_CF }) ?? "", /flags\(.*CF/);
  assert.match(compare(t, c, exp, { ...exp, regs: exp.regs.map((v, r) => r === 7 ? v ^ 1 : v) }) ?? "", /edi/);
  assert.match(compare(t, c, exp, { ...exp, fault: L.EXC_GP }) ?? "", /fault/);
});

Deno.test("diff harness: ring3 runs the same case twice identically", async () => {
  if (!HAVE_NASM) return;
  const r = await Ring3.create();
  const t: Template = { name: "nop", asm: "nop", mem: 4 };
  const cs = casesFor("twice", { ...t, cases: 50 });
  const a = await r.runAll([t], [cs]);
  const b = await r.runAll([t], [cs]);
  assert.deepEqual(a, b);
});
