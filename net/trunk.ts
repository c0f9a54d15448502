// Switch-to-switch trunks over TCP or UDP. Over TCP, messages use the same 4-byte big-endian
// length prefix as the ports (stream.ts); over UDP each datagram is one message (trunk_udp.ts).
// Inside, ring3's own encapsulation:
//
//   HELLO (plaintext, 52 bytes)  magic "RING3TRK" | version u8 | type=1 | 0 u16
//                                | switch id (8 random bytes per daemon) | nonce (32 random bytes)
//   AUTH  (8 + 32 bytes)         version | type=2 | 0 u16 | 0 u32 | HMAC-SHA256 proof (trunk_crypto.ts)
//   FRAMES (16 + n + 16 bytes)   version | type=3 | 0 u16 | record count u32 | sequence u64
//                                | AES-256-GCM(records) with its 16-byte tag, where a record is
//                                  network id u32 | length u16 | Ethernet frame
//   KEEPALIVE                    as FRAMES with type=4 and no records
//
// All frames the switches hand a trunk in one event-loop turn travel in one FRAMES message
// (up to BATCH_BYTES, over UDP about one Ethernet MTU so that a lost datagram loses few frames):
// one cipher call per batch instead of per frame.
//
// Over UDP a lost datagram loses the frames in it and nothing else: sequence numbers only have
// to increase, so a gap is fine and a late (reordered) message is dropped like a replay; a
// datagram that is not an authentic message is dropped and counted instead of closing the trunk
// (anyone can send one); a lost handshake message times the handshake out and the dialer tries
// again; keepalives tell a live peer from a gone one.
//
// Handshake: both sides send HELLO; the connecting side (C) sends its proof; the accepting side
// (S) checks it before revealing its own proof; C checks S's. A side without the key is refused
// and logged. FRAME headers are the GCM additional data and the sequence number is the IV
// (per-direction keys), so a changed header or payload fails authentication (dropped, counted)
// and a replayed or reordered message fails the strictly-increasing sequence check.
//
// One trunk carries every virtual network the two daemons host; a frame is delivered only into
// the switch of its network id on the far side, so networks sharing a trunk never see each
// other's frames. Loop freedom comes from the switches' split horizon (switch.ts): a frame that
// came in over a trunk never leaves over another trunk, so each frame crosses at most one trunk.
// The topology rule is therefore: a full mesh (every pair of daemons of a network trunked
// directly). A tree of trunks instead needs split horizon off on its inner switches (--relay).

import { connAddr, type Endpoint, endpointToString } from "./addr.ts";
import { FramedWriter, FrameReader } from "./stream.ts";
import type { Switch, SwitchPort } from "./switch.ts";
import { authProof, checkProof, type Psk, type Role, sessionKeys } from "./trunk_crypto.ts";

export const TRUNK_VERSION = 1;
const MAGIC = new TextEncoder().encode("RING3TRK");
const T_HELLO = 1, T_AUTH = 2, T_FRAME = 3, T_KEEPALIVE = 4;
const HELLO_LEN = 52;
const AUTH_LEN = 40;
const HDR = 16;
const TAG = 16;
/** messages being encrypted / decrypted per direction before frames are dropped / reading pauses */
const MAX_INFLIGHT = 64;
/** plaintext bytes per FRAMES message at most */
const BATCH_BYTES = 60_000;
const UDP_BATCH_BYTES = 1400;
const REC = 6;

export type Log = (msg: string) => void;

export interface TrunkCounters {
  links: number;
  authFailures: number;
  protocolErrors: number;
}

/** What all trunks of one daemon share. */
export interface TrunkContext {
  psk: Psk;
  switchId: Uint8Array;
  networks: Map<number, Switch>;
  links: Set<TrunkLink>;
  log: Log;
  counters: TrunkCounters;
  keepaliveMs?: number;
  deadMs?: number;
  handshakeMs?: number;
}

export function newTrunkContext(
  psk: Psk,
  networks: Map<number, Switch>,
  log: Log,
  opts: { keepaliveMs?: number; deadMs?: number; handshakeMs?: number } = {},
): TrunkContext {
  return {
    psk,
    switchId: crypto.getRandomValues(new Uint8Array(8)),
    networks,
    links: new Set(),
    log,
    counters: { links: 0, authFailures: 0, protocolErrors: 0 },
    ...opts,
  };
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

class ProtocolError extends Error {}
class AuthError extends Error {}

/** A trunk's transport: whole messages in, whole messages out. */
export interface Wire {
  /** next message, or null once the transport is closed */
  next(): Promise<Uint8Array | null>;
  /** queue one message; false when it was dropped */
  write(msg: Uint8Array): boolean;
  close(): void;
  readonly peer: string;
  /** messages may be lost, duplicated or reordered: drop bad ones instead of closing */
  readonly datagram: boolean;
}

/** Message-at-a-time reading over a connection, for the handshake and the main loop. */
class MessageStream {
  private readonly queue: Uint8Array[] = [];
  private readonly reader: FrameReader;
  private readonly buf = new Uint8Array(65536);
  constructor(private readonly conn: Deno.Conn) {
    this.reader = new FrameReader((m) => this.queue.push(m), 65536 + 64);
  }
  /** next message, or null at end of stream */
  async next(): Promise<Uint8Array | null> {
    while (this.queue.length === 0) {
      const n = await this.conn.read(this.buf);
      if (n === null) return null;
      this.reader.push(this.buf.subarray(0, n));
    }
    return this.queue.shift()!;
  }
}

/** Length-prefixed messages over a TCP connection. */
export class StreamWire implements Wire {
  readonly datagram = false;
  readonly peer: string;
  private readonly ms: MessageStream;
  private readonly writer: FramedWriter;
  constructor(private readonly conn: Deno.Conn) {
    this.peer = connAddr(conn.remoteAddr);
    this.ms = new MessageStream(conn);
    this.writer = new FramedWriter(conn, () => {});
  }
  next(): Promise<Uint8Array | null> {
    return this.ms.next();
  }
  write(msg: Uint8Array): boolean {
    return this.writer.write(msg);
  }
  close(): void {
    this.writer.close();
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

function header(type: number, count: number, seq: number): Uint8Array<ArrayBuffer> {
  const h = new Uint8Array(HDR);
  const v = new DataView(h.buffer);
  h[0] = TRUNK_VERSION;
  h[1] = type;
  v.setUint32(4, count);
  v.setUint32(8, Math.floor(seq / 0x1_0000_0000));
  v.setUint32(12, seq >>> 0);
  return h;
}

function ivFor(seq: number): Uint8Array<ArrayBuffer> {
  const iv = new Uint8Array(12);
  const v = new DataView(iv.buffer);
  v.setUint32(4, Math.floor(seq / 0x1_0000_0000));
  v.setUint32(8, seq >>> 0);
  return iv;
}

function makeHello(switchId: Uint8Array): Uint8Array {
  const h = new Uint8Array(HELLO_LEN);
  h.set(MAGIC, 0);
  h[8] = TRUNK_VERSION;
  h[9] = T_HELLO;
  h.set(switchId, 12);
  crypto.getRandomValues(h.subarray(20, 52));
  return h;
}

function checkHello(h: Uint8Array | null): void {
  if (h === null) throw new ProtocolError("closed during handshake");
  if (h.length !== HELLO_LEN || MAGIC.some((b, i) => h[i] !== b)) throw new ProtocolError("not a ring3 trunk");
  if (h[8] !== TRUNK_VERSION) {
    throw new ProtocolError(`trunk protocol version ${h[8]}, this switch speaks ${TRUNK_VERSION}`);
  }
  if (h[9] !== T_HELLO) throw new ProtocolError("expected HELLO");
}

function checkAuthMsg(m: Uint8Array | null): Uint8Array {
  if (m === null) throw new AuthError("peer closed during authentication (wrong key on its side?)");
  if (m.length !== AUTH_LEN || m[0] !== TRUNK_VERSION || m[1] !== T_AUTH) throw new ProtocolError("expected AUTH");
  return m.subarray(8);
}

/**
 * Run the handshake on a fresh connection. Resolves to an established link (not yet reading:
 * call run()), or null after logging why the peer was refused; the connection is closed then.
 */
export async function handshake(wire: Wire, role: Role, ctx: TrunkContext): Promise<TrunkLink | null> {
  const peer = wire.peer;
  const ms = wire;
  const writer = wire;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new ProtocolError("handshake timed out")), ctx.handshakeMs ?? 5000);
  });
  try {
    const mine = makeHello(ctx.switchId);
    writer.write(mine);
    const theirs = await Promise.race([ms.next(), timeout]);
    checkHello(theirs);
    const helloC = role === "C" ? mine : theirs!;
    const helloS = role === "C" ? theirs! : mine;
    const proofMsg = async (r: Role) => {
      const m = new Uint8Array(AUTH_LEN);
      m[0] = TRUNK_VERSION;
      m[1] = T_AUTH;
      m.set(await authProof(ctx.psk, r, helloC, helloS), 8);
      return m;
    };
    const peerRole: Role = role === "C" ? "S" : "C";
    if (role === "C") writer.write(await proofMsg("C"));
    const proof = checkAuthMsg(await Promise.race([ms.next(), timeout]));
    if (!(await checkProof(ctx.psk, peerRole, helloC, helloS, proof))) {
      throw new AuthError("key proof does not verify (peer has a different key)");
    }
    if (role === "S") writer.write(await proofMsg("S"));
    const peerId = theirs!.slice(12, 20);
    if (hex(peerId) === hex(ctx.switchId)) throw new ProtocolError("trunk to itself");
    for (const l of ctx.links) {
      if (hex(l.peerId) === hex(peerId)) throw new ProtocolError(`duplicate trunk to switch ${hex(peerId)}`);
    }
    const keys = await sessionKeys(ctx.psk, helloC, helloS);
    const [tx, rx] = role === "C" ? [keys.c2s, keys.s2c] : [keys.s2c, keys.c2s];
    return new TrunkLink(wire, peerId, tx, rx, ctx);
  } catch (e) {
    if (e instanceof AuthError) {
      ctx.counters.authFailures++;
      ctx.log(`trunk ${peer}: authentication failed, refused: ${e.message}`);
    } else {
      ctx.counters.protocolErrors++;
      ctx.log(`trunk ${peer}: refused: ${e instanceof Error ? e.message : e}`);
    }
    wire.close();
    return null;
  } finally {
    clearTimeout(timer);
  }
}

export interface LinkCounters {
  rxFrames: number;
  txFrames: number;
  /** frames whose GCM tag did not verify (tampered or forged) */
  authFailed: number;
  /** authentic messages with a sequence number not above the last accepted one */
  replayed: number;
  /** authentic frames for a network this daemon does not host */
  unknownNet: number;
  /** frames dropped because the peer or the cipher could not keep up */
  txDropped: number;
  /** datagrams that were not a trunk message at all (UDP only; TCP closes the trunk) */
  malformed: number;
}

/** One authenticated trunk connection, with a switch port on every local network. */
export class TrunkLink {
  readonly counters: LinkCounters = {
    rxFrames: 0,
    txFrames: 0,
    authFailed: 0,
    replayed: 0,
    unknownNet: 0,
    txDropped: 0,
    malformed: 0,
  };
  readonly ports = new Map<number, { sw: Switch; port: SwitchPort }>();
  private txSeq = 0;
  private rxSeq = 0;
  private txChain: Promise<void> = Promise.resolve();
  private rxChain: Promise<void> = Promise.resolve();
  private txInflight = 0;
  private rxInflight = 0;
  /** pending batch: network id, frame, network id, frame, ... */
  private batch: (number | Uint8Array)[] = [];
  private batchBytes = 0;
  private flushQueued = false;
  private lastTx = performance.now();
  private lastRx = performance.now();
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private closedPromise: Promise<void>;
  private resolveClosed!: () => void;
  private lastAuthLog = -Infinity;
  readonly peer: string;
  private readonly batchLimit: number;

  constructor(
    private readonly wire: Wire,
    readonly peerId: Uint8Array,
    private readonly txKey: CryptoKey,
    private readonly rxKey: CryptoKey,
    private readonly ctx: TrunkContext,
  ) {
    this.peer = wire.peer;
    this.batchLimit = wire.datagram ? UDP_BATCH_BYTES : BATCH_BYTES;
    this.closedPromise = new Promise((r) => this.resolveClosed = r);
    ctx.links.add(this);
    ctx.counters.links++;
    for (const [netId, sw] of ctx.networks) {
      const port = sw.addPort({ send: (f) => this.sendFrame(netId, f) }, {
        name: `trunk ${this.peer} net ${netId}`,
        trunk: true,
      });
      this.ports.set(netId, { sw, port });
    }
    const ka = ctx.keepaliveMs ?? 5000;
    const dead = ctx.deadMs ?? 3 * ka;
    this.timer = setInterval(() => {
      const now = performance.now();
      if (now - this.lastRx > dead) this.close(`no message for ${dead} ms`);
      else if (now - this.lastTx >= ka) this.sendMessage(T_KEEPALIVE, 0, new Uint8Array(0));
    }, Math.max(10, Math.min(ka, dead) / 2));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Queue one frame for network `netId` into the current batch; false when dropped. */
  sendFrame(netId: number, frame: Uint8Array): boolean {
    if (this.closed || frame.length > 0xffff) {
      this.counters.txDropped++;
      return false;
    }
    if (this.batchBytes && this.batchBytes + REC + frame.length > this.batchLimit) this.flushBatch();
    if (this.txInflight >= MAX_INFLIGHT) {
      this.counters.txDropped++;
      return false;
    }
    this.batch.push(netId, frame);
    this.batchBytes += REC + frame.length;
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flushBatch());
    }
    return true;
  }

  private flushBatch(): void {
    this.flushQueued = false;
    const n = this.batch.length / 2;
    if (n === 0) return;
    const plain = new Uint8Array(this.batchBytes);
    const v = new DataView(plain.buffer);
    let o = 0;
    for (let i = 0; i < this.batch.length; i += 2) {
      const f = this.batch[i + 1] as Uint8Array;
      v.setUint32(o, this.batch[i] as number);
      v.setUint16(o + 4, f.length);
      plain.set(f, o + REC);
      o += REC + f.length;
    }
    this.batch = [];
    this.batchBytes = 0;
    this.sendMessage(T_FRAME, n, plain);
  }

  private sendMessage(type: number, count: number, payload: Uint8Array<ArrayBuffer>): void {
    if (this.closed) return;
    const seq = ++this.txSeq;
    const hdr = header(type, count, seq);
    this.lastTx = performance.now();
    this.txInflight++;
    const p = crypto.subtle.encrypt({ name: "AES-GCM", iv: ivFor(seq), additionalData: hdr }, this.txKey, payload);
    this.txChain = this.txChain.then(() => p).then((ct) => {
      this.txInflight--;
      const msg = new Uint8Array(HDR + ct.byteLength);
      msg.set(hdr, 0);
      msg.set(new Uint8Array(ct), HDR);
      if (this.wire.write(msg)) this.counters.txFrames += count;
      else this.counters.txDropped += count;
    }, () => {
      this.txInflight--;
      this.counters.txDropped += count;
    });
  }

  /** Read until the connection ends; resolves once the link is torn down. */
  async run(): Promise<void> {
    try {
      while (!this.closed) {
        const m = await this.wire.next();
        if (m === null) {
          this.close("peer closed the trunk");
          break;
        }
        this.receive(m);
        if (this.rxInflight >= MAX_INFLIGHT) await this.rxChain;
      }
    } catch (e) {
      this.close(e instanceof Error ? e.message : String(e));
    }
    await this.closedPromise;
  }

  private receive(m: Uint8Array): void {
    if (m.length < HDR + TAG || m[0] !== TRUNK_VERSION || (m[1] !== T_FRAME && m[1] !== T_KEEPALIVE)) {
      if (this.wire.datagram) {
        this.counters.malformed++;
        return;
      }
      this.ctx.counters.protocolErrors++;
      this.close(`malformed trunk message (${m.length} bytes, type ${m[1]})`);
      return;
    }
    const v = new DataView(m.buffer, m.byteOffset, HDR);
    const type = m[1];
    const count = v.getUint32(4);
    const seq = v.getUint32(8) * 0x1_0000_0000 + v.getUint32(12);
    const hdr = m.slice(0, HDR);
    const p = crypto.subtle.decrypt({ name: "AES-GCM", iv: ivFor(seq), additionalData: hdr }, this.rxKey, m.slice(HDR))
      .then((b) => new Uint8Array(b), () => null);
    this.rxInflight++;
    // decryptions run concurrently; delivery stays in arrival order
    this.rxChain = this.rxChain.then(() => p).then((frame) => {
      this.rxInflight--;
      if (this.closed) return;
      if (frame === null) {
        this.counters.authFailed++;
        const now = performance.now();
        if (now - this.lastAuthLog > 10_000) {
          this.lastAuthLog = now;
          this.ctx.log(`trunk ${this.peer}: dropped a message that failed authentication (tampered?)`);
        }
        return;
      }
      if (seq <= this.rxSeq) {
        this.counters.replayed++;
        return;
      }
      this.rxSeq = seq;
      this.lastRx = performance.now();
      if (type === T_KEEPALIVE) return;
      this.deliver(frame, count);
    });
  }

  /** Hand the records of an authentic FRAMES message to the switches of their networks. */
  private deliver(plain: Uint8Array, count: number): void {
    const v = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
    let o = 0;
    for (let i = 0; i < count; i++) {
      if (o + REC > plain.length || o + REC + v.getUint16(o + 4) > plain.length) {
        // authentic but inconsistent: the peer is broken, not an attacker
        this.ctx.counters.protocolErrors++;
        this.close("malformed FRAMES record");
        return;
      }
      const netId = v.getUint32(o);
      const len = v.getUint16(o + 4);
      const frame = plain.subarray(o + REC, o + REC + len);
      o += REC + len;
      const target = this.ports.get(netId);
      if (target === undefined) {
        this.counters.unknownNet++;
        continue;
      }
      this.counters.rxFrames++;
      target.sw.input(target.port, frame);
      if (this.closed) return;
    }
  }

  close(why = "closed locally"): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.wire.close();
    for (const { sw, port } of this.ports.values()) sw.removePort(port);
    this.ctx.links.delete(this);
    this.ctx.log(`trunk ${this.peer}: down: ${why}`);
    this.resolveClosed();
  }
}

/** Accept trunks on a TCP endpoint. */
export class TrunkListener {
  private readonly listener: Deno.Listener;
  private readonly tasks = new Set<Promise<void>>();
  private readonly conns = new Set<Deno.Conn>();
  private done: Promise<void>;

  constructor(ep: Endpoint, private readonly ctx: TrunkContext) {
    if (ep.transport !== "tcp") throw new Error(`trunk endpoints are tcp:HOST:PORT, not ${endpointToString(ep)}`);
    this.listener = Deno.listen({ hostname: ep.hostname, port: ep.port });
    this.done = this.acceptLoop();
  }

  get addr(): Deno.NetAddr {
    return this.listener.addr as Deno.NetAddr;
  }

  private async acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.listener.accept();
      } catch {
        return; // listener closed
      }
      const t = this.serve(conn);
      this.tasks.add(t);
      t.finally(() => this.tasks.delete(t));
    }
  }

  private async serve(conn: Deno.Conn): Promise<void> {
    (conn as Deno.TcpConn).setNoDelay?.(true);
    this.conns.add(conn);
    const link = await handshake(new StreamWire(conn), "S", this.ctx);
    this.conns.delete(conn);
    if (link === null) return;
    this.ctx.log(`trunk ${link.peer}: up (accepted, peer switch ${hex(link.peerId)})`);
    await link.run();
  }

  async close(): Promise<void> {
    try {
      this.listener.close();
    } catch { /* closed */ }
    for (const c of this.conns) {
      try {
        c.close(); // cuts handshakes short
      } catch { /* closed */ }
    }
    await this.done;
    await Promise.all(this.tasks);
  }
}

/** Keep one trunk connected out to `ep`, reconnecting with exponential backoff. */
export class TrunkDialer {
  link: TrunkLink | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  private sleepTimer: ReturnType<typeof setTimeout> | undefined;
  private conn: Deno.Conn | null = null;
  private done: Promise<void>;

  constructor(
    readonly ep: Endpoint,
    private readonly ctx: TrunkContext,
    private readonly backoff = { minMs: 200, maxMs: 10_000 },
  ) {
    if (ep.transport !== "tcp") throw new Error(`trunk endpoints are tcp:HOST:PORT, not ${endpointToString(ep)}`);
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    const ep = this.ep as Extract<Endpoint, { transport: "tcp" }>;
    const name = endpointToString(ep);
    let delay = this.backoff.minMs;
    let failing = false;
    while (!this.stopped) {
      try {
        const conn = await Deno.connect({ hostname: ep.hostname, port: ep.port });
        if (this.stopped) {
          conn.close();
          break;
        }
        conn.setNoDelay(true);
        failing = false;
        this.conn = conn;
        const link = await handshake(new StreamWire(conn), "C", this.ctx);
        this.conn = null;
        if (link !== null) {
          this.link = link;
          this.ctx.log(`trunk ${name}: up (connected, peer switch ${hex(link.peerId)})`);
          delay = this.backoff.minMs;
          await link.run();
          this.link = null;
        }
      } catch (e) {
        if (!failing) this.ctx.log(`trunk ${name}: cannot connect (${e instanceof Error ? e.message : e}); retrying`);
        failing = true;
      }
      if (this.stopped) break;
      // jitter keeps two daemons that lost each other from retrying in lockstep
      await this.sleep(delay * (0.75 + Math.random() * 0.5));
      delay = Math.min(delay * 2, this.backoff.maxMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      this.wake = r;
      this.sleepTimer = setTimeout(r, ms);
    });
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.sleepTimer);
    this.wake?.();
    try {
      this.conn?.close();
    } catch { /* closed */ }
    this.link?.close("shutting down");
    await this.done;
  }
}
