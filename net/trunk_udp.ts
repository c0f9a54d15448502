// Trunks over UDP: the same handshake, keys and FRAMES messages as over TCP (trunk.ts), one
// message per datagram. A listener shares one socket among its peers and tells them apart by
// source address and port; a dialer uses a socket of its own per attempt and listens only to its
// peer. Nothing here retransmits: a lost datagram loses the frames it carried, and a trunk ends
// only when its peer has been silent past the keepalive deadline (or sends nonsense during the
// handshake), after which the dialer redials.
import type { Endpoint } from "./addr.ts";
import { LogThrottle, PendingSet, RateLimiter, sourceOf } from "./guard.ts";
import {
  accept,
  checkHelloCookie,
  cookieMsg,
  dial,
  DialLog,
  HANDSHAKE_MAX_MSG,
  HELLO_COOKIE_LEN,
  HELLO_LEN,
  isMsg,
  T_HELLO,
  type TrunkContext,
  versionError,
  versionNotice,
  type Wire,
} from "./trunk.ts";
import { dgram, dnsLookup as lookup, type NetAddr } from "../runtime/platform/mod.ts";

/** datagrams waiting for the trunk to read them; beyond this they are lost like on the wire */
const MAX_QUEUED = 1024;
/** the same during the handshake, which reads one message at a time */
const HANDSHAKE_QUEUED = 4;

type Sock = ReturnType<typeof dgram.createSocket>;
interface RInfo {
  address: string;
  port: number;
}

const key = (host: string, port: number) => `${host.includes(":") ? `[${host}]` : host}:${port}`;

class UdpWire implements Wire {
  readonly datagram = true;
  private readonly queue: Uint8Array[] = [];
  private waiter: ((m: Uint8Array | null) => void) | null = null;
  private closed = false;
  private maxQueued = HANDSHAKE_QUEUED;
  private maxLen = HANDSHAKE_MAX_MSG;
  dropped = 0;

  constructor(
    private readonly sock: Sock,
    readonly host: string,
    private readonly port: number,
    private readonly onClose: () => void,
  ) {}

  get peer(): string {
    return key(this.host, this.port);
  }

  push(m: Uint8Array): void {
    if (this.closed) return;
    if (m.length > this.maxLen) {
      this.dropped++;
      return;
    }
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(m);
    } else if (this.queue.length < this.maxQueued) this.queue.push(m);
    else this.dropped++;
  }

  next(): Promise<Uint8Array | null> {
    if (this.queue.length) return Promise.resolve(this.queue.shift()!);
    if (this.closed) return Promise.resolve(null);
    return new Promise((r) => (this.waiter = r));
  }

  open(): void {
    this.maxQueued = MAX_QUEUED;
    this.maxLen = Infinity;
  }

  drained(): Promise<void> {
    return this.lastSend;
  }

  private lastSend = Promise.resolve();

  write(msg: Uint8Array): boolean {
    if (this.closed) return false;
    try {
      this.lastSend = new Promise((r) => this.sock.send(msg, this.port, this.host, () => r()));
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.waiter?.(null);
    this.waiter = null;
    this.onClose();
  }
}

function bind(sock: Sock, port: number, host?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(port, host, () => {
      sock.off("error", reject);
      resolve();
    });
  });
}

const family = (host: string) => (host.includes(":") ? "udp6" : "udp4");

/**
 * Accept trunks on a UDP endpoint. A HELLO gets a COOKIE and leaves nothing behind; only a
 * HELLO+COOKIE with a cookie issued to its sender's address and port opens a session (bounded in
 * number, per source and in total: guard.ts), whose datagrams then go to its handshake and link.
 */
export class UdpTrunkListener {
  private readonly sock: Sock;
  private readonly sessions = new Map<string, UdpWire>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly rate: RateLimiter;
  private readonly pending: PendingSet<UdpWire>;
  private readonly evicted = new WeakSet<UdpWire>();
  readonly throttle: LogThrottle;
  readonly ready: Promise<void>;
  /** datagrams from unknown peers that do not open a handshake */
  strays = 0;
  /** cookies sent (answers to HELLOs) */
  cookies = 0;

  constructor(private readonly ep: Extract<Endpoint, { transport: "udp" }>, private readonly ctx: TrunkContext) {
    const lim = ctx.limits;
    this.rate = new RateLimiter(lim.handshakeRate);
    this.throttle = new LogThrottle(`trunk listener udp:${key(ep.hostname, ep.port)}`, ctx.log, lim.logIntervalMs);
    this.pending = new PendingSet(lim.maxPending, lim.maxPendingPerSource, (w) => {
      this.evicted.add(w);
      this.throttle.refuse("evicted (pending limit)", sourceOf(w.host));
      w.close();
    });
    this.sock = dgram.createSocket(family(ep.hostname));
    this.sock.on("message", (m: Uint8Array, r: RInfo) => this.onMessage(new Uint8Array(m), r));
    this.sock.on("error", (e: Error) => ctx.log(`trunk udp listener: ${e.message}`));
    this.ready = bind(this.sock, ep.port, ep.hostname);
  }

  get addr(): NetAddr {
    const a = this.sock.address();
    return { transport: "udp", hostname: a.address, port: a.port };
  }

  /** sessions (handshakes in progress and links) */
  get sessionCount(): number {
    return this.sessions.size;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  private send(m: Uint8Array, r: RInfo): void {
    try {
      this.sock.send(m, r.port, r.address);
    } catch { /* closed */ }
  }

  private onMessage(m: Uint8Array, r: RInfo): void {
    const k = key(r.address, r.port);
    const s = this.sessions.get(k);
    if (s) return s.push(m);
    const source = sourceOf(r.address);
    const v = m.length === HELLO_LEN ? versionError(m) : null;
    if (v !== null || isMsg(m, T_HELLO, HELLO_LEN)) {
      // an answer costs a datagram no larger than the question, and never state
      if (!this.rate.take(source)) return this.throttle.refuse("rate limit", source);
      if (v !== null) {
        this.send(versionNotice(), r);
        return this.throttle.refuse("protocol version", source, `trunk ${k}: refused: ${v}`);
      }
      this.cookies++;
      return this.send(cookieMsg(this.ctx, k, m), r);
    }
    if (m.length !== HELLO_COOKIE_LEN) {
      this.strays++;
      return;
    }
    const hello = checkHelloCookie(this.ctx, k, m);
    if (hello === null) return this.throttle.refuse("bad cookie", source);
    const wire = new UdpWire(this.sock, r.address, r.port, () => {
      if (this.sessions.get(k) === wire) this.sessions.delete(k);
    });
    this.sessions.set(k, wire);
    this.pending.admit(source, wire);
    const t = this.serve(wire, hello, source);
    this.tasks.add(t);
    t.finally(() => this.tasks.delete(t));
  }

  private async serve(wire: UdpWire, hello: Uint8Array, source: string): Promise<void> {
    let link;
    try {
      link = await accept(wire, hello, this.ctx, (reason, msg) => {
        if (!this.evicted.has(wire)) this.throttle.refuse(reason, source, `trunk ${wire.peer}: refused: ${msg}`);
      });
    } finally {
      this.pending.remove(source, wire);
    }
    if (link === null) return;
    this.ctx.log(`trunk ${link.peer}: up (accepted over udp)`);
    await link.run();
  }

  async close(): Promise<void> {
    for (const w of [...this.sessions.values()]) w.close();
    await Promise.all(this.tasks);
    await new Promise<void>((r) => this.sock.close(() => r()));
    this.throttle.close();
  }
}

/** Keep one trunk to a UDP endpoint, redialling with exponential backoff. */
export class UdpTrunkDialer {
  link: import("./trunk.ts").TrunkLink | null = null;
  private stopped = false;
  private wire: UdpWire | null = null;
  private wake: (() => void) | null = null;
  private sleepTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly done: Promise<void>;
  private readonly dialLog: DialLog;

  constructor(
    readonly ep: Extract<Endpoint, { transport: "udp" }>,
    private readonly ctx: TrunkContext,
    private readonly backoff = { minMs: 200, maxMs: 10_000 },
  ) {
    this.dialLog = new DialLog(ctx);
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    const name = `udp:${key(this.ep.hostname, this.ep.port)}`;
    let delay = this.backoff.minMs;
    let failing = false;
    while (!this.stopped) {
      let sock: Sock | null = null;
      try {
        const host = (await lookup(this.ep.hostname)).address;
        sock = dgram.createSocket(family(host));
        await bind(sock, 0);
        const wire = new UdpWire(sock, host, this.ep.port, () => {});
        sock.on("message", (m: Uint8Array, r: RInfo) => {
          if (r.port === this.ep.port && r.address === host) wire.push(new Uint8Array(m));
        });
        sock.on("error", () => wire.close());
        this.wire = wire;
        const link = this.stopped ? null : await dial(wire, this.ctx, this.dialLog);
        if (link !== null) {
          this.link = link;
          failing = false;
          this.ctx.log(`trunk ${name}: up (connected over udp)`);
          delay = this.backoff.minMs;
          await link.run();
          this.link = null;
        } else failing = true;
      } catch (e) {
        if (!failing) this.ctx.log(`trunk ${name}: cannot dial (${e instanceof Error ? e.message : e}); retrying`);
        failing = true;
      } finally {
        this.wire?.close();
        this.wire = null;
        const s = sock;
        if (s) await new Promise<void>((r) => s.close(() => r()));
      }
      if (this.stopped) break;
      await new Promise<void>((r) => {
        this.wake = r;
        this.sleepTimer = setTimeout(r, delay * (0.75 + Math.random() * 0.5));
      });
      delay = Math.min(delay * 2, this.backoff.maxMs);
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.sleepTimer);
    this.wake?.();
    this.link?.close("shutting down");
    this.wire?.close();
    await this.done;
  }
}
