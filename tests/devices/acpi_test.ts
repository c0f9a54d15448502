// ACPI/MP tables in guest memory and the PM1 power-off path.
import assert from "node:assert/strict";
import { IoBus } from "../../runtime/bus.ts";
import { ManualClock, TimerQueue } from "../../runtime/clock.ts";
import { IrqRouter } from "../../runtime/irq.ts";
import { AcpiPm, PM1A_CNT, PM1A_EVT, PM_TIMER_HZ, PM_TMR, SLP_TYP_S5 } from "../../runtime/devices/acpi.ts";
import { buildDsdt, checksum8, eisaId, installTables } from "../../runtime/boot/tables.ts";
import { GuestRam } from "../../runtime/memory.ts";

const ram = new Uint8Array(32 << 20);
const info = installTables(new GuestRam(ram), { ncpu: 2, ramBytes: ram.length });
const dv = new DataView(ram.buffer);
const sig = (a: number) => String.fromCharCode(...ram.subarray(a, a + 4));
const len = (a: number) => dv.getUint32(a + 4, true);

function tables(): Map<string, number> {
  const rsdt = dv.getUint32(info.rsdp + 16, true);
  const m = new Map<string, number>([["RSDT", rsdt]]);
  for (let p = rsdt + 36; p < rsdt + len(rsdt); p += 4) {
    const a = dv.getUint32(p, true);
    m.set(sig(a), a);
  }
  const fadt = m.get("FACP")!;
  m.set("DSDT", dv.getUint32(fadt + 40, true));
  m.set("FACS", dv.getUint32(fadt + 36, true));
  return m;
}

Deno.test("acpi: RSDP is found by the BIOS-area scan and checksums", () => {
  let found = -1;
  for (let a = 0xe0000; a < 0x100000; a += 16) {
    if (String.fromCharCode(...ram.subarray(a, a + 8)) === "RSD PTR ") {
      found = a;
      break;
    }
  }
  assert.equal(found, info.rsdp);
  assert.equal(checksum8(ram, found, found + 20), 0);
  assert.equal(ram[found + 15], 0); // ACPI 1.0 RSDP
});

Deno.test("acpi: every table checksums and lies in the reserved area", () => {
  const t = tables();
  assert.deepEqual([...t.keys()].sort(), ["APIC", "DSDT", "FACP", "FACS", "RSDT"]);
  for (const [name, a] of t) {
    assert.equal(sig(a), name);
    assert.ok(a >= info.reserved[0] && a + len(a) <= info.reserved[1]);
    if (name !== "FACS") assert.equal(checksum8(ram, a, a + len(a)), 0, name);
  }
  assert.equal(t.get("FACS")! % 64, 0);
});

Deno.test("acpi: FADT fields at their spec offsets", () => {
  const f = tables().get("FACP")!;
  assert.equal(len(f), 244);
  assert.equal(dv.getUint16(f + 46, true), 9); // SCI_INT
  assert.equal(dv.getUint32(f + 48, true), 0); // SMI_CMD: always ACPI mode
  assert.equal(dv.getUint32(f + 56, true), PM1A_EVT);
  assert.equal(dv.getUint32(f + 64, true), PM1A_CNT);
  assert.equal(dv.getUint32(f + 76, true), PM_TMR);
  assert.deepEqual([ram[f + 88], ram[f + 89], ram[f + 91]], [4, 2, 4]);
  assert.equal(ram[f + 108], 0x32); // century
  assert.equal(dv.getUint16(f + 109, true) & 2, 2); // 8042 present
  assert.equal(dv.getUint32(f + 112, true) & (1 << 8), 1 << 8); // 32-bit PM timer
  assert.equal(ram[f + 116], 1); // reset register in I/O space
  assert.equal(dv.getUint32(f + 120, true), 0xcf9);
  assert.equal(ram[f + 128], 6);
  assert.equal(dv.getUint32(f + 140, true), dv.getUint32(f + 40, true)); // X_DSDT
  assert.equal(dv.getUint32(f + 172 + 4, true), PM1A_CNT); // X_PM1a_CNT_BLK address
  assert.equal(dv.getUint32(f + 208 + 4, true), PM_TMR);
});

Deno.test("acpi: MADT lists the CPUs, the IO-APIC and the IRQ0 -> GSI2 override", () => {
  const m = tables().get("APIC")!;
  assert.equal(dv.getUint32(m + 36, true), 0xfee00000);
  assert.equal(dv.getUint32(m + 40, true) & 1, 1);
  const entries: number[][] = [];
  for (let p = m + 44; p < m + len(m); p += ram[p + 1]) entries.push([...ram.subarray(p, p + ram[p + 1])]);
  const cpus = entries.filter((e) => e[0] === 0);
  assert.deepEqual(cpus.map((e) => [e[3], e[4] & 1]), [[0, 1], [1, 1]]);
  const io = entries.find((e) => e[0] === 1)!;
  assert.equal(new DataView(new Uint8Array(io).buffer).getUint32(4, true), 0xfec00000);
  const ovr = entries.filter((e) => e[0] === 2).map((e) => [e[3], e[4]]);
  assert.deepEqual(ovr, [[0, 2], [9, 9]]);
});

// a tiny AML reader: PkgLength and NameString, enough to walk the DSDT's structure
function pkgLen(b: Uint8Array, p: number): [number, number] {
  const lead = b[p];
  const n = lead >> 6;
  if (n === 0) return [lead & 0x3f, 1];
  let v = lead & 0xf;
  for (let i = 0; i < n; i++) v |= b[p + 1 + i] << (4 + 8 * i);
  return [v, n + 1];
}

Deno.test("acpi: DSDT AML structure (\\_S5, \\_SB.PCI0 with _HID/_CRS/_PRT) is well formed", () => {
  const d = buildDsdt();
  assert.equal(checksum8(d), 0);
  let p = 36;
  // Name(\_S5_, Package(4){5, 5, 0, 0})
  assert.deepEqual([...d.subarray(p, p + 6)], [0x08, 0x5c, ...new TextEncoder().encode("_S5_")]);
  p += 6;
  assert.equal(d[p], 0x12);
  const [plen, pl] = pkgLen(d, p + 1);
  assert.deepEqual([...d.subarray(p + 1 + pl, p + 1 + plen)], [4, 0x0a, SLP_TYP_S5, 0x0a, SLP_TYP_S5, 0, 0]);
  p += 1 + plen;
  // Scope(\_SB_) { Device(PCI0) {...} } runs exactly to the end of the table
  assert.equal(d[p], 0x10);
  const [slen] = pkgLen(d, p + 1);
  assert.equal(p + 1 + slen, d.length);
  const text = new TextDecoder("latin1").decode(d);
  for (const n of ["_SB_", "PCI0", "_HID", "_CRS", "_PRT"]) assert.ok(text.includes(n), n);
  const hid = text.indexOf("_HID");
  assert.equal(d[hid + 4], 0x0c);
  assert.equal(new DataView(d.buffer).getUint32(hid + 5, true), eisaId("PNP0A03"));
  assert.equal(eisaId("PNP0A03"), 0x030ad041);
  // the device package closes exactly at the end of the scope
  const dev = text.indexOf("PCI0") - 1;
  const devStart = d.lastIndexOf(0x82, dev);
  assert.equal(d[devStart - 1], 0x5b);
  const [dlen] = pkgLen(d, devStart + 1);
  assert.equal(devStart + 1 + dlen, d.length);
});

Deno.test("mp: floating pointer and configuration table checksum", () => {
  const fp = info.mpFloating;
  assert.equal(sig(fp), "_MP_");
  assert.equal(checksum8(ram, fp, fp + 16), 0);
  const t = dv.getUint32(fp + 4, true);
  assert.equal(sig(t), "PCMP");
  const tl = dv.getUint16(t + 4, true);
  assert.equal(checksum8(ram, t, t + tl), 0);
  // walk the entries: sizes add up to the table length and the count matches
  const sizes: Record<number, number> = { 0: 20, 1: 8, 2: 8, 3: 8, 4: 8 };
  let p = t + 44, n = 0, cpus = 0;
  while (p < t + tl) {
    if (ram[p] === 0) cpus++;
    p += sizes[ram[p]];
    n++;
  }
  assert.equal(p, t + tl);
  assert.equal(n, dv.getUint16(t + 34, true));
  assert.equal(cpus, 2);
});

Deno.test("acpi: PM1a_CNT SLP_EN with SLP_TYP=S5 powers off; PM timer runs at 3.58 MHz", () => {
  const clock = new ManualClock(0);
  const timers = new TimerQueue(clock);
  const router = new IrqRouter({ setIrq: () => {} });
  const pm = new AcpiPm(timers, router.line(9));
  const io = new IoBus();
  pm.attach(io);
  pm.reset();
  let off = 0;
  pm.onPowerOff = () => off++;
  assert.equal(io.read(PM1A_CNT, 2) & 1, 1); // SCI_EN
  const t0 = io.read(PM_TMR, 4);
  clock.t = 1e9;
  assert.equal(io.read(PM_TMR, 4) - t0, PM_TIMER_HZ);
  // ACPICA: write SLP_TYP first, then SLP_TYP | SLP_EN
  io.write(PM1A_CNT, 2, SLP_TYP_S5 << 10 | 1);
  assert.equal(off, 0);
  io.write(PM1A_CNT, 2, SLP_TYP_S5 << 10 | 1 << 13 | 1);
  assert.equal(off, 1);
  assert.equal(io.read(PM1A_CNT, 2) & (1 << 13), 0); // SLP_EN reads as 0
  // power button: status bit, SCI when enabled, write-1-to-clear
  io.write(PM1A_EVT + 2, 2, 1 << 8);
  pm.pressPowerButton();
  assert.equal(io.read(PM1A_EVT, 2) & 0x100, 0x100);
  assert.equal(router.level(9), true);
  io.write(PM1A_EVT, 2, 0x100);
  assert.equal(router.level(9), false);
});
