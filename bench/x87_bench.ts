// The interpreter on x87-bound code (awk-like parsing, arithmetic, compares and (int)
// conversions, gcc -m32 -O2), in millions of guest instructions per second, beside the native
// time of the same C program (x86-64, SSE).
import { programBench } from "./lib/programbench.ts";

await programBench("fp", 4, "x87");
