// SMP guests: Linux brings up every vCPU itself (INIT/STARTUP IPIs), sees N online CPUs, LOCK
// XADD is atomic across vCPU threads, message passing and load buffering show no TSO violation,
// the single-thread mode is repeatable, and idle vCPUs sleep. One boot serves several assertions.
import assert from "node:assert/strict";
import { boot, bootChild, processCpuMs, TEST_INITRD } from "./lib.ts";

const RUN = "console=ttyS0 tsc=reliable ring3.run=/opt/tests/smp/smpcheck";

function checks(out: string) {
  const line = (name: string) => out.match(new RegExp(`SMPCHECK ${name} (.*)`))?.[1] ?? "(missing)";
  return { nproc: Number(out.match(/SMPCHECK nproc (\d+)/)?.[1]), xadd: line("xadd"), mp: line("mp"), lb: line("lb") };
}

Deno.test({ name: "smp: 2 vCPU threads: 2 CPUs online, exact LOCK XADD total, no MP/LB violation" }, async () => {
  const b = await boot({ smp: 2 }, RUN);
  assert.equal((await b.done).kind, "poweroff", b.out().slice(-3000));
  const c = checks(b.out());
  assert.match(b.out(), /smp: Brought up 1 node, 2 CPUs/);
  assert.equal(c.nproc, 2);
  assert.match(c.xadd, /^PASS total=200000 expected=200000 on-own-cpu=yes/);
  assert.match(c.mp, /^PASS rounds=5000 violations=0/);
  assert.match(c.lb, /^PASS rounds=5000 violations=0/);
  assert.match(b.out(), /ring3: exit 0/);
});

Deno.test({ name: "smp: 1 and 4 vCPUs: nproc and the shared counter" }, async () => {
  for (const n of [1, 4]) {
    const b = await boot({ smp: n }, RUN + " smpcheck.quick");
    assert.equal((await b.done).kind, "poweroff", b.out().slice(-3000));
    const c = checks(b.out());
    assert.equal(c.nproc, n, b.out().slice(-3000));
    assert.match(c.xadd, new RegExp(`^PASS total=${n * 100000} expected=${n * 100000} on-own-cpu=yes`));
  }
});

Deno.test({ name: "smp: 8 vCPUs: nproc 8, counter exact; idle guest sleeps" }, async () => {
  const g = bootChild([
    "--smp",
    "8",
    "-m",
    "128",
    "--initrd",
    TEST_INITRD,
    "--append",
    "console=ttyS0 tsc=reliable smpcheck.quick",
  ]);
  await g.waitFor("ring3: shell ready");
  // let the boot's stragglers (deferred work, RCU) settle, then measure the guest's process
  await new Promise((r) => setTimeout(r, 3000));
  const c0 = processCpuMs(g.pid), t0 = performance.now();
  await new Promise((r) => setTimeout(r, 5000));
  const share = (processCpuMs(g.pid) - c0) / (performance.now() - t0);
  console.log(`idle 8-vCPU guest: ${(share * 100).toFixed(1)}% of one host core`);
  await g.send("echo NPROC=$(nproc); /opt/tests/smp/smpcheck; poweroff -f\n");
  const st = await g.done;
  assert.equal(st.code, 0, g.out().slice(-3000));
  assert.match(g.out(), /NPROC=8\r?\n/);
  assert.match(checks(g.out()).xadd, /^PASS total=800000 expected=800000 on-own-cpu=yes/);
  // tickless idle kernel: about 1% measured; a vCPU spinning instead of sleeping would cost 100%
  assert.ok(share < 0.10, `idle guest used ${(share * 100).toFixed(1)}% of a host core`);
});

Deno.test(
  { name: "smp: --smp-threads 1 is repeatable: two 4-vCPU boots print the same bytes" },
  async () => {
    const outs: string[] = [];
    for (let i = 0; i < 2; i++) {
      const b = await boot(
        { smp: 4, smpThreads: 1 },
        "console=ttyS0 tsc=reliable ring3.run=/opt/tests/smp/smpcheck smpcheck.quick",
      );
      assert.equal((await b.done).kind, "poweroff", b.out().slice(-3000));
      outs.push(b.out());
    }
    assert.match(outs[0], /smp: Brought up 1 node, 4 CPUs/);
    assert.match(outs[0], /SMPCHECK nproc 4/);
    assert.match(outs[0], /SMPCHECK xadd PASS total=400000/);
    assert.equal(outs[1], outs[0]);
  },
);
