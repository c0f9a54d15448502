// Worker side of fuzz_test.ts: executes seeded random byte streams in ring 0 or ring 3 of a bare
// machine with a GDT/IDT/TSS whose exception handlers halt, and reports every stream for which
// Core.run() threw (an internal error instead of an architectural exception). Progress messages
// let the parent detect a hang inside a single run() call.
import { Bare } from "../../lib/bare.ts";
import { CoreError } from "../../../runtime/vcpu/core.ts";
import { CODE, enterFlat, STACK, STACK0 } from "./machine.ts";
import { Rng } from "../../lib/rng.ts";

export interface FuzzJob {
  seed: number;
  ring: 0 | 3;
  streams: number;
  budget: number;
}
export interface FuzzFailure {
  stream: number;
  bytes: string;
  error: string;
}

// the worker global scope (Deno types `self` as a window)
const scope = self as unknown as {
  onmessage: ((ev: MessageEvent<FuzzJob>) => void) | null;
  postMessage(m: unknown): void;
};

scope.onmessage = async (ev: MessageEvent<FuzzJob>) => {
  const job = ev.data;
  const b = await Bare.create();
  const r = new Rng(job.seed);
  const failures: FuzzFailure[] = [];
  const exits: Record<string, number> = {};
  for (let i = 0; i < job.streams; i++) {
    const bytes = new Uint8Array(96);
    for (let k = 0; k < bytes.length; k++) {
      // some structure: prefixes and 0F escapes more often than uniform bytes give them
      const x = r.below(100);
      bytes[k] = x < 6
        ? r.pick([0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65])
        : x < 12
        ? 0x0f
        : r.below(256);
    }
    enterFlat(b, job.ring, CODE);
    b.load(CODE, bytes);
    const c = b.core;
    for (let reg = 0; reg < 8; reg++) {
      if (reg !== 4) c.setReg(reg, r.chance(0.5) ? r.val() : 0x300000 + r.below(0x1000));
    }
    c.setReg(4, job.ring === 3 ? STACK : STACK0);
    scope.postMessage({ kind: "progress", stream: i, bytes: hexs(bytes) });
    try {
      const res = b.run(job.budget);
      exits[res.exit] = (exits[res.exit] ?? 0) + 1;
    } catch (e) {
      // CoreError (trap without a pending exception) or anything else escaping run()
      failures.push({
        stream: i,
        bytes: hexs(bytes),
        error: `${e instanceof CoreError ? "CoreError" : "error"}: ${e}`,
      });
    }
  }
  scope.postMessage({ kind: "done", failures, exits });
};

function hexs(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
}
