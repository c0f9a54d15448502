// Host imports: the only ways the core leaves WebAssembly. None is called per instruction:
// port I/O, MMIO outside RAM, and the host clock.
@external("env", "io_in")
export declare function io_in(port: u32, size: u32): u32;
@external("env", "io_out")
export declare function io_out(port: u32, size: u32, value: u32): void;
@external("env", "mmio_rd")
export declare function mmio_rd(addr: u32, size: u32): u32;
@external("env", "mmio_wr")
export declare function mmio_wr(addr: u32, size: u32, value: u32): void;
// host monotonic clock in nanoseconds (RDTSC, APIC timer)
@external("env", "clock_ns")
export declare function clock_ns(): f64;
// next pending external interrupt vector for this CPU (acknowledging it), or -1
@external("env", "intr_ack")
export declare function intr_ack(): i32;
// compile the block starting at host address `h` (guest linear `lin`) into the function table;
// returns its table index, or 0 when nothing there can be compiled (runtime/jit/)
@external("env", "jit_compile")
export declare function jit_compile(h: u32, lin: u32): u32;
