// Linux/x86 boot protocol, 32-bit entry (Documentation/x86/boot.rst, "32-bit Boot Protocol";
// zero-page.rst): validate a bzImage's setup header, lay out the zero page, command line, GDT,
// protected-mode kernel and initrd in guest RAM, and put the boot CPU into the state the kernel's
// startup_32 expects. Works on a plain Uint8Array of guest RAM and anything shaped like the Core,
// so it does not depend on how the machine is assembled.
import * as L from "../../core-as/layout.ts";
import type { GuestRam } from "../memory.ts";

export type BootErrorCode =
  | "truncated" // file shorter than its header says
  | "not-bzimage" // no boot sector signature / "HdrS" magic, or not loadable high
  | "unsupported" // protocol too old, or a 64-bit kernel
  | "checksum" // CRC-32 of the image does not match
  | "memory" // guest RAM too small for kernel + initrd
  | "cmdline" // command line longer than the kernel accepts
  | "layout"; // a caller-supplied region collides with what the loader needs

// One-line, user-facing failure of a boot image; `code` lets callers and tests tell kinds apart.
export class BootImageError extends Error {
  override name = "BootImageError";
  constructor(readonly code: BootErrorCode, message: string) {
    super(message);
  }
}

// ---- where the loader puts things in low memory ------------------------------------------------
// All below 640 KiB, clear of the real-mode IVT/BDA (0-0x4ff) and of the EBDA/BIOS area a machine
// may use (>= 0x9fc00). The kernel copies boot_params and the command line before it touches
// this memory, and reserves the initrd itself.
export const GDT_ADDR = 0x1000;
export const STACK_TOP = 0x8000;
export const ZERO_PAGE_ADDR = 0x10000;
export const CMDLINE_ADDR = 0x20000;
const CMDLINE_LIMIT = 0x9f000; // end of the area the command line may use
export const KERNEL_ADDR = 0x100000; // where a bzImage's protected-mode code is loaded
export const BOOT_CS = 0x10;
export const BOOT_DS = 0x18;

// An i386 kernel without highmem maps at most ~896 MiB minus the vmalloc reserve as lowmem; an
// initrd above that would be copied down by the kernel, so keep it below.
const LOWMEM_LIMIT = 0x37000000;

// e820 types
export const E820_RAM = 1;
export const E820_RESERVED = 2;
export const E820_ACPI = 3;
export const E820_NVS = 4;

export interface E820Entry {
  addr: number;
  size: number;
  type: number;
}

// A physical range the machine uses for something other than free RAM (ACPI tables, MP table,
// MMIO): it is carved out of the usable RAM in the e820 map and kept free of the loader's data.
export interface Region {
  addr: number;
  size: number;
  type?: number; // e820 type, default E820_RESERVED
}

export interface SetupHeader {
  setupSects: number;
  setupBytes: number; // real-mode part incl. boot sector: (setup_sects + 1) * 512
  version: number; // e.g. 0x020f
  loadflags: number;
  syssize: number; // protected-mode code in 16-byte paragraphs
  code32Start: number;
  initrdAddrMax: number;
  kernelAlignment: number;
  relocatable: boolean;
  cmdlineSize: number;
  prefAddress: number;
  initSize: number;
  xloadflags: number;
  kernelVersion: string; // "" if the header does not point at one
  headerEnd: number; // 0x202 + byte at 0x201: end of the header the loader copies
}

export interface ParsedImage {
  header: SetupHeader;
  kernel: Uint8Array; // the protected-mode part (loaded at code32Start)
}

// boot sector / setup header offsets (zero-page.rst and boot.rst)
const H_SETUP_SECTS = 0x1f1;
const H_SYSSIZE = 0x1f4;
const H_BOOT_FLAG = 0x1fe;
const H_JUMP_END = 0x201;
const H_MAGIC = 0x202;
const H_VERSION = 0x206;
const H_KERNEL_VERSION = 0x20e;
const H_TYPE_OF_LOADER = 0x210;
const H_LOADFLAGS = 0x211;
const H_CODE32_START = 0x214;
const H_RAMDISK_IMAGE = 0x218;
const H_RAMDISK_SIZE = 0x21c;
const H_HEAP_END_PTR = 0x224;
const H_CMD_LINE_PTR = 0x228;
const H_INITRD_ADDR_MAX = 0x22c;
const H_KERNEL_ALIGNMENT = 0x230;
const H_RELOCATABLE = 0x234;
const H_XLOADFLAGS = 0x236;
const H_CMDLINE_SIZE = 0x238;
const H_HARDWARE_SUBARCH = 0x23c;
const H_PREF_ADDRESS = 0x258;
const H_INIT_SIZE = 0x260;
// zero page
const ZP_EXT_MEM_K = 0x002;
const ZP_ACPI_RSDP = 0x070;
const ZP_EXT_CMD_LINE_PTR = 0x0c8;
const ZP_ALT_MEM_K = 0x1e0;
const ZP_E820_ENTRIES = 0x1e8;
const ZP_E820_TABLE = 0x2d0;
const E820_MAX = 128;

const LOADED_HIGH = 0x01;
const CAN_USE_HEAP = 0x80;
const XLF_KERNEL_64 = 0x01;
const MIN_VERSION = 0x206;

const hex = (n: number) => "0x" + n.toString(16);
const mib = (n: number) => `${Math.ceil(n / 0x100000)} MiB`;

// CRC-32 as the kernel's build tool computes it: reflected 0x04C11DB7, initial 0xffffffff, no final
// inversion. The image ends with its own CRC, so the CRC over the whole file is 0.
let crcTable: Uint32Array | undefined;
function crc32Raw(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[i] = c >>> 0;
    }
  }
  const t = crcTable;
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = t[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return crc >>> 0;
}

export interface ParseOptions {
  verifyChecksum?: boolean; // default true
}

// Validate a bzImage and split it into header and protected-mode kernel. Throws BootImageError.
export function parseBzImage(image: Uint8Array, opts: ParseOptions = {}): ParsedImage {
  if (image.length < 0x264) {
    throw new BootImageError("truncated", `kernel image is only ${image.length} bytes: too short for a bzImage`);
  }
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const u8 = (o: number) => dv.getUint8(o);
  const u16 = (o: number) => dv.getUint16(o, true);
  const u32 = (o: number) => dv.getUint32(o, true);

  if (u16(H_BOOT_FLAG) !== 0xaa55 || u32(H_MAGIC) !== 0x53726448) {
    if (image[0] === 0x7f && image[1] === 0x45 && image[2] === 0x4c && image[3] === 0x46) {
      throw new BootImageError("not-bzimage", "kernel image is an ELF file (vmlinux), not a bzImage");
    }
    throw new BootImageError("not-bzimage", "kernel image is not a Linux bzImage (no boot signature / HdrS header)");
  }
  const version = u16(H_VERSION);
  if (version < MIN_VERSION) {
    throw new BootImageError(
      "unsupported",
      `kernel boot protocol ${version >> 8}.${(version & 0xff).toString().padStart(2, "0")} is too old (need 2.06+)`,
    );
  }
  const loadflags = u8(H_LOADFLAGS);
  if ((loadflags & LOADED_HIGH) === 0) {
    throw new BootImageError("not-bzimage", "kernel image is a zImage (loads low); only bzImage is supported");
  }
  const setupSects = u8(H_SETUP_SECTS) || 4;
  const setupBytes = (setupSects + 1) * 512;
  const syssize = u32(H_SYSSIZE);
  const headerEnd = 0x202 + u8(H_JUMP_END);
  if (headerEnd > setupBytes || (version >= 0x20a && headerEnd < H_INIT_SIZE + 4)) {
    throw new BootImageError("not-bzimage", `kernel setup header has an impossible size (${hex(headerEnd)})`);
  }
  if (syssize === 0 || image.length < setupBytes + syssize * 16) {
    throw new BootImageError(
      "truncated",
      `kernel image is truncated: ${image.length} bytes, header says ${setupBytes + syssize * 16}`,
    );
  }
  const v210 = version >= 0x20a;
  const xloadflags = version >= 0x20c ? u16(H_XLOADFLAGS) : 0;
  if (xloadflags & XLF_KERNEL_64) {
    throw new BootImageError("unsupported", "kernel is a 64-bit (x86_64) kernel; ring3 is an i386 machine");
  }

  let kernelVersion = "";
  const kvOff = u16(H_KERNEL_VERSION);
  if (kvOff !== 0 && kvOff + 0x200 < setupBytes) {
    let end = kvOff + 0x200;
    while (end < setupBytes && image[end] !== 0 && end - kvOff < 0x200 + 256) end++;
    kernelVersion = new TextDecoder("latin1").decode(image.subarray(kvOff + 0x200, end));
  }

  const header: SetupHeader = {
    setupSects,
    setupBytes,
    version,
    loadflags,
    syssize,
    code32Start: u32(H_CODE32_START),
    initrdAddrMax: u32(H_INITRD_ADDR_MAX) || 0x37ffffff,
    kernelAlignment: u32(H_KERNEL_ALIGNMENT),
    relocatable: u8(H_RELOCATABLE) !== 0,
    cmdlineSize: u32(H_CMDLINE_SIZE),
    // protocol < 2.10 does not say: assume the traditional 1 MiB load with in-place room
    prefAddress: v210 ? u32(H_PREF_ADDRESS) : KERNEL_ADDR,
    initSize: v210 ? u32(H_INIT_SIZE) : syssize * 16 * 4,
    xloadflags,
    kernelVersion,
    headerEnd,
  };
  if (v210 && dv.getUint32(H_PREF_ADDRESS + 4, true) !== 0) {
    throw new BootImageError("unsupported", "kernel wants to be loaded above 4 GiB");
  }
  if (header.code32Start !== KERNEL_ADDR) {
    throw new BootImageError(
      "unsupported",
      `kernel's 32-bit entry is at ${hex(header.code32Start)}, expected 0x100000`,
    );
  }
  // Trailing data after the kernel (e.g. an appended signature) makes the CRC unverifiable.
  const exact = image.length <= setupBytes + syssize * 16 + 16;
  if (opts.verifyChecksum !== false && exact && crc32Raw(image) !== 0) {
    throw new BootImageError("checksum", "kernel image is corrupt (CRC-32 mismatch)");
  }
  return { header, kernel: image.subarray(setupBytes) };
}

// The e820 map: usable RAM below 640 KiB, the legacy VGA/ROM hole reserved, usable RAM from 1 MiB
// to the end of RAM, with the caller's regions cut out and listed with their own type.
export function buildE820(ramBytes: number, regions: Region[] = []): E820Entry[] {
  type Span = { start: number; end: number; type: number };
  let spans: Span[] = [
    { start: 0, end: Math.min(0xa0000, ramBytes), type: E820_RAM },
    { start: 0xa0000, end: 0x100000, type: E820_RESERVED },
  ];
  if (ramBytes > 0x100000) spans.push({ start: 0x100000, end: ramBytes, type: E820_RAM });
  for (const r of regions) {
    const start = r.addr, end = r.addr + r.size;
    if (r.size <= 0) continue;
    const next: Span[] = [];
    for (const s of spans) {
      if (s.end <= start || s.start >= end) {
        next.push(s);
        continue;
      }
      if (s.start < start) next.push({ start: s.start, end: start, type: s.type });
      if (s.end > end) next.push({ start: end, end: s.end, type: s.type });
    }
    next.push({ start, end, type: r.type ?? E820_RESERVED });
    spans = next;
  }
  spans.sort((a, b) => a.start - b.start);
  const out: E820Entry[] = [];
  for (const s of spans) {
    if (s.end <= s.start) continue;
    const last = out[out.length - 1];
    if (last && last.type === s.type && last.addr + last.size === s.start) last.size += s.end - s.start;
    else out.push({ addr: s.start, size: s.end - s.start, type: s.type });
  }
  if (out.length > E820_MAX) throw new BootImageError("layout", `e820 map has ${out.length} entries (max ${E820_MAX})`);
  return out;
}

export interface LoadOptions {
  cmdline?: string;
  initrd?: Uint8Array;
  regions?: Region[]; // ranges the machine already uses (ACPI tables, MP table, ...)
  acpiRsdp?: number; // physical address of the ACPI RSDP, passed in boot_params when the kernel reads it
  verifyChecksum?: boolean;
}

export interface BootLayout {
  header: SetupHeader;
  zeroPage: number;
  cmdline: number;
  gdt: number;
  entry: number;
  kernelEnd: number; // end of the memory the kernel claims while decompressing (pref_address + init_size)
  initrdAddr: number; // 0 when there is none
  initrdSize: number;
  e820: E820Entry[];
}

const overlaps = (a: number, aLen: number, b: number, bLen: number) => a < b + bLen && b < a + aLen;

// Write kernel, initrd, zero page, command line and GDT into guest RAM. Throws BootImageError
// before touching RAM when something does not fit. GuestRam's writes retire blocks compiled from
// what was there (a reboot reloads the kernel over pages that may hold compiled code).
export function loadBzImage(ram: GuestRam, image: Uint8Array, opts: LoadOptions = {}): BootLayout {
  const { header, kernel } = parseBzImage(image, { verifyChecksum: opts.verifyChecksum });
  const ramBytes = ram.size;
  const regions = opts.regions ?? [];
  const e820 = buildE820(ramBytes, regions);

  // command line
  const cmdline = new TextEncoder().encode(opts.cmdline ?? "");
  const maxCmd = Math.min(header.cmdlineSize, CMDLINE_LIMIT - CMDLINE_ADDR - 1);
  if (cmdline.length > maxCmd) {
    throw new BootImageError(
      "cmdline",
      `kernel command line is ${cmdline.length} bytes; this kernel accepts ${maxCmd}`,
    );
  }

  // the kernel: loaded at 1 MiB, decompresses itself to pref_address and needs init_size there
  const kernelEnd = Math.max(KERNEL_ADDR + kernel.length, header.prefAddress + header.initSize);
  const initrd = opts.initrd;
  const initrdSize = initrd?.length ?? 0;
  if (kernelEnd > ramBytes) {
    throw new BootImageError("memory", `guest RAM (${mib(ramBytes)}) too small: the kernel needs ${mib(kernelEnd)}`);
  }

  // the initrd: as high as possible below initrd_addr_max, lowmem and end of RAM, clear of regions
  let initrdAddr = 0;
  if (initrd && initrdSize > 0) {
    let top = Math.min(header.initrdAddrMax + 1, LOWMEM_LIMIT, ramBytes);
    for (;;) {
      initrdAddr = Math.floor((top - initrdSize) / 4096) * 4096;
      const hit = regions.find((r) => r.size > 0 && overlaps(initrdAddr, initrdSize, r.addr, r.size));
      if (!hit) break;
      top = hit.addr;
    }
    if (initrdAddr < kernelEnd) {
      throw new BootImageError(
        "memory",
        `guest RAM (${mib(ramBytes)}) too small for kernel and initrd: need about ${mib(kernelEnd + initrdSize)}`,
      );
    }
  }

  const ours: [string, number, number][] = [
    ["GDT", GDT_ADDR, 32],
    ["boot stack", STACK_TOP - 0x1000, 0x1000],
    ["zero page", ZERO_PAGE_ADDR, 0x1000],
    ["command line", CMDLINE_ADDR, cmdline.length + 1],
    ["kernel", KERNEL_ADDR, kernelEnd - KERNEL_ADDR],
  ];
  for (const r of regions) {
    for (const [what, a, n] of ours) {
      if (r.size > 0 && overlaps(a, n, r.addr, r.size)) {
        throw new BootImageError("layout", `region ${hex(r.addr)}+${hex(r.size)} overlaps the ${what} at ${hex(a)}`);
      }
    }
  }

  // ---- everything fits: write RAM ----
  const put = (addr: number, bytes: Uint8Array) => {
    if (!ram.write(addr, bytes)) throw new RangeError(`boot loader: ${hex(addr)}+${bytes.length} outside RAM`);
  };
  put(KERNEL_ADDR, kernel);
  if (initrd && initrdSize > 0) put(initrdAddr, initrd);
  const cmd = new Uint8Array(cmdline.length + 1); // NUL-terminated
  cmd.set(cmdline);
  put(CMDLINE_ADDR, cmd);

  // GDT: null, null, __BOOT_CS flat 4 GiB execute/read, __BOOT_DS flat 4 GiB read/write
  const gdt = new Uint8Array(32);
  const gdv = new DataView(gdt.buffer);
  gdv.setBigUint64(16, 0x00cf9b000000ffffn, true);
  gdv.setBigUint64(24, 0x00cf93000000ffffn, true);
  put(GDT_ADDR, gdt);

  // zero page: all zero, then the image's setup header, then what the loader fills in; built
  // here and written in one piece
  const zeroPage = new Uint8Array(0x1000);
  zeroPage.set(image.subarray(H_SETUP_SECTS, header.headerEnd), H_SETUP_SECTS);
  const zp = new DataView(zeroPage.buffer);
  zp.setUint8(H_TYPE_OF_LOADER, 0xff); // "undefined" loader, as boot.rst asks of unregistered ones
  zp.setUint8(H_LOADFLAGS, header.loadflags & ~CAN_USE_HEAP); // no real-mode heap: setup code does not run
  zp.setUint16(H_HEAP_END_PTR, 0, true);
  zp.setUint32(H_RAMDISK_IMAGE, initrdAddr, true);
  zp.setUint32(H_RAMDISK_SIZE, initrdSize, true);
  zp.setUint32(H_CMD_LINE_PTR, CMDLINE_ADDR, true);
  zp.setUint32(ZP_EXT_CMD_LINE_PTR, 0, true);
  if (header.version >= 0x207) zp.setUint32(H_HARDWARE_SUBARCH, 0, true); // a plain PC
  if (header.version >= 0x20e && opts.acpiRsdp) zp.setBigUint64(ZP_ACPI_RSDP, BigInt(opts.acpiRsdp), true);
  // memory sizes for kernels that fall back from e820 (KiB above 1 MiB)
  const extK = Math.max(0, Math.floor((ramBytes - 0x100000) / 1024));
  zp.setUint16(ZP_EXT_MEM_K, Math.min(extK, 0xffff), true);
  zp.setUint32(ZP_ALT_MEM_K, extK, true);
  zp.setUint8(ZP_E820_ENTRIES, e820.length);
  e820.forEach((e, i) => {
    const o = ZP_E820_TABLE + i * 20;
    zp.setBigUint64(o, BigInt(e.addr), true);
    zp.setBigUint64(o + 8, BigInt(e.size), true);
    zp.setUint32(o + 16, e.type, true);
  });
  put(ZERO_PAGE_ADDR, zeroPage);

  return {
    header,
    zeroPage: ZERO_PAGE_ADDR,
    cmdline: CMDLINE_ADDR,
    gdt: GDT_ADDR,
    entry: header.code32Start,
    kernelEnd,
    initrdAddr,
    initrdSize,
    e820,
  };
}

// What startKernel needs of a vCPU: runtime/vcpu/core.ts's Core has this shape.
export interface BootCore {
  ex: {
    setSeg(seg: number, sel: number, base: number, limit: number, attr: number): void;
    resyncFromState(): void;
  };
  set(off: number, v: number): void;
  setReg(r: number, v: number): void;
  memory?: WebAssembly.Memory;
}

// segment cache attributes (layout.ts SG_ATTR encoding): G=1 D/B=1 P=1 S=1
const ATTR_CODE = 0xc09b; // execute/read, accessed
const ATTR_DATA = 0xc093; // read/write, accessed

// Put the boot CPU where the 32-bit boot protocol says the kernel starts: protected mode, paging
// off, interrupts off, the loader's GDT, CS=__BOOT_CS, DS=ES=SS=__BOOT_DS (flat), ESI = zero page,
// EBP=EDI=EBX=0, EIP = the 32-bit entry. The vCPU must be in its power-on state (the machine's
// reset, which also sets up what the chipset owns, such as the APIC base MSR); only the state the
// protocol defines is changed here.
export function startKernel(core: BootCore, layout: BootLayout): void {
  core.set(L.S_HALTED, 0);
  core.set(L.S_CR0, L.CR0_PE | L.CR0_ET); // caches on, as a BIOS leaves them
  core.set(L.S_FLAGS, 0x2);
  core.set(L.S_CPL, 0);
  core.set(L.S_GDTR_BASE, layout.gdt);
  core.set(L.S_GDTR_LIMIT, 31);
  // no IDT yet: any exception before the kernel loads its own escalates to a clean shutdown
  core.set(L.S_IDTR_BASE, 0);
  core.set(L.S_IDTR_LIMIT, 0);
  core.ex.setSeg(L.SEG_CS, BOOT_CS, 0, 0xffffffff, ATTR_CODE);
  for (const s of [L.SEG_DS, L.SEG_ES, L.SEG_SS, L.SEG_FS, L.SEG_GS]) {
    core.ex.setSeg(s, BOOT_DS, 0, 0xffffffff, ATTR_DATA);
  }
  for (let r = 0; r < 8; r++) core.setReg(r, 0);
  core.setReg(4, STACK_TOP); // ESP: not required by the protocol, but keep it pointing at RAM
  core.setReg(6, layout.zeroPage); // ESI
  core.set(L.S_EIP, layout.entry);
  firmwareMtrrs(core);
  if (core.memory) new DataView(core.memory.buffer).setUint32(L.MACHINE + L.M_A20, 1, true);
  core.ex.resyncFromState();
}

// The memory types a PC BIOS programs on every CPU before it starts an OS (as SeaBIOS does):
// MTRRs on with write-back by default, the fixed ranges write-back but the VGA window
// (0xA0000-0xBFFFF) uncached, and variable range 0 making the PCI/MMIO hole
// 0xE0000000-0xFFFFFFFF uncached. INIT keeps MTRRs, so the APs start with these too. Written
// into every vCPU's state block (the APs do not run yet); without the shared memory, the boot
// CPU's only.
function firmwareMtrrs(core: BootCore): void {
  const WB8 = 0x06060606;
  const regs: [number, number, number][] = [];
  for (let i = 0; i < 11; i++) regs.push([L.S_MTRR_FIX + i * 8, i === 2 ? 0 : WB8, i === 2 ? 0 : WB8]);
  regs.push([L.S_MTRR_VAR, 0xe0000000, 0]); // PHYSBASE0: UC
  regs.push([L.S_MTRR_VAR + 8, 0xe0000800, 0xf]); // PHYSMASK0: 512 MiB (36-bit mask), valid
  regs.push([L.S_MTRR_DEF, 0xc06, 0]); // E, FE, default WB
  if (!core.memory) {
    for (const [off, lo, hi] of regs) {
      core.set(off, lo);
      core.set(off + 4, hi);
    }
    return;
  }
  const dv = new DataView(core.memory.buffer);
  const n = Math.max(1, dv.getUint32(L.MACHINE + L.M_NCPU, true));
  for (let c = 0; c < n; c++) {
    const base = L.CPU_BASE + c * L.CPU_STRIDE;
    for (const [off, lo, hi] of regs) {
      dv.setUint32(base + off, lo, true);
      dv.setUint32(base + off + 4, hi, true);
    }
  }
}

// Load and start in one step.
export function bootBzImage(ram: GuestRam, core: BootCore, image: Uint8Array, opts: LoadOptions = {}): BootLayout {
  const layout = loadBzImage(ram, image, opts);
  startKernel(core, layout);
  return layout;
}
