// Ad-hoc: guest instructions per second of scalar/packed SSE arithmetic in the interpreter, with
// MXCSR.PE clear before every instruction group (the exact path) or left set (the fast path).
// RING3_JIT=0 deno run -A tests/ssefp/speed.ts [iterations]   (not part of the suite)
import { Bare } from "../lib/bare.ts";
import { nasm } from "../lib/tools.ts";
import * as L from "../../core-as/layout.ts";
import { readProc } from "../../tests/lib/procfs.ts";

const N = Number(Deno.args[0] ?? 500000);
// this process's CPU seconds (user + system): wall time means little on a loaded machine
function cpu(): number {
  const f = readProc("/proc/self/stat").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}
async function time(name: string, body: string, reset: boolean, show = true): Promise<number> {
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
  const t0 = cpu();
  const r = b.run(100_000_000);
  const dt = cpu() - t0;
  const rate = Number(r.icount) / dt / 1e6;
  if (show) console.log(`${name.padEnd(40)} ${reset ? "exact path" : "fast path "}  ${rate.toFixed(1)} M instr/s`);
  return rate;
}
// best of three after a warm-up (the first runs are in V8's baseline tier)
async function best(name: string, body: string, reset: boolean): Promise<void> {
  let r = 0;
  for (let i = 0; i < 3; i++) r = Math.max(r, await time(name, body, reset, false));
  console.log(
    `${name.padEnd(40)} ${reset ? "exact path" : "fast path "}  ${r.toFixed(1)} M instr per CPU second (best of 3)`,
  );
}
const ARITH = "  addsd xmm0, xmm1\n  mulsd xmm0, xmm2\n  divsd xmm0, xmm3\n  sqrtsd xmm4, xmm0";
const PACKED = "  addps xmm0, xmm1\n  mulps xmm0, xmm2\n  divpd xmm0, xmm3\n  sqrtpd xmm4, xmm0";
const INT = "  add eax, ebx\n  imul eax, ebx\n  xor edx, eax\n  sub ebx, edx";
const MOVES = "  movaps xmm0, xmm1\n  movaps xmm4, xmm2\n  movaps xmm5, xmm3\n  movaps xmm6, xmm0";
for (const b of [ARITH, PACKED, INT, MOVES]) await time("warm-up", b, true, false);
for (const reset of [false, true]) {
  await best("addsd mulsd divsd sqrtsd", ARITH, reset);
  await best("addps mulps divpd sqrtpd", PACKED, reset);
}
await best("integer add imul xor sub (reference)", INT, false);
await best("movaps x4 (SSE moves, reference)", MOVES, false);
