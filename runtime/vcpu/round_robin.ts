// Every vCPU on the machine's thread, round-robin. The loop runs a core for a slice of
// instructions, fires due device timers, and lets the core pick up interrupts through intr_ack();
// when every vCPU halts it sleeps until the next timer deadline or host input. One vCPU: slices as
// long as the next timer allows. Several (`smpThreads: 1`): each runs at most `quantum`
// instructions per turn, so with the virtual clock the interleaving (and so the whole run) is the
// same every time.
import * as L from "../../core-as/layout.ts";
import { CPU_RUNNING } from "./smp.ts";
import type { RunHost } from "./run_host.ts";
import { setImmediate } from "../platform/mod.ts";

// a macrotask turn: lets host I/O callbacks (stdin, sockets) run; cheaper than setTimeout(0)
export const yieldToHost = () => new Promise<void>((r) => setImmediate(r));
const SLICE_NS = 0.5e6;
// while background compiles are under way, turn the event loop this often: a compiled block is
// installed only then, and the interpreter runs its code ~10x slower meanwhile
const COMPILING_YIELD_MS = 4; // host mode: aim for slices of about 0.5 ms so timers fire on time

export async function runRoundRobin(h: RunHost): Promise<void> {
  let lastYield = performance.now();
  let perNs = 0.01; // injected clock: measured instructions per host ns (starts at 10 MIPS)
  const multi = h.ncpu > 1;
  const { timers, clock, virtual, paced } = h;
  while (!h.done) {
    let ran = false;
    for (const v of h.vcpus) {
      if (h.done) break;
      if (v.attention & (L.ATTN_INIT | L.ATTN_SIPI | L.ATTN_NMI)) v.handleSignals();
      if (v.state !== CPU_RUNNING) continue;
      timers.runDue();
      if (v.halted && !v.hasInterrupt()) continue;
      const core = v.core;
      let n = multi ? Math.min(h.slice, h.quantum) : h.slice;
      const d = timers.next() - clock.now();
      if (virtual) {
        // end the slice at the next deadline so timers fire on the exact instruction
        if (d < Infinity) n = Math.max(1, Math.min(n, Math.ceil(d * h.ncpu / virtual.nsPerInsn)));
      } else if (paced) {
        n = paced.slice(timers.next(), n); // ends the slice at the deadline, too
      } else {
        // about half a millisecond of guest work, less when a timer is due sooner
        n = Math.max(500, Math.min(n, Math.ceil(Math.min(d, SLICE_NS) * perNs)));
      }
      const t0 = performance.now();
      const i0 = core.icount;
      const exit = core.run(n);
      ran = true;
      const dt = (performance.now() - t0) * 1e6;
      if (!virtual && !paced && dt > 5e4 && exit === L.EXIT_BUDGET) {
        // the guest's instruction rate swings tenfold between phases: follow it quickly
        perNs = 0.5 * perNs + 0.5 * (Number(core.icount - i0) / dt);
      }
      if (h.done) break;
      if (exit === L.EXIT_SHUTDOWN) h.finish({ kind: "reset", reason: "triple fault" });
      else if (exit === L.EXIT_HLT_CLI) {
        v.stopped();
        h.noteStopped();
      }
    }
    if (h.done) break;
    if (!ran) {
      timers.runDue();
      if (!h.vcpus.some((v) => v.state === CPU_RUNNING && (!v.halted || v.hasInterrupt()))) {
        const t = performance.now(), skipped = h.virtual?.skipped ?? 0;
        await idle(h);
        lastYield = performance.now();
        // every running vCPU was halted all along (virtual time: the time skipped)
        const ms = h.virtual ? (h.virtual.skipped - skipped) / 1e6 : lastYield - t;
        for (const v of h.vcpus) if (v.state === CPU_RUNNING) v.addHaltedMs(ms);
      }
    } else if (
      h.takeHostWork() || performance.now() - lastYield > (h.compiling() ? COMPILING_YIELD_MS : h.yieldMs)
    ) {
      h.flushSerial();
      await yieldToHost(); // let host input and output callbacks run
      lastYield = performance.now();
    }
  }
}

// Every CPU halted: wait for the next timer or host input.
async function idle(h: RunHost): Promise<void> {
  const next = h.timers.next();
  if (h.virtual) {
    if (next === Infinity) {
      // nothing will ever wake the CPU but the host: wait for input
      await new Promise<void>((r) => h.setWake(r));
      h.setWake(undefined);
      return;
    }
    h.virtual.skipped += Math.max(0, next - h.clock.now());
    return;
  }
  const ms = (h.paced ? h.paced.idle(next) : next - h.clock.now()) / 1e6;
  if (ms <= 0) return;
  h.flushSerial();
  await new Promise<void>((r) => {
    const t = ms === Infinity ? undefined : setTimeout(() => r(), Math.max(0, Math.floor(ms)));
    h.setWake(() => {
      if (t !== undefined) clearTimeout(t);
      r();
    });
  });
  h.setWake(undefined);
  h.paced?.woke(next);
}
