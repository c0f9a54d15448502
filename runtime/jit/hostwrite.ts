// The host wrote guest RAM behind the CPUs' backs (a loader, a device's DMA, a test): pages that
// hold code get a new generation, so blocks compiled from their old bytes are not run again
// (core-as/jit.ts compares the generation at every block entry).
import * as L from "../../core-as/layout.ts";

// `ram` is the guest-RAM view of the machine's memory (byteOffset RAM_BASE); off/len in RAM
export function hostWroteRam(ram: Uint8Array, off: number, len: number): void {
  if (len <= 0 || ram.byteOffset !== L.RAM_BASE) return; // not a machine's memory (unit tests of devices)
  const all = new Uint8Array(ram.buffer);
  const gen = new Uint32Array(ram.buffer, L.PAGEGEN, (L.RAM_BASE - L.PAGEGEN) >> 2);
  const last = (off + len - 1) >>> 12;
  for (let p = off >>> 12; p <= last && p < gen.length; p++) {
    if (all[L.CODEMAP + p] !== 0) {
      all[L.CODEMAP + p] = 0;
      Atomics.add(gen, p, 1);
    }
  }
}
