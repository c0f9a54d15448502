// The interpreter's speed in millions of guest instructions per second (MIPS) on a CPU-bound
// program compiled with gcc -m32 (shell sort + checksum), beside the native time of the same C
// program (built for x86-64: this host cannot execute i386 code natively).
import { programBench } from "./lib/programbench.ts";

await programBench("sort", 40, "cpu");
