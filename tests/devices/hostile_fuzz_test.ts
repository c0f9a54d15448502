// Every device model of a machine fuzzed at once from the host side, as a root guest program with
// iopl(3) and /dev/mem could: random byte/word/dword reads and writes on every claimed I/O port,
// the IO-APIC and PCI memory BARs, the local APIC page, random descriptors and ring indices in
// the pages the virtio queues are pointed at, virtio drivers half set up and notified, frames of
// any length from the network, time moving on. No device may throw (the buses would catch it and
// report it through onFault: the test counts those as failures), log an internal error, or make
// the host allocate what the guest asks for. The seeds are fixed; a failure names seed and step.
import assert from "node:assert/strict";
import { Machine } from "../../runtime/machine.ts";
import { ManualClock } from "../../runtime/clock.ts";
import { VirtioNet } from "../../runtime/devices/virtio_net.ts";
import { Ne2k } from "../../runtime/devices/ne2k.ts";
import { VirtioBlk } from "../../runtime/devices/virtio_blk.ts";
import type { BlockImage } from "../../runtime/block/image.ts";
import { Rng } from "../lib/rng.ts";
import { FakePort, MAC, PEER } from "../net/nic_lib.ts";

const RAM_MIB = 32;
const RAM = RAM_MIB << 20;
const ZONE = 0x100000, ZONE_PAGES = 16; // where the fuzzer points the virtio queues
const STEPS = 60_000;

// a disk in host memory
export class MemImage implements BlockImage {
  readonly name = "mem";
  readonly format = "raw" as const;
  readonly readonly = false;
  readonly data: Uint8Array;
  constructor(readonly size: number) {
    this.data = new Uint8Array(size);
  }
  read(off: number, dst: Uint8Array): void {
    dst.set(this.data.subarray(off, off + dst.length));
  }
  write(off: number, src: Uint8Array): void {
    if (off + src.length > this.size) throw new RangeError("write past the end of the image");
    this.data.set(src, off);
  }
  flush(): void {}
  discard(off: number, len: number): void {
    this.data.fill(0, off, Math.min(this.size, off + len));
  }
  close(): void {}
}

const tempFiles: string[] = [];
function ideFile(): string {
  const f = Deno.makeTempFileSync({ prefix: "ring3-fuzz-ide-" });
  tempFiles.push(f);
  Deno.truncateSync(f, 4 << 20);
  return f;
}

function rig() {
  const clock = new ManualClock();
  const faults: string[] = [];
  const logs: string[] = [];
  const m = new Machine({
    memMiB: RAM_MIB,
    clock,
    // the virtio disk first (the fuzzer drives it as a driver would), then an IDE disk and an
    // ATAPI CD-ROM: their ports, bus-master DMA and PRD tables get the random traffic
    disks: [new MemImage(4 << 20), { file: ideFile(), if: "ide" }],
    cdrom: new MemImage(2 << 20),
    serialOut: () => {},
  });
  const nicPort = new FakePort(), nePort = new FakePort();
  const vnet = new VirtioNet(m.ram, MAC, nicPort, (l) => logs.push(l));
  const ne = new Ne2k(PEER, nePort);
  m.pci.add(vnet, 5);
  m.pci.add(ne, 6);
  m.pci.assignResources();
  for (const f of m.pci.functions()) f.writeConfig(4, 2, f.command | 0x7);
  m.io.onFault = (where, e) => faults.push(`${where}: ${(e as Error).stack}`);
  m.mmio.onFault = (where, e) => faults.push(`${where}: ${(e as Error).stack}`);
  return { m, clock, faults, logs, vnet, ne, nicPort, nePort, blk: m.disks[0].device as VirtioBlk };
}

function interesting(r: Rng): number {
  switch (r.below(8)) {
    case 0:
      return 0;
    case 1:
      return 0xffffffff;
    case 2:
      return r.below(256);
    case 3:
      return (ZONE >> 12) + r.below(ZONE_PAGES); // a PFN in the ring zone
    case 4:
      return 1 << r.below(32);
    case 5:
      return r.below(8); // small: a queue index, a status bit pattern
    default:
      return r.u32();
  }
}

// a guest word for a descriptor or ring: mostly near the interesting edges
function word(r: Rng): number {
  switch (r.below(4)) {
    case 0:
      return RAM - r.below(64);
    case 1:
      return r.below(RAM);
    default:
      return interesting(r);
  }
}

export function fuzzOnce(seed: number) {
  const x = rig();
  const { m, clock } = x;
  const r = new Rng(seed);
  const ports: number[] = [];
  for (let p = 0; p < 0x10000; p++) if (m.io.handler(p)) ports.push(p);
  const virtios = [x.vnet, x.blk];
  const mmioRanges: [number, number][] = [[0xfec00000, 0x100]];
  for (const f of m.pci.functions()) {
    f.bars.forEach((b, i) => {
      if (b && !b.io) mmioRanges.push([f.barAddress(i), b.size]);
    });
  }
  const sizes = [1, 2, 4];
  const errors: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => errors.push(a.join(" "));
  let step = 0;
  try {
    for (; step < STEPS; step++) {
      const size = sizes[r.below(3)];
      const k = r.below(100);
      if (k < 30) {
        // any claimed port, sometimes any port at all (BARs move)
        const p = r.chance(0.9) ? ports[r.below(ports.length)] : r.below(0x10000);
        m.io.write(p, size, interesting(r));
      } else if (k < 50) {
        const p = r.chance(0.9) ? ports[r.below(ports.length)] : r.below(0x10000);
        m.io.read(p, size);
      } else if (k < 58) {
        const [base, len] = mmioRanges[r.below(mmioRanges.length)];
        const a = r.chance(0.9) ? base + r.below(len) : r.u32();
        if (r.chance(0.5)) m.mmio.write(a, size, interesting(r));
        else m.mmio.read(a, size);
      } else if (k < 62) {
        const off = r.below(0x1000);
        if (r.chance(0.5)) m.lapics[0].write(off, size, interesting(r));
        else m.lapics[0].read(off, size);
      } else if (k < 72) {
        // words anywhere in the zone: addresses in and out of RAM, lengths small and huge
        const a = ZONE + 4 * r.below((ZONE_PAGES << 12) / 4);
        m.ram.writeU32(a, word(r));
      } else if (k < 86) {
        // a chain posted the way a driver posts one, but every field the fuzzer's choice
        const d = virtios[r.below(2)];
        const q = d.queues[r.below(d.queues.length)];
        if (!q.pfn) continue;
        const desc = q.pfn * 4096, avail = desc + 16 * q.size;
        const n = 1 + r.below(r.chance(0.9) ? 4 : 300);
        const head = r.below(q.size);
        const isBlk = d === x.blk;
        const writable = r.chance(0.5); // a read request: data writable
        for (let i = 0, at = head; i < n; i++) {
          const next = r.chance(0.9) ? (at + 1) % q.size : r.below(0x10000);
          const e = desc + 16 * (at % q.size);
          let addr = r.chance(0.8) ? 0x400000 + r.below(0x100000) : word(r);
          let len = r.chance(0.7) ? r.below(0x2000) : word(r);
          let flags = i < n - 1 ? 1 | (r.chance(0.5) ? 2 : 0) : r.chance(0.5) ? 2 : r.below(8);
          if (isBlk && r.chance(0.8)) {
            // mostly well-formed requests with fuzzed types, sectors and sizes
            if (i === 0) {
              addr = 0x300000 + 16 * r.below(64);
              m.ram.writeU32(addr, [0, 1, 4, 8, 11, r.u32()][r.below(6)]);
              m.ram.writeU32(addr + 8, r.chance(0.8) ? r.below(8200) : r.u32());
              m.ram.writeU32(addr + 12, r.chance(0.9) ? 0 : r.u32());
              len = 16;
            } else if (i === n - 1) (len = 1), (flags = 2);
            else (len = 512 * r.below(r.chance(0.9) ? 9 : 9000)), (flags = 1 | (writable ? 2 : 0));
          }
          m.ram.writeU32(e, addr);
          m.ram.writeU32(e + 4, r.chance(0.95) ? 0 : r.u32());
          m.ram.writeU32(e + 8, len);
          m.ram.writeU16(e + 12, flags);
          m.ram.writeU16(e + 14, next);
          at = next;
        }
        const idx = m.ram.readU16(avail + 2);
        m.ram.writeU16(avail + 4 + 2 * (idx % q.size), head);
        m.ram.writeU16(avail + 2, (idx + (r.chance(0.95) ? 1 : r.below(0x10000))) & 0xffff);
        m.io.write(d.barAddress(0) + 0x10, 2, d.queues.indexOf(q));
      } else if (k < 88) {
        // the ne2k driver's moves, every value the fuzzer's: ring setup, remote DMA, transmit
        const b = x.ne.barAddress(0);
        const out = (o: number, v: number) => m.io.write(b + o, 1, v);
        if (r.chance(0.5)) {
          out(0, 0x21);
          out(1, r.chance(0.8) ? 0x46 : r.below(256));
          out(2, r.chance(0.8) ? 0x80 : r.below(256));
          out(3, r.chance(0.8) ? 0x46 : r.below(256));
          out(0x0c, r.below(0x40));
          out(0x0f, r.below(0x80));
          out(0, 0x61);
          out(7, r.chance(0.8) ? 0x47 : r.below(256));
          out(0, 0x22);
        } else {
          out(4, r.chance(0.8) ? 0x40 : r.below(256));
          out(5, r.below(256));
          out(6, r.below(r.chance(0.8) ? 8 : 256));
          out(8, r.below(256)), out(9, r.below(256)), out(0x0a, r.below(256)), out(0x0b, r.below(256));
          for (let i = r.below(64); i > 0; i--) m.io.write(b + 0x10, sizes[r.below(3)], r.u32());
          out(0, [0x26, 0x12, 0x0a, 0x1a, r.below(256)][r.below(5)]);
        }
      } else if (k < 90) {
        // a driver (re)starting its device: reset, rings in the zone, DRIVER_OK
        const di = r.below(2), d = virtios[di];
        const base = d.barAddress(0);
        m.io.write(base + 0x12, 1, 0);
        m.io.write(base + 0x12, 1, 1 | 2);
        m.io.write(base + 0x04, 4, r.chance(0.5) ? m.io.read(base, 4) : r.u32());
        for (let q = 0; q < d.queues.length; q++) {
          m.io.write(base + 0x0e, 2, q);
          m.ram.fill(ZONE + ((di * 2 + q) * 4 << 12), 4 << 12);
          m.io.write(base + 0x08, 4, (ZONE >> 12) + (di * 2 + q) * 4);
        }
        m.io.write(base + 0x12, 1, 1 | 2 | 4);
      } else if (k < 95) {
        const len = r.chance(0.8) ? r.below(1600) : r.below(70_000);
        const f = new Uint8Array(len);
        for (let i = 0; i < Math.min(len, 14); i++) f[i] = r.below(256);
        if (r.chance(0.5)) f.set(MAC.subarray(0, Math.min(6, len)));
        (r.chance(0.5) ? x.nicPort : x.nePort).onFrame(f);
      } else {
        clock.advance(r.chance(0.9) ? r.below(1_000_000) : r.below(2_000_000_000));
        m.timers.runDue();
      }
      if (x.faults.length) break;
    }
  } finally {
    console.error = orig;
  }
  return { ...x, step, errors };
}

for (const seed of [1, 2, 3, 0x5eed]) {
  Deno.test(`hostile guest: every device model fuzzed from the host side, seed ${seed}`, () => {
    // what the process holds before: a 32 MiB guest plus the 4 MiB disk
    const x0 = Deno.memoryUsage().rss;
    const x = fuzzOnce(seed);
    x.m.close();
    for (const f of tempFiles.splice(0)) Deno.removeSync(f);
    const grew = Deno.memoryUsage().rss - x0;
    assert.deepEqual(x.faults, [], `seed ${seed}: a device threw at step ${x.step}`);
    const internal = x.errors.filter((e) => /internal error/.test(e));
    assert.deepEqual(internal, [], `seed ${seed}: internal errors`);
    // the machine itself (RAM, disk) is part of this, and V8 collects lazily: a guest-sized
    // allocation would be hundreds of MiB
    assert.ok(grew < 160 << 20, `seed ${seed}: the host grew by ${grew >> 20} MiB`);
    // the fuzzer reached the devices' real work, not only their error paths
    assert.ok(x.vnet.txFrames > 0 && x.vnet.rxFrames > 0, `seed ${seed}: virtio-net moved no frames`);
    assert.ok(x.nePort.sent.length > 0, `seed ${seed}: the ne2k sent nothing`);
    assert.ok(x.blk.reads > 0 && x.blk.writes > 0, `seed ${seed}: virtio-blk served no request`);
  });
}
