// The bzImage loader against the committed guest kernel and corrupted copies of it.
import assert from "node:assert/strict";
import * as L from "../../core-as/layout.ts";
import {
  bootBzImage,
  type BootCore,
  BootImageError,
  buildE820,
  CMDLINE_ADDR,
  E820_ACPI,
  E820_RAM,
  E820_RESERVED,
  GDT_ADDR,
  KERNEL_ADDR,
  loadBzImage,
  parseBzImage,
  startKernel,
  ZERO_PAGE_ADDR,
} from "../../runtime/boot/bzimage.ts";
import { Bare } from "../lib/bare.ts";
import { Rng } from "../lib/rng.ts";
import { GuestRam } from "../../runtime/memory.ts";

const IMAGES = new URL("../../guest/images/", import.meta.url);
const kernel = await Deno.readFile(new URL("bzImage", IMAGES));
const initrd = await Deno.readFile(new URL("initramfs.cpio.gz", IMAGES));
const MiB = 1 << 20;

// RAM as the machine hands it over: a view into a bigger buffer, not starting at offset 0
function guestRam(bytes: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(bytes + 4096), 4096, bytes);
}
const u16 = (b: Uint8Array, o: number) => b[o] | b[o + 1] << 8;
const u32 = (b: Uint8Array, o: number) => (b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24) >>> 0;
const u64 = (b: Uint8Array, o: number) => u32(b, o) + u32(b, o + 4) * 2 ** 32;

function expectError(code: string, re: RegExp, f: () => unknown): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof BootImageError, `expected BootImageError, got ${e}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    assert.ok(!e.message.includes("\n"));
    return true;
  });
}

Deno.test("parse the committed bzImage", () => {
  const { header: h, kernel: pm } = parseBzImage(kernel);
  assert.ok(h.version >= 0x20f, h.version.toString(16));
  assert.match(h.kernelVersion, /^6\.1\.\d+ \(ring3@ring3\) #1 SMP/);
  assert.equal(h.code32Start, 0x100000);
  assert.equal(h.prefAddress, 0x1000000); // CONFIG_PHYSICAL_START
  assert.equal(h.relocatable, false);
  assert.equal(h.kernelAlignment, 0x200000);
  assert.equal(h.cmdlineSize, 2047);
  assert.equal(h.initrdAddrMax, 0x7fffffff);
  assert.equal(h.loadflags & 1, 1);
  assert.equal(h.xloadflags & 1, 0);
  assert.equal(h.setupBytes, (h.setupSects + 1) * 512);
  assert.equal(pm.length, kernel.length - h.setupBytes);
  assert.ok(pm.length >= h.syssize * 16 && pm.length < h.syssize * 16 + 16);
  assert.ok(h.initSize > pm.length);
});

Deno.test("load: kernel, initrd, command line, zero page, GDT", () => {
  const ram = guestRam(256 * MiB);
  const cmd = "console=ttyS0 ring3.run=bench";
  const lay = loadBzImage(new GuestRam(ram), kernel, { cmdline: cmd, initrd, acpiRsdp: 0xf5a40 });
  const { header: h } = parseBzImage(kernel);

  // protected-mode kernel at 1 MiB, byte for byte
  assert.deepEqual(
    ram.subarray(KERNEL_ADDR, KERNEL_ADDR + kernel.length - h.setupBytes),
    kernel.subarray(h.setupBytes),
  );
  assert.equal(lay.entry, 0x100000);
  assert.equal(lay.kernelEnd, h.prefAddress + h.initSize);

  // initrd: page aligned, as high as lowmem allows (256 MiB RAM: right at the end), above the kernel
  assert.equal(lay.initrdSize, initrd.length);
  assert.equal(lay.initrdAddr % 4096, 0);
  assert.equal(lay.initrdAddr, Math.floor((256 * MiB - initrd.length) / 4096) * 4096);
  assert.ok(lay.initrdAddr >= lay.kernelEnd);
  assert.deepEqual(ram.subarray(lay.initrdAddr, lay.initrdAddr + initrd.length), initrd);

  // command line, NUL terminated
  assert.equal(new TextDecoder().decode(ram.subarray(CMDLINE_ADDR, CMDLINE_ADDR + cmd.length)), cmd);
  assert.equal(ram[CMDLINE_ADDR + cmd.length], 0);

  // zero page: copied header + the loader's fields
  const zp = ram.subarray(ZERO_PAGE_ADDR, ZERO_PAGE_ADDR + 4096);
  assert.equal(lay.zeroPage, ZERO_PAGE_ADDR);
  const hdrEnd = 0x202 + kernel[0x201];
  assert.equal(String.fromCharCode(...zp.subarray(0x202, 0x206)), "HdrS");
  assert.equal(u16(zp, 0x206), h.version);
  assert.equal(u32(zp, 0x214), 0x100000); // code32_start
  assert.equal(zp[0x210], 0xff); // type_of_loader
  assert.equal(zp[0x211] & 0x81, 0x01); // LOADED_HIGH, no CAN_USE_HEAP
  assert.equal(u32(zp, 0x218), lay.initrdAddr);
  assert.equal(u32(zp, 0x21c), initrd.length);
  assert.equal(u32(zp, 0x228), CMDLINE_ADDR);
  assert.equal(u32(zp, 0x0c8), 0); // ext_cmd_line_ptr
  assert.equal(u32(zp, 0x23c), 0); // hardware_subarch: PC
  assert.equal(u64(zp, 0x070), 0xf5a40); // acpi_rsdp_addr
  assert.equal(zp[0x1ef], 0); // sentinel: else the kernel wipes "uninitialized" fields
  assert.equal(u32(zp, 0x1e0), 255 * 1024); // alt_mem_k
  for (let o = 0x1f1; o < hdrEnd; o++) {
    if (
      [0x210, 0x211, 0x218, 0x219, 0x21a, 0x21b, 0x21c, 0x21d, 0x21e, 0x21f, 0x224, 0x225, 0x228, 0x229, 0x22a, 0x22b]
        .includes(o)
    ) {
      continue;
    }
    assert.equal(zp[o], kernel[o], `header byte ${o.toString(16)}`);
  }
  for (let o = hdrEnd; o < 0x2d0; o++) assert.equal(zp[o], 0, `zero page ${o.toString(16)}`);

  // e820 in the zero page
  const n = zp[0x1e8];
  assert.equal(n, 3);
  const e820 = Array.from({ length: n }, (_, i) => ({
    addr: u64(zp, 0x2d0 + i * 20),
    size: u64(zp, 0x2d0 + i * 20 + 8),
    type: u32(zp, 0x2d0 + i * 20 + 16),
  }));
  assert.deepEqual(e820, [
    { addr: 0, size: 0xa0000, type: E820_RAM },
    { addr: 0xa0000, size: 0x60000, type: E820_RESERVED },
    { addr: 0x100000, size: 255 * MiB, type: E820_RAM },
  ]);
  assert.deepEqual(lay.e820, e820);

  // GDT: __BOOT_CS (0x10) flat execute/read, __BOOT_DS (0x18) flat read/write
  assert.equal(lay.gdt, GDT_ADDR);
  assert.deepEqual([...ram.subarray(GDT_ADDR, GDT_ADDR + 16)], new Array(16).fill(0));
  assert.deepEqual([...ram.subarray(GDT_ADDR + 16, GDT_ADDR + 24)], [0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0]);
  assert.deepEqual([...ram.subarray(GDT_ADDR + 24, GDT_ADDR + 32)], [0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0]);
});

Deno.test("load without initrd or command line", () => {
  const ram = guestRam(64 * MiB);
  const lay = loadBzImage(new GuestRam(ram), kernel);
  assert.equal(lay.initrdAddr, 0);
  assert.equal(u32(ram, ZERO_PAGE_ADDR + 0x218), 0);
  assert.equal(u32(ram, ZERO_PAGE_ADDR + 0x21c), 0);
  assert.equal(ram[CMDLINE_ADDR], 0);
});

Deno.test("initrd stays below lowmem, initrd_addr_max and the machine's regions", () => {
  // 1 GiB: lowmem of a non-highmem i386 kernel ends below 896 MiB
  const big = loadBzImage(new GuestRam(guestRam(1024 * MiB)), kernel, { initrd });
  assert.ok(big.initrdAddr + initrd.length <= 0x37000000);
  assert.ok(big.initrdAddr + initrd.length > 0x37000000 - 8192);

  // ACPI tables in the last 128 KiB of RAM: the initrd goes below them, e820 lists them
  const top = 128 * MiB;
  const acpi = { addr: top - 0x20000, size: 0x20000, type: E820_ACPI };
  const lay = loadBzImage(new GuestRam(guestRam(top)), kernel, { initrd, regions: [acpi] });
  assert.ok(lay.initrdAddr + initrd.length <= acpi.addr);
  assert.ok(lay.initrdAddr + initrd.length > acpi.addr - 4096);
  assert.deepEqual(lay.e820.slice(2), [
    { addr: 0x100000, size: acpi.addr - 0x100000, type: E820_RAM },
    { addr: acpi.addr, size: acpi.size, type: E820_ACPI },
  ]);

  // a lower initrd_addr_max in the header is obeyed
  const img = kernel.slice();
  new DataView(img.buffer).setUint32(0x22c, 0x03ffffff, true);
  const low = loadBzImage(new GuestRam(guestRam(256 * MiB)), img, { initrd, verifyChecksum: false });
  assert.ok(low.initrdAddr + initrd.length <= 0x04000000);
});

Deno.test("e820 map: regions are cut out and merged", () => {
  assert.deepEqual(buildE820(32 * MiB), [
    { addr: 0, size: 0xa0000, type: 1 },
    { addr: 0xa0000, size: 0x60000, type: 2 },
    { addr: 0x100000, size: 31 * MiB, type: 1 },
  ]);
  // EBDA, an ACPI block in the middle of high RAM, the IO-APIC/LAPIC/ROM above RAM
  const m = buildE820(32 * MiB, [
    { addr: 0x9fc00, size: 0x400 },
    { addr: 0x800000, size: 0x1000, type: 3 },
    { addr: 0xfec00000, size: 0x1000 },
    { addr: 0xfffc0000, size: 0x40000 },
  ]);
  assert.deepEqual(m, [
    { addr: 0, size: 0x9fc00, type: 1 },
    { addr: 0x9fc00, size: 0x60400, type: 2 }, // merged with the legacy hole
    { addr: 0x100000, size: 0x700000, type: 1 },
    { addr: 0x800000, size: 0x1000, type: 3 },
    { addr: 0x801000, size: 32 * MiB - 0x801000, type: 1 },
    { addr: 0xfec00000, size: 0x1000, type: 2 },
    { addr: 0xfffc0000, size: 0x40000, type: 2 },
  ]);
});

Deno.test("start: CPU state of the 32-bit boot protocol (real core)", async () => {
  const ramBytes = 64 * MiB;
  const { ram, core } = await Bare.create({ ramBytes });
  core.set(L.S_APIC_BASE, 0xfee00900); // set by the machine at reset: must survive
  for (let r = 0; r < 8; r++) core.setReg(r, 0xdead0000 + r); // garbage the loader must clear
  const lay = bootBzImage(ram, core, kernel, { cmdline: "console=ttyS0", initrd });
  assert.equal(core.eip, 0x100000);
  assert.equal(core.reg(6), ZERO_PAGE_ADDR); // ESI
  assert.equal(core.reg(3), 0); // EBX
  assert.equal(core.reg(5), 0); // EBP
  assert.equal(core.reg(7), 0); // EDI
  assert.equal(core.get(L.S_CR0) & (L.CR0_PE | L.CR0_PG), L.CR0_PE);
  assert.equal(core.get(L.S_FLAGS) & L.F_IF, 0);
  assert.equal(core.get(L.S_CPL), 0);
  assert.equal(core.get(L.S_GDTR_BASE), lay.gdt);
  assert.equal(core.get(L.S_GDTR_LIMIT), 31);
  assert.equal(core.get(L.S_APIC_BASE), 0xfee00900);
  const seg = (s: number, f: number) => core.get(L.S_SEG + s * L.SEG_SIZE + f);
  assert.equal(seg(L.SEG_CS, L.SG_SEL), 0x10);
  for (const s of [L.SEG_CS, L.SEG_DS, L.SEG_ES, L.SEG_SS]) {
    assert.equal(seg(s, L.SG_BASE), 0);
    assert.equal(seg(s, L.SG_LIMIT), 0xffffffff);
    assert.equal(seg(s, L.SG_ATTR) & 0xc090, 0xc090); // G, D/B, P, S
  }
  assert.equal(seg(L.SEG_CS, L.SG_ATTR) & 0xa, 0xa); // code, readable
  for (const s of [L.SEG_DS, L.SEG_ES, L.SEG_SS]) {
    assert.equal(seg(s, L.SG_SEL), 0x18);
    assert.equal(seg(s, L.SG_ATTR) & 0xa, 0x2); // data, writable
  }
  // the GDT the CPU points at holds the same descriptors as the cache
  assert.equal(ram.readU8(lay.gdt + 0x10 + 5), 0x9b);
  assert.equal(ram.readU8(lay.gdt + 0x18 + 5), 0x93);
});

Deno.test("start: fake core gets segments, then a resync; no reset of machine-owned state", () => {
  const calls: string[] = [];
  const regs = new Map<number, number>();
  const fake: BootCore = {
    ex: {
      setSeg: (s, sel) => calls.push(`seg${s}=${sel}`),
      resyncFromState: () => calls.push("resync"),
    },
    set: (off, v) => regs.set(off, v),
    setReg: (r, v) => regs.set(r * 4, v),
  };
  const lay = loadBzImage(new GuestRam(guestRam(64 * MiB)), kernel);
  startKernel(fake, lay);
  assert.ok(!calls.includes("reset"));
  assert.equal(calls[calls.length - 1], "resync");
  assert.ok(calls.includes(`seg${L.SEG_CS}=16`));
  for (const s of [L.SEG_DS, L.SEG_ES, L.SEG_SS]) assert.ok(calls.includes(`seg${s}=24`));
  assert.equal(regs.get(L.S_EIP), 0x100000);
  assert.equal(regs.get(L.R_ESI), ZERO_PAGE_ADDR);
});

Deno.test("corrupt images: specific one-line errors", () => {
  const mod = (f: (b: Uint8Array, dv: DataView) => void) => {
    const b = kernel.slice();
    f(b, new DataView(b.buffer));
    return b;
  };
  expectError("truncated", /too short/, () => parseBzImage(kernel.subarray(0, 100)));
  expectError("truncated", /too short/, () => parseBzImage(new Uint8Array(0)));
  expectError(
    "truncated",
    /truncated: \d+ bytes, header says \d+/,
    () => parseBzImage(kernel.subarray(0, kernel.length - 4096)),
  );
  expectError("truncated", /truncated/, () => parseBzImage(kernel.subarray(0, 0x4000)));
  expectError("truncated", /truncated/, () => parseBzImage(kernel.subarray(0, kernel.length - 1)));
  expectError("checksum", /corrupt \(CRC-32 mismatch\)/, () => parseBzImage(mod((b) => b[kernel.length >> 1] ^= 1)));
  expectError("checksum", /CRC/, () => parseBzImage(mod((b) => b[kernel.length - 1] ^= 0x80)));
  expectError("not-bzimage", /no boot signature/, () => parseBzImage(mod((b) => b[0x202] = 0x68)));
  expectError("not-bzimage", /no boot signature/, () => parseBzImage(mod((b) => b[0x1fe] = 0)));
  expectError("not-bzimage", /ELF file/, () =>
    parseBzImage(mod((b) => {
      b.fill(0, 0, 0x400);
      b.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0); // what a vmlinux starts with
    })));
  expectError("not-bzimage", /zImage/, () => parseBzImage(mod((b) => b[0x211] &= ~1)));
  expectError(
    "unsupported",
    /protocol 2\.05 is too old/,
    () => parseBzImage(mod((_, dv) => dv.setUint16(0x206, 0x205, true))),
  );
  expectError("unsupported", /64-bit/, () => parseBzImage(mod((_, dv) => dv.setUint16(0x236, 3, true))));
  expectError(
    "unsupported",
    /entry is at 0x200000/,
    () => parseBzImage(mod((_, dv) => dv.setUint32(0x214, 0x200000, true))),
  );
  expectError("truncated", /truncated/, () => parseBzImage(mod((_, dv) => dv.setUint32(0x1f4, 0x10000000, true))));
  expectError("not-bzimage", /header has an impossible size/, () => parseBzImage(mod((b) => b[0x201] = 0x10)));
  // a corrupt image still loads when the caller turns the check off (e.g. a patched kernel)
  assert.ok(parseBzImage(mod((b) => b[kernel.length >> 1] ^= 1), { verifyChecksum: false }));
});

Deno.test("corrupt images: seeded random damage never escapes as anything but BootImageError", () => {
  const rng = new Rng(0x12345678);
  const rnd = (n: number) => rng.below(n);
  let rejected = 0;
  for (let i = 0; i < 120; i++) {
    let b: Uint8Array;
    switch (i % 3) {
      case 0: // flip bits, mostly in the header
        b = kernel.slice();
        for (let k = 0; k < 1 + rnd(4); k++) b[rnd(2) ? 0x1f0 + rnd(0x80) : rnd(b.length)] ^= 1 << rnd(8);
        break;
      case 1: // truncate
        b = kernel.subarray(0, rnd(kernel.length));
        break;
      default: // random header bytes over a valid image
        b = kernel.slice();
        for (let o = 0x1f1; o < 0x268; o++) if (rnd(4) === 0) b[o] = rnd(256);
    }
    const ram = guestRam(64 * MiB);
    try {
      loadBzImage(new GuestRam(ram), b, { cmdline: "console=ttyS0", initrd });
    } catch (e) {
      assert.ok(e instanceof BootImageError, `case ${i}: ${e}`);
      assert.ok(!e.message.includes("\n"));
      // nothing was written before the error
      assert.equal(ram[ZERO_PAGE_ADDR + 0x202], 0, `case ${i}`);
      rejected++;
    }
  }
  assert.ok(rejected >= 110, `only ${rejected} of 120 damaged images were rejected`);
});

Deno.test("too little RAM, too long a command line, colliding regions", () => {
  const ram = guestRam(16 * MiB);
  expectError(
    "memory",
    /guest RAM \(16 MiB\) too small: the kernel needs \d+ MiB/,
    () => loadBzImage(new GuestRam(ram), kernel),
  );
  assert.ok(ram.every((b) => b === 0), "RAM untouched after an error");
  const { header: h } = parseBzImage(kernel);
  const justKernel = Math.ceil((h.prefAddress + h.initSize) / MiB) * MiB;
  loadBzImage(new GuestRam(guestRam(justKernel)), kernel);
  expectError(
    "memory",
    /too small for kernel and initrd/,
    () => loadBzImage(new GuestRam(guestRam(justKernel)), kernel, { initrd }),
  );
  expectError(
    "cmdline",
    /2048 bytes; this kernel accepts 2047/,
    () => loadBzImage(new GuestRam(guestRam(64 * MiB)), kernel, { cmdline: "x".repeat(2048) }),
  );
  loadBzImage(new GuestRam(guestRam(64 * MiB)), kernel, { cmdline: "x".repeat(2047) });
  expectError(
    "layout",
    /overlaps the zero page/,
    () =>
      loadBzImage(new GuestRam(guestRam(64 * MiB)), kernel, {
        regions: [{ addr: ZERO_PAGE_ADDR + 0x800, size: 0x100 }],
      }),
  );
  expectError(
    "layout",
    /overlaps the kernel/,
    () => loadBzImage(new GuestRam(guestRam(64 * MiB)), kernel, { regions: [{ addr: 0x200000, size: 0x1000 }] }),
  );
});
