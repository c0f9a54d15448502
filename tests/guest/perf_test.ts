// The performance counters as Linux programs see them: guest/tests/perfcheck opens every generic
// hardware event the default kernel maps onto the Core Duo's architectural events, counts a loop
// of a known number of instructions with each, and reads a counter with RDPMC from ring 3.
// Instructions retired are exact to a margin for interrupts; cycles advance; the branch and cache
// events, which ring3 cannot count exactly and so marks unavailable in CPUID leaf 0xA, are refused
// (ENOENT). Every line checked is printed by the guest.
import assert from "node:assert/strict";
import { boot } from "../smp/lib.ts";

Deno.test("guest: perf_event_open counts the architectural events, RDPMC reads them in ring 3", async () => {
  const b = await boot({ smp: 1 }, "console=ttyS0 loglevel=3 ring3.run=/opt/tests/perfcheck");
  assert.equal((await b.done).kind, "poweroff", b.out().slice(-3000));
  const out = b.out();
  const ctx = out.slice(-3000);
  const names = ["instructions", "cycles", "bus-cycles", "branches", "branch-misses", "cache-references"];
  for (const c of [...names, "cache-misses", "instructions-exact", "rdpmc"]) {
    assert.match(out, new RegExp(`^CHECK perf\\.${c} PASS`, "m"), ctx);
  }
  assert.match(out, /SUMMARY perfcheck 9 passed, 0 failed/, ctx);
  assert.match(out, /ring3: exit 0/, ctx);
});
