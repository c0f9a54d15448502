// Linux's vm86(2) in ring3: the default kernel (CONFIG_VM86) runs guest/tests/vm86check, a static
// i386 program that enters virtual-8086 mode through the syscall and acts as the monitor of a
// real-mode routine: the routine prints through DOS-style INT 0x21 calls the kernel hands back
// to the program, computes with 16-bit registers and real-mode segments, loops long enough for
// timer interrupts to arrive in virtual-8086 mode, and has its CLI/STI/PUSHF/POPF emulated by the
// kernel (#GP at IOPL 0). Every line checked here is printed by the guest.
import assert from "node:assert/strict";
import { boot } from "../smp/lib.ts";

Deno.test("guest: vm86(2) runs a real-mode routine that prints through its monitor", async () => {
  const b = await boot({ smp: 1 }, "console=ttyS0 loglevel=3 ring3.run=/opt/tests/vm86check");
  assert.equal((await b.done).kind, "poweroff", b.out().slice(-3000));
  const out = b.out();
  assert.match(out, /^vm86: hello from real mode!\r?$/m, out.slice(-3000));
  for (const c of ["exit", "ints", "sum", "segments", "loop", "vif"]) {
    assert.match(out, new RegExp(`^CHECK vm86\\.${c} PASS`, "m"), out.slice(-3000));
  }
  assert.match(out, /SUMMARY vm86check 6 passed, 0 failed/);
  assert.match(out, /ring3: exit 0/);
});
