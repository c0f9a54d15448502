// Robustness: thousands of seeded random byte streams executed in ring 0 and in ring 3. Core.run()
// may only return (HLT in an exception stub, budget, shutdown, ...) — never throw an internal
// error — and no single stream may hang. The streams run in a worker so a hang is caught by a
// watchdog (no progress for WATCHDOG_MS) instead of blocking the suite. RING3_DIFF_SEED varies
// the streams; a failure prints the seed, the stream number and its bytes.
import assert from "node:assert/strict";
import { BASE_SEED } from "./lib/seed.ts";
import type { FuzzFailure, FuzzJob } from "./lib/fuzz_worker.ts";

const STREAMS = Number(Deno.env.get("RING3_FUZZ_STREAMS") ?? 2500);
const WATCHDOG_MS = 20_000;
// before the first progress report the worker is still loading (type check, wasm compile), which
// on a loaded 2-core machine running the rest of the suite in parallel can take a while
const STARTUP_MS = 180_000;

function runJob(job: FuzzJob): Promise<{ failures: FuzzFailure[]; exits: Record<string, number> }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL("./lib/fuzz_worker.ts", import.meta.url), { type: "module" });
    let last = "(none yet)";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = (ms = WATCHDOG_MS) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        w.terminate();
        reject(
          new Error(
            `ring ${job.ring}: no progress for ${ms} ms (seed 0x${job.seed.toString(16)}); hung in stream ${last}`,
          ),
        );
      }, ms);
    };
    arm(STARTUP_MS);
    w.onmessage = (ev) => {
      const m = ev.data;
      if (m.kind === "progress") {
        last = `#${m.stream}: ${m.bytes}`;
        arm();
      } else {
        clearTimeout(timer);
        w.terminate();
        resolve(m);
      }
    };
    w.onerror = (e) => {
      clearTimeout(timer);
      w.terminate();
      reject(new Error(`fuzz worker crashed in stream ${last}: ${e.message}`));
    };
    w.postMessage(job);
  });
}

for (const ring of [0, 3] as const) {
  Deno.test(`fuzz: ${STREAMS} random streams in ring ${ring} never break the core`, async () => {
    const seed = (BASE_SEED ^ (ring === 3 ? 0x33333333 : 0)) >>> 0;
    const { failures, exits } = await runJob({ seed, ring, streams: STREAMS, budget: 2000 });
    console.log(`ring ${ring} exits: ${JSON.stringify(exits)}`);
    const msg = failures.slice(0, 5).map((f) => `  stream #${f.stream}: ${f.error}\n    bytes: ${f.bytes}`).join("\n");
    assert.equal(
      failures.length,
      0,
      `${failures.length} of ${STREAMS} streams threw out of Core.run() (seed 0x${
        seed.toString(16)
      }, RING3_DIFF_SEED):\n${msg}`,
    );
    assert.ok(Object.values(exits).reduce((a, b) => a + b, 0) === STREAMS, `exits: ${JSON.stringify(exits)}`);
  });
}
