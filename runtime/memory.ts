// Guest RAM as the host sees it: the one object through which devices (virtio DMA), the boot
// loader, the firmware tables and test rigs read and write guest-physical memory.
//
// - Every access is bounds-checked against the RAM size. Bulk operations (read, view, write,
//   fill, copy) return null/false for a range outside RAM and touch nothing; the typed
//   little-endian accessors (readU16, writeU32, ...) throw a RangeError naming the address. No
//   address wraps: a guest-chosen address or length is checked as given.
// - Writes keep compiled code coherent by construction: a page the CPU has fetched code from has
//   its CODEMAP byte set (core-as/layout.ts); a host write to it clears the byte and bumps the
//   page's PAGEGEN word, so a block compiled from the old bytes is not entered again
//   (ARCHITECTURE.md, "Self-modifying code"). A GuestRam over a plain Uint8Array (device unit
//   tests) has no code pages.
// - view() hands out a subarray for reads on hot paths (DMA gathers, tests comparing memory);
//   writing through it would bypass the code-page bookkeeping, so callers only read it.
import * as L from "../core-as/layout.ts";

const PAGE_SHIFT = 12;

export class GuestRam {
  readonly size: number;
  private readonly bytes: Uint8Array;
  private readonly dv: DataView;
  private readonly codemap?: Uint8Array; // one byte per page: 1 = code was fetched from it
  private readonly gen?: Uint32Array; // one generation word per page

  // `bytes`: guest-physical 0 .. bytes.length. Over a machine's shared memory (bytes at
  // RAM_BASE of a wasm memory) the code-page map and generations are kept.
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.size = bytes.length;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.byteOffset === L.RAM_BASE) {
      const pages = Math.ceil(bytes.length / 4096);
      this.codemap = new Uint8Array(bytes.buffer, L.CODEMAP, pages);
      this.gen = new Uint32Array(bytes.buffer, L.PAGEGEN, pages);
    }
  }

  // guest RAM of a machine's wasm memory (runtime/vcpu/core.ts createMemory)
  static ofMemory(memory: WebAssembly.Memory, size: number): GuestRam {
    return new GuestRam(new Uint8Array(memory.buffer, L.RAM_BASE, size));
  }

  // plain RAM with no CPU behind it (device tests)
  static detached(size: number): GuestRam {
    return new GuestRam(new Uint8Array(size));
  }

  // [addr, addr + len) lies inside RAM (integers, no wrap)
  contains(addr: number, len: number): boolean {
    return Number.isInteger(addr) && Number.isInteger(len) && addr >= 0 && len >= 0 && len <= this.size - addr;
  }

  private check(addr: number, len: number): void {
    if (!this.contains(addr, len)) {
      throw new RangeError(`guest RAM access 0x${addr.toString(16)}+${len} outside 0..0x${this.size.toString(16)}`);
    }
  }

  // ---- bulk --------------------------------------------------------------------------------------
  // A read-only window onto guest RAM (no copy), or null outside RAM. Do not write through it.
  view(addr: number, len: number): Uint8Array | null {
    return this.contains(addr, len) ? this.bytes.subarray(addr, addr + len) : null;
  }

  // a copy of guest RAM, or null outside RAM
  read(addr: number, len: number): Uint8Array | null {
    return this.contains(addr, len) ? this.bytes.slice(addr, addr + len) : null;
  }

  // Copy `data` to guest RAM at `addr`; false (nothing written) when it does not fit.
  write(addr: number, data: Uint8Array | ArrayLike<number>): boolean {
    if (!this.contains(addr, data.length)) return false;
    this.bytes.set(data, addr);
    this.wrote(addr, data.length);
    return true;
  }

  fill(addr: number, len: number, value = 0): boolean {
    if (!this.contains(addr, len)) return false;
    this.bytes.fill(value, addr, addr + len);
    this.wrote(addr, len);
    return true;
  }

  // memmove inside guest RAM
  copy(dst: number, src: number, len: number): boolean {
    if (!this.contains(dst, len) || !this.contains(src, len)) return false;
    this.bytes.copyWithin(dst, src, src + len);
    this.wrote(dst, len);
    return true;
  }

  // all of RAM to zero (a machine reset)
  clear(): void {
    this.fill(0, this.size);
  }

  // ---- typed, little-endian ---------------------------------------------------------------------
  readU8(addr: number): number {
    this.check(addr, 1);
    return this.bytes[addr];
  }
  readU16(addr: number): number {
    this.check(addr, 2);
    return this.dv.getUint16(addr, true);
  }
  readU32(addr: number): number {
    this.check(addr, 4);
    return this.dv.getUint32(addr, true);
  }
  readU64(addr: number): bigint {
    this.check(addr, 8);
    return this.dv.getBigUint64(addr, true);
  }

  writeU8(addr: number, v: number): void {
    this.check(addr, 1);
    this.bytes[addr] = v;
    this.wrote(addr, 1);
  }
  writeU16(addr: number, v: number): void {
    this.check(addr, 2);
    this.dv.setUint16(addr, v, true);
    this.wrote(addr, 2);
  }
  writeU32(addr: number, v: number): void {
    this.check(addr, 4);
    this.dv.setUint32(addr, v >>> 0, true);
    this.wrote(addr, 4);
  }
  writeU64(addr: number, v: bigint): void {
    this.check(addr, 8);
    this.dv.setBigUint64(addr, BigInt.asUintN(64, v), true);
    this.wrote(addr, 8);
  }

  // ---- code-page coherence ----------------------------------------------------------------------
  // The host changed [addr, addr + len): pages that hold code get a new generation, so blocks
  // compiled from their old bytes are not run again (core-as/jit.ts compares the generation at
  // every block entry), and the page counts as data until the CPU fetches from it again.
  private wrote(addr: number, len: number): void {
    const map = this.codemap;
    if (!map || len <= 0) return;
    const last = (addr + len - 1) >>> PAGE_SHIFT;
    for (let p = addr >>> PAGE_SHIFT; p <= last; p++) {
      if (map[p] !== 0) {
        map[p] = 0;
        Atomics.add(this.gen!, p, 1);
      }
    }
  }
}
