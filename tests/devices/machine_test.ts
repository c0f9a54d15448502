// Machine assembly: the devices are wired to the vCPU's interrupt path and the run loop ends
// on the machine events (power-off, reset).
import assert from "node:assert/strict";
import * as L from "../../core-as/layout.ts";
import { ManualClock } from "../../runtime/clock.ts";
import { Machine } from "../../runtime/machine.ts";
import { PM1A_CNT, SLP_TYP_S5 } from "../../runtime/devices/acpi.ts";

const attn = (m: Machine) => m.core.get(L.S_ATTN);

// Guest code that exists in any core build: a sea of NOPs from 0000:0000 in real mode.
function nopSled(m: Machine) {
  m.ram.fill(0, 0xe0000, 0x90);
  m.core.ex.setSeg(L.SEG_CS, 0, 0, 0xffff, 0x93);
  m.core.eip = 0;
  m.core.ex.resyncFromState();
}

function initPic(m: Machine) {
  for (
    const [p, v] of [[0x20, 0x11], [0x21, 0x30], [0x21, 4], [0x21, 1], [0xa0, 0x11], [0xa1, 0x38], [0xa1, 2], [0xa1, 1]]
  ) {
    m.io.write(p, 1, v);
  }
}

Deno.test("machine: memory, RAM view, firmware tables and APIC base after init", async () => {
  const m = await Machine.create({ memMiB: 16, clock: new ManualClock() });
  assert.equal(m.ram.size, 16 << 20);
  assert.equal(String.fromCharCode(...m.ram.view(0xe0000, 8)!), "RSD PTR ");
  assert.equal(m.core.get(L.S_APIC_BASE), 0xfee00900);
  assert.equal(m.mmioRead(0, 0xfee00030, 4) & 0xff, 0x14); // LAPIC version through MMIO
  assert.equal(m.mmioRead(0, 0xfec00010, 4), 0); // IO-APIC window (IOREGSEL 0 -> ID)
  assert.equal(m.io.read(0xcfc, 4), 0xffffffff);
  m.io.write(0xcf8, 4, 0x80000000);
  assert.equal(m.io.read(0xcfc, 4), 0x12378086);
});

Deno.test("machine: 2048 and 3072 MiB of RAM (sizes past 2^31 bytes) are sized and mapped", async () => {
  for (const mib of [2048, 3072]) {
    const m = await Machine.create({ memMiB: mib, clock: new ManualClock() });
    assert.equal(m.ramBytes, mib * 0x100000);
    assert.equal(m.ram.size, mib * 0x100000);
    const top = mib * 0x100000 - 4;
    assert.ok(m.ram.contains(top, 4));
    m.ram.writeU32(top, 0xdeadbeef);
    assert.equal(m.ram.readU32(top), 0xdeadbeef);
    assert.ok(!m.ram.contains(top + 4, 1), "nothing past the end");
  }
});

Deno.test("machine: 8259A interrupt reaches the CPU through LINT0 (virtual wire)", async () => {
  const m = await Machine.create({ memMiB: 16, clock: new ManualClock() });
  initPic(m);
  assert.equal(attn(m) & L.ATTN_IRQ, 0);
  // COM1 THRE interrupt: OUT2 + ETBEI
  m.io.write(0x3fc, 1, 0x08);
  m.io.write(0x3f9, 1, 0x02);
  assert.equal(attn(m) & L.ATTN_IRQ, L.ATTN_IRQ);
  assert.equal(m.hasInterrupt(0), true);
  assert.equal(m.intrAck(0), 0x34);
  assert.equal(m.intrAck(0), -1); // IRQ4 in service
  // with LINT0 masked the PIC no longer reaches the CPU
  m.io.write(0x20, 1, 0x20);
  m.mmioWrite(0, 0xfee00350, 4, 0x10700);
  m.io.write(0x3f9, 1, 0x00);
  m.io.write(0x3f9, 1, 0x02);
  assert.equal(m.pic.intr, true);
  assert.equal(m.hasInterrupt(0), false);
});

Deno.test("machine: PIT IRQ0 through IO-APIC pin 2 to the local APIC, EOI", async () => {
  const clock = new ManualClock();
  const m = await Machine.create({ memMiB: 16, clock });
  initPic(m);
  m.io.write(0x21, 1, 0xff); // 8259A fully masked, as Linux does in APIC mode
  m.io.write(0xa1, 1, 0xff);
  m.mmioWrite(0, 0xfee000f0, 4, 0x1ff); // SVR: enable
  m.mmioWrite(0, 0xfec00000, 4, 0x14); // redirection entry of pin 2
  m.mmioWrite(0, 0xfec00010, 4, 0x00000040); // fixed, physical, edge, vector 0x40
  m.mmioWrite(0, 0xfec00000, 4, 0x15);
  m.mmioWrite(0, 0xfec00010, 4, 0x00000000); // destination APIC 0
  m.io.write(0x43, 1, 0x34);
  m.io.write(0x40, 1, 0x9c);
  m.io.write(0x40, 1, 0x2e); // 11932: 100 Hz
  clock.t = 10.1e6;
  m.timers.runDue();
  assert.equal(attn(m) & L.ATTN_IRQ, L.ATTN_IRQ);
  assert.equal(m.intrAck(0), 0x40);
  assert.equal(m.mmioRead(0, 0xfee00120, 4), 0x1); // ISR bit of vector 0x40
  m.mmioWrite(0, 0xfee000b0, 4, 0);
  assert.equal(m.mmioRead(0, 0xfee00120, 4), 0);
  clock.t = 20.1e6;
  m.timers.runDue();
  assert.equal(m.intrAck(0), 0x40);
});

Deno.test("machine: ACPI S5 from the guest ends run() with poweroff", async () => {
  const m = await Machine.create({ memMiB: 16, clock: "virtual" });
  nopSled(m);
  // a host timer standing in for the guest's write, 1 ms of virtual time in
  const t = m.timers.timer(() => m.io.write(PM1A_CNT, 2, SLP_TYP_S5 << 10 | 1 << 13));
  t.set(1e6);
  const out = await m.run();
  assert.deepEqual(out, { kind: "poweroff" });
  const now = m.clock.now();
  assert.ok(now >= 1e6 && now < 1.1e6, `${now}`);
});

Deno.test("machine: keyboard-controller reset ends run() with reset; reset() restores power-on state", async () => {
  const m = await Machine.create({ memMiB: 16, clock: "virtual" });
  nopSled(m);
  m.timers.timer(() => m.io.write(0x64, 1, 0xfe)).set(2e5);
  assert.deepEqual(await m.run(), { kind: "reset", reason: "i8042 reset pulse" });
  m.reset();
  assert.equal(m.core.eip, 0xfff0);
  assert.equal(String.fromCharCode(...m.ram.view(0xe0000, 8)!), "RSD PTR ");
  nopSled(m);
  m.timers.timer(() => m.stop()).set(m.clock.now() + 1e5);
  assert.deepEqual(await m.run(), { kind: "stopped" });
});

Deno.test("machine: serial console output is batched to the sink, input reaches COM1", async () => {
  const chunks: string[] = [];
  const m = await Machine.create({
    memMiB: 16,
    clock: new ManualClock(),
    serialOut: (b) => chunks.push(new TextDecoder().decode(b)),
  });
  for (const c of "hello") m.io.write(0x3f8, 1, c.charCodeAt(0));
  await Promise.resolve();
  assert.deepEqual(chunks, ["hello"]);
  m.serial.input("ls\n");
  assert.equal(m.io.read(0x3fd, 1) & 1, 1);
  assert.equal(String.fromCharCode(m.io.read(0x3f8, 1), m.io.read(0x3f8, 1)), "ls");
});
