// One-off check of the move to the one opcode table: the hand-kept decoder, flag analysis and
// block ends (tests/jit/legacy/, copies of runtime/jit/decode.ts and compile.ts before the move)
// and the table-driven ones agree on real code, instruction by instruction, and compile the same
// blocks byte for byte.
import assert from "node:assert/strict";
import * as L from "../../core-as/layout.ts";
import { createMemory } from "../../runtime/vcpu/core.ts";
import { decode } from "../../runtime/jit/decode.ts";
import { compileBlock, endsBlock, flagUse } from "../../runtime/jit/compile.ts";
import { FL_KILL, FL_PASS, FL_USE } from "../../core-as/gen/facts.ts";
import * as old from "./legacy/decode.ts";
import * as oldc from "./legacy/compile.ts";
import { busybox, kernel, type Text } from "./corpus.ts";

const FIELDS = ["len", "op", "pfx", "seg", "modrm", "reg", "rm", "mem", "base", "index", "scale", "disp", "ss", "imm"];
const CLASS: Record<string, number> = { w: FL_KILL, n: FL_PASS, r: FL_USE, rw: FL_USE, x: FL_USE };

async function corpus(): Promise<Text[]> {
  return [...busybox(), ...(await kernel() ?? [])];
}

Deno.test("legacy: decoder, flag use and block ends agree at every byte offset of the corpus", async () => {
  let compared = 0, nulls = 0;
  const diffs: string[] = [];
  for (const t of await corpus()) {
    const pad = t.vaddr & 0xfff;
    const m = new Uint8Array(pad + t.bytes.length);
    m.set(t.bytes, pad);
    for (let p = pad; p < m.length; p++) {
      const at = (t.vaddr - pad + p) | 0;
      const end = Math.min((p | 0xfff) + 1, m.length);
      const a = old.decode(m, p, end, at), b = decode(m, p, end, at);
      if (!a || !b) {
        if (a || b) diffs.push(`${t.name} ${at.toString(16)}: ${a ? "new" : "old"} decoder refuses`);
        nulls++;
        continue;
      }
      compared++;
      for (const f of FIELDS) {
        if ((a as never)[f] !== (b as never)[f]) {
          diffs.push(`${t.name} ${at.toString(16)} ${f}: ${(a as never)[f]} vs ${(b as never)[f]}`);
        }
      }
      // (66 C7 /1-7 is #UD; the old code took it for a 16-bit MOV Ev, Iz (PASS), the table for an
      // instruction the interpreter steps (USE): either way the flags are stored before the #UD)
      const ud16 = a.op === 0xc7 && a.reg !== 0 && a.pfx === old.PFX_66;
      if (CLASS[oldc.flagUse(a as never)] !== flagUse(b) && !ud16) {
        diffs.push(
          `${t.name} ${at.toString(16)} op ${a.op.toString(16)}/${a.reg} pfx ${a.pfx}: flags ${
            oldc.flagUse(a as never)
          } vs ${flagUse(b)}`,
        );
      }
      if (oldc.endsBlock(a as never) !== endsBlock(b)) diffs.push(`${t.name} ${at.toString(16)}: endsBlock`);
    }
  }
  console.log(`compared ${compared} decoded instructions (${nulls} offsets refused by both)`);
  assert.deepEqual(diffs.slice(0, 40), []);
});

Deno.test("legacy: blocks compile to the same bytes", async () => {
  const texts = await corpus();
  const ram = 16 << 20;
  const memory = createMemory(ram);
  const mem = new Uint8Array(memory.buffer);
  const pages = memory.buffer.byteLength / L.WASM_PAGE;
  let phys = 0x100000, blocks = 0, insns = 0;
  const step = Number(Deno.env.get("LEGACY_STEP") ?? "1");
  const diffs: string[] = [];
  for (const t of texts) {
    phys = ((phys + 0xfff) & ~0xfff) + (t.vaddr & 0xfff);
    const h0 = L.RAM_BASE + phys;
    mem.set(t.bytes, h0);
    phys += t.bytes.length;
    // every instruction boundary of a linear sweep (every `step`-th)
    let n = 0;
    for (let p = 0; p < t.bytes.length;) {
      const h = h0 + p, lin = (t.vaddr + p) | 0;
      const ins = decode(mem, h, (h | 0xfff) + 1, lin);
      if (n++ % step === 0) {
        const a = oldc.compileBlock(mem, h, lin, 0x2000, pages), b = compileBlock(mem, h, lin, 0x2000, pages);
        blocks++;
        if (!a || !b) {
          if (a || b) diffs.push(`${t.name} ${lin.toString(16)}: only one compiled`);
        } else {
          insns += b.insns;
          if (
            a.insns !== b.insns || a.inline !== b.inline || a.bytes.length !== b.bytes.length ||
            !a.bytes.every((x, i) => x === b.bytes[i])
          ) {
            diffs.push(`${t.name} ${lin.toString(16)}: block differs`);
          }
        }
      }
      p += ins ? ins.len : 1;
    }
  }
  console.log(`compiled ${blocks} blocks (${insns} instructions) both ways`);
  assert.deepEqual(diffs.slice(0, 40), []);
});
