// A block follows a JMP to code of its own page that it does not hold yet (runtime/jit/compile.ts):
// forward and backward jumps, a jump back into the block (it ends there: a loop is a transition),
// and a jump whose target is patched while the block is hot (the page generation covers it).
import assert from "node:assert/strict";
import { both, program, sameCount } from "./lib.ts";
import { HAVE_NASM } from "../lib/tools.ts";

const FOLLOW = program(`
  xor esi, esi
  mov ecx, 400
.loop:
  add esi, ecx
  jmp .fwd
.back:
  rol esi, 3
  jmp .tail
.fwd:
  xor esi, 0x5a5a5a5a
  jmp short .back
.tail:
  cmp ecx, 200
  jne .same
  mov byte [.patched + 2], 7      ; the rol count of a followed target: 5 -> 7
  jmp .same
.same:
  jmp .patched
.patched:
  rol esi, 5
  dec ecx
  jnz .loop
  PUTHEX esi
  EXIT 0x42
`);

const rol = (v: number, n: number) => ((v << n) | (v >>> (32 - n))) >>> 0;

Deno.test({
  name: "jit: blocks follow jumps within their page, and see a followed target patched",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(FOLLOW);
    let esi = 0;
    for (let ecx = 400; ecx > 0; ecx--) {
      esi = rol(((esi + ecx) >>> 0) ^ 0x5a5a5a5a, 3);
      esi = rol(esi, ecx > 200 ? 5 : 7);
    }
    assert.equal(r.off.out, esi.toString(16).padStart(8, "0"), "the interpreter (the model is wrong)");
    sameCount(r);
  },
});
