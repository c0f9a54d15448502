// The machine's serial console: COM1 as the host sees it. Guest output is batched (one
// onOutput call per burst of bytes, at the latest when the run loop waits or yields); host input
// goes into the UART's receive queue and wakes a halted run loop.
import type { Uart } from "./devices/uart.ts";

export class SerialConsole {
  private pending: number[] = [];
  private flushQueued = false;

  constructor(
    private readonly uart: Uart,
    private readonly wakeup: () => void,
    public onOutput: (bytes: Uint8Array) => void = () => {},
  ) {
    // batch output bytes: one sink call per burst instead of one per byte
    uart.onOutput = (b) => {
      this.pending.push(b);
      if (!this.flushQueued) {
        this.flushQueued = true;
        queueMicrotask(() => {
          this.flushQueued = false;
          this.flush();
        });
      }
    };
  }

  // hand the bytes the guest has written so far to onOutput (the run loops call it before they
  // wait or yield)
  flush(): void {
    if (!this.pending.length) return;
    const out = new Uint8Array(this.pending);
    this.pending = [];
    this.onOutput(out);
  }

  input(bytes: Uint8Array | string): void {
    this.uart.receive(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
    this.wakeup();
  }
  // bytes the guest has not read yet
  get pendingInput(): number {
    return this.uart.rxQueued;
  }
}
