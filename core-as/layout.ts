// Fixed layout of the one shared WebAssembly.Memory. This file is valid both as AssemblyScript
// (core-as) and as TypeScript (runtime), so the interpreter, the host and a later JIT agree on
// every offset without a translation step. Plain numeric consts only.

// ---- whole-memory map -------------------------------------------------------------------------
export const CPU_BASE = 0x01000000; // one state block per vCPU, CPU_STRIDE apart (64 x 256 KiB = 16 MiB)
export const CPU_STRIDE = 0x00040000; // 256 KiB: registers, FPU, LAPIC page, three TLB sets, JIT counters
export const MAX_CPUS = 64; // the i386 kernel's limit (BIGSMP, NR_CPUS=64); APIC IDs 0..63, the IO-APIC's 64
export const MACHINE = 0x00600000; // machine-wide words (see M_* below)
export const CODEMAP = 0x00610000; // 1 byte per 4 KiB guest page: nonzero = holds decoded code (JIT tier)
export const JIT_HASH = 0x02000000; // per-vCPU block-entry hash of the block compiler, JIT_HASH_STRIDE apart (core-as/jit.ts)
export const JIT_HASH_STRIDE = 0x00020000;
export const JIT_ENTRIES = 8192; // 16-byte slots of compiled blocks: host address, table index, page generation, linear address
export const PAGEGEN = 0x00c00000; // u32 per 4 KiB guest page: bumped when a page that held code is written
export const ROM_HI = 0x00800000; // host copy of the BIOS ROM as seen just below 4 GiB (up to 1 MiB)
export const ROM_HI_SIZE = 0x00100000;
export const RAM_BASE = 0x03000000; // guest physical address 0 lives here (below it: 8 MiB spare after JIT_HASH)
export const WASM_PAGE = 65536;

// ---- machine-wide words (offsets from MACHINE) -----------------------------------------------
export const M_RAM_SIZE = 0; // bytes of guest RAM
export const M_ROM_SIZE = 4; // bytes of BIOS ROM mapped below 4 GiB (0 = none)
export const M_NCPU = 8;
export const M_A20 = 12; // 1 = A20 gate enabled
// SMP (runtime/vcpu/smp.ts; host-side only, the core never reads these)
export const M_STOP = 16; // 1 = the run is ending: vCPU workers return to the host
export const M_PIC_INTR = 20; // the 8259A's INTR output level, for CPU 0's worker
export const M_JIT = 40; // block compiler: 0 = off, else the visit count that makes a block hot (core-as/jit.ts)
// Words every vCPU writes get a 64-byte cache line each, away from the read-mostly words above
// (RAM size, A20, M_JIT are read on slow memory paths and block entries): a line that one host
// core writes is taken from the caches of all the others.
export const M_DOORBELL = 128; // bumped (and notified) by a vCPU that posted a device request
export const M_TSC_LAST = 192; // (u64) the latest raw TSC any vCPU read: keeps TSCs in step (ops/msr.ts)
export const M_BUSLOCK = 256; // 1 while a vCPU performs a locked access no wasm atomic can (core-as/buslock.ts)
export const M_STALL = 320; // host stalls hidden from worker-thread guest time: i32 seq, i32 lock, f64 hidden ns, f64 at (runtime/clock.ts StallAccount)
export const MBOX = MACHINE + 0x2000; // per-vCPU device-request mailboxes, MBOX_STRIDE apart
export const MBOX_STRIDE = 64;
// the 8254's state, shared by the device thread (writes, IRQ0) and vCPU threads (reads served
// where they happen: runtime/devices/pit.ts); 1 KiB, up to JIT profile counters at MACHINE + 0x4000
export const PIT_STATE = MACHINE + 0x3000;

// ---- per-vCPU state block (offsets from the block base) --------------------------------------
// general registers, Intel order: eax ecx edx ebx esp ebp esi edi
export const R_EAX = 0;
export const R_ECX = 4;
export const R_EDX = 8;
export const R_EBX = 12;
export const R_ESP = 16;
export const R_EBP = 20;
export const R_ESI = 24;
export const R_EDI = 28;
export const S_EIP = 32; // EIP of the next instruction when the core is not running
export const S_FLAGS = 36; // EFLAGS bits that are not the six lazy arithmetic flags
// lazy arithmetic flags: result, operands and the operation that produced them
export const S_LF_OP = 40; // LF_* below
export const S_LF_RES = 44;
export const S_LF_A = 48; // first (destination) operand
export const S_LF_B = 52; // second (source) operand or saved carry
export const S_CPL = 56;
export const S_HALTED = 60; // 1 while in HLT
export const S_ATTN = 64; // attention word, set by other threads: ATTN_* bits (atomic)
export const S_ICOUNT = 68; // low 32 bits of retired instructions
export const S_ICOUNT_HI = 72;
export const S_PEND_VEC = 76; // pending exception vector, -1 if none (fault delivery after a trap)
export const S_PEND_ERR = 80; // its error code, or -1 for none
export const S_EXC_STATE = 84; // nested-fault tracking for #DF / triple fault
export const S_EXIT = 88; // why run() returned: EXIT_* below
export const S_INTR_VEC = 92; // vector of a pending external interrupt (-1 none), set by the APIC/PIC
export const S_CPU_INDEX = 96;
export const S_TSC_OFF = 100; // (u64) added to the host clock for RDTSC
export const S_APIC_ID = 108;
export const S_NMI = 112; // NMI_BLOCKED from an NMI's delivery to the next IRET; NMI_PENDING: one more arrived
export const S_XACTIVE = 116; // 1 while this vCPU executes instructions (in run()): the bus lock's exclusive section waits for 0 (buslock.ts)

// segment registers: 6 x 32 bytes, Intel order es cs ss ds fs gs; then ldtr, tr
export const S_SEG = 128;
export const SEG_SIZE = 32;
export const SG_SEL = 0;
export const SG_BASE = 4;
export const SG_LIMIT = 8;
export const SG_ATTR = 12; // access rights as LAR returns them >> 8: type|S<<4|DPL<<5|P<<7|AVL<<12|L<<13|DB<<14|G<<15
export const SG_RLO = 16; // fast-path window of offsets valid for reads: [RLO, RHI]
export const SG_RHI = 20;
export const SG_WLO = 24; // ... and for writes; an empty window (LO=0xffffffff, HI=0) sends every access to the slow path
export const SG_WHI = 28;
export const SEG_ES = 0;
export const SEG_CS = 1;
export const SEG_SS = 2;
export const SEG_DS = 3;
export const SEG_FS = 4;
export const SEG_GS = 5;
export const SEG_LDTR = 6;
export const SEG_TR = 7;
// 128 + 8*32 = 384
export const S_GDTR_BASE = 384;
export const S_GDTR_LIMIT = 388;
export const S_IDTR_BASE = 392;
export const S_IDTR_LIMIT = 396;
export const S_CR0 = 400;
export const S_CR2 = 404;
export const S_CR3 = 408;
export const S_CR4 = 412;
export const S_DR = 416; // dr0..dr7, 8 x 4
export const S_MSR_SYSENTER_CS = 448;
export const S_MSR_SYSENTER_ESP = 452;
export const S_MSR_SYSENTER_EIP = 456;
export const S_APIC_BASE = 460; // IA32_APIC_BASE MSR low word
export const S_MSR_PAT_LO = 464;
export const S_MSR_PAT_HI = 468;
export const S_MTRR = 472; // 32 bytes, unused (the MTRRs are at S_MTRR_DEF..., ops/msr.ts)
export const S_MISC_ENABLE = 504; // u64 IA32_MISC_ENABLE, low word XOR its reset value (ops/msr.ts)
export const S_SCRATCH = 512; // 64 bytes for multi-word host exchanges

// PAE paging and IA32_EFER (core-as/mmu.ts); cleared by reset/INIT
export const S_EFER = 0x600; // IA32_EFER low word: only NXE (bit 11) is writable on a 32-bit CPU
export const S_PDPTE = 0x608; // 4 x u64: the PAE PDPTE registers, loaded from CR3 (mmu.ts loadPdptes)
// MSR storage (core-as/ops/msr.ts): perf counters, MC bank controls (cleared by reset/INIT)
export const S_PERF = 0x7e0; // per counter (2): PerfEvtSel, base value, source snapshot, spare (4 x u64)
export const S_MC_CTL = 0x840; // MCi_CTL per bank (u64 each, 5 banks)
export const EFER_NXE = 0x800;

// x87 FPU: 8 x f64 registers (physical order), control/status/tag and the last-instruction pointers
export const S_FPU = 1024;
export const FP_ST = 0; // 8 x f64
export const FP_CW = 64;
export const FP_SW = 68; // status word without TOP
export const FP_TOP = 72;
export const FP_TAG = 76; // 2 bits a register, hardware encoding
export const FP_IP = 80;
export const FP_CS = 84;
export const FP_DP = 88;
export const FP_DS = 92;
export const FP_OP = 96;
export const FP_EXT = 128; // 8 x 16 bytes by physical register: exact 80-bit image (u64 significand, u16
// sign/exponent at +8) and a valid byte at +10 (x87/state.ts says when it is kept); FP_TAG only ever holds 0 or 3

// SSE state (core-as/sse/state.ts): XMM0-7 (16 bytes each, little-endian lanes) and MXCSR. The
// MMX registers have no storage of their own: MMi is the significand of x87 physical register i
// (its exact image at S_FPU + FP_EXT), as on hardware.
export const S_XMM = 0xe00; // 8 x 16 bytes
export const S_MXCSR = 0xe80;
export const S_SSE_TMP = 0xec0; // 64 bytes of scratch for one instruction (byte shifts, variable lanes)
export const MXCSR_RESET = 0x1f80; // all exceptions masked, round to nearest
export const MXCSR_MASK = 0xffff; // the bits LDMXCSR/FXRSTOR accept, DAZ (bit 6) included (sse/fpmath.ts)

// local APIC register page of this vCPU (4 KiB), modelled in core-as
export const S_LAPIC = 0x1000;

// software TLB: two sets (supervisor, user), each TLB_ENTRIES entries of four u32 arrays. An entry
// is valid for reads when tag_r[i] == the linear page, for writes when tag_w[i] == it, for
// instruction fetch when tag_x[i] == it (the fetch path and compiled blocks' cross-page checks;
// tag_x is TLB_INVALID for a page that is execute-disabled, PAE XD with EFER.NXE); host address =
// linear + delta[i].
export const S_TLB = 0x2000;
export const TLB_BITS = 12;
export const TLB_ENTRIES = 4096;
export const TLB_SET_SIZE = 4 * 4 * 4096; // tag_r[], tag_w[], delta[], tag_x[]
export const TLB_TAG_R = 0;
export const TLB_TAG_W = 4 * 4096;
export const TLB_DELTA = 8 * 4096;
export const TLB_TAG_X = 12 * 4096;
export const TLB_SET_SUP = 0;
export const TLB_SET_USR = 1;
export const TLB_SET_NONE = 2; // always empty: used while alignment checking is on, so every access goes slow
export const TLB_INVALID = 1; // a tag with a low bit set never equals a page address

// visit counters of block entries not compiled yet (core-as/jit.ts): u32s indexed by a hash of the
// host address, apart from the entry hash so that cold code never evicts a compiled block
export const S_JIT_COUNT = 0x32000; // after the three TLB sets (0x2000 + 3 * 0x10000)
export const JIT_COUNTERS = 8192;
// the MTRRs (core-as/ops/msr.ts), past what reset() clears: INIT leaves them as they are
export const S_MTRR_DEF = 0x3a000; // u64 IA32_MTRR_DEF_TYPE
export const S_MTRR_FIX = 0x3a008; // 11 x u64: 0x250, 0x258, 0x259, 0x268..0x26F
export const S_MTRR_VAR = 0x3a060; // 16 x u64: 0x200..0x20F (PHYSBASE0, PHYSMASK0, ...)

// ---- enums ------------------------------------------------------------------------------------
export const ATTN_IRQ = 1; // an external interrupt may be pending (S_INTR_VEC / PIC)
export const ATTN_FLUSH_TLB = 2; // another vCPU asks this one to flush its TLB
export const ATTN_STOP = 4; // return from run() as soon as possible
export const ATTN_NMI = 8;
export const ATTN_INIT = 16;
export const ATTN_SIPI = 32;
export const ATTN_TRACE = 64; // EFLAGS.TF may be set: single-step handling in the slow path
export const ATTN_EXIT = 128; // this vCPU's own request to leave run() (HLT)
export const NMI_BLOCKED = 1;
export const NMI_PENDING = 2;
export const ATTN_SHADOW = 256; // the next instruction runs in an STI / MOV SS shadow
export const ATTN_EXCL = 512; // another vCPU wants its exclusive section: stop at this instruction boundary until it ends (buslock.ts)

export const EXIT_BUDGET = 0; // instruction budget used up
export const EXIT_HLT = 1; // HLT with interrupts enabled: wait for an interrupt
export const EXIT_SHUTDOWN = 2; // triple fault
export const EXIT_STOP = 3; // ATTN_STOP
export const EXIT_HLT_CLI = 4; // HLT with interrupts disabled: this CPU is stopped for good
export const EXIT_PAUSE = 5; // PAUSE_SPIN PAUSEs in one run(): a spin-wait; the host thread may step aside (core-as/cpu.ts)

export const EXC_DE = 0;
export const EXC_DB = 1;
export const EXC_NMI = 2;
export const EXC_BP = 3;
export const EXC_OF = 4;
export const EXC_BR = 5;
export const EXC_UD = 6;
export const EXC_NM = 7;
export const EXC_DF = 8;
export const EXC_TS = 10;
export const EXC_NP = 11;
export const EXC_SS = 12;
export const EXC_GP = 13;
export const EXC_PF = 14;
export const EXC_MF = 16;
export const EXC_AC = 17;
export const EXC_MC = 18;
export const EXC_XM = 19; // SIMD floating-point exception (CR4.OSXMMEXCPT = 1; else #UD)

// EFLAGS bits
export const F_CF = 0x0001;
export const F_PF = 0x0004;
export const F_AF = 0x0010;
export const F_ZF = 0x0040;
export const F_SF = 0x0080;
export const F_TF = 0x0100;
export const F_IF = 0x0200;
export const F_DF = 0x0400;
export const F_OF = 0x0800;
export const F_IOPL = 0x3000;
export const F_NT = 0x4000;
export const F_RF = 0x10000;
export const F_VM = 0x20000;
export const F_AC = 0x40000;
export const F_VIF = 0x80000;
export const F_VIP = 0x100000;
export const F_ID = 0x200000;
export const F_ARITH = 0x08d5; // CF PF AF ZF SF OF

// CR0 / CR4 bits
export const CR0_PE = 0x1;
export const CR0_MP = 0x2;
export const CR0_EM = 0x4;
export const CR0_TS = 0x8;
export const CR0_ET = 0x10;
export const CR0_NE = 0x20;
export const CR0_WP = 0x10000;
export const CR0_AM = 0x40000;
export const CR0_PG = 0x80000000;
export const CR4_VME = 0x1;
export const CR4_PVI = 0x2;
export const CR4_TSD = 0x4;
export const CR4_DE = 0x8;
export const CR4_PSE = 0x10;
export const CR4_PAE = 0x20;
export const CR4_MCE = 0x40;
export const CR4_PGE = 0x80;
export const CR4_PCE = 0x100;
export const CR4_OSFXSR = 0x200; // the OS saves SSE state with FXSAVE: SSE instructions run (else #UD)
export const CR4_OSXMMEXCPT = 0x400; // the OS handles #XM (else unmasked SIMD FP exceptions are #UD)
