// The restore path of a new process (runtime/control/vm.ts machineFromSnapshot): the machine is
// built without firmware tables, its RAM read before the cores exist (with huge-page advice for
// the stretches the snapshot fills), then the cores, CPUs and devices. What a restore restores
// must not change: the same RAM (the firmware tables below 1 MiB included), registers and device
// states as the machine that was saved, and a reset of the restored machine writes the tables.
import assert from "node:assert/strict";
import { Machine } from "../../runtime/machine.ts";
import { Vm } from "../../runtime/control/vm.ts";
import { readSnapshotHeader, saveMachine } from "../../runtime/snapshot/snapshot.ts";
import { adviseHugePages } from "../../runtime/snapshot/resident.ts";
import { createMemory } from "../../runtime/vcpu/core.ts";
import * as L from "../../core-as/layout.ts";

Deno.test("machineFromSnapshot: the saved RAM, tables, registers and devices, no more", async () => {
  const m = await Machine.create({ memMiB: 16 });
  assert.ok(m.tables, "a booting machine has its firmware tables");
  // a dense 4 MiB stretch (huge-page advice) and scattered pages (none)
  for (let p = 0; p < 1024; p++) m.ram.write(0x400000 + p * 4096, [p & 0xff, 0x5a, p >> 8]);
  m.ram.write(0xabc000, [7, 7, 7]);
  m.ram.write(m.ramBytes - 3, [1, 2, 3]);
  m.cores[0].setReg(5, 0x1234abcd);
  m.io.write(0x3ff, 1, 0xa5); // COM1 scratch
  const bytes = saveMachine(m);
  const h = readSnapshotHeader(bytes).header;

  const { machine: r } = await Vm.machineFromSnapshot(bytes);
  assert.equal(r.tables, undefined, "built for the snapshot: no tables of its own");
  assert.deepEqual(
    new Uint8Array(r.memory.buffer, L.RAM_BASE, r.ramBytes),
    new Uint8Array(m.memory.buffer, L.RAM_BASE, m.ramBytes),
    "RAM (the saved machine's tables below 1 MiB among it) is the saved RAM",
  );
  assert.equal(r.cores[0].reg(5), 0x1234abcd);
  assert.equal(r.io.read(0x3ff, 1), 0xa5);
  const again = readSnapshotHeader(saveMachine(r, { clockNs: h.clockNs })).header;
  assert.deepEqual(again.devices, h.devices);
  assert.equal(again.savedPages, h.savedPages);
  // a reboot of the restored guest: reset() writes the tables, as for a machine that booted
  r.reset();
  const tables = (r as Machine).tables; // (assert.equal narrowed it to undefined)
  assert.ok(tables && tables.rsdp > 0, "reset writes the firmware tables");
  m.close();
  r.close();
});

Deno.test("adviseHugePages: advice only where the pages are dense; memory unchanged", () => {
  const mem = createMemory(32 << 20);
  const ram = new Uint8Array(mem.buffer, L.RAM_BASE, 32 << 20);
  ram[0x1234] = 0x77; // touched before the advice: kept
  const dense = (p: number) => p >= 1024 && p < 3072; // 8 MiB of saved pages from 4 MiB on
  const n = adviseHugePages(ram, dense);
  // (0 without FFI, or where the advice is refused; never more than the dense 2 MiB stretches)
  assert.ok(n >= 0 && n <= 4, `advised ${n} stretches`);
  assert.equal(adviseHugePages(ram, () => false), 0, "no dense stretch, no advice");
  for (let p = 1024; p < 3072; p++) ram[p * 4096] = p & 0xff;
  for (let p = 1024; p < 3072; p++) assert.equal(ram[p * 4096], p & 0xff);
  assert.equal(ram[0x1234], 0x77);
  assert.equal(ram[0x900000 + 5], 0);
});
