// A port's end of the switch connection: what an emulated NIC (or a test endpoint) uses.

import type { Endpoint } from "./addr.ts";
import { type CloseReason, StreamPort } from "./stream.ts";
import { helloFrame } from "./offload.ts";
import { type Conn, host, type TcpConn } from "../runtime/platform/mod.ts";

export class SwitchClient {
  /** frames received and not yet taken by recv() (only when no onFrame handler is set) */
  private readonly inbox: Uint8Array[] = [];
  private waiter: (() => void) | null = null;
  private readonly port: StreamPort;
  readonly done: Promise<void>;
  closedReason: CloseReason | null = null;
  onFrame: ((frame: Uint8Array) => void) | null = null;

  private constructor(readonly conn: Conn, maxQueueBytes?: number, wholeFrames?: boolean) {
    this.port = new StreamPort(conn, {
      onFrame: (f) => {
        if (this.onFrame) this.onFrame(f);
        else {
          this.inbox.push(f);
          this.waiter?.();
        }
      },
      onClose: (r) => {
        this.closedReason = r;
        this.waiter?.();
      },
    }, { maxQueueBytes, wholeFrames });
    this.done = this.port.run();
  }

  // wholeFrames: each write carries whole frames (for passt: net/fdstream.ts)
  static async connect(
    ep: Endpoint,
    opts: { maxQueueBytes?: number; wholeFrames?: boolean } = {},
  ): Promise<SwitchClient> {
    const conn = ep.transport === "unix"
      ? await host.connect({ transport: "unix", path: ep.path })
      : await host.connect({ hostname: ep.hostname, port: ep.port });
    if (ep.transport === "tcp") (conn as TcpConn).setNoDelay(true);
    return new SwitchClient(conn, opts.maxQueueBytes, opts.wholeFrames);
  }

  /** Offer offloads (net/offload.ts): frames with headers flow once the switch answers. */
  sendHello(mac: Uint8Array): void {
    this.port.writer.write(helloFrame(mac));
  }

  get offload(): boolean {
    return this.port.offload;
  }

  /** Queue a frame (false: dropped because the connection is backed up or closed). */
  send(frame: Uint8Array): boolean {
    return this.port.send(frame);
  }

  /** Stop / restart reading from the switch (see StreamPort.pause). */
  pause(): void {
    this.port.pause();
  }

  resume(): void {
    this.port.resume();
  }

  get pending(): number {
    return this.inbox.length;
  }

  /** Next received frame, or null after `timeoutMs` or when the connection closed. */
  async recv(timeoutMs = 2000): Promise<Uint8Array | null> {
    const deadline = performance.now() + timeoutMs;
    while (this.inbox.length === 0) {
      if (this.closedReason !== null) return null;
      const left = deadline - performance.now();
      if (left <= 0) return null;
      let t: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((r) => {
        this.waiter = r;
        t = setTimeout(r, left);
      });
      clearTimeout(t);
      this.waiter = null;
    }
    return this.inbox.shift()!;
  }

  async close(): Promise<void> {
    this.port.close();
    await this.done;
  }
}
