// PCI configuration mechanism #1, BAR sizing/mapping and INTx routing.
import assert from "node:assert/strict";
import { IoBus, MmioBus } from "../../runtime/bus.ts";
import { IrqRouter } from "../../runtime/irq.ts";
import { PciBus, PciFunction, pciIntxGsi } from "../../runtime/devices/pci.ts";

function setup() {
  const io = new IoBus();
  const mmio = new MmioBus();
  const router = new IrqRouter({ setIrq: () => {} });
  const resets: string[] = [];
  const pci = new PciBus(io, mmio, router, (w) => resets.push(w));
  const cfg = (dev: number, reg: number, fn = 0) => 0x80000000 | dev << 11 | fn << 8 | reg;
  const rd = (dev: number, reg: number, size = 4) => {
    io.write(0xcf8, 4, cfg(dev, reg & ~3));
    return io.read(0xcfc + (reg & 3), size);
  };
  const wr = (dev: number, reg: number, v: number, size = 4) => {
    io.write(0xcf8, 4, cfg(dev, reg & ~3));
    io.write(0xcfc + (reg & 3), size, v);
  };
  return { io, mmio, router, pci, rd, wr, resets };
}

Deno.test("pci: Linux's pci_check_type1 and host bridge identification", () => {
  const { io, rd } = setup();
  io.write(0xcfb, 1, 0x01);
  const tmp = io.read(0xcf8, 4);
  io.write(0xcf8, 4, 0x80000000);
  assert.equal(io.read(0xcf8, 4), 0x80000000);
  io.write(0xcf8, 4, tmp);
  assert.equal(rd(0, 0), 0x12378086);
  assert.equal(rd(0, 0x08) >>> 8, 0x060000); // host bridge class
  assert.equal(rd(0, 0x02, 2), 0x1237);
  assert.equal(rd(0, 0x0a, 1), 0x00);
  assert.equal(rd(0, 0x0b, 1), 0x06);
  assert.equal(rd(1, 0), 0x70008086); // PIIX3 ISA bridge
  assert.equal(rd(1, 0x0e, 1), 0x80); // multi-function header
  assert.equal(rd(5, 0), 0xffffffff); // empty slot
  io.write(0xcf8, 4, 0x00000000); // enable bit clear: no config cycle
  assert.equal(io.read(0xcfc, 4), 0xffffffff);
  io.write(0xcf8, 4, 0x80010000); // bus 1: nothing there
  assert.equal(io.read(0xcfc, 4), 0xffffffff);
});

Deno.test("pci: BAR size probing, decode enable maps the BAR", () => {
  const { io, mmio, pci, rd, wr } = setup();
  const seen: [string, number, number][] = [];
  const f = new PciFunction({ vendor: 0x10ec, device: 0x8029, classCode: 0x020000, pin: 1 });
  f.defineBar(0, {
    size: 0x20,
    io: true,
    handler: { read: (o, s) => (seen.push(["r", o, s]), 0x42), write: () => {} },
  });
  f.defineBar(1, { size: 0x1000, io: false, handler: { read: (o) => 0x1000 + o, write: () => {} } });
  pci.add(f, 3);
  assert.equal(rd(3, 0), 0x802910ec);
  assert.equal(rd(3, 0x3d, 1), 1);
  assert.equal(rd(3, 0x3c, 1), pciIntxGsi(3, 1));
  // sizing: write all ones, read back the mask with the type bits
  wr(3, 0x10, 0xffffffff);
  assert.equal(rd(3, 0x10), 0xffffffe1);
  wr(3, 0x14, 0xffffffff);
  assert.equal(rd(3, 0x14), 0xfffff000);
  wr(3, 0x10, 0xc100);
  wr(3, 0x14, 0xfe000000);
  assert.equal(io.read(0xc100, 1), 0xff); // decoding still off
  wr(3, 0x04, 0x0003, 2);
  assert.equal(io.read(0xc104, 1), 0x42);
  assert.deepEqual(seen, [["r", 4, 1]]);
  assert.equal(mmio.read(0xfe000010, 4), 0x1010);
  // moving the BAR moves the decode
  wr(3, 0x10, 0xc200);
  assert.equal(io.read(0xc104, 1), 0xff);
  assert.equal(io.read(0xc200, 1), 0x42);
  wr(3, 0x04, 0, 2);
  assert.equal(mmio.read(0xfe000010, 4), 0xffffffff);
});

Deno.test("pci: firmware resource assignment and INTx through the routed IRQ", () => {
  const { pci, router, rd } = setup();
  const f = new PciFunction({ vendor: 0x1af4, device: 0x1000, classCode: 0x020000, pin: 1 });
  f.defineBar(0, { size: 0x40, io: true, handler: { read: () => 0, write: () => {} } });
  pci.add(f, 4);
  pci.assignResources();
  assert.equal(rd(4, 0x10) & 0xffff, 0xc001);
  assert.equal(rd(4, 0x04, 2) & 1, 1);
  const gsi = pciIntxGsi(4, 1);
  f.setIntx(true);
  assert.equal(router.level(gsi), true);
  assert.equal(rd(4, 0x06, 2) & 8, 8); // interrupt status
  // INTx disable in the command register masks the pin
  const cmd = rd(4, 0x04, 2);
  pci.get(4)!.writeConfig(4, 2, cmd | 0x400);
  assert.equal(router.level(gsi), false);
  pci.get(4)!.writeConfig(4, 2, cmd);
  f.setIntx(false);
  assert.equal(router.level(gsi), false);
});

Deno.test("pci: reset control register at 0xCF9 resets on RST_CPU", () => {
  const { io, resets } = setup();
  io.write(0xcf9, 1, 0x02);
  assert.equal(resets.length, 0);
  io.write(0xcf9, 1, 0x06);
  assert.equal(resets.length, 1);
});
