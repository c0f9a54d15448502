// In-process A/B comparison of core.wasm builds on the bench programs: the builds run alternately
// on the same guest program, each run timed in process CPU time (the host is shared, so wall time
// lies), and the median per build is reported. Usage:
//   deno run -A bench/lib/ab.ts A.wasm B.wasm [--prog sort|fp] [--rounds N] [--runs N]
import process from "node:process";
import { Core, createMemory } from "../../runtime/vcpu/core.ts";
import * as L from "../../core-as/layout.ts";
import { buildProgram, type GuestProgram } from "./guestprog.ts";

function flag(name: string, dflt: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : dflt;
}
const files = Deno.args.filter((a, i) => a.endsWith(".wasm") && !Deno.args[i - 1]?.startsWith("--"));
const progName = flag("--prog", "sort");
const rounds = Number(flag("--rounds", progName === "sort" ? "40" : "4"));
const runs = Number(flag("--runs", "7"));

const prog: GuestProgram = await buildProgram(progName, rounds);
const mods = await Promise.all(files.map(async (f) => await WebAssembly.compile(await Deno.readFile(f))));

async function once(mod: WebAssembly.Module): Promise<{ cpuMs: number; icount: bigint; code: number }> {
  const memory = createMemory(4 << 20);
  let done = -1;
  const core = await Core.fromModule(mod, memory, 0, {
    io_in: () => 0xffffffff,
    io_out: (port, _s, v) => {
      if (port === 0xf4) done = v >>> 0;
    },
    mmio_rd: () => 0xffffffff,
    mmio_wr: () => {},
    intr_ack: () => -1,
    clock_ns: () => performance.now() * 1e6,
  });
  core.ex.reset();
  new Uint8Array(memory.buffer, L.RAM_BASE + 0x100000).set(prog.flat);
  core.set(L.S_CR0, core.get(L.S_CR0) | L.CR0_PE | L.CR0_NE);
  core.ex.setSeg(L.SEG_CS, 0x08, 0, 0xffffffff, 0xc09b);
  for (const s of [L.SEG_SS, L.SEG_DS, L.SEG_ES, L.SEG_FS, L.SEG_GS]) core.ex.setSeg(s, 0x10, 0, 0xffffffff, 0xc093);
  core.setReg(4, 0x3ff000);
  core.eip = prog.entry;
  core.ex.resyncFromState();
  const c0 = process.cpuUsage();
  while (done < 0) {
    const r = core.run(1 << 20);
    if (r !== L.EXIT_BUDGET && done < 0) throw new Error(`exit ${r} at ${core.eip.toString(16)}`);
  }
  const c = process.cpuUsage(c0);
  return { cpuMs: (c.user + c.system) / 1000, icount: core.icount, code: done };
}

const times: number[][] = mods.map(() => []);
let icount = 0n;
const codes = new Set<number>();
for (const m of mods) await once(m); // warm-up: let V8 tier the code up
for (let k = 0; k < runs; k++) {
  for (let i = 0; i < mods.length; i++) {
    const j = (k & 1) ? mods.length - 1 - i : i; // alternate the order so neither build always runs first
    const r = await once(mods[j]);
    times[j].push(r.cpuMs);
    icount = r.icount;
    codes.add(r.code);
  }
}
if (codes.size !== 1) console.log(`WARNING: results differ between builds: ${[...codes].map((c) => c.toString(16))}`);
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const base = med(times[0]);
const min = (a: number[]) => Math.min(...a);
for (let i = 0; i < mods.length; i++) {
  const m = med(times[i]);
  console.log(
    `${files[i]}: median ${m.toFixed(0)} ms CPU = ${(Number(icount) / m / 1000).toFixed(1)} MIPS ` +
      `(${(((base - m) / base) * 100).toFixed(1)}% vs first), min ${min(times[i]).toFixed(0)} ms = ${
        (Number(icount) / min(times[i]) / 1000).toFixed(1)
      } MIPS; runs ${times[i].map((t) => t.toFixed(0)).join(" ")}`,
  );
}
