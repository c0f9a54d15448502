// I/O permission (SDM vol. 1, 19.5): in protected mode with CPL > IOPL every port of the access
// must be clear in the I/O-permission bitmap of the current 32-bit TSS, else #GP(0). The
// processor reads two bitmap bytes per check, so both must lie inside the TSS limit. The TSS
// is read with supervisor accesses (page faults are reported as such). In virtual-8086 mode the
// bitmap decides whatever IOPL is (SDM vol. 3, 20.2.8.1).
import { S } from "./state";
import { S_CR0, S_CPL, S_FLAGS, CR0_PE, SEG_TR, F_VM } from "./layout";
import { segBase, segLimit, segAttr } from "./seg";
import { srd16 } from "./mmu";
import { gp } from "./fault";

@inline export function ioCheck(port: u32, size: u32): void {
  if ((load<u32>(S, S_CR0) & CR0_PE) == 0) return;
  const f = load<u32>(S, S_FLAGS);
  if ((f & F_VM) == 0 && load<u32>(S, S_CPL) <= ((f >> 12) & 3)) return;
  ioBitmap(port, size);
}

function ioBitmap(port: u32, size: u32): void {
  const type = segAttr(SEG_TR) & 0x1f;
  if (type != 0x09 && type != 0x0b) gp(0); // only a 32-bit TSS has a bitmap
  const limit = segLimit(SEG_TR);
  const base = segBase(SEG_TR);
  if (limit < 0x67) gp(0);
  const off = <u64>srd16(base + 0x66) + <u64>(port >> 3);
  if (off + 1 > <u64>limit) gp(0);
  const bits = srd16(base + <u32>off);
  const want: u32 = ((1 << size) - 1) << (port & 7);
  if ((bits & want) != 0) gp(0);
}
