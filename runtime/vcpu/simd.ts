// Does this host's WebAssembly have SIMD? V8 on ia32 enables it only with SSE4.1, which ring3's
// own Core Duo lacks, so Node inside a ring3 guest has none. The answer picks the core
// (build/core.wasm or build/core-nosimd.wasm, runtime/vcpu/core.ts) and whether the block
// compiler emits v128 code (runtime/jit/ops/sse.ts). RING3_NO_SIMD=1 forces the scalar path.

import { host } from "../platform/mod.ts";

// (module (func (result v128) (v128.const i32x4 0 0 0 0)))
// deno-fmt-ignore
const PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // types: () -> v128
  0x03, 0x02, 0x01, 0x00, // functions: one of type 0
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, ...new Array(16).fill(0), 0x0b, // its body
]);

let known: boolean | undefined;
export function hasSimd(): boolean {
  if (known === undefined) {
    known = host.env.get("RING3_NO_SIMD") !== "1" && WebAssembly.validate(PROBE);
  }
  return known;
}
