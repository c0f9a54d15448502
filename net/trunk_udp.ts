// Trunks over UDP: the same handshake, keys and FRAMES messages as over TCP (trunk.ts), one
// message per datagram. A listener shares one socket among its peers and tells them apart by
// source address and port; a dialer uses a socket of its own per attempt and listens only to its
// peer. Nothing here retransmits: a lost datagram loses the frames it carried, and a trunk ends
// only when its peer has been silent past the keepalive deadline (or sends nonsense during the
// handshake), after which the dialer redials.
import dgram from "node:dgram";
import { lookup } from "node:dns/promises";
import type { Endpoint } from "./addr.ts";
import { handshake, type TrunkContext, type Wire } from "./trunk.ts";

/** datagrams waiting for the trunk to read them; beyond this they are lost like on the wire */
const MAX_QUEUED = 1024;
/** handshakes in progress on one listener at most (each costs a little memory and a timer) */
const MAX_PENDING = 64;
/** the HELLO that opens a handshake: 52 bytes starting with the magic */
const HELLO_LEN = 52;
const MAGIC = "RING3TRK";

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
  dropped = 0;

  constructor(
    private readonly sock: Sock,
    private readonly host: string,
    private readonly port: number,
    private readonly onClose: () => void,
  ) {}

  get peer(): string {
    return key(this.host, this.port);
  }

  push(m: Uint8Array): void {
    if (this.closed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(m);
    } else if (this.queue.length < MAX_QUEUED) this.queue.push(m);
    else this.dropped++;
  }

  next(): Promise<Uint8Array | null> {
    if (this.queue.length) return Promise.resolve(this.queue.shift()!);
    if (this.closed) return Promise.resolve(null);
    return new Promise((r) => (this.waiter = r));
  }

  write(msg: Uint8Array): boolean {
    if (this.closed) return false;
    try {
      this.sock.send(msg, this.port, this.host);
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

function isHello(m: Uint8Array): boolean {
  if (m.length !== HELLO_LEN) return false;
  for (let i = 0; i < MAGIC.length; i++) if (m[i] !== MAGIC.charCodeAt(i)) return false;
  return true;
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

/** Accept trunks on a UDP endpoint. */
export class UdpTrunkListener {
  private readonly sock: Sock;
  private readonly sessions = new Map<string, UdpWire>();
  private readonly tasks = new Set<Promise<void>>();
  private pending = 0;
  readonly ready: Promise<void>;
  /** datagrams from unknown peers that do not open a handshake */
  strays = 0;

  constructor(private readonly ep: Extract<Endpoint, { transport: "udp" }>, private readonly ctx: TrunkContext) {
    this.sock = dgram.createSocket(family(ep.hostname));
    this.sock.on("message", (m: Uint8Array, r: RInfo) => this.onMessage(new Uint8Array(m), r));
    this.sock.on("error", (e: Error) => ctx.log(`trunk udp listener: ${e.message}`));
    this.ready = bind(this.sock, ep.port, ep.hostname);
  }

  get addr(): Deno.NetAddr {
    const a = this.sock.address();
    return { transport: "udp", hostname: a.address, port: a.port };
  }

  private onMessage(m: Uint8Array, r: RInfo): void {
    const k = key(r.address, r.port);
    const s = this.sessions.get(k);
    if (s) return s.push(m);
    if (!isHello(m) || this.pending >= MAX_PENDING) {
      this.strays++;
      return;
    }
    const wire = new UdpWire(this.sock, r.address, r.port, () => this.sessions.delete(k));
    this.sessions.set(k, wire);
    wire.push(m);
    const t = this.serve(wire);
    this.tasks.add(t);
    t.finally(() => this.tasks.delete(t));
  }

  private async serve(wire: UdpWire): Promise<void> {
    this.pending++;
    let link;
    try {
      link = await handshake(wire, "S", this.ctx);
    } finally {
      this.pending--;
    }
    if (link === null) return;
    this.ctx.log(`trunk ${link.peer}: up (accepted over udp)`);
    await link.run();
  }

  async close(): Promise<void> {
    for (const w of [...this.sessions.values()]) w.close();
    await Promise.all(this.tasks);
    await new Promise<void>((r) => this.sock.close(() => r()));
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

  constructor(
    readonly ep: Extract<Endpoint, { transport: "udp" }>,
    private readonly ctx: TrunkContext,
    private readonly backoff = { minMs: 200, maxMs: 10_000 },
  ) {
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
        const link = this.stopped ? null : await handshake(wire, "C", this.ctx);
        if (link !== null) {
          this.link = link;
          failing = false;
          this.ctx.log(`trunk ${name}: up (connected over udp)`);
          delay = this.backoff.minMs;
          await link.run();
          this.link = null;
        } else if (!failing && !this.stopped) {
          failing = true;
          this.ctx.log(`trunk ${name}: no handshake; retrying`);
        }
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
