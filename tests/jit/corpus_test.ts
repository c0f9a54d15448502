// The block compiler's decoder against the interpreter on real code: every instruction a linear
// sweep of busybox's text (and the kernel's, when lz4 is installed) decodes, one of each encoding
// shape (prefixes, opcode, ModR/M, SIB), run once in the interpreter: it must end where the
// decoder says (the next instruction, or a relative branch's target).
import assert from "node:assert/strict";
import { Bare } from "../lib/bare.ts";
import * as L from "../../core-as/layout.ts";
import { decode } from "../../runtime/jit/decode.ts";
import { ENTRY, FACTS, IMM_JB, IMM_JZ, immKind, PREFIX } from "../../core-as/gen/facts.ts";
import { busybox, kernel, ram8, sseCode } from "./corpus.ts";

const CODE = 0x8000, ESP = 0x7000;
const REGS = [0x80, 1, 0, 0x3100, ESP, 0x3200, 0x3300, 0x3400];

Deno.test("corpus: decoded lengths are the interpreter's on busybox and the kernel", async () => {
  const b = await Bare.create({ ramBytes: 1 << 20 });
  new DataView(b.memory.buffer).setUint32(L.MACHINE + L.M_JIT, 0, true);
  const sse = await sseCode();
  const texts = [...busybox(), ...(await kernel() ?? []), ...(sse ?? [])];
  const seen = new Set<string>();
  const wrong: string[] = [];
  let decoded = 0, run = 0, faulted = 0, elsewhere = 0, simd = 0;
  for (const t of texts) {
    for (let p = 0; p < t.bytes.length;) {
      const at = (t.vaddr + p) | 0;
      const ins = decode(t.bytes, p, Math.min(t.bytes.length, p + 0x1000 - (at & 0xfff)), at);
      if (!ins) {
        p++;
        continue;
      }
      decoded++;
      const bytes = t.bytes.subarray(p, p + ins.len);
      p += ins.len;
      // the encoding's shape: everything before the displacement and immediate
      let head = 0;
      while (PREFIX[bytes[head]] !== 0) head++;
      head += ins.op & 0x100 ? 2 : 1;
      if (ins.modrm >= 0) head += ins.mem && (ins.modrm & 7) === 4 ? 2 : 1;
      const key = bytes.subarray(0, head).join();
      if (seen.has(key)) continue;
      seen.add(key);
      const e = ENTRY[ins.op * 8 + ins.reg];
      const k = immKind(FACTS[ins.op * 8 + ins.reg]);
      const rel = k === IMM_JB || k === IMM_JZ;
      if (e.end === "ret" || e.end === "far" || ((e.end === "jmp" || e.end === "call") && !rel)) {
        elsewhere++;
        continue;
      }
      b.startFlat32(CODE, ESP);
      b.core.set(L.S_CR4, L.CR4_OSFXSR | L.CR4_OSXMMEXCPT); // (SSE instructions run)
      if (sse?.includes(t)) simd++;
      REGS.forEach((v, r) => b.core.setReg(r, v));
      ram8(b).fill(0, 0, CODE + 64);
      ram8(b).set(bytes, CODE);
      const d = decode(ram8(b), CODE, CODE + 0x1000, CODE)!;
      run++;
      try {
        b.core.ex.run(1);
      } catch (err) {
        if (!(err instanceof WebAssembly.RuntimeError) || (b.core.get(L.S_PEND_VEC) | 0) < 0) throw err;
        faulted++;
        continue;
      }
      const eip = b.core.eip;
      if (eip !== CODE + d.len && !(rel && eip === (d.imm >>> 0))) {
        wrong.push(
          `${t.name} ${at.toString(16)} (${[...bytes].map((x) => x.toString(16))}): ${d.len}, EIP +${eip - CODE}`,
        );
      }
    }
  }
  console.log(
    `${decoded} instructions decoded, ${run} encodings run (${faulted} faulted, ${elsewhere} not run; ${simd} from the SSE corpus)`,
  );
  assert.deepEqual(wrong.slice(0, 20), []);
  assert.ok(run > 1000);
  if (sse) assert.ok(simd > 100, `only ${simd} encodings of the SSE corpus ran`);
});
