// The most CPUs an i386 guest can have: 64 (BIGSMP, NR_CPUS=64 in the default kernel). A 64-vCPU
// guest brings every CPU online (APIC IDs 0..63 in the MP table and MADT, the IO-APIC at 64), and
// asking for 65 is a clear error from the command line and from the machine.
import assert from "node:assert/strict";
import { Machine } from "../../runtime/machine.ts";
import { bootChild } from "./lib.ts";

const cli = new URL("../../cli/boot.ts", import.meta.url).pathname;

Deno.test("smp: --smp 65 is a usage error naming the range; the machine refuses 65 too", async () => {
  const r = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", cli, "--smp", "65"], stdin: "null" })
    .output();
  assert.equal(r.code, 2);
  assert.equal(new TextDecoder().decode(r.stderr), "ring3: --smp 65 is out of range (1..64)\n");
  assert.equal(r.stdout.length, 0);
  await assert.rejects(() => Machine.create({ smp: 65, memMiB: 16 }), /smp 65 out of range \(1\.\.64\)/);
});

Deno.test("smp: a 64-vCPU guest brings up 64 CPUs", async () => {
  const g = bootChild(["--smp", "64", "-m", "256"]);
  await g.waitFor("ring3: shell ready", 900_000);
  await g.send("echo NPROC=$(nproc) ONLINE=$(cat /sys/devices/system/cpu/online); poweroff -f\n");
  const st = await g.done;
  assert.equal(st.code, 0, g.out().slice(-3000));
  assert.match(g.out(), /smp: Brought up 1 node, 64 CPUs/);
  assert.match(g.out(), /NPROC=64 ONLINE=0-63\r?\n/);
  // the IO-APIC keeps the ID the MADT gives it (64, after the CPUs' 0..63)
  assert.doesNotMatch(g.out(), /Unable to change apic_id|Max apic_id exceeded/);
});
