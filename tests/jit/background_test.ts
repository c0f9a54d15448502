// Background compilation (runtime/jit/background.ts): blocks compiled on another thread arrive
// between runs and must be exactly what compiling in place gives; one whose page the guest (or
// the host) wrote while it was being compiled is dropped, never entered.
import assert from "node:assert/strict";
import { Bare } from "../lib/bare.ts";
import * as L from "../../core-as/layout.ts";
import { HAVE_NASM, nasm } from "../lib/tools.ts";
import { ORG, PAGE_TABLES, program, runImage } from "./lib.ts";

const turn = () => new Promise((r) => setTimeout(r, 5));

async function bare(image: Uint8Array, threshold: number): Promise<Bare> {
  const b = await Bare.create({});
  new DataView(b.memory.buffer).setUint32(L.MACHINE + L.M_JIT, threshold, true);
  b.load(ORG, image);
  b.startFlat32(ORG, 0x90000);
  b.core.jit.startBackground(true);
  await b.core.jit.backgroundReady();
  return b;
}

// a loop that patches the immediate of an instruction in a routine it calls, so compiled blocks
// of that page go stale again and again while the compiler thread works
const PATCH = `
  mov ecx, 60000
  xor esi, esi
.loop:
  call routine
  add esi, eax
  rol esi, 5
  mov edi, ecx
  imul edi, edi, 0x01000193
  test ecx, 63
  jnz .same
  mov [routine + 1], edi
.same:
  dec ecx
  jnz .loop
  PUTHEX esi
  EXIT 0x42
align 64
routine:
  mov eax, 0x11111111
  add eax, ecx
  ret
`;

Deno.test({
  name: "jit background: blocks arrive between runs of self-patching code; the result equals the interpreter's",
  ignore: !HAVE_NASM,
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const image = await nasm(program(PATCH + PAGE_TABLES));
  const ref = await runImage(image, 0);
  assert.equal(ref.exit, "done");
  const b = await bare(image, 2);
  try {
    let r;
    for (let i = 0; i < 2000; i++) {
      r = b.run(3000);
      if (r.exit !== "budget") break;
      await turn(); // the event loop delivers what the compiler thread finished
    }
    assert.equal(r!.exit, "done");
    assert.equal(r!.out, ref.out);
    assert.equal(r!.icount, ref.icount);
    assert.deepEqual(b.regs(), ref.regs);
    const s = b.core.jit.current();
    assert.ok(s.background > 0, `no block arrived from the compiler thread: ${JSON.stringify(s)}`);
  } finally {
    b.core.jit.stopBackground();
  }
});

Deno.test({
  name: "jit background: code the host patches while blocks of it are being compiled runs as patched",
  ignore: !HAVE_NASM,
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const image = await nasm(program(
    `
  mov ecx, 300000
  xor eax, eax
.l:

  add eax, 3
  dec ecx
  jnz .l
  PUTHEX eax
  EXIT 0x42
` + PAGE_TABLES,
  ));
  // the offset of the add's imm8 (83 C0 ib): found in the image
  const at = image.findIndex((x, i) => x === 0x83 && image[i + 1] === 0xc0 && image[i + 2] === 3);
  assert.ok(at > 0);
  // Compiled code with background compiles runs in slices; after every 4th slice (for a while)
  // the host writes imm8 = 3 + 2k (a host write bumps the page's generation, as a guest store
  // does). A block may finish its loop iteration past the end of a slice (the count stays
  // exact), so the interpreter then replays the same writes at the same instruction counts.
  const b = await bare(image, 1);
  const writes: [bigint, number][] = [];
  try {
    let got;
    for (let k = 1; k < 400; k++) {
      got = b.run(4000);
      if (got.exit !== "budget") break;
      if (k % 4 === 0 && k < 120) {
        const v = (3 + 2 * k) & 0x7f;
        b.ram.write(ORG + at + 2, Uint8Array.of(v));
        writes.push([got.icount, v]);
      }
      await turn();
    }
    if (got!.exit === "budget") got = b.run(100_000_000);
    const ref = await bare(image, 0);
    ref.core.jit.stopBackground();
    for (const [n, v] of writes) {
      const r = ref.run(Number(n - ref.core.icount));
      assert.equal(r.icount, n);
      ref.ram.write(ORG + at + 2, Uint8Array.of(v));
    }
    const want = ref.run(100_000_000);
    assert.equal(want.exit, "done");
    assert.equal(got!.exit, "done");
    assert.equal(got!.out, want.out);
    assert.equal(got!.icount, want.icount);
    assert.deepEqual(b.regs(), ref.regs());
    assert.ok(b.core.jit.current().background > 0, "no block arrived from the compiler thread");
  } finally {
    b.core.jit.stopBackground();
  }
});
