// A NIC's stream connection (to a switch daemon or passt) on a non-blocking socket driven through
// libc with Deno's FFI, instead of Deno.Conn. Why: a machine's thread runs guest code and yields
// to the event loop only between slices (setImmediate), and Deno completes socket reads and
// writes, and even FFI calls on its blocking threads, only every few dozen such turns: a frame
// waited 30-300 ms in a socket while its guest ran (bench/results/net.md), so TCP between
// guests ran at one window per 100 ms. Here the machine moves the bytes itself, synchronously:
//   - send() queues a frame (4-byte length prefix, as stream.ts), flush() writes everything queued
//     with one write(): the NIC flushes once per transmit notification, so a burst of frames is
//     one system call and reaches the peer before the guest runs on;
//   - pump() reads whatever is waiting (until EAGAIN, bounded per call) and hands out the frames:
//     the NIC's link calls it from a machine timer between slices while traffic flows;
//   - a poll() on one of FFI's blocking threads waits for input (and for room to write after
//     EAGAIN) while the machine is idle: its completion wakes the event loop, which an idle
//     machine waits on, so a halted guest gets its frame at once. An eventfd interrupts that
//     poll when the interest changes (pause, resume, queued output) and at close.
// Framing, offloads (net/offload.ts: the hello, flagged frames, software segmentation for a peer
// without them) and the bounded output queue behave as StreamPort's.
//
// Whole frames per write (`wholeFrames`, for passt): the passt of Debian 12 (2023-03) reads its
// stream socket assuming every read ends on a frame boundary or inside a frame whose rest follows
// in one piece: up to 4 bytes of a next frame's length prefix left at the end of a read are
// dropped, and a frame's rest is fetched with one recv() that must return all of it, or the frame
// is dropped. Either way its framing slips and the guest's TCP connection through it ends in a
// reset after some MB (bench/results/net.md). A write that fills the socket stops at any byte,
// so for such a peer every send() carries whole frames only and at most ATOMIC_BYTES: on Linux a
// unix stream send() that fits one socket buffer (skb) is queued whole or refused with EAGAIN,
// so the socket's contents always end on a frame boundary. A single frame larger than that is
// written only while the socket has room for all of it.
import type { Endpoint } from "./addr.ts";
import { FrameReader, FramingError, OFFLOAD_BIT } from "./stream.ts";
import type { CloseReason } from "./stream.ts";
import { headerOf, helloFrame, isHello, needsWork, software, VNET_HDR_LEN } from "./offload.ts";
import { type DynamicLibrary, host, type UnsafePointerView } from "../runtime/platform/mod.ts";

const AF_UNIX = 1, AF_INET = 2, SOCK_STREAM = 1, SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000;
const IPPROTO_TCP = 6, TCP_NODELAY = 1, SOL_SOCKET = 1, SO_ERROR = 4;
const EFD_NONBLOCK = 0x800, EFD_CLOEXEC = 0x80000;
const POLLIN = 1, POLLOUT = 4, POLLERR = 8, POLLHUP = 16;
const EAGAIN = 11, EINTR = 4, EINPROGRESS = 115, ECONNRESET = 104, EPIPE = 32;
const MSG_NOSIGNAL = 0x4000;
const READ_CHUNK = 256 << 10;
const PUMP_BUDGET = 1 << 20; // bytes one pump() reads at most: bounds the work per call

const SO_SNDBUF = 7, TIOCOUTQ = 0x5411;
// Linux sizes a unix stream send()'s buffers at most min(sndbuf / 2 - 64, a page's head + 32 KiB):
// a send() of up to 32 KiB (with the default 208 KiB sndbuf) is one buffer, queued whole or not at all
const ATOMIC_BYTES = 32 << 10;

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

type Libc = DynamicLibrary<typeof SYMBOLS>["symbols"];
let libc: Libc | null | undefined;

// libc through FFI, or null when this process may not use FFI (or is not on Linux): the caller
// falls back to Deno.Conn (net/client.ts)
export function fdStreamLibc(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (host.build.os !== "linux") return null;
  try {
    if (!host.permissionGranted("ffi")) return null;
  } catch {
    return null;
  }
  for (const name of ["libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6"]) {
    try {
      libc = host.dlopen(name, SYMBOLS).symbols;
      break;
    } catch { /* next */ }
  }
  return libc;
}

// errno of this thread (the only one that makes the synchronous calls): its address is fixed
let errnoView: UnsafePointerView | null = null;
function errno(c: Libc): number {
  if (!errnoView) {
    const p = c.__errno_location();
    if (!p) return 0;
    errnoView = new host.UnsafePointerView(p);
  }
  return errnoView.getInt32();
}

function errText(c: Libc, code: number): string {
  const s = c.strerror(code);
  return s ? new host.UnsafePointerView(s).getCString() : `errno ${code}`;
}

// sockaddr for an endpoint FdStream can dial itself (unix paths, IPv4 numbers, localhost)
function sockaddr(ep: Endpoint): { family: number; addr: Uint8Array } | null {
  if (ep.transport === "unix") {
    const p = new TextEncoder().encode(ep.path);
    if (p.length >= 108) return null;
    const a = new Uint8Array(110);
    new DataView(a.buffer).setUint16(0, AF_UNIX, true);
    a.set(p, 2);
    return { family: AF_UNIX, addr: a };
  }
  if (ep.transport !== "tcp") return null;
  const host = ep.hostname === "localhost" ? "127.0.0.1" : ep.hostname;
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host);
  if (!m || m.slice(1).some((x) => Number(x) > 255)) return null;
  const a = new Uint8Array(16);
  const v = new DataView(a.buffer);
  v.setUint16(0, AF_INET, true);
  v.setUint16(2, ep.port); // network order
  for (let i = 0; i < 4; i++) a[4 + i] = Number(m[1 + i]);
  return { family: AF_INET, addr: a };
}

export class FdStream {
  onFrame: ((frame: Uint8Array) => void) | null = null;
  readonly done: Promise<void>;
  closedReason: CloseReason | null = null;
  dropped = 0; // frames refused because the output queue was full
  writes = 0; // write() calls that moved bytes (a measure of batching)
  splitWrites = 0; // wholeFrames: send()s the socket took only part of (the kernel did not keep them whole)
  private readonly reader: FrameReader;
  private out = new Uint8Array(256 << 10);
  private outHead = 0; // out[outHead, outTail) is queued
  private outTail = 0;
  private readonly rbuf = new Uint8Array(READ_CHUNK);
  private readonly pfd = new Uint8Array(16);
  private readonly one = new BigUint64Array([1n]);
  private paused = false;
  private closed = false;
  private polling = false; // the poll thread is in poll(): wake it before changing pfd
  private finished!: () => void;
  // wholeFrames: the end offset in `out` of every queued frame, ends[endsHead..] (in order)
  private ends: number[] = [];
  private endsHead = 0;
  private atomicBytes = ATOMIC_BYTES;
  private sndbuf = 0;
  private readonly ioInt = new Int32Array(1);

  private constructor(
    private readonly c: Libc,
    private readonly fd: number,
    private readonly efd: number,
    readonly maxQueueBytes: number,
    readonly wholeFrames = false,
  ) {
    if (wholeFrames) {
      const len = new Uint32Array([4]);
      if (
        c.getsockopt(fd, SOL_SOCKET, SO_SNDBUF, new Uint8Array(this.ioInt.buffer), new Uint8Array(len.buffer)) === 0
      ) {
        this.sndbuf = this.ioInt[0];
        this.atomicBytes = Math.max(2048, Math.min(ATOMIC_BYTES, (this.sndbuf >> 1) - 64 - 1024));
      }
    }
    this.reader = new FrameReader((f) => {
      if (isHello(f)) {
        this.reader.offload = true; // the switch answered our hello
        return;
      }
      this.onFrame?.(f);
    });
    const v = new DataView(this.pfd.buffer);
    v.setInt32(0, fd, true);
    v.setInt32(8, efd, true);
    v.setInt16(12, POLLIN, true);
    this.done = new Promise((r) => (this.finished = r));
    this.loop();
  }

  // Dial `ep`: null when FFI is not available to this process or the endpoint is not one this
  // class dials (IPv6, host names): use net/client.ts then. Throws like Deno.connect on refusal.
  // `wholeFrames`: every send() carries whole frames (for passt; see the top of this file).
  static async connect(
    ep: Endpoint,
    opts: { maxQueueBytes?: number; wholeFrames?: boolean } = {},
  ): Promise<FdStream | null> {
    const c = fdStreamLibc();
    const sa = sockaddr(ep);
    if (!c || !sa) return null;
    const fd = c.socket(sa.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`socket: ${errText(c, errno(c))}`);
    try {
      if (c.connect(fd, sa.addr, sa.addr.length) < 0) {
        const e = errno(c);
        if (e !== EINPROGRESS && e !== EAGAIN) throw new Error(`connect: ${errText(c, e)}`);
        // wait for the connection (TCP), then its outcome
        const p = new Uint8Array(8);
        new DataView(p.buffer).setInt32(0, fd, true);
        new DataView(p.buffer).setInt16(4, POLLOUT, true);
        if ((await c.poll(p, 1n, 10_000)) <= 0) throw new Error("connect: timed out");
        const val = new Int32Array(1), len = new Uint32Array([4]);
        c.getsockopt(fd, SOL_SOCKET, SO_ERROR, new Uint8Array(val.buffer), new Uint8Array(len.buffer));
        if (val[0] !== 0) throw new Error(`connect: ${errText(c, val[0])}`);
      }
      if (sa.family === AF_INET) {
        c.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, new Uint8Array(new Int32Array([1]).buffer), 4);
      }
      const efd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (efd < 0) throw new Error(`eventfd: ${errText(c, errno(c))}`);
      return new FdStream(c, fd, efd, opts.maxQueueBytes ?? 1 << 20, opts.wholeFrames ?? false);
    } catch (e) {
      c.close(fd);
      throw e;
    }
  }

  /** Offer offloads (net/offload.ts): flagged frames flow once the switch answers. */
  sendHello(mac: Uint8Array): void {
    this.queue(helloFrame(mac), null);
    this.flush();
  }

  get offload(): boolean {
    return this.reader.offload;
  }

  /** Bytes queued and not yet written. */
  get pending(): number {
    return this.outTail - this.outHead;
  }

  /** Queue a frame (written by the next flush()); false when dropped (queue full or closed). */
  send(frame: Uint8Array): boolean {
    const hdr = headerOf(frame);
    if (hdr === undefined || !needsWork(hdr)) return this.queue(frame, null);
    if (this.reader.offload) return this.queue(frame, hdr);
    let ok = true;
    for (const s of software(frame, hdr)) ok = this.queue(s, null) && ok;
    return ok;
  }

  private queue(frame: Uint8Array, hdr: Uint8Array | null): boolean {
    if (this.closed) return false;
    const need = 4 + (hdr ? VNET_HDR_LEN : 0) + frame.length;
    if (this.outTail - this.outHead + need > this.maxQueueBytes) {
      this.dropped++;
      return false;
    }
    if (this.outTail + need > this.out.length) {
      // compact, or grow (up to the queue bound plus one frame)
      const live = this.outTail - this.outHead;
      let size = this.out.length;
      while (live + need > size) size *= 2;
      if (size === this.out.length) this.out.copyWithin(0, this.outHead, this.outTail);
      else {
        const next = new Uint8Array(size);
        next.set(this.out.subarray(this.outHead, this.outTail), 0);
        this.out = next;
      }
      if (this.wholeFrames) {
        const shift = this.outHead, ends = this.ends.slice(this.endsHead);
        for (let i = 0; i < ends.length; i++) ends[i] -= shift;
        this.ends = ends;
        this.endsHead = 0;
      }
      this.outHead = 0;
      this.outTail = live;
    }
    const o = this.outTail;
    const len = hdr ? (OFFLOAD_BIT + VNET_HDR_LEN + frame.length) >>> 0 : frame.length;
    this.out[o] = len >>> 24, this.out[o + 1] = (len >>> 16) & 0xff;
    this.out[o + 2] = (len >>> 8) & 0xff, this.out[o + 3] = len & 0xff;
    let p = o + 4;
    if (hdr) {
      this.out.set(hdr.subarray(0, VNET_HDR_LEN), p);
      p += VNET_HDR_LEN;
    }
    this.out.set(frame, p);
    this.outTail = p + frame.length;
    if (this.wholeFrames) this.ends.push(this.outTail);
    return true;
  }

  /** Write what is queued, as far as the socket takes it now; the rest waits for POLLOUT. */
  flush(): void {
    if (this.closed) return;
    if (this.wholeFrames) return this.flushWhole();
    while (this.outHead < this.outTail) {
      const n = Number(
        this.c.send(this.fd, this.out.subarray(this.outHead), BigInt(this.outTail - this.outHead), MSG_NOSIGNAL),
      );
      if (n < 0) {
        const e = errno(this.c);
        if (e === EINTR) continue;
        if (e === EAGAIN) break;
        this.finish(e === ECONNRESET || e === EPIPE ? "reset" : "error");
        return;
      }
      this.writes++;
      this.outHead += n;
    }
    if (this.outHead === this.outTail) this.outHead = this.outTail = 0;
    else this.wakePoller(); // poll for room to write
  }

  // flush() for a peer that needs whole frames per read: see the top of this file
  private flushWhole(): void {
    const ends = this.ends;
    while (this.outHead < this.outTail) {
      let end = ends[this.endsHead];
      if (end - this.outHead > this.atomicBytes) {
        // one frame larger than a socket buffer: only while the socket has room for all of it
        if (!this.roomFor(end - this.outHead)) {
          this.wakePoller();
          return;
        }
      } else {
        for (let k = this.endsHead + 1; k < ends.length && ends[k] - this.outHead <= this.atomicBytes; k++) {
          end = ends[k];
        }
      }
      const want = end - this.outHead;
      const n = Number(this.c.send(this.fd, this.out.subarray(this.outHead, end), BigInt(want), MSG_NOSIGNAL));
      if (n < 0) {
        const e = errno(this.c);
        if (e === EINTR) continue;
        if (e === EAGAIN) break;
        this.finish(e === ECONNRESET || e === EPIPE ? "reset" : "error");
        return;
      }
      this.writes++;
      if (n < want) this.splitWrites++; // the rest of that frame goes next
      this.outHead += n;
      while (this.endsHead < ends.length && ends[this.endsHead] <= this.outHead) this.endsHead++;
    }
    if (this.outHead === this.outTail) {
      this.outHead = this.outTail = 0;
      this.ends.length = 0;
      this.endsHead = 0;
    } else {
      if (this.endsHead > 4096 && this.endsHead * 2 > ends.length) {
        this.ends = ends.slice(this.endsHead);
        this.endsHead = 0;
      }
      this.wakePoller(); // poll for room to write
    }
  }

  // room in the socket for `len` more bytes in one piece (its queued bytes, from TIOCOUTQ, count
  // buffer overheads too)
  private roomFor(len: number): boolean {
    if (this.c.ioctl(this.fd, BigInt(TIOCOUTQ), new Uint8Array(this.ioInt.buffer)) !== 0) return true;
    const queued = this.ioInt[0];
    // (writable as poll() sees it, at most a quarter full, also passes: no spinning on POLLOUT)
    return queued === 0 || this.sndbuf - queued >= 2 * len + 4096 || queued * 4 <= this.sndbuf;
  }

  /** Read and hand out every frame waiting now (up to PUMP_BUDGET bytes); returns bytes read. */
  pump(): number {
    let got = 0;
    while (!this.closed && !this.paused && got < PUMP_BUDGET) {
      const n = Number(this.c.read(this.fd, this.rbuf, BigInt(this.rbuf.length)));
      if (n < 0) {
        const e = errno(this.c);
        if (e === EINTR) continue;
        if (e !== EAGAIN) this.finish(e === ECONNRESET ? "reset" : "error");
        break;
      }
      if (n === 0) {
        this.finish(this.reader.midFrame ? "mid-frame" : "eof");
        break;
      }
      got += n;
      try {
        this.reader.push(this.rbuf.subarray(0, n));
      } catch (e) {
        if (!(e instanceof FramingError)) throw e;
        this.finish("framing");
      }
      if (n < this.rbuf.length) break; // drained
    }
    return got;
  }

  /** Stop reading: the peer's frames wait in the socket (see StreamPort.pause). */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.wakePoller();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.wakePoller();
  }

  close(): Promise<void> {
    this.finish("local");
    return this.done;
  }

  private wakePoller(): void {
    if (this.polling) this.c.write(this.efd, new Uint8Array(this.one.buffer), 8n);
  }

  private finish(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.closedReason = reason;
    this.outHead = this.outTail = 0;
    this.ends.length = 0;
    this.endsHead = 0;
    this.wakePoller(); // the loop closes the descriptors once its poll() has returned
    if (!this.polling) this.release();
  }

  private released = false;
  private release(): void {
    if (this.released) return;
    this.released = true;
    this.c.close(this.fd);
    this.c.close(this.efd);
    this.finished();
  }

  // The idle path: wait in poll() on a blocking thread, then read (or write) on this thread.
  private async loop(): Promise<void> {
    const c = this.c, v = new DataView(this.pfd.buffer);
    const drain = new Uint8Array(8);
    let hupSpins = 0;
    while (!this.closed) {
      const events = (this.paused ? 0 : POLLIN) | (this.outHead < this.outTail ? POLLOUT : 0);
      v.setInt16(4, events, true);
      v.setInt16(6, 0, true);
      v.setInt16(14, 0, true);
      this.polling = true;
      const r = await c.poll(this.pfd, 2n, -1);
      this.polling = false;
      if (this.closed) break;
      if (r < 0) continue; // EINTR (errno is another thread's here)
      const re = v.getInt16(6, true), ee = v.getInt16(14, true);
      if (ee) c.read(this.efd, drain, 8n);
      if (re & (POLLERR | POLLHUP) && this.paused) {
        // the peer is gone while the NIC holds the link: do not spin on it
        if (++hupSpins > 3) await new Promise((res) => setTimeout(res, 20));
        continue;
      }
      hupSpins = 0;
      if (re & POLLOUT) this.flush();
      if (re & (POLLIN | POLLERR | POLLHUP)) this.pump();
    }
    this.release();
  }
}
