// Whole-machine snapshots: RAM, every vCPU, every device, the clock, in one file.
//
// File layout (all little-endian):
//   "RING3SNP"            8 bytes magic
//   u32 format version    SNAPSHOT_VERSION; another value is refused with a clear message
//   u32 n                 length of the JSON header that follows
//   n bytes JSON          SnapshotHeader: configuration, clock, machine words, device states
//   ncpu x CPU_SAVE       each vCPU's state block up to its TLBs: registers, FPU, local APIC page
//   romSize bytes         the BIOS ROM below 4 GiB (--bios machines only)
//   ceil(pages / 8)       bitmap of the 4 KiB RAM pages that are not all zero
//   4 KiB per set bit     those pages, in address order
//
// A machine is saved between runs (the vCPUs stopped, runtime/control/vm.ts pauses it first) and
// restored into a freshly built Machine of the same shape before its first run: the cores' TLBs
// are flushed, the block compiler starts empty, and the clock continues from the saved time, so
// every absolute deadline in the device states is valid as it is (runtime/snapshot/persist.ts).
import * as L from "../../core-as/layout.ts";
import type { Machine, MachineOptions } from "../machine.ts";
import type { NetConfig } from "../netopt.ts";
import { restorePic, savePic } from "../devices/pic.ts";
import { restorePit, savePit } from "../devices/pit.ts";
import { restoreRtc, saveRtc } from "../devices/rtc.ts";
import { restoreUart, saveUart } from "../devices/uart.ts";
import { restoreMisc, saveMisc } from "../devices/misc.ts";
import { restorePci, savePci } from "../devices/pci.ts";
import { restoreAcpi, saveAcpi } from "../devices/acpi.ts";
import { restoreIoApic, saveIoApic } from "../devices/ioapic.ts";
import { restoreLapicTimer } from "../devices/lapic.ts";
import { restoreIrqRouter, saveIrqRouter } from "../irq.ts";
import { Ne2k, restoreNe2k, saveNe2k } from "../devices/ne2k.ts";
import { restoreVirtioNet, saveVirtioNet, VirtioNet } from "../devices/virtio_net.ts";
import { restoreVirtioBlk, saveVirtioBlk, VirtioBlk } from "../devices/virtio_blk.ts";
import { restoreIde, saveIde } from "../devices/ide.ts";
import { restoreVirtio9p, saveVirtio9p } from "../devices/virtio_9p.ts";
import type { DiskConfig } from "../block/options.ts";
import type { ShareConfig } from "../share/options.ts";
import { type DeviceState, SnapshotError } from "./persist.ts";
import { adviseHugePages, residentPages } from "./resident.ts";
import { type FsFile, host } from "../platform/mod.ts";

export { SnapshotError };
export const SNAPSHOT_MAGIC = "RING3SNP";
export const SNAPSHOT_VERSION = 1;
const CPU_SAVE = L.S_TLB; // registers, FPU, LAPIC page: everything before the TLBs
const PAGE = 4096;

// What a snapshot needs to rebuild the machine it came from.
export interface SnapshotConfig {
  memMiB: number;
  smp: number;
  acpi: boolean;
  net: NetConfig[];
  exitPort?: number; // the isa-debug-exit device, when the machine has one
  // storage (absent when the machine has none): the images and folders are reopened by path
  disks?: DiskConfig[];
  cdrom?: string;
  boot?: string;
  shares?: ShareConfig[];
}

export interface SnapshotHeader {
  version: number;
  created: string; // ISO date
  config: SnapshotConfig;
  boot?: Record<string, unknown>; // the caller's own notes (the CLI: kernel, initrd, append for a reboot)
  clockNs: number;
  machine: { a20: number; romSize: number; picIntr: number; tscLast: string };
  cpus: { retired: number }[];
  devices: Record<string, DeviceState | unknown>;
  ramPages: number;
  savedPages: number;
}

// The NIC models' persist functions (each in its device's file)
function saveNic(d: unknown): DeviceState | undefined {
  if (d instanceof Ne2k) return saveNe2k(d);
  if (d instanceof VirtioNet) return saveVirtioNet(d);
  return undefined;
}
function restoreNic(d: unknown, s: DeviceState): boolean {
  if (d instanceof Ne2k) restoreNe2k(d, s);
  else if (d instanceof VirtioNet) restoreVirtioNet(d, s);
  else return false;
  return true;
}

function machineConfig(m: Machine): SnapshotConfig {
  const o = (m as unknown as { opts: MachineOptions }).opts;
  return {
    memMiB: m.ramBytes / 0x100000,
    smp: m.ncpu,
    acpi: o.acpi ?? true,
    net: m.nics.map((n) => n.config),
    ...(o.exitPort === undefined ? {} : { exitPort: o.exitPort }),
    ...storageConfig(m, o),
  };
}

// The disks, CD-ROM and shares as paths a new process can open again. An image opened by the
// embedding program (not a path) or a snapshot=on disk (its writes live in this process only)
// cannot be carried over.
function storageConfig(m: Machine, o: MachineOptions): Partial<SnapshotConfig> {
  const out: Partial<SnapshotConfig> = {};
  const abs = (f: string) => f.startsWith("/") ? f : `${host.cwd()}/${f}`;
  if (o.disks?.length) {
    out.disks = o.disks.map((c) => {
      if (!("file" in c)) throw new SnapshotError(`disk ${c.name}: an image opened by the program, not a file`);
      if (c.snapshot) {
        throw new SnapshotError(
          `disk ${c.file}: snapshot=on keeps its writes in this process; savevm needs a disk file`,
        );
      }
      return { ...c, file: abs(c.file) };
    });
  }
  if (o.cdrom !== undefined) {
    if (typeof o.cdrom !== "string") throw new SnapshotError("CD-ROM: an image opened by the program, not a file");
    out.cdrom = abs(o.cdrom);
  }
  if (o.boot !== undefined) out.boot = o.boot;
  if (m.shares.length) out.shares = (o.shares ?? []).map((c, i) => ({ ...c, dir: m.shares[i].device.server.root }));
  return out;
}

// The machine as bytes. `clockNs`: the guest time to record (a paused machine's frozen time).
export interface SaveOptions {
  clockNs?: number; // the guest time to record (a paused machine's frozen time); default: the clock's
  boot?: Record<string, unknown>;
  retired?: number[]; // instructions per vCPU since power-on (default: this process's count)
}

export function saveMachine(m: Machine, opts: SaveOptions = {}): Uint8Array {
  m.serial.flush();
  const dv = new DataView(m.memory.buffer);
  const devices: Record<string, unknown> = {
    pic: savePic(m.pic),
    pit: savePit(m.pit),
    rtc: saveRtc(m.rtc),
    com1: saveUart(m.com1),
    com2: saveUart(m.com2),
    misc: saveMisc(m.post, m.portA, m.i8042),
    pci: savePci(m.pci),
    acpi: saveAcpi(m.acpi),
    ioapic: saveIoApic(m.ioapic),
    irq: saveIrqRouter(m.irq),
  };
  m.nics.forEach((n, i) => {
    const st = saveNic(n.device);
    if (!st) throw new SnapshotError(`${n.name}: this NIC model cannot be saved yet`);
    devices[`nic${i}`] = st;
  });
  m.disks.forEach((d, i) => {
    if (d.device instanceof VirtioBlk) devices[`disk${i}`] = saveVirtioBlk(d.device);
  });
  if (m.ide) devices.ide = saveIde(m.ide.controller);
  m.shares.forEach((sh, i) => (devices[`share${i}`] = saveVirtio9p(sh.device)));
  const romSize = dv.getUint32(L.MACHINE + L.M_ROM_SIZE, true);
  // RAM: only the pages that are not all zero
  const ram = new Uint8Array(m.memory.buffer, L.RAM_BASE, m.ramBytes);
  const words = new Int32Array(m.memory.buffer, L.RAM_BASE, m.ramBytes >> 2);
  const pages = Math.ceil(m.ramBytes / PAGE);
  const bitmap = new Uint8Array(Math.ceil(pages / 8));
  const resident = residentPages(ram); // pages the host never backed are zero: not even read
  let saved = 0;
  for (let p = 0; p < pages; p++) {
    if (resident && !(resident[p] & 1)) continue;
    const end = Math.min((p + 1) * (PAGE >> 2), words.length);
    let acc = 0;
    let w = p * (PAGE >> 2);
    for (; w + 8 <= end && acc === 0; w += 8) {
      acc = words[w] | words[w + 1] | words[w + 2] | words[w + 3] | words[w + 4] | words[w + 5] | words[w + 6] |
        words[w + 7];
    }
    for (; w < end; w++) acc |= words[w];
    if (acc !== 0) {
      bitmap[p >> 3] |= 1 << (p & 7);
      saved++;
    }
  }
  const header: SnapshotHeader = {
    version: SNAPSHOT_VERSION,
    created: new Date().toISOString(),
    config: machineConfig(m),
    boot: opts.boot,
    clockNs: opts.clockNs ?? m.clock.now(),
    machine: {
      a20: dv.getUint32(L.MACHINE + L.M_A20, true),
      romSize,
      picIntr: dv.getUint32(L.MACHINE + L.M_PIC_INTR, true),
      tscLast: dv.getBigUint64(L.MACHINE + L.M_TSC_LAST, true).toString(),
    },
    cpus: m.cores.map((_, i) => ({ retired: opts.retired?.[i] ?? m.retired(i) })),
    devices,
    ramPages: pages,
    savedPages: saved,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const size = 16 + json.length + m.ncpu * CPU_SAVE + romSize + bitmap.length + saved * PAGE;
  const out = new Uint8Array(size);
  const odv = new DataView(out.buffer);
  out.set(new TextEncoder().encode(SNAPSHOT_MAGIC), 0);
  odv.setUint32(8, SNAPSHOT_VERSION, true);
  odv.setUint32(12, json.length, true);
  let at = 16;
  out.set(json, at);
  at += json.length;
  const mem = new Uint8Array(m.memory.buffer);
  for (let c = 0; c < m.ncpu; c++) {
    const base = L.CPU_BASE + c * L.CPU_STRIDE;
    out.set(mem.subarray(base, base + CPU_SAVE), at);
    at += CPU_SAVE;
  }
  out.set(mem.subarray(L.ROM_HI + L.ROM_HI_SIZE - romSize, L.ROM_HI + L.ROM_HI_SIZE), at);
  at += romSize;
  out.set(bitmap, at);
  at += bitmap.length;
  for (let p = 0; p < pages; p++) {
    if (!(bitmap[p >> 3] & (1 << (p & 7)))) continue;
    const len = Math.min(PAGE, m.ramBytes - p * PAGE);
    out.set(ram.subarray(p * PAGE, p * PAGE + len), at);
    at += PAGE;
  }
  return out;
}

// Where restore reads a snapshot from: bytes in memory, or an open file (read straight into the
// machine's memory, RAM page runs and all, with no copy of the whole file in between).
export interface SnapshotSource {
  readonly size: number;
  read(dst: Uint8Array, offset: number): void; // exactly dst.length bytes at offset
}

export function bytesSource(bytes: Uint8Array): SnapshotSource {
  return {
    size: bytes.length,
    read: (dst, off) => dst.set(bytes.subarray(off, off + dst.length)),
  };
}

export function fileSource(file: FsFile): SnapshotSource {
  const size = file.statSync().size;
  return {
    size,
    read(dst, off) {
      file.seekSync(off, host.SeekMode.Start);
      let got = 0;
      while (got < dst.length) {
        const n = file.readSync(dst.subarray(got));
        if (!n) throw new SnapshotError("snapshot: the file ended early");
        got += n;
      }
    },
  };
}

const source = (x: Uint8Array | SnapshotSource) => x instanceof Uint8Array ? bytesSource(x) : x;

// The header of a snapshot, checked: magic, version, sizes.
export function readSnapshotHeader(
  from: Uint8Array | SnapshotSource,
  what = "snapshot",
): { header: SnapshotHeader; body: number } {
  const src = source(from);
  const head = new Uint8Array(16);
  if (src.size >= 16) src.read(head, 0);
  if (src.size < 16 || new TextDecoder().decode(head.subarray(0, 8)) !== SNAPSHOT_MAGIC) {
    throw new SnapshotError(`${what}: not a ring3 snapshot`);
  }
  const dv = new DataView(head.buffer);
  const version = dv.getUint32(8, true);
  if (version !== SNAPSHOT_VERSION) {
    throw new SnapshotError(
      `${what}: snapshot format version ${version}; this ring3 reads version ${SNAPSHOT_VERSION} (save it again with the ring3 that made it running the guest)`,
    );
  }
  const n = dv.getUint32(12, true);
  if (16 + n > src.size) throw new SnapshotError(`${what}: truncated file`);
  let header: SnapshotHeader;
  try {
    const json = new Uint8Array(n);
    src.read(json, 16);
    header = JSON.parse(new TextDecoder().decode(json));
  } catch {
    throw new SnapshotError(`${what}: corrupt header`);
  }
  const need = 16 + n + header.config.smp * CPU_SAVE + header.machine.romSize + Math.ceil(header.ramPages / 8) +
    header.savedPages * PAGE;
  if (src.size !== need) throw new SnapshotError(`${what}: ${src.size} bytes, expected ${need} (truncated?)`);
  return { header, body: 16 + n };
}

// The options to build the machine a snapshot came from (the caller may add host-side ones).
export function snapshotMachineOptions(h: SnapshotHeader): MachineOptions {
  const c = h.config;
  return {
    memMiB: c.memMiB,
    smp: c.smp,
    acpi: c.acpi,
    net: c.net,
    ...(c.exitPort === undefined ? {} : { exitPort: c.exitPort }),
    ...(c.disks ? { disks: c.disks } : {}),
    ...(c.cdrom === undefined ? {} : { cdrom: c.cdrom }),
    ...(c.boot === undefined ? {} : { boot: c.boot }),
    ...(c.shares ? { shares: c.shares } : {}),
  };
}

// Put a snapshot into a Machine built with snapshotMachineOptions() and init()ed, before it runs.
// (`ramDone`: restoreRam() already put the RAM in, before init(), runtime/control/vm.ts)
export function restoreMachine(
  m: Machine,
  from: Uint8Array | SnapshotSource,
  what = "snapshot",
  ramDone = false,
): SnapshotHeader {
  const src = source(from);
  const { header: h, body } = ramDone ? readSnapshotHeader(src, what) : restoreRam(m, src, what);
  const mem = new Uint8Array(m.memory.buffer);
  const dv = new DataView(m.memory.buffer);
  let at = body;
  for (let c = 0; c < m.ncpu; c++) {
    const base = L.CPU_BASE + c * L.CPU_STRIDE;
    src.read(mem.subarray(base, base + CPU_SAVE), at);
    at += CPU_SAVE;
  }
  const rom = h.machine.romSize;
  src.read(mem.subarray(L.ROM_HI + L.ROM_HI_SIZE - rom, L.ROM_HI + L.ROM_HI_SIZE), at);
  dv.setUint32(L.MACHINE + L.M_ROM_SIZE, rom, true);
  dv.setUint32(L.MACHINE + L.M_A20, h.machine.a20, true);
  dv.setUint32(L.MACHINE + L.M_PIC_INTR, h.machine.picIntr, true);
  dv.setBigUint64(L.MACHINE + L.M_TSC_LAST, BigInt(h.machine.tscLast), true);
  // the clock first: device timers are absolute times on it
  if (!m.clock.setNow) throw new SnapshotError(`${what}: this machine's clock cannot be set`);
  m.clock.setNow(h.clockNs);
  const d = h.devices as Record<string, DeviceState>;
  restorePic(m.pic, d.pic);
  restorePit(m.pit, d.pit);
  restoreRtc(m.rtc, d.rtc);
  restoreUart(m.com1, d.com1);
  restoreUart(m.com2, d.com2);
  restoreMisc(m.post, m.portA, m.i8042, d.misc);
  restorePci(m.pci, d.pci);
  restoreAcpi(m.acpi, d.acpi);
  restoreIoApic(m.ioapic, d.ioapic);
  restoreIrqRouter(m.irq, d.irq as unknown as { v: number; sources: [number, number][] });
  m.nics.forEach((n, i) => {
    if (!restoreNic(n.device, d[`nic${i}`])) {
      throw new SnapshotError(`${n.name}: this NIC model cannot be restored yet`);
    }
  });
  m.disks.forEach((disk, i) => {
    if (disk.device instanceof VirtioBlk) restoreVirtioBlk(disk.device, d[`disk${i}`]);
  });
  if (m.ide) restoreIde(m.ide.controller, d.ide);
  m.shares.forEach((sh, i) => restoreVirtio9p(sh.device, d[`share${i}`]));
  const i32 = new Int32Array(m.memory.buffer);
  for (let c = 0; c < m.ncpu; c++) {
    // the cores cached nothing of the new state yet: flush their TLBs and mode caches
    m.cores[c].ex.resyncFromState();
    restoreLapicTimer(m.lapics[c]);
    // only "look for an interrupt" survives in the attention word (a stop or shadow is stale)
    Atomics.store(i32, (L.CPU_BASE + c * L.CPU_STRIDE + L.S_ATTN) >> 2, L.ATTN_IRQ | L.ATTN_FLUSH_TLB);
  }
  return h;
}

// The snapshot's RAM into a machine of its shape (checked first). Needs no cores: a new process
// reads the RAM while the core is still compiling (runtime/control/vm.ts machineFromSnapshot).
export function restoreRam(
  m: Machine,
  from: Uint8Array | SnapshotSource,
  what = "snapshot",
): { header: SnapshotHeader; body: number } {
  const src = source(from);
  const { header: h, body } = readSnapshotHeader(src, what);
  if (h.config.smp !== m.ncpu || h.config.memMiB * 0x100000 !== m.ramBytes) {
    throw new SnapshotError(
      `${what}: a machine with ${h.config.smp} CPUs and ${h.config.memMiB} MiB, not ${m.ncpu} and ${
        m.ramBytes / 0x100000
      }`,
    );
  }
  if (h.config.net.length !== m.nics.length) {
    throw new SnapshotError(`${what}: saved with ${h.config.net.length} NICs, this machine has ${m.nics.length}`);
  }
  const storage = (h.config.disks?.length ?? 0) + (h.config.cdrom === undefined ? 0 : 1);
  if (storage !== m.disks.length || (h.config.shares?.length ?? 0) !== m.shares.length) {
    throw new SnapshotError(`${what}: saved with other disks or shares than this machine has`);
  }
  const mem = new Uint8Array(m.memory.buffer);
  let at = body + m.ncpu * CPU_SAVE + h.machine.romSize;
  const bitmap = new Uint8Array(Math.ceil(h.ramPages / 8));
  src.read(bitmap, at);
  at += bitmap.length;
  // a new machine wrote only its firmware tables (below 1 MiB) into RAM, and none when it was
  // built for a snapshot (MachineOptions.noTables): the rest is still zero
  if (!(m as unknown as { opts: MachineOptions }).opts.noTables) mem.fill(0, L.RAM_BASE, L.RAM_BASE + 0x100000);
  const set = (p: number) => (bitmap[p >> 3] & (1 << (p & 7))) !== 0;
  // (fresh memory: where the saved pages are dense, 2 MiB pages fault in far faster)
  if ((m as unknown as { opts: MachineOptions }).opts.noTables) {
    adviseHugePages(new Uint8Array(m.memory.buffer, L.RAM_BASE, m.ramBytes), set);
  }
  for (let p = 0; p < h.ramPages;) {
    if (!set(p)) {
      p++;
      continue;
    }
    let q = p + 1; // a run of saved pages: one read
    while (q < h.ramPages && set(q)) q++;
    const len = Math.min(q * PAGE, m.ramBytes) - p * PAGE;
    src.read(mem.subarray(L.RAM_BASE + p * PAGE, L.RAM_BASE + p * PAGE + len), at);
    at += (q - p) * PAGE;
    p = q;
  }
  return { header: h, body };
}

export async function saveMachineFile(
  m: Machine,
  path: string,
  opts: SaveOptions = {},
): Promise<number> {
  const bytes = saveMachine(m, opts);
  // write a temporary file and rename it, so a crash never leaves half a snapshot under the name
  const tmp = `${path}.tmp-${host.pid}`;
  await host.writeFile(tmp, bytes);
  await host.rename(tmp, path);
  return bytes.length;
}

export async function readSnapshotFile(path: string): Promise<Uint8Array> {
  try {
    return await host.readFile(path);
  } catch (e) {
    if (e instanceof host.errors.NotFound) throw new SnapshotError(`snapshot ${path}: no such file`);
    if (e instanceof host.errors.PermissionDenied) throw new SnapshotError(`snapshot ${path}: permission denied`);
    throw new SnapshotError(`snapshot ${path}: ${(e as Error).message.split("\n")[0]}`);
  }
}

export function openSnapshotFile(path: string): FsFile {
  try {
    return host.openSync(path, { read: true });
  } catch (e) {
    if (e instanceof host.errors.NotFound) throw new SnapshotError(`snapshot ${path}: no such file`);
    if (e instanceof host.errors.PermissionDenied) throw new SnapshotError(`snapshot ${path}: permission denied`);
    throw new SnapshotError(`snapshot ${path}: ${(e as Error).message.split("\n")[0]}`);
  }
}
