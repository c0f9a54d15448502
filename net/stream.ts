// Port framing over a stream socket (unix or TCP): each Ethernet frame is preceded by its
// length as a 4-byte big-endian integer, nothing else (no virtio-net header). This is what
// QEMU's `-netdev stream` and `-netdev socket` speak: net/stream_data.c writes htonl(size)
// then the frame, and net_fill_rstate() in net/net.c reads the length with ntohl.

import type { FrameSink } from "./switch.ts";
import { headerOf, isHello, MAX_OFFLOAD_FRAME, needsWork, software, VNET_HDR_LEN, withHeader } from "./offload.ts";
import { type Conn, host } from "../runtime/platform/mod.ts";

/** A length prefix above this is not a frame but a broken or hostile peer: the port closes. */
export const STREAM_MAX_LEN = 65536;
/** Bit 31 of a length prefix: a virtio_net_hdr precedes the frame (net/offload.ts). */
export const OFFLOAD_BIT = 0x80000000;

export class FramingError extends Error {}

/** Reassembles frames from arbitrarily split chunks of the byte stream. */
export class FrameReader {
  private head = new Uint8Array(4);
  private headFill = 0;
  private body: Uint8Array | null = null;
  private bodyFill = 0;
  private flagged = false;
  /** accept length prefixes with OFFLOAD_BIT (set once the peer said hello) */
  offload = false;

  constructor(private readonly onFrame: (frame: Uint8Array) => void, public maxLen = STREAM_MAX_LEN) {}

  /** True while a frame has been started but not completed (a close now loses it). */
  get midFrame(): boolean {
    return this.headFill !== 0 || this.body !== null;
  }

  /** Feed bytes; every completed frame is a fresh array the callee may keep. */
  push(chunk: Uint8Array): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.body === null) {
        // fast path: a whole length prefix in this chunk
        if (this.headFill === 0 && n - i >= 4) {
          let len = ((chunk[i] << 24) | (chunk[i + 1] << 16) | (chunk[i + 2] << 8) | chunk[i + 3]) >>> 0;
          i += 4;
          len = this.checkLen(len);
          if (n - i >= len) {
            this.emit(chunk.slice(i, i + len));
            i += len;
            continue;
          }
          this.body = new Uint8Array(len);
          this.bodyFill = 0;
          continue;
        }
        this.head[this.headFill++] = chunk[i++];
        if (this.headFill === 4) {
          const h = this.head;
          let len = ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
          this.headFill = 0;
          len = this.checkLen(len);
          this.body = new Uint8Array(len);
          this.bodyFill = 0;
        } else continue;
      }
      const body = this.body!;
      const take = Math.min(body.length - this.bodyFill, n - i);
      body.set(chunk.subarray(i, i + take), this.bodyFill);
      this.bodyFill += take;
      i += take;
      if (this.bodyFill === body.length) {
        this.body = null;
        this.emit(body);
      }
    }
  }

  private emit(body: Uint8Array): void {
    if (!this.flagged) return this.onFrame(body);
    this.onFrame(withHeader(body.subarray(VNET_HDR_LEN), body.slice(0, VNET_HDR_LEN)));
  }

  // the body length of a prefix (OFFLOAD_BIT noted in `flagged`)
  private checkLen(len: number): number {
    this.flagged = false;
    if (len >= OFFLOAD_BIT && this.offload) {
      len -= OFFLOAD_BIT;
      if (len < VNET_HDR_LEN || len > VNET_HDR_LEN + MAX_OFFLOAD_FRAME) {
        throw new FramingError(`offload frame length ${len} out of range`);
      }
      this.flagged = true;
      return len;
    }
    if (len > this.maxLen) throw new FramingError(`length prefix ${len} exceeds ${this.maxLen}`);
    return len;
  }
}

/** Length prefix + frame in one array. */
export function encodeFrame(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + frame.length);
  new DataView(out.buffer).setUint32(0, frame.length);
  out.set(frame, 4);
  return out;
}

/**
 * Ordered, bounded, coalescing writer: send() never blocks the caller (the switch); queued
 * frames are written in batches; beyond the byte limit new frames are dropped and counted, so
 * one slow or stalled peer can neither stall the switch nor grow memory without bound.
 */
export class FramedWriter {
  dropped = 0;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private writing = false;
  private current: Promise<void> = Promise.resolve();
  private closed = false;

  // wholeFrames: every write() carries whole frames, at most WHOLE_WRITE_BYTES of them (passt
  // needs its reads to end on frame boundaries: net/fdstream.ts says why). A write that size is
  // one socket buffer on Linux, written whole or not at all.
  constructor(
    private readonly conn: Conn,
    private readonly onError: (e: unknown) => void,
    readonly maxQueueBytes = 1 << 20,
    readonly wholeFrames = false,
  ) {}

  /** Queue one message, with the 4-byte length prefix added. */
  write(msg: Uint8Array, prefix = true): boolean {
    if (this.closed) return false;
    const need = msg.length + (prefix ? 4 : 0);
    if (this.queued + need > this.maxQueueBytes) {
      this.dropped++;
      return false;
    }
    if (prefix) {
      const h = new Uint8Array(4);
      new DataView(h.buffer).setUint32(0, msg.length);
      this.queue.push(h);
    } else if (this.wholeFrames) this.queue.push(new Uint8Array(0)); // parts stay (prefix, frame) pairs
    this.queue.push(msg);
    this.queued += need;
    if (!this.writing) this.current = this.flush();
    return true;
  }

  /** Queue a frame with its virtio_net_hdr (length prefix with OFFLOAD_BIT). */
  writeOffload(hdr: Uint8Array, frame: Uint8Array): boolean {
    if (this.closed) return false;
    const need = 4 + VNET_HDR_LEN + frame.length;
    if (this.queued + need > this.maxQueueBytes) {
      this.dropped++;
      return false;
    }
    const h = new Uint8Array(4 + VNET_HDR_LEN);
    new DataView(h.buffer).setUint32(0, (OFFLOAD_BIT + VNET_HDR_LEN + frame.length) >>> 0);
    h.set(hdr.subarray(0, VNET_HDR_LEN), 4);
    this.queue.push(h, frame);
    this.queued += need;
    if (!this.writing) this.current = this.flush();
    return true;
  }

  /** Resolves once everything queued so far was written (or the writer failed). */
  get drained(): Promise<void> {
    return this.writing ? this.current : Promise.resolve();
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    this.queued = 0;
  }

  private async flush(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const parts = this.queue;
        const total = this.queued;
        this.queue = [];
        this.queued = 0;
        if (this.wholeFrames) {
          await this.writeWhole(parts);
          continue;
        }
        let buf: Uint8Array;
        if (parts.length === 1) buf = parts[0];
        else {
          buf = new Uint8Array(total);
          let o = 0;
          for (const p of parts) {
            buf.set(p, o);
            o += p.length;
          }
        }
        let o = 0;
        while (o < buf.length) o += await this.conn.write(buf.subarray(o));
      }
    } catch (e) {
      if (!this.closed) this.onError(e);
    } finally {
      this.writing = false;
    }
  }

  // parts are (prefix, frame) pairs: write groups of whole pairs of up to WHOLE_WRITE_BYTES
  private async writeWhole(parts: Uint8Array[]): Promise<void> {
    for (let i = 0; i < parts.length && !this.closed;) {
      let j = i, total = 0;
      while (j < parts.length && (j === i || total + parts[j].length + parts[j + 1].length <= WHOLE_WRITE_BYTES)) {
        total += parts[j].length + parts[j + 1].length;
        j += 2;
      }
      const buf = new Uint8Array(total);
      for (let o = 0, k = i; k < j; k++) buf.set(parts[k], o), o += parts[k].length;
      let o = 0;
      while (o < buf.length) o += await this.conn.write(buf.subarray(o));
      i = j;
    }
  }
}

const WHOLE_WRITE_BYTES = 32 << 10;

export type CloseReason = "eof" | "mid-frame" | "reset" | "framing" | "error" | "local";

function errorReason(e: unknown): CloseReason {
  return e instanceof host.errors.BrokenPipe || e instanceof host.errors.ConnectionReset ? "reset" : "error";
}

/**
 * One switch port on a stream connection (a NIC, QEMU, or a test endpoint). The owner wires
 * onFrame into the switch and removes the port in onClose, which fires exactly once.
 */
export class StreamPort implements FrameSink {
  readonly writer: FramedWriter;
  private readonly reader: FrameReader;
  private closed = false;
  private paused = false;
  private unpause: (() => void) | null = null;
  private readonly answerHello: boolean;

  constructor(
    private readonly conn: Conn,
    private readonly handlers: {
      onFrame: (frame: Uint8Array) => void;
      onClose: (reason: CloseReason, detail?: string) => void;
      onOffload?: () => void;
    },
    // answerHello: the switch's side of a port (net/offload.ts): a hello is answered and both
    // sides may send frames with offloads from then on; the other side sends the hello itself
    opts: { maxLen?: number; maxQueueBytes?: number; answerHello?: boolean; wholeFrames?: boolean } = {},
  ) {
    this.answerHello = opts.answerHello ?? false;
    this.reader = new FrameReader((f) => {
      if (isHello(f)) return this.hello(f);
      handlers.onFrame(f);
    }, opts.maxLen ?? STREAM_MAX_LEN);
    this.writer = new FramedWriter(
      conn,
      (e) => this.finish(errorReason(e), String(e)),
      opts.maxQueueBytes,
      opts.wholeFrames,
    );
  }

  /** The peer takes frames with offloads (it said hello, or answered ours). */
  get offload(): boolean {
    return this.reader.offload;
  }

  private hello(f: Uint8Array): void {
    if (this.reader.offload) return;
    this.reader.offload = true;
    if (this.answerHello) this.writer.write(f);
    this.handlers.onOffload?.();
  }

  /** Send a frame; one with pending offloads goes as is to a peer that takes them, else in software. */
  send(frame: Uint8Array): boolean {
    const hdr = headerOf(frame);
    if (hdr === undefined || !needsWork(hdr)) return this.writer.write(frame);
    if (this.reader.offload) return this.writer.writeOffload(hdr, frame);
    let ok = true;
    for (const s of software(frame, hdr)) ok = this.writer.write(s) && ok;
    return ok;
  }

  /**
   * Stop reading after the current chunk: the peer's frames wait in the socket buffers (and
   * its own bounded queue) until resume(). A receiver that cannot keep up pushes back instead
   * of dropping.
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.unpause?.();
    this.unpause = null;
  }

  /** Read until the peer goes away or breaks the framing; resolves after onClose. */
  async run(): Promise<void> {
    // an idle port keeps a small buffer (thousands of ports stay cheap); one that fills it grows it
    let buf = new Uint8Array(2048);
    try {
      while (!this.closed) {
        if (this.paused) {
          await new Promise<void>((r) => (this.unpause = r));
          continue;
        }
        const n = await this.conn.read(buf);
        if (n === null) {
          this.finish(this.reader.midFrame ? "mid-frame" : "eof");
          return;
        }
        this.reader.push(buf.subarray(0, n));
        if (n === buf.length && buf.length < 65536) buf = new Uint8Array(buf.length * 4);
      }
    } catch (e) {
      if (e instanceof FramingError) this.finish("framing", e.message);
      else this.finish(errorReason(e), e instanceof Error ? e.message : String(e));
    }
  }

  close(): void {
    this.finish("local");
  }

  private finish(reason: CloseReason, detail?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.unpause?.();
    this.writer.close();
    try {
      this.conn.close();
    } catch { /* already closed */ }
    this.handlers.onClose(reason, detail);
  }
}
