// A block goes on into a CALL whose target and return address are on its own page, and back out
// at the callee's RET while the popped address is the CALL's (runtime/jit/compile.ts). Compared
// with the interpreter alone (tests/jit/lib.ts).
import assert from "node:assert/strict";
import { both, program, sameCount } from "./lib.ts";
import { HAVE_NASM } from "../lib/tools.ts";

const LOOP = `
  mov ecx, 200
  xor esi, esi
  xor edi, edi
.loop:
  mov eax, ecx
  call twice
  add esi, eax
  call skip
  inc ebx               ; skipped: skip returns past it
  xor edi, esi
  rol edi, 5
  dec ecx
  jnz .loop
  PUTHEX esi
  PUTHEX edi
  EXIT 7
twice:                  ; nested: calls its own helper
  call inc1
  add eax, eax
  ret
inc1:
  inc eax
  ret
skip:                   ; changes its return address: the RET goes elsewhere than after the CALL
  add dword [esp], 1
  ret
`;

Deno.test({
  name: "jit: a block goes on into a CALL on its page and returns from it, as the interpreter",
  ignore: !HAVE_NASM,
  fn: async () => {
    const r = await both(program(LOOP));
    sameCount(r);
    assert.equal(r.on.code, 7);
    // the loop's block ran the callees' code itself: blocks are entered far less than once per
    // CALL and RET
    const entries = [...r.on.entries.values()].reduce((x, y) => x + y, 0);
    assert.ok(entries < 200 * 3, `blocks were entered ${entries} times for 200 rounds of 3 calls and returns`);
  },
});
