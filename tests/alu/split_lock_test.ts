// LOCKed read-modify-writes stay atomic whatever the alignment: four vCPU threads (on a 2-core
// host, so they are also preempted in the middle) increment counters that straddle a page, an
// 8-byte boundary and a cache line with LOCK ADD, XADD, INC, CMPXCHG loops,
// CMPXCHG8B loops on a 4-byte-aligned 64-bit value (the i386 ABI's `long long` in a struct) and
// XCHG spinlocks; no update may be lost. The spinlock is released with a plain store, as Linux's
// spin_unlock does: a split XCHG must be atomic against that store too, which the bus lock's
// exclusive section gives (core-as/buslock.ts: the other vCPUs stop at an instruction boundary);
// a lock that only excluded other locked accesses lost the release (the XCHG read 1, the store
// wrote 0, the XCHG wrote 1: the lock word stayed taken with no holder), which the variant with
// every block compiled hit in 4 runs of 5. Both the interpreter and every block compiled.
import assert from "node:assert/strict";
import * as L from "../../core-as/layout.ts";
import { createMemory } from "../../runtime/vcpu/core.ts";
import { GuestRam } from "../../runtime/memory.ts";
import { HAVE_NASM, nasm } from "../lib/tools.ts";

const A = 0x10ffe; // dword across a page boundary
const B = 0x12007; // word across an 8-byte boundary
const C = 0x13004; // qword, 4-byte aligned: CMPXCHG8B across an 8-byte boundary
const D = 0x1403e; // dword across a 64-byte cache line
const E = 0x15003; // dword, misaligned inside one 8-byte word
const F = 0x16006; // dword across an 8-byte boundary: CMPXCHG loop
const G = 0x17ffd; // dword spinlock across a page (XCHG), guarding H
const H = 0x18004; // plain dword, incremented under the spinlock
const READY = 0x19000; // start barrier: every vCPU is running before the race begins
const N = 20000;
const LOCKS = 1000; // (at least 1: the loop counts down to 0)
const CPUS = 4;

const SOURCE = `bits 32
org 0x20000
  lock inc dword [${READY}]
.wait: cmp dword [${READY}], ${CPUS}
  jne .wait
  mov ebp, ${N}
top:
  lock add dword [${A}], 1
  lock add word [${B}], 1
  mov eax, [${C}]
  mov edx, [${C + 4}]
.c8: mov ebx, eax
  mov ecx, edx
  add ebx, 1
  adc ecx, 0
  lock cmpxchg8b [${C}]
  jnz .c8
  mov esi, 1
  lock xadd [${D}], esi
  lock inc dword [${E}]
  mov eax, [${F}]
.cx: lea ebx, [eax + 1]
  lock cmpxchg [${F}], ebx
  jnz .cx
  dec ebp
  jnz top
  ; a spinlock taken with XCHG on a word across a page (fewer rounds: with more vCPU threads
  ; than host cores a preempted holder makes the others spin)
  mov ebp, ${LOCKS}
.spin: mov eax, 1
  xchg eax, [${G}]
  test eax, eax
  jz .held
  pause
  jmp .spin
.held:
  inc dword [${H}]
  mov dword [${G}], 0
  dec ebp
  jnz .spin
  cli
  hlt
`;

// threshold 0: the interpreter alone; 1: every block compiled at its first visit
async function race(threshold: number) {
  const ramBytes = 2 << 20;
  const mem = createMemory(ramBytes);
  new DataView(mem.buffer).setUint32(L.MACHINE + L.M_JIT, threshold, true);
  const ram = GuestRam.ofMemory(mem, ramBytes);
  ram.write(0x20000, await nasm(SOURCE));
  const workers = Array.from(
    { length: CPUS },
    () => new Worker(new URL("./lock_worker.ts", import.meta.url).href, { type: "module" }),
  );
  try {
    await Promise.all(workers.map((w, cpu) =>
      new Promise<void>((res, rej) => {
        w.onmessage = (e) => (e.data === "done" ? res() : rej(new Error(String(e.data))));
        w.onerror = (e) => {
          e.preventDefault();
          rej(new Error(e.message));
        };
        w.postMessage({ mem, ramBytes, cpu, entry: 0x20000, limit: 240 });
      })
    ));
  } catch (e) {
    const dv = new DataView(new Uint8Array(ram.view(0, 0x20000)!).buffer);
    const at = (a: number) => dv.getUint32(a, true);
    throw new Error(`${e}: spinlock word ${at(G)}, ${at(H)} rounds held, counters ${at(A)} ${at(D)} ${at(F)}`);
  } finally {
    for (const w of workers) w.terminate();
  }
  const total = CPUS * N;
  const dv = new DataView(new Uint8Array(ram.view(0, 0x20000)!).buffer);
  assert.equal(dv.getUint32(A, true), total, "LOCK ADD across a page");
  assert.equal(dv.getUint16(B, true), total & 0xffff, "LOCK ADD word across 8 bytes");
  assert.equal(dv.getBigUint64(C, true), BigInt(total), "CMPXCHG8B on a 4-byte-aligned qword");
  assert.equal(dv.getUint32(D, true), total, "XADD across a cache line");
  assert.equal(dv.getUint32(E, true), total, "LOCK INC misaligned");
  assert.equal(dv.getUint32(F, true), total, "CMPXCHG across 8 bytes");
  assert.equal(dv.getUint32(H, true), CPUS * LOCKS, "XCHG spinlock across a page");
}

Deno.test({
  name: "split locks: no update lost on 4 vCPU threads (interpreter)",
  ignore: !HAVE_NASM,
  fn: () => race(0),
});
Deno.test({
  name: "split locks: no update lost on 4 vCPU threads (every block compiled)",
  ignore: !HAVE_NASM,
  fn: () => race(1),
});
