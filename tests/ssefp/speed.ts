// Ad-hoc: guest instructions per second of scalar/packed SSE arithmetic in the interpreter, with
// MXCSR.PE clear before every instruction group (the exact path) or left set (the fast path).
// deno run -A tests/ssefp/speed.ts
import { Bare } from "../lib/bare.ts";
import { nasm } from "../lib/tools.ts";
import * as L from "../../core-as/layout.ts";

const N = 200000;
async function time(name: string, body: string, reset: boolean): Promise<void> {
  const src =
    `bits 32\norg 0x100000\n  mov ecx, ${N}\n  ldmxcsr [mx]\n  movsd xmm1, [c1]\n  movsd xmm2, [c2]\n  movsd xmm3, [c3]\n  movsd xmm0, [c1]\n` +
    `lp:\n${
      reset ? "  ldmxcsr [mx]\n" : ""
    }${body}\n  dec ecx\n  jnz lp\n  hlt\nalign 16\nmx: dd 0x1f80\nalign 16\nc1: dq 1.1, 1.1\nc2: dq 0.9999, 0.9999\nc3: dq 1.0001, 1.0001\n`;
  const code = await nasm(src);
  const b = await Bare.create();
  b.load(0x100000, code);
  b.startFlat32(0x100000);
  b.core.set(L.S_CR4, L.CR4_OSFXSR | L.CR4_OSXMMEXCPT);
  const t0 = performance.now();
  const r = b.run(100_000_000);
  const dt = (performance.now() - t0) / 1000;
  console.log(
    `${name.padEnd(40)} ${reset ? "exact path" : "fast path "}  ${(Number(r.icount) / dt / 1e6).toFixed(1)} M instr/s`,
  );
}
const ARITH = "  addsd xmm0, xmm1\n  mulsd xmm0, xmm2\n  divsd xmm0, xmm3\n  sqrtsd xmm4, xmm0";
const PACKED = "  addps xmm0, xmm1\n  mulps xmm0, xmm2\n  divpd xmm0, xmm3\n  sqrtpd xmm4, xmm0";
const INT = "  add eax, ebx\n  imul eax, ebx\n  xor edx, eax\n  sub ebx, edx";
for (const reset of [false, true]) {
  await time("addsd mulsd divsd sqrtsd", ARITH, reset);
  await time("addps mulps divpd sqrtpd", PACKED, reset);
}
await time("integer add imul xor sub (reference)", INT, false);
