// Firmware tables a direct kernel boot needs in guest memory: ACPI (RSDP, RSDT, FADT, FACS,
// DSDT, MADT) and an Intel MultiProcessor table, plus the few BIOS data area words Linux reads.
// Everything is placed in the BIOS area 0xE0000-0xFFFFF, which the e820 map must reserve.
// The DSDT is hand-assembled AML: \_S5 (so poweroff works), and \_SB.PCI0 (PNP0A03) with its
// bus/IO/memory windows (_CRS) and a _PRT routing every slot's INTA-D to the board's GSIs.
import { PM1A_CNT, PM1A_EVT, PM_TMR, SCI_IRQ, SLP_TYP_S5 } from "../devices/acpi.ts";
import { IOAPIC_BASE } from "../devices/ioapic.ts";
import { LAPIC_BASE } from "../devices/lapic.ts";
import { pciIntxGsi } from "../devices/pci.ts";
import type { GuestRam } from "../memory.ts";

export const TABLES_BASE = 0xe0000; // ACPI tables
export const MP_BASE = 0xf0000; // MP floating pointer and configuration table
export const FIRMWARE_END = 0x100000;
export const PCI_MEM_BASE = 0xe0000000; // 32-bit PCI memory window up to the IO-APIC
export const PCI_MEM_END = 0xfebfffff;

export interface TablesConfig {
  ncpu: number;
  ramBytes: number;
  i8042?: boolean; // advertise the keyboard controller in the FADT boot flags (default true)
}

export interface TablesInfo {
  rsdp: number;
  mpFloating: number;
  reserved: [number, number]; // [start, end) the e820 map must mark reserved
}

// ---- byte assembly helpers --------------------------------------------------------------------
class Bytes {
  readonly b: number[] = [];
  u8(...v: number[]): this {
    for (const x of v) this.b.push(x & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v, v >> 8);
  }
  u32(v: number): this {
    return this.u8(v, v >> 8, v >> 16, v >>> 24);
  }
  u64(v: number): this {
    return this.u32(v % 0x100000000).u32(Math.floor(v / 0x100000000));
  }
  str(s: string, len = s.length): this {
    for (let i = 0; i < len; i++) this.u8(i < s.length ? s.charCodeAt(i) : 0x20);
    return this;
  }
  bytes(x: number[] | Uint8Array): this {
    for (const v of x) this.b.push(v);
    return this;
  }
  get length(): number {
    return this.b.length;
  }
}

const sum8 = (b: ArrayLike<number>, start = 0, end = b.length): number => {
  let s = 0;
  for (let i = start; i < end; i++) s = (s + b[i]) & 0xff;
  return s;
};

// standard 36-byte ACPI header + body, checksummed
function acpiTable(sig: string, rev: number, body: number[]): Uint8Array {
  const h = new Bytes().str(sig, 4).u32(36 + body.length).u8(rev, 0).str("RING3 ", 6).str("RING3PC ", 8)
    .u32(1).str("R3  ", 4).u32(1);
  const t = new Uint8Array([...h.b, ...body]);
  t[9] = (0x100 - sum8(t)) & 0xff;
  return t;
}

// ---- AML ----------------------------------------------------------------------------------------
// PkgLength: the length includes its own encoding bytes
function pkgLength(len: number): number[] {
  if (len + 1 < 0x40) return [len + 1];
  for (let n = 1; n <= 3; n++) {
    const total = len + n + 1;
    if (total < 1 << (4 + 8 * n)) {
      const out = [(n << 6) | (total & 0xf)];
      for (let i = 0; i < n; i++) out.push((total >> (4 + 8 * i)) & 0xff);
      return out;
    }
  }
  throw new Error("AML package too long");
}
const pkg = (op: number[], body: number[]): number[] => [...op, ...pkgLength(body.length), ...body];
const nameSeg = (s: string): number[] => [...s.padEnd(4, "_")].map((c) => c.charCodeAt(0));
// a NameString: "\\_SB_" (root), or "PCI0"
function nameString(path: string): number[] {
  const out: number[] = [];
  if (path.startsWith("\\")) {
    out.push(0x5c);
    path = path.slice(1);
  }
  const segs = path ? path.split(".") : [];
  if (segs.length === 2) out.push(0x2e);
  else if (segs.length > 2) out.push(0x2f, segs.length);
  for (const s of segs) out.push(...nameSeg(s));
  if (segs.length === 0) out.push(0);
  return out;
}
function amlInt(v: number): number[] {
  if (v === 0) return [0x00];
  if (v === 1) return [0x01];
  if (v <= 0xff) return [0x0a, v];
  if (v <= 0xffff) return [0x0b, v & 0xff, v >> 8];
  return [0x0c, v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
}
const amlName = (name: string, value: number[]): number[] => [0x08, ...nameString(name), ...value];
const amlPackage = (elems: number[][]): number[] => pkg([0x12], [elems.length, ...elems.flat()]);
const amlBuffer = (bytes: number[]): number[] => pkg([0x11], [...amlInt(bytes.length), ...bytes]);
const amlScope = (name: string, body: number[]): number[] => pkg([0x10], [...nameString(name), ...body]);
const amlDevice = (name: string, body: number[]): number[] => pkg([0x5b, 0x82], [...nameString(name), ...body]);

// "PNP0A03" -> compressed EISA id as a DWord
export function eisaId(id: string): number {
  const c = (i: number) => id.charCodeAt(i) - 0x40;
  const mfg = (c(0) << 10) | (c(1) << 5) | c(2);
  const prod = parseInt(id.slice(3), 16);
  return ((mfg >> 8) | (mfg & 0xff) << 8 | (prod >> 8) << 16 | (prod & 0xff) << 24) >>> 0;
}

// resource descriptors
function wordSpace(type: number, typeFlags: number, min: number, max: number): number[] {
  return new Bytes().u8(0x88).u16(13).u8(type, 0x0c, typeFlags).u16(0).u16(min).u16(max).u16(0)
    .u16(max - min + 1).b;
}
function dwordMemory(min: number, max: number): number[] {
  return new Bytes().u8(0x87).u16(23).u8(0, 0x0c, 0x03).u32(0).u32(min).u32(max).u32(0)
    .u32(max - min + 1).b;
}
const ioPort = (port: number, len: number): number[] => new Bytes().u8(0x47, 1).u16(port).u16(port).u8(1, len).b;

export function buildDsdt(): Uint8Array {
  const crs = [
    ...wordSpace(2, 0, 0, 0xff), // bus numbers
    ...ioPort(0xcf8, 8),
    ...wordSpace(1, 3, 0x0000, 0x0cf7),
    ...wordSpace(1, 3, 0x0d00, 0xffff),
    ...dwordMemory(0x000a0000, 0x000bffff), // legacy VGA window
    ...dwordMemory(PCI_MEM_BASE, PCI_MEM_END),
    0x79,
    0x00, // end tag
  ];
  const prt: number[][] = [];
  for (let slot = 1; slot < 32; slot++) {
    for (let pin = 0; pin < 4; pin++) {
      prt.push(amlPackage([amlInt(slot << 16 | 0xffff), amlInt(pin), amlInt(0), amlInt(pciIntxGsi(slot, pin + 1))]));
    }
  }
  const pci0 = amlDevice("PCI0", [
    ...amlName("_HID", amlInt(eisaId("PNP0A03"))),
    ...amlName("_ADR", amlInt(0)),
    ...amlName("_UID", amlInt(0)),
    ...amlName("_CRS", amlBuffer(crs)),
    ...amlName("_PRT", amlPackage(prt)),
  ]);
  const aml = [
    ...amlName("\\_S5", amlPackage([amlInt(SLP_TYP_S5), amlInt(SLP_TYP_S5), amlInt(0), amlInt(0)])),
    ...amlScope("\\_SB", pci0),
  ];
  return acpiTable("DSDT", 2, aml);
}

function buildFadt(facs: number, dsdt: number, cfg: TablesConfig): Uint8Array {
  const gas = (space: number, bits: number, addr: number, access = 0) =>
    new Bytes().u8(space, bits, 0, access).u64(addr).b;
  const b = new Bytes()
    .u32(facs).u32(dsdt)
    .u8(0, 0) // reserved, preferred PM profile: unspecified
    .u16(SCI_IRQ)
    .u32(0) // SMI_CMD: none, the machine is always in ACPI mode
    .u8(0, 0, 0, 0)
    .u32(PM1A_EVT).u32(0).u32(PM1A_CNT).u32(0).u32(0).u32(PM_TMR)
    .u32(0).u32(0) // no GPE blocks
    .u8(4, 2, 0, 4, 0, 0, 0, 0) // PM1_EVT_LEN, PM1_CNT_LEN, PM2, PM_TMR_LEN, GPE0/1 lengths, GPE1 base, CST_CNT
    .u16(101).u16(1001) // C2/C3 latencies above the limits: not supported
    .u16(0).u16(0).u8(0, 0).u8(0, 0) // flush size/stride, duty offset/width, day/month alarm
    .u8(0x32) // CENTURY CMOS index
    .u16((cfg.i8042 ?? true) ? 0x0003 : 0x0001) // IAPC_BOOT_ARCH: legacy devices (+ 8042)
    .u8(0)
    // flags: WBINVD, PROC_C1, SLP_BUTTON (no fixed sleep button), TMR_VAL_EXT, RESET_REG_SUP
    .u32(1 << 0 | 1 << 2 | 1 << 5 | 1 << 8 | 1 << 10)
    .bytes(gas(1, 8, 0xcf9)).u8(0x06) // RESET_REG: PIIX reset control, hard reset
    .u8(0, 0, 0) // ARM boot arch, minor version
    .u64(facs).u64(dsdt)
    .bytes(gas(1, 32, PM1A_EVT, 2)).bytes(gas(0, 0, 0))
    .bytes(gas(1, 16, PM1A_CNT, 2)).bytes(gas(0, 0, 0))
    .bytes(gas(0, 0, 0)).bytes(gas(1, 32, PM_TMR, 3))
    .bytes(gas(0, 0, 0)).bytes(gas(0, 0, 0));
  return acpiTable("FACP", 4, b.b);
}

function buildFacs(): Uint8Array {
  const b = new Bytes().str("FACS", 4).u32(64).u32(0).u32(0).u32(0).u32(0).u32(0).u32(0).u8(1);
  while (b.length < 64) b.u8(0);
  return new Uint8Array(b.b);
}

function buildMadt(cfg: TablesConfig): Uint8Array {
  const b = new Bytes().u32(LAPIC_BASE).u32(1); // PCAT_COMPAT: dual 8259s present
  for (let i = 0; i < cfg.ncpu; i++) b.u8(0, 8, i, i).u32(1); // processor local APIC, enabled
  b.u8(1, 12, cfg.ncpu, 0).u32(IOAPIC_BASE).u32(0); // IO-APIC id after the CPUs, GSI base 0
  b.u8(2, 10, 0, 0).u32(2).u16(0); // IRQ0 -> GSI2, bus default polarity/trigger
  b.u8(2, 10, 0, SCI_IRQ).u32(SCI_IRQ).u16(0x000d); // SCI: level, active high
  b.u8(4, 6, 0xff).u16(0).u8(1); // LINT1 of every processor is NMI
  return acpiTable("APIC", 3, b.b);
}

// Intel MP spec 1.4: floating pointer + configuration table (processors, buses, IO-APIC, and
// interrupt assignments for the ISA IRQs and each PCI slot's pins).
function buildMp(cfg: TablesConfig, at: number): { fp: Uint8Array; table: Uint8Array } {
  const e = new Bytes();
  let count = 0;
  for (let i = 0; i < cfg.ncpu; i++, count++) {
    e.u8(0, i, 0x14, i === 0 ? 3 : 1).u32(0x0633).u32(0x0381).u32(0).u32(0); // family 6 signature, FPU|APIC...
  }
  e.u8(1, 0).str("PCI   ", 6);
  count++;
  e.u8(1, 1).str("ISA   ", 6);
  count++;
  const ioapicId = cfg.ncpu;
  e.u8(2, ioapicId, 0x11, 1).u32(IOAPIC_BASE);
  count++;
  // ISA IRQs: 8259 ExtINT on pin 0, then IRQ n on pin n (IRQ0 on pin 2); IRQ2 is the cascade
  e.u8(3, 3, 0, 0, 1, 0, ioapicId, 0);
  count++;
  for (let irq = 0; irq < 16; irq++) {
    if (irq === 2) continue;
    const flags = irq === SCI_IRQ ? 0x0d : 0;
    e.u8(3, 0).u16(flags).u8(1, irq, ioapicId, irq === 0 ? 2 : irq);
    count++;
  }
  for (let slot = 1; slot < 32; slot++) {
    for (let pin = 0; pin < 4; pin++) {
      // PCI bus IRQ: source = slot << 2 | pin; level, active low
      e.u8(3, 0).u16(0x0f).u8(0, slot << 2 | pin, ioapicId, pciIntxGsi(slot, pin + 1));
      count++;
    }
  }
  e.u8(4, 3, 0, 0, 1, 0, 0xff, 0);
  count++; // LINT0: ExtINT
  e.u8(4, 1, 0, 0, 1, 0, 0xff, 1);
  count++; // LINT1: NMI
  const h = new Bytes().str("PCMP", 4).u16(44 + e.length).u8(4, 0).str("RING3   ", 8).str("RING3PC     ", 12)
    .u32(0).u16(0).u16(count).u32(LAPIC_BASE).u16(0).u8(0, 0);
  const table = new Uint8Array([...h.b, ...e.b]);
  table[7] = (0x100 - sum8(table)) & 0xff;
  const fp = new Uint8Array(new Bytes().str("_MP_", 4).u32(at + 16).u8(1, 4, 0, 0, 0, 0, 0, 0).b);
  fp[10] = (0x100 - sum8(fp)) & 0xff;
  return { fp, table };
}

// Write the tables into guest RAM (the first MiB, which every machine has).
export function installTables(ram: GuestRam, cfg: TablesConfig): TablesInfo {
  const write = (addr: number, t: Uint8Array) => {
    if (!ram.write(addr, t)) throw new RangeError(`firmware table at 0x${addr.toString(16)} outside RAM`);
  };
  ram.fill(0, TABLES_BASE, FIRMWARE_END - TABLES_BASE);
  let at = TABLES_BASE + 0x40;
  const put = (t: Uint8Array, align = 16): number => {
    at = Math.ceil(at / align) * align;
    const a = at;
    write(a, t);
    at += t.length;
    return a;
  };
  const facs = put(buildFacs(), 64);
  const dsdt = put(buildDsdt());
  const fadt = put(buildFadt(facs, dsdt, cfg));
  const madt = put(buildMadt(cfg));
  const rsdt = put(acpiTable("RSDT", 1, new Bytes().u32(fadt).u32(madt).b));
  // RSDP (ACPI 1.0 form, 20 bytes) at the start of the area
  const rsdp = new Uint8Array(new Bytes().str("RSD PTR ", 8).u8(0).str("RING3 ", 6).u8(0).u32(rsdt).b);
  rsdp[8] = (0x100 - sum8(rsdp)) & 0xff;
  write(TABLES_BASE, rsdp);

  const mp = buildMp(cfg, MP_BASE);
  write(MP_BASE, mp.fp);
  write(MP_BASE + 16, mp.table);

  // BIOS data area: COM1/COM2 bases, EBDA segment (none: 0), base memory size 640 KiB
  ram.writeU16(0x400, 0x3f8);
  ram.writeU16(0x402, 0x2f8);
  ram.writeU16(0x413, 640);
  return { rsdp: TABLES_BASE, mpFloating: MP_BASE, reserved: [TABLES_BASE, FIRMWARE_END] };
}

export { sum8 as checksum8 };
