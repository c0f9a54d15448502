// Integer ALU groups against the SDM reference model (tests/lib/sdm_ref.ts): every encoding of
// the ALU ops, register and memory operands, LOCK forms (also across two vCPU threads), INC/DEC,
// TEST, group 3 with #DE, shifts/rotates, SHLD/SHRD, bit instructions, BCD and the flag instructions.
import assert from "node:assert/strict";
import { CODE, DATA, RAM, Vm } from "./vm.ts";
import * as R from "../lib/sdm_ref.ts";
import { createMemory } from "../../runtime/vcpu/core.ts";
import { GuestRam } from "../../runtime/memory.ts";
import { Rng } from "../lib/rng.ts";

const vm = await Vm.create({ ramBytes: RAM });
vm.reset();

// a test's stream of 32-bit random numbers
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.u32();
}
const EDGE = [
  0,
  1,
  2,
  0x0f,
  0x10,
  0x7f,
  0x80,
  0x81,
  0xff,
  0x100,
  0x7fff,
  0x8000,
  0xffff,
  0x10000,
  0x7fffffff,
  0x80000000,
  0x80000001,
  0xfffffffe,
  0xffffffff,
];
function values(rand: () => number): () => number {
  return () => {
    const k = rand() % 4;
    if (k === 0) return rand();
    const e = EDGE[rand() % EDGE.length];
    return k === 1 ? e : (e ^ (rand() & 0x11)) >>> 0;
  };
}
const h = (v: number) => "0x" + (v >>> 0).toString(16);
const le = (v: number, n: number) => Array.from({ length: n }, (_, i) => (v >>> (8 * i)) & 0xff);
const pfx = (s: number) => (s === 2 ? [0x66] : []);
const reg = (r: number, rm: number) => 0xc0 | (r << 3) | rm;
const memB = (r: number) => [0x43 | (r << 3), 0x10]; // [ebx+0x10]
const MEM = DATA + 0x10;
// register file value of register `i` at size s (8-bit: al cl dl bl ah ch dh bh)
function getR(r: number[], i: number, s: number): number {
  if (s === 1) return i < 4 ? r[i] & 0xff : (r[i - 4] >>> 8) & 0xff;
  return s === 2 ? r[i] & 0xffff : r[i] >>> 0;
}
function setR(r: number[], i: number, v: number, s: number): void {
  if (s === 1) {
    if (i < 4) r[i] = ((r[i] & ~0xff) | (v & 0xff)) >>> 0;
    else r[i - 4] = ((r[i - 4] & ~0xff00) | ((v & 0xff) << 8)) >>> 0;
  } else if (s === 2) r[i] = ((r[i] & ~0xffff) | (v & 0xffff)) >>> 0;
  else r[i] = v >>> 0;
}
function rdMem(a: number, s: number): number {
  const v = vm.r32(a);
  return s === 4 ? v : s === 2 ? v & 0xffff : v & 0xff;
}
function baseRegs(v: () => number): number[] {
  return [v(), v(), v(), DATA, 0x7000, v(), v(), v()];
}
function checkFlags(got: number, want: R.Out | { f: number; def: number }, what: string) {
  assert.equal(h(got & want.def), h(want.f & want.def), `${what}: flags`);
}

Deno.test("ADD OR ADC SBB AND SUB XOR CMP: all encodings, sizes, register and memory operands", () => {
  const rand = rng(1);
  const v = values(rand);
  for (let iter = 0; iter < 60; iter++) {
    for (let op = 0; op < 8; op++) {
      for (const s of [1, 2, 4]) {
        const fl = rand() & R.ARITH;
        const p = pfx(s);
        const d = s === 1 ? 1 : 1, src = s === 1 ? 6 : 2; // cl/dh or (e)cx/(e)dx
        const imm = v();
        const immS = s === 1 ? imm & 0xff : s === 2 ? imm & 0xffff : imm;
        const ib = imm & 0xff;
        const ibx = R.sx(ib, 1) >>> 0;
        type Form = { code: number[]; dst: "reg" | "mem" | "al"; dreg?: number; b: (r: number[]) => number };
        const forms: Form[] = [
          { code: [...p, op * 8 + (s === 1 ? 0 : 1), reg(src, d)], dst: "reg", dreg: d, b: (r) => getR(r, src, s) },
          { code: [...p, op * 8 + (s === 1 ? 2 : 3), reg(d, src)], dst: "reg", dreg: d, b: (r) => getR(r, src, s) },
          { code: [...p, op * 8 + (s === 1 ? 4 : 5), ...le(immS, s)], dst: "reg", dreg: 0, b: () => immS },
          { code: [...p, s === 1 ? 0x80 : 0x81, reg(op, d), ...le(immS, s)], dst: "reg", dreg: d, b: () => immS },
          { code: [...p, op * 8 + (s === 1 ? 0 : 1), ...memB(src)], dst: "mem", b: (r) => getR(r, src, s) },
          { code: [...p, s === 1 ? 0x80 : 0x81, ...memB(op), ...le(immS, s)], dst: "mem", b: () => immS },
          { code: [...p, op * 8 + (s === 1 ? 2 : 3), ...memB(d)], dst: "reg", dreg: d, b: () => rdMem(MEM, s) },
        ];
        if (s === 1) forms.push({ code: [0x82, reg(op, d), ib], dst: "reg", dreg: d, b: () => ib });
        else forms.push({ code: [...p, 0x83, reg(op, d), ib], dst: "reg", dreg: d, b: () => ibx & R.maskOf(s) });
        if (s !== 1) forms.push({ code: [...p, 0x83, ...memB(op), ib], dst: "mem", b: () => ibx & R.maskOf(s) });
        if (op !== 7) {
          forms.push({
            code: [0xf0, ...p, op * 8 + (s === 1 ? 0 : 1), ...memB(src)],
            dst: "mem",
            b: (r) => getR(r, src, s),
          });
          forms.push({
            code: [0xf0, ...p, s === 1 ? 0x80 : 0x81, ...memB(op), ...le(immS, s)],
            dst: "mem",
            b: () => immS,
          });
        }
        for (const fm of forms) {
          const r = baseRegs(v);
          vm.w32(MEM, v());
          const memBefore = vm.r32(MEM);
          // the operand values as the instruction sees them
          const b = fm.b(r);
          const a = fm.dst === "mem" ? rdMem(MEM, s) : getR(r, fm.dreg!, s);
          const want = R.alu(op, a, b, fl, s);
          const res = vm.exec(fm.code, r, fl);
          const what = `op ${op} size ${s} code ${fm.code.map((x) => x.toString(16)).join(" ")} a=${h(a)} b=${
            h(b)
          } cf=${fl & 1}`;
          assert.equal(res.fault, -1, what);
          assert.equal(res.eip, CODE + fm.code.length, what + ": eip");
          const exp = r.slice();
          if (fm.dst === "reg") setR(exp, fm.dreg!, want.r, s);
          assert.deepEqual(res.r.map(h), exp.map(h), what + ": registers");
          const memWant = fm.dst === "mem" ? ((memBefore & ~R.maskOf(s)) | want.r) >>> 0 : memBefore;
          assert.equal(h(vm.r32(MEM)), h(memWant), what + ": memory");
          checkFlags(res.flags, want, what);
        }
      }
    }
  }
});

Deno.test("LOCK on a split (unaligned, page-crossing) operand falls back to the plain path", () => {
  const addr = 0x8ffe; // dword crossing the 0x9000 page boundary
  vm.w32(addr, 0xfffffff0);
  // lock add dword [0x8ffe], 0x20 ; lock adc dword [0x8ffe], eax (CF from the add)
  const res = vm.exec(
    [0xf0, 0x83, 0x05, ...le(addr, 4), 0x20, 0xf0, 0x11, 0x05, ...le(addr, 4)],
    [5, 0, 0, 0, 0x7000, 0, 0, 0],
    0,
    2,
  );
  assert.equal(res.fault, -1);
  assert.equal(h(vm.r32(addr)), h(0x10 + 5 + 1));
  // LOCK with a register destination is #UD
  assert.equal(vm.exec([0xf0, 0x01, 0xc1], [0, 0, 0, 0, 0x7000, 0, 0, 0]).fault, 6);
  // LOCK CMP is #UD
  assert.equal(vm.exec([0xf0, 0x39, 0x43, 0x10], [0, 0, 0, DATA, 0x7000, 0, 0, 0]).fault, 6);
});

Deno.test("a read-modify-write on a read-only segment faults (#GP) with no state change", () => {
  const ex = vm.core.ex;
  ex.setSeg(3, 0x10, 0, 0xffffffff, 0xc091); // DS read-only data
  try {
    vm.w32(MEM, 0x1234);
    const r = [1, 2, 3, DATA, 0x7000, 6, 7, 8];
    for (
      const code of [[0x01, 0x43, 0x10], [0xf0, 0x01, 0x43, 0x10], [0xd1, 0x63, 0x10], [0xf7, 0x5b, 0x10], [
        0x0f,
        0xab,
        0x43,
        0x10,
      ], [0xfe, 0x43, 0x10]]
    ) {
      const res = vm.exec(code, r, R.CF | R.ZF);
      assert.equal(res.fault, 13, code.join(","));
      assert.deepEqual(res.r, r);
      assert.equal(res.flags & R.ARITH, R.CF | R.ZF);
      assert.equal(vm.r32(MEM), 0x1234);
    }
    // reads through the same segment work: cmp [ebx+0x10], eax
    const res = vm.exec([0x39, 0x43, 0x10], [0x1234, 0, 0, DATA, 0x7000, 0, 0, 0]);
    assert.equal(res.fault, -1);
    assert.equal(res.flags & R.ZF, R.ZF);
  } finally {
    vm.reset();
  }
});

Deno.test("INC/DEC keep CF; 40-4F, FE /0 /1, LOCK FE; FE /2 is #UD", () => {
  const rand = rng(2);
  const v = values(rand);
  for (let iter = 0; iter < 300; iter++) {
    const dec = (iter & 1) === 1;
    const s = [1, 2, 4][iter % 3];
    const fl = rand() & R.ARITH;
    const r = baseRegs(v);
    const rr = rand() % 8;
    let code: number[], a: number;
    if (s === 1) {
      code = [0xfe, reg(dec ? 1 : 0, rr)];
      a = getR(r, rr, 1);
    } else {
      const ri = [0, 1, 2, 5, 6, 7][rand() % 6];
      code = [...pfx(s), (dec ? 0x48 : 0x40) + ri];
      a = getR(r, ri, s);
      const want = R.incdec(dec, a, fl, s);
      const res = vm.exec(code, r, fl);
      setR(r, ri, want.r, s);
      assert.deepEqual(res.r.map(h), r.map(h));
      checkFlags(res.flags, want, `${dec ? "dec" : "inc"}${s} ${h(a)}`);
      continue;
    }
    const want = R.incdec(dec, a, fl, 1);
    const res = vm.exec(code, r, fl);
    setR(r, rr, want.r, 1);
    assert.deepEqual(res.r.map(h), r.map(h));
    checkFlags(res.flags, want, `${dec ? "dec" : "inc"}8 ${h(a)}`);
  }
  for (const [a, dec] of [[0x7f, false], [0x80, true], [0xff, false], [0x00, true]] as const) {
    vm.w32(MEM, 0xaaaaaa00 | a);
    const res = vm.exec([0xf0, 0xfe, 0x43 | (dec ? 8 : 0), 0x10], baseRegs(() => 0), R.CF);
    const want = R.incdec(dec, a, R.CF, 1);
    assert.equal(h(vm.r32(MEM)), h(0xaaaaaa00 | want.r));
    checkFlags(res.flags, want, `lock ${dec ? "dec" : "inc"} ${h(a)}`);
  }
  assert.equal(vm.exec([0xfe, 0xd0], baseRegs(() => 0)).fault, 6);
});

Deno.test("TEST, NOT, NEG (register, memory, LOCK)", () => {
  const rand = rng(3);
  const v = values(rand);
  for (let iter = 0; iter < 300; iter++) {
    const s = [1, 2, 4][iter % 3];
    const p = pfx(s);
    const fl = rand() & R.ARITH;
    const r = baseRegs(v);
    const a = getR(r, 1, s), b = getR(r, 2, s);
    const imm = v() & R.maskOf(s);
    // test ecx, edx (84/85), test ecx, imm (F6/F7 /0 and the /1 alias), test al/eax, imm
    const tests: [number[], number, number][] = [
      [[...p, s === 1 ? 0x84 : 0x85, reg(2, 1)], a, b],
      [[...p, s === 1 ? 0xf6 : 0xf7, reg(0, 1), ...le(imm, s)], a, imm],
      [[...p, s === 1 ? 0xf6 : 0xf7, reg(1, 1), ...le(imm, s)], a, imm],
      [[...p, s === 1 ? 0xa8 : 0xa9, ...le(imm, s)], getR(r, 0, s), imm],
    ];
    for (const [code, x, y] of tests) {
      const res = vm.exec(code, r, fl);
      assert.deepEqual(res.r, r);
      checkFlags(res.flags, R.alu(4, x, y, 0, s), `test ${code}`);
    }
    // NOT: no flags
    let res = vm.exec([...p, s === 1 ? 0xf6 : 0xf7, reg(2, 1)], r, fl);
    let exp = r.slice();
    setR(exp, 1, ~a & R.maskOf(s), s);
    assert.deepEqual(res.r.map(h), exp.map(h));
    assert.equal(res.flags & R.ARITH, fl);
    // NEG
    res = vm.exec([...p, s === 1 ? 0xf6 : 0xf7, reg(3, 1)], r, fl);
    const want = R.neg(a, s);
    exp = r.slice();
    setR(exp, 1, want.r, s);
    assert.deepEqual(res.r.map(h), exp.map(h));
    checkFlags(res.flags, want, `neg ${h(a)}`);
    // memory, with and without LOCK
    for (const lk of [[], [0xf0]]) {
      const m0 = v();
      vm.w32(MEM, m0);
      const ma = m0 & R.maskOf(s);
      res = vm.exec([...lk, ...p, s === 1 ? 0xf6 : 0xf7, 0x5b, 0x10], r, fl);
      const w = R.neg(ma, s);
      assert.equal(h(vm.r32(MEM)), h(((m0 & ~R.maskOf(s)) | w.r) >>> 0));
      checkFlags(res.flags, w, `mem neg ${h(ma)}`);
      vm.exec([...lk, ...p, s === 1 ? 0xf6 : 0xf7, 0x53, 0x10], r, fl);
      assert.equal(h(vm.r32(MEM)), h(((m0 & ~R.maskOf(s)) | (~w.r & R.maskOf(s))) >>> 0));
    }
  }
});

Deno.test("MUL IMUL DIV IDIV: all forms and sizes; #DE leaves every register unchanged", () => {
  const rand = rng(4);
  const v = values(rand);
  for (let iter = 0; iter < 1500; iter++) {
    const s = [1, 2, 4][iter % 3];
    const p = pfx(s);
    const op = 4 + ((iter >> 2) & 3);
    const r = baseRegs(v);
    if (op >= 6 && (rand() & 1)) {
      // make the quotient fit more often than a random dividend would
      const d = getR(r, 1, s);
      if (s === 1) setR(r, 4, rand() % Math.max(1, d), 1);
      else setR(r, 2, rand() % Math.max(1, d), s);
    }
    const fl = rand() & R.ARITH;
    const useMem = (rand() & 3) === 0;
    const src = useMem ? (vm.w32(MEM, r[1]), getR(r, 1, s)) : getR(r, 1, s);
    const code = [...p, s === 1 ? 0xf6 : 0xf7, useMem ? 0x43 | (op << 3) : reg(op, 1), ...(useMem ? [0x10] : [])];
    const res = vm.exec(code, r, fl);
    const exp = r.slice();
    const what = `${["mul", "imul", "div", "idiv"][op - 4]}${s} src=${h(src)} eax=${h(r[0])} edx=${h(r[2])}`;
    if (op < 6) {
      const m = R.mul(op === 5, getR(r, 0, s), src, s);
      if (s === 1) setR(exp, 0, m.lo | (m.hi << 8), 2);
      else {
        setR(exp, 0, m.lo, s);
        setR(exp, 2, m.hi, s);
      }
      assert.equal(res.fault, -1, what);
      assert.deepEqual(res.r.map(h), exp.map(h), what);
      checkFlags(res.flags, { f: m.f, def: R.CF | R.OF }, what);
    } else {
      const hi = s === 1 ? getR(r, 4, 1) : getR(r, 2, s);
      const q = R.div(op === 7, hi, getR(r, 0, s), src, s);
      if (q === null) {
        assert.equal(res.fault, 0, what + ": #DE");
        assert.deepEqual(res.r.map(h), r.map(h), what + ": registers after #DE");
        assert.equal(res.flags & R.ARITH, fl, what + ": flags after #DE");
      } else {
        if (s === 1) setR(exp, 0, q.q | (q.r << 8), 2);
        else {
          setR(exp, 0, q.q, s);
          setR(exp, 2, q.r, s);
        }
        assert.equal(res.fault, -1, what);
        assert.deepEqual(res.r.map(h), exp.map(h), what);
      }
    }
  }
  // the corner cases by name
  const de = (code: number[], r: number[]) => {
    const res = vm.exec(code, r, 0);
    assert.equal(res.fault, 0, code.join(","));
    assert.deepEqual(res.r, r);
  };
  de([0xf7, 0xf9], [0x80000000, 0xffffffff, 0xffffffff, 0, 0x7000, 0, 0, 0]); // idiv INT_MIN / -1
  de([0x66, 0xf7, 0xf9], [0x0000, 0xffff, 0x8000, 0, 0x7000, 0, 0, 0]);
  de([0xf6, 0xf9], [0x8000, 0xff, 0, 0, 0x7000, 0, 0, 0]);
  de([0xf7, 0xf1], [5, 0, 0, 0, 0x7000, 0, 0, 0]); // div by zero
  de([0xf7, 0xf1], [0, 7, 7, 0, 0x7000, 0, 0, 0]); // quotient overflow
  de([0xf6, 0xf1], [0x0100, 1, 0, 0, 0x7000, 0, 0, 0]);
  // idiv: remainder takes the dividend's sign; -128 is a valid 8-bit quotient
  let res = vm.exec([0xf6, 0xf9], [-7 & 0xffff, 2, 0, 0, 0x7000, 0, 0, 0]);
  assert.equal(res.r[0] & 0xffff, 0xfffd);
  res = vm.exec([0xf6, 0xf9], [-256 & 0xffff, 2, 0, 0, 0x7000, 0, 0, 0]);
  assert.equal(res.fault, -1);
  assert.equal(res.r[0] & 0xffff, 0x0080);
});

Deno.test("IMUL two and three operands", () => {
  const rand = rng(5);
  const v = values(rand);
  for (let iter = 0; iter < 600; iter++) {
    const s = iter & 1 ? 4 : 2;
    const p = pfx(s);
    const r = baseRegs(v);
    const imm = v() & R.maskOf(s);
    const ib = rand() & 0xff;
    const forms: [number[], number, number][] = [
      [[...p, 0x0f, 0xaf, reg(1, 2)], getR(r, 1, s), getR(r, 2, s)],
      [[...p, 0x69, reg(1, 2), ...le(imm, s)], getR(r, 2, s), imm],
      [[...p, 0x6b, reg(1, 2), ib], getR(r, 2, s), R.sx(ib, 1) >>> 0],
    ];
    for (const [code, a, b] of forms) {
      const res = vm.exec(code, r, 0);
      const m = R.mul(true, a, b, s);
      const exp = r.slice();
      setR(exp, 1, m.lo, s);
      assert.deepEqual(res.r.map(h), exp.map(h), `imul ${code} ${h(a)} ${h(b)}`);
      checkFlags(res.flags, { f: m.f, def: R.CF | R.OF }, `imul ${code}`);
    }
  }
});

Deno.test("shifts and rotates: every op, size, count (imm8, 1, CL), register and memory", () => {
  const rand = rng(6);
  const v = values(rand);
  for (let iter = 0; iter < 2000; iter++) {
    const op = iter & 7;
    const s = [1, 2, 4][(iter >> 3) % 3];
    const p = pfx(s);
    const form = rand() % 3;
    const count = form === 1 ? 1 : rand() & 0x3f;
    const fl = rand() & R.ARITH;
    const r = baseRegs(v);
    r[1] = ((r[1] & ~0xff) | (form === 2 ? count : r[1] & 0xff)) >>> 0;
    const useMem = (rand() & 3) === 0;
    const mrm = useMem ? [0x43 | (op << 3), 0x10] : [reg(op, 2)];
    const code = form === 0
      ? [...p, s === 1 ? 0xc0 : 0xc1, ...mrm, count]
      : form === 1
      ? [...p, s === 1 ? 0xd0 : 0xd1, ...mrm]
      : [...p, s === 1 ? 0xd2 : 0xd3, ...mrm];
    if (useMem) vm.w32(MEM, v());
    const m0 = vm.r32(MEM);
    const a = useMem ? rdMem(MEM, s) : getR(r, 2, s);
    const want = R.shift(op, a, count, fl, s);
    const res = vm.exec(code, r, fl);
    const what = `${["rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"][op]}${s} ${h(a)} by ${count} cf=${fl & 1}`;
    const exp = r.slice();
    if (!useMem) setR(exp, 2, want.r, s);
    assert.deepEqual(res.r.map(h), exp.map(h), what);
    assert.equal(h(vm.r32(MEM)), h(useMem ? ((m0 & ~R.maskOf(s)) | want.r) >>> 0 : m0), what + ": memory");
    checkFlags(res.flags, want, what);
  }
});

Deno.test("SHLD / SHRD (16-bit counts above 16 shift through dst:src:src)", () => {
  const rand = rng(7);
  const v = values(rand);
  for (let iter = 0; iter < 1500; iter++) {
    const s = iter & 1 ? 4 : 2;
    const right = (iter & 2) !== 0;
    const p = pfx(s);
    let count = rand() & 0x3f;
    if (s === 2 && (count & 31) > 16) count = 16;
    const viaCl = (rand() & 1) === 1;
    const fl = rand() & R.ARITH;
    const r = baseRegs(v);
    if (viaCl) r[1] = ((r[1] & ~0xff) | count) >>> 0;
    const useMem = (rand() & 3) === 0;
    const mrm = useMem ? [0x43 | (2 << 3), 0x10] : [reg(2, 0)]; // dst eax or [ebx+0x10], src edx
    const code = [...p, 0x0f, (right ? 0xac : 0xa4) + (viaCl ? 1 : 0), ...mrm, ...(viaCl ? [] : [count])];
    if (useMem) vm.w32(MEM, v());
    const m0 = vm.r32(MEM);
    const a = useMem ? rdMem(MEM, s) : getR(r, 0, s);
    const want = R.shxd(right, a, getR(r, 2, s), count, fl, s);
    const res = vm.exec(code, r, fl);
    const what = `sh${right ? "r" : "l"}d${s} ${h(a)},${h(getR(r, 2, s))} by ${count}`;
    const exp = r.slice();
    if (!useMem) setR(exp, 0, want.r, s);
    assert.deepEqual(res.r.map(h), exp.map(h), what);
    assert.equal(h(vm.r32(MEM)), h(useMem ? ((m0 & ~R.maskOf(s)) | want.r) >>> 0 : m0), what);
    checkFlags(res.flags, want, what);
  }
  // undefined 16-bit counts, values observed on hardware: shld ax, dx, 20 / shrd ax, dx, 20
  let res = vm.exec([0x66, 0x0f, 0xa4, 0xd0, 20], [0x1234, 0, 0xabcd, 0, 0x7000, 0, 0, 0]);
  assert.equal(h(res.r[0] & 0xffff), h(0xbcda));
  res = vm.exec([0x66, 0x0f, 0xac, 0xd0, 20], [0x1234, 0, 0xabcd, 0, 0x7000, 0, 0, 0]);
  assert.equal(h(res.r[0] & 0xffff), h(0xdabc));
});

Deno.test("BT BTS BTR BTC: register, immediate and signed memory bit offsets, LOCK", () => {
  const rand = rng(8);
  const v = values(rand);
  const base = DATA + 0x100;
  for (let iter = 0; iter < 800; iter++) {
    const kind = iter & 3;
    const s = iter & 4 ? 4 : 2;
    const p = pfx(s);
    const fl = rand() & R.ARITH;
    const r = baseRegs(v);
    r[3] = base;
    const form = rand() % 3; // 0 reg,reg 1 mem,reg 2 imm
    const lk = form !== 0 && kind !== 0 && (rand() & 1) ? [0xf0] : [];
    for (let k = -8; k < 8; k++) vm.w32(base + 4 * k, v());
    let off: number, addr: number, a: number;
    let code: number[];
    if (form === 0) {
      off = getR(r, 2, s);
      code = [...p, 0x0f, [0xa3, 0xab, 0xb3, 0xbb][kind], reg(2, 1)];
      a = getR(r, 1, s);
      addr = -1;
    } else if (form === 1) {
      // offsets within +-127 bits of the operand
      off = ((rand() % 255) - 127) & R.maskOf(s);
      setR(r, 2, off, s);
      code = [...lk, ...p, 0x0f, [0xa3, 0xab, 0xb3, 0xbb][kind], 0x13]; // [ebx], edx
      const so = R.sx(off, s);
      addr = base + s * Math.floor(so / (8 * s));
      a = rdMem(addr, s);
    } else {
      off = rand() & 0xff;
      const mem = (rand() & 1) === 1;
      code = [...lk.length && mem ? lk : [], ...p, 0x0f, 0xba, mem ? 0x03 | ((4 + kind) << 3) : reg(4 + kind, 1), off];
      addr = mem ? base : -1;
      a = mem ? rdMem(base, s) : getR(r, 1, s);
    }
    const bit = off & (8 * s - 1);
    const was = Math.floor(a / 2 ** bit) & 1;
    const nv = kind === 0
      ? a
      : kind === 1
      ? a | 2 ** bit
      : kind === 2
      ? (was ? a - 2 ** bit : a)
      : (was ? a - 2 ** bit : a + 2 ** bit);
    const before = addr >= 0 ? vm.r32(addr) : 0;
    const res = vm.exec(code, r, fl);
    const what = `bt kind ${kind} size ${s} form ${form} off ${h(off)}`;
    assert.equal(res.fault, -1, what);
    const exp = r.slice();
    if (addr < 0) setR(exp, 1, nv >>> 0, s);
    assert.deepEqual(res.r.map(h), exp.map(h), what);
    if (addr >= 0) assert.equal(h(vm.r32(addr)), h(((before & ~R.maskOf(s)) | nv) >>> 0), what + ": memory");
    assert.equal(res.flags & R.ARITH, (fl & ~R.CF) | was, what + ": flags (CF = bit, rest kept)");
  }
  assert.equal(vm.exec([0x0f, 0xba, 0xe0 - 0x20, 3], baseRegs(() => 0)).fault, 6); // 0F BA /0
});

Deno.test("BSF BSR BSWAP", () => {
  const rand = rng(9);
  const v = values(rand);
  for (let iter = 0; iter < 400; iter++) {
    const s = iter & 1 ? 4 : 2;
    const rev = (iter & 2) !== 0;
    const r = baseRegs(v);
    if ((iter & 12) === 0) setR(r, 2, 0, s);
    const src = getR(r, 2, s);
    const res = vm.exec([...pfx(s), 0x0f, rev ? 0xbd : 0xbc, reg(1, 2)], r, R.ARITH);
    const exp = r.slice();
    if (src !== 0) setR(exp, 1, rev ? 31 - Math.clz32(src) : 31 - Math.clz32(src & -src), s);
    assert.deepEqual(res.r.map(h), exp.map(h), `bs${rev ? "r" : "f"} ${h(src)}`);
    assert.equal(res.flags & R.ZF, src === 0 ? R.ZF : 0);
  }
  let res = vm.exec([0x0f, 0xc9], [0, 0x12345678, 0, 0, 0x7000, 0, 0, 0]);
  assert.equal(h(res.r[1]), h(0x78563412));
  res = vm.exec([0x0f, 0xcf], [0, 0, 0, 0, 0x7000, 0, 0, 0x80000001]);
  assert.equal(h(res.r[7]), h(0x01000080));
  res = vm.exec([0x66, 0x0f, 0xc9], [0, 0x12345678, 0, 0, 0x7000, 0, 0, 0]);
  assert.equal(h(res.r[1]), h(0x12340000)); // o16 form: low word cleared, as hardware does
});

Deno.test("DAA DAS AAA AAS AAM AAD SALC: exhaustive over AL, AH samples, CF and AF", () => {
  for (let al = 0; al < 256; al++) {
    for (const cf of [0, 1]) {
      for (const af of [0, 1]) {
        const fl = (cf ? R.CF : 0) | (af ? R.AF : 0) | R.OF;
        const ah = (al * 37 + cf * 101 + af * 7) & 0xff;
        const ax = (ah << 8) | al;
        const r = [0xdead0000 | ax, 0, 0, 0, 0x7000, 0, 0, 0];
        const cases: [string, number[], R.Bcd | null, number][] = [
          ["daa", [0x27], R.daa(al, cf, af), 0xff],
          ["das", [0x2f], R.das(al, cf, af), 0xff],
          ["aaa", [0x37], R.aaa(ax, af), 0xffff],
          ["aas", [0x3f], R.aas(ax, af), 0xffff],
          ["aam", [0xd4, 10], R.aam(ax, 10), 0xffff],
          ["aam7", [0xd4, 7], R.aam(ax, 7), 0xffff],
          ["aad", [0xd5, 10], R.aad(ax, 10), 0xffff],
          ["aad16", [0xd5, 16], R.aad(ax, 16), 0xffff],
        ];
        for (const [name, code, want, m] of cases) {
          const res = vm.exec(code, r, fl);
          const what = `${name} ax=${h(ax)} cf=${cf} af=${af}`;
          assert.equal(res.fault, -1, what);
          assert.equal(h(res.r[0]), h(((r[0] & ~m) | want!.ax) >>> 0), what);
          checkFlags(res.flags, want!, what);
        }
        const res = vm.exec([0xd6], r, fl);
        assert.equal(h(res.r[0]), h(((r[0] & ~0xff) | (cf ? 0xff : 0)) >>> 0), "salc");
        assert.equal(res.flags & R.ARITH, fl & R.ARITH);
      }
    }
  }
  const r = [0x1234, 0, 0, 0, 0x7000, 0, 0, 0];
  const res = vm.exec([0xd4, 0], r, 0);
  assert.equal(res.fault, 0, "aam 0 is #DE");
  assert.deepEqual(res.r, r);
});

Deno.test("CLC STC CMC CLD STD SAHF LAHF", () => {
  const r = () => [0, 0, 0, 0, 0x7000, 0, 0, 0];
  assert.equal(vm.exec([0xf8], r(), R.ARITH).flags & R.ARITH, R.ARITH & ~R.CF);
  assert.equal(vm.exec([0xf9], r(), 0).flags & R.ARITH, R.CF);
  assert.equal(vm.exec([0xf5], r(), R.ZF).flags & R.ARITH, R.ZF | R.CF);
  assert.equal(vm.exec([0xf5], r(), R.CF | R.SF).flags & R.ARITH, R.SF);
  // after an arithmetic op (lazy flags): add eax, eax with eax=0x80000000 then cmc
  let res = vm.exec([0x01, 0xc0, 0xf5], [0x80000000, 0, 0, 0, 0x7000, 0, 0, 0], 0, 2);
  assert.equal(res.flags & R.ARITH, R.ZF | R.PF | R.OF);
  res = vm.exec([0xfd], r(), 0);
  assert.equal(res.flags & 0x400, 0x400);
  res = vm.exec([0xfd, 0xfc], r(), 0, 2);
  assert.equal(res.flags & 0x400, 0);
  for (let ah = 0; ah < 256; ah++) {
    res = vm.exec([0x9e], [ah << 8, 0, 0, 0, 0x7000, 0, 0, 0], R.OF);
    assert.equal(res.flags & R.ARITH, R.OF | (ah & 0xd5), `sahf ${ah}`);
    res = vm.exec([0x9f], [0x11220033, 0, 0, 0, 0x7000, 0, 0, 0], ah & 0xd5 | R.OF);
    assert.equal(h(res.r[0]), h(0x11220033 | (((ah & 0xd5) | 2) << 8)), `lahf ${ah}`);
  }
  // lahf after sub: 1 - 2 sets SF AF PF CF
  res = vm.exec([0x2c, 2, 0x9f], [1, 0, 0, 0, 0x7000, 0, 0, 0], 0, 2);
  assert.equal(h((res.r[0] >> 8) & 0xff), h(R.SF | R.AF | R.PF | R.CF | 2));
});

Deno.test("LOCKed RMW is atomic across two vCPU threads", async () => {
  const ramBytes = 2 << 20;
  const mem = createMemory(ramBytes);
  const ram = GuestRam.ofMemory(mem, ramBytes);
  const X = 0x10000, Y = 0x10004, Z = 0x10008, W = 0x1000c;
  // per 4 instructions: lock add dword [X],1 ; lock sub dword [Y],3 ; lock inc word [Z] (via add) ; lock adc dword [W], 0 with CF=0
  const block: number[] = [];
  const N = 4096;
  for (let i = 0; i < N; i++) {
    block.push(0xf0, 0x83, 0x05, ...le(X, 4), 0x01);
    block.push(0xf0, 0x83, 0x2d, ...le(Y, 4), 0x03);
    block.push(0xf0, 0x66, 0x83, 0x05, ...le(Z, 4), 0x01);
    block.push(0xf0, 0x0f, 0xab, 0x05, ...le(W, 4)); // lock bts [W], eax (eax = cpu*16 + i%16 ... set below)
  }
  ram.write(0x20000, block);
  const reps = 25;
  const workers = [0, 1].map(() => new Worker(new URL("./lock_worker.ts", import.meta.url).href, { type: "module" }));
  const done = workers.map((w, cpu) =>
    new Promise<void>((res, rej) => {
      w.onmessage = (e) => (e.data === "done" ? res() : rej(new Error(String(e.data))));
      w.onerror = (e) => {
        e.preventDefault();
        rej(new Error(e.message));
      };
      w.postMessage({ mem, ramBytes, cpu, entry: 0x20000, n: N * 4, reps });
    })
  );
  await Promise.all(done);
  for (const w of workers) w.terminate();
  const total = 2 * reps * N;
  assert.equal(ram.readU32(X), total);
  assert.equal(ram.readU32(Y), (-3 * total) >>> 0);
  assert.equal(ram.readU16(Z), total & 0xffff);
  assert.equal(ram.readU32(W), 0x80000001 >>> 0); // bits 0 (cpu 0) and 31 (cpu 1)
});
