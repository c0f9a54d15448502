// Does this host's WebAssembly have tail calls (return_call, return_call_indirect)? V8 ships them
// from 11.2 (Node 20, current Deno); Debian 12's nodejs 18 (V8 10.2), the Node a ring3 guest runs
// when ring3 nests, has them only behind --experimental-wasm-return-call, and rejects a module that
// uses them. Without them the block compiler enters a region's body with a plain call
// (wasm.ts, buildEntries) and a block goes back to the dispatch loop at its end instead of
// chaining into the next compiled block (compile.ts). RING3_NO_TAILCALL=1 forces that path.

import { host } from "../platform/mod.ts";

// (module (func $f (result i32) (i32.const 1)) (func (result i32) (return_call $f)))
const PROBE = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00, // magic, version
  0x01,
  0x05,
  0x01,
  0x60,
  0x00,
  0x01,
  0x7f, // types: () -> i32
  0x03,
  0x03,
  0x02,
  0x00,
  0x00, // functions: two of type 0
  0x0a,
  0x0b,
  0x02,
  0x04,
  0x00,
  0x41,
  0x01,
  0x0b,
  0x04,
  0x00,
  0x12,
  0x00,
  0x0b, // their bodies
]);

let known: boolean | undefined;
export function hasTailCalls(): boolean {
  if (known === undefined) {
    known = host.env.get("RING3_NO_TAILCALL") !== "1" && WebAssembly.validate(PROBE);
  }
  return known;
}
