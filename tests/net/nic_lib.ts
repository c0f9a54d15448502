// Shared pieces of the NIC device tests: a PCI bus with an interrupt router and a fake switch port.
import { IoBus, MmioBus } from "../../runtime/bus.ts";
import { IrqRouter } from "../../runtime/irq.ts";
import { PciBus, type PciFunction, pciIntxGsi } from "../../runtime/devices/pci.ts";
import type { NicPort } from "../../runtime/devices/nic_link.ts";
import { Rng } from "../lib/rng.ts";

export class FakePort implements NicPort {
  up = true;
  sent: Uint8Array[] = [];
  sentRaw: Uint8Array[] = []; // the arrays as handed over (offload headers ride on them)
  held = false;
  wantsOffload?: boolean;
  takesOffload?: (hdr: Uint8Array) => boolean;
  onFrame: (frame: Uint8Array) => void = () => {};
  onLink: (up: boolean) => void = () => {};
  send(frame: Uint8Array): void {
    this.sent.push(frame.slice());
    this.sentRaw.push(frame);
  }
  hold(on: boolean): void {
    this.held = on;
  }
  close(): void {}
}

export const MAC = new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
export const PEER = new Uint8Array([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);
export const BCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

// A seeded frame: dst, src, ethertype 0x88b5 (local experimental), payload
export function frame(dst: Uint8Array, src: Uint8Array, len: number, seed: number): Uint8Array {
  const f = new Uint8Array(len);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  const r = new Rng(seed);
  for (let i = 14; i < len; i++) f[i] = r.u32() & 0xff;
  return f;
}

export function board(dev: PciFunction, slot = 3) {
  const io = new IoBus();
  const router = new IrqRouter({ setIrq: () => {} });
  const pci = new PciBus(io, new MmioBus(), router);
  pci.add(dev, slot);
  pci.assignResources();
  // what Linux's pci_enable_device + pci_set_master do
  dev.writeConfig(4, 2, dev.command | 0x5);
  const base = dev.barAddress(0);
  const gsi = pciIntxGsi(slot, 1);
  return {
    io,
    base,
    irq: () => router.level(gsi),
    inb: (o: number) => io.read(base + o, 1),
    inw: (o: number) => io.read(base + o, 2),
    inl: (o: number) => io.read(base + o, 4),
    outb: (o: number, v: number) => io.write(base + o, 1, v),
    outw: (o: number, v: number) => io.write(base + o, 2, v),
    outl: (o: number, v: number) => io.write(base + o, 4, v),
  };
}
