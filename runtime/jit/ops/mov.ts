// Inline data movement: MOV (register, memory, immediate forms), LEA, MOVZX/MOVSX. 32-bit and
// 8-bit operands without prefixes; anything else goes to the interpreter.
import type { Block } from "../block.ts";
import { type Insn, PFX_66, PFX_REP } from "../decode.ts";

// the ModR/M operand's value (register or memory) at `size`
export function readE(b: Block, ins: Insn, size: number): void {
  if (!ins.mem) {
    b.regN(ins.rm, size);
    return;
  }
  const lin = b.lin(ins, size, false);
  b.read(lin, size);
}

// write local v to the ModR/M operand
export function writeE(b: Block, ins: Insn, size: number, v: number): void {
  if (!ins.mem) {
    b.setRegN(ins.rm, size, () => b.c.get(v));
    return;
  }
  const lin = b.lin(ins, size, true);
  b.write(lin, v, size);
}

export function emitMov(b: Block, ins: Insn): boolean {
  const c = b.c;
  const op = ins.op;
  switch (op) {
    case 0x88:
    case 0x89: { // mov Ev, Gv
      const size = op === 0x88 ? 1 : ins.pfx & PFX_66 ? 2 : 4;
      const v = b.tmp();
      b.regN(ins.reg, size).c.set(v);
      writeE(b, ins, size, v);
      return true;
    }
    case 0x8a:
    case 0x8b: { // mov Gv, Ev
      const size = op === 0x8a ? 1 : ins.pfx & PFX_66 ? 2 : 4;
      const v = b.tmp();
      readE(b, ins, size);
      c.set(v);
      b.setRegN(ins.reg, size, () => c.get(v));
      return true;
    }
    case 0xc6:
    case 0xc7: { // mov Ev, Iz
      if (ins.reg !== 0) return false;
      const size = op === 0xc6 ? 1 : ins.pfx & PFX_66 ? 2 : 4;
      const v = b.tmp();
      c.const(ins.imm).set(v);
      writeE(b, ins, size, v);
      return true;
    }
    case 0x8d: // lea
      if (!ins.mem) return false;
      b.setReg32(ins.reg, () => b.ea(ins));
      return true;
    case 0x1b6:
    case 0x1b7:
    case 0x1be:
    case 0x1bf: { // movzx / movsx Gv, Eb/Ew
      const size = (op & 1) ? 2 : 1;
      const v = b.tmp();
      readE(b, ins, size);
      if (op >= 0x1be) {
        if (size === 1) c.ext8s();
        else c.ext16s();
      }
      c.set(v);
      b.setReg32(ins.reg, () => c.get(v));
      return true;
    }
  }
  if (op >= 0xa0 && op <= 0xa3) { // mov al/eax <-> [moffs32]
    const size = (op & 1) ? 4 : 1;
    const m = { ...ins, mem: true, base: -1, index: -1, disp: ins.imm };
    if (op <= 0xa1) {
      const v = b.tmp();
      readE(b, m, size);
      c.set(v);
      b.setRegN(0, size, () => c.get(v));
    } else {
      const v = b.tmp();
      b.regN(0, size).c.set(v);
      writeE(b, m, size, v);
    }
    return true;
  }
  if (op === 0x99) { // cdq
    b.setReg32(2, () => b.reg32(0).c.const(31).shrS());
    return true;
  }
  if (op === 0x98) { // cwde
    b.setReg32(0, () => b.reg16(0).c.ext16s());
    return true;
  }
  // nop; PAUSE (F3 90) is declined, so the interpreter counts spin-waits (core-as/cpu.ts pause)
  if (op === 0x90) return (ins.pfx & PFX_REP) === 0;
  if (op === 0x87 && !ins.mem) { // xchg r32, r32 (the memory form is locked: the interpreter's)
    const x = b.tmp(), y = b.tmp();
    b.reg32(ins.reg).c.set(x);
    b.reg32(ins.rm).c.set(y);
    b.setReg32(ins.reg, () => c.get(y));
    b.setReg32(ins.rm, () => c.get(x));
    return true;
  }
  if (op >= 0x91 && op <= 0x97) { // xchg eax, r32
    const x = b.tmp(), y = b.tmp();
    b.reg32(0).c.set(x);
    b.reg32(op & 7).c.set(y);
    b.setReg32(0, () => c.get(y));
    b.setReg32(op & 7, () => c.get(x));
    return true;
  }
  if (op >= 0x1c8 && op <= 0x1cf) { // bswap
    const x = b.tmp();
    b.reg32(op & 7).c.set(x);
    b.setReg32(op & 7, () => {
      c.get(x).const(24).shl();
      c.get(x).const(8).shl().const(0xff0000).and().or();
      c.get(x).const(8).shrU().const(0xff00).and().or();
      c.get(x).const(24).shrU().or();
    });
    return true;
  }
  if (op >= 0xb0 && op <= 0xb7) {
    b.setReg8(op & 7, () => c.const(ins.imm));
    return true;
  }
  if (op >= 0xb8 && op <= 0xbf) {
    b.setReg32(op & 7, () => c.const(ins.imm));
    return true;
  }
  return false;
}
