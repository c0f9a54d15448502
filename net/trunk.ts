// Switch-to-switch trunks over TCP or UDP. Over TCP, messages use the same 4-byte big-endian
// length prefix as the ports (stream.ts); over UDP each datagram is one message (trunk_udp.ts).
// Inside, ring3's own encapsulation, version 2:
//
//   HELLO        (52 bytes)  magic "RING3TRK" | version u8 | type=1 | 0 u16
//                            | switch id (8 random bytes per daemon) | nonce (32 random bytes)
//   COOKIE       (32 bytes)  magic | version | type=5 | 0 u16 | epoch u32 | cookie (16 bytes)
//   HELLO+COOKIE (72 bytes)  the dialer's HELLO with type=6, then the epoch and cookie it got
//   SHELLO       (84 bytes)  magic | version | type=7 | 0 u16 | switch id | nonce | S's proof (32)
//   AUTH         (40 bytes)  version | type=2 | 0 u16 | 0 u32 | C's proof (32)
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
// Handshake (C = the dialer, S = the listener):
//   C -> S  HELLO
//   S -> C  COOKIE         S keeps nothing: the cookie is an HMAC over the coarse time, C's
//                          address and port and its HELLO, under a secret that rotates
//                          (trunk_crypto.ts CookieJar), so floods of HELLOs cost S no memory
//   C -> S  HELLO+COOKIE   only now, cookie checked, does S hold state for C (bounded: guard.ts)
//   S -> C  SHELLO         S's HELLO and its proof of the key over both HELLOs
//   C -> S  AUTH           C checks S's proof first and answers with its own only if it holds:
//                          a dialer reveals nothing to whoever answers at the address it dials
// A proof is HMAC-SHA256(PSK, label | role | both HELLOs); with a pre-shared key one side must
// prove first, and a stranger who dials S gets an S proof to guess the key from offline, which is
// why keys must be at least 32 random bytes (trunk_crypto.ts keyMaterial): 2^256 guesses. A peer
// speaking another protocol version gets a HELLO of this version, which it refuses with a message
// naming both versions (version 1 peers do), and is refused here with the same message.
// FRAME headers are the GCM additional data and the sequence number is the IV (per-direction
// keys), so a changed header or payload fails authentication (dropped, counted) and a replayed or
// reordered message fails the strictly-increasing sequence check.
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
import { DEFAULT_LIMITS, type Limits, LogThrottle, PendingSet, RateLimiter, sourceOf } from "./guard.ts";
import { authProof, checkProof, COOKIE_LEN, CookieJar, type Psk, type Role, sessionKeys } from "./trunk_crypto.ts";
import { type Conn, host, type Listener, type NetAddr, type TcpConn } from "../runtime/platform/mod.ts";

export const TRUNK_VERSION = 2;
const MAGIC = new TextEncoder().encode("RING3TRK");
export const T_HELLO = 1, T_AUTH = 2, T_FRAME = 3, T_KEEPALIVE = 4, T_COOKIE = 5, T_HELLO_COOKIE = 6, T_SHELLO = 7;
/** the dialer's "your proof does not verify" (16 bytes: version | type=8 | zeros), so the listener can say why */
const T_REJECT = 8, REJECT_LEN = 16;
export const HELLO_LEN = 52;
export const COOKIE_MSG_LEN = 16 + COOKIE_LEN;
export const HELLO_COOKIE_LEN = HELLO_LEN + 4 + COOKIE_LEN;
const SHELLO_LEN = HELLO_LEN + 32;
const AUTH_LEN = 40;
/** the longest handshake message: until a connection is through the handshake, longer is an error */
export const HANDSHAKE_MAX_MSG = 128;
/** read buffer of a connection in its handshake (grows to 64 KiB once through) */
const HANDSHAKE_READ_BUF = 512;
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
  limits: Limits;
  cookies: CookieJar;
}

export function newTrunkContext(
  psk: Psk,
  networks: Map<number, Switch>,
  log: Log,
  opts: { keepaliveMs?: number; deadMs?: number; handshakeMs?: number; limits?: Partial<Limits> } = {},
): TrunkContext {
  const { limits, ...rest } = opts;
  return {
    psk,
    switchId: crypto.getRandomValues(new Uint8Array(8)),
    networks,
    links: new Set(),
    log,
    counters: { links: 0, authFailures: 0, protocolErrors: 0 },
    ...rest,
    limits: { ...DEFAULT_LIMITS, ...limits },
    cookies: new CookieJar(),
  };
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export class ProtocolError extends Error {}
export class AuthError extends Error {}

/** A trunk's transport: whole messages in, whole messages out. */
export interface Wire {
  /** next message, or null once the transport is closed */
  next(): Promise<Uint8Array | null>;
  /** queue one message; false when it was dropped */
  write(msg: Uint8Array): boolean;
  close(): void;
  /** through the handshake: lift the small limits that keep strangers cheap */
  open(): void;
  /** resolves once what was written has gone out (or could not) */
  drained(): Promise<void>;
  readonly peer: string;
  /** messages may be lost, duplicated or reordered: drop bad ones instead of closing */
  readonly datagram: boolean;
}

/**
 * Message-at-a-time reading over a connection. Its first `handshakeMsgs` messages may be at most
 * HANDSHAKE_MAX_MSG bytes and are read through a small buffer: a stranger holding a connection
 * (with a half-sent message or none) costs well under a kilobyte until the handshake timeout
 * closes it. The limits lift by themselves after that many messages, since the peer's first
 * trunk message may arrive in the same read as its last handshake message.
 */
class MessageStream {
  private readonly queue: Uint8Array[] = [];
  private readonly reader: FrameReader;
  private buf = new Uint8Array(HANDSHAKE_READ_BUF);
  private seen = 0;
  constructor(private readonly conn: Conn, private readonly handshakeMsgs: number) {
    this.reader = new FrameReader((m) => {
      this.queue.push(m);
      if (++this.seen === this.handshakeMsgs) this.reader.maxLen = 65536 + 64;
    }, handshakeMsgs > 0 ? HANDSHAKE_MAX_MSG : 65536 + 64);
  }
  /** next message, or null at end of stream */
  async next(): Promise<Uint8Array | null> {
    while (this.queue.length === 0) {
      if (this.seen >= this.handshakeMsgs && this.buf.length < 65536) this.buf = new Uint8Array(65536);
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
  /** role: how many handshake messages this side reads (S: HELLO, HELLO+COOKIE, AUTH; C: COOKIE, SHELLO) */
  constructor(private readonly conn: Conn, role: Role) {
    this.peer = connAddr(conn.remoteAddr);
    this.ms = new MessageStream(conn, role === "S" ? 3 : 2);
    this.writer = new FramedWriter(conn, () => {});
  }
  next(): Promise<Uint8Array | null> {
    return this.ms.next();
  }
  write(msg: Uint8Array): boolean {
    return this.writer.write(msg);
  }
  open(): void {}
  drained(): Promise<void> {
    return this.writer.drained;
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

function makeHello(switchId: Uint8Array, type = T_HELLO, len = HELLO_LEN): Uint8Array<ArrayBuffer> {
  const h = new Uint8Array(len);
  h.set(MAGIC, 0);
  h[8] = TRUNK_VERSION;
  h[9] = type;
  h.set(switchId, 12);
  crypto.getRandomValues(h.subarray(20, 52));
  return h;
}

const hasMagic = (m: Uint8Array) => m.length >= 12 && MAGIC.every((b, i) => m[i] === b);

/** A message of another trunk protocol version: the error that names both versions, else null. */
export function versionError(m: Uint8Array): string | null {
  if (!hasMagic(m) || m[8] === TRUNK_VERSION) return null;
  return `peer speaks trunk protocol version ${m[8]}, this switch speaks ${TRUNK_VERSION}; run the same ring3 on both`;
}

/** What a listener answers a HELLO of another version with: our HELLO, which such a peer refuses by name. */
export function versionNotice(): Uint8Array {
  const h = new Uint8Array(HELLO_LEN);
  h.set(MAGIC, 0);
  h[8] = TRUNK_VERSION;
  h[9] = T_HELLO;
  return h;
}

export const isMsg = (m: Uint8Array, type: number, len: number) =>
  m.length === len && hasMagic(m) && m[8] === TRUNK_VERSION && m[9] === type;

/** The COOKIE answering `hello` (its id and nonce) from `source`. */
export function cookieMsg(ctx: TrunkContext, source: string, hello: Uint8Array): Uint8Array {
  const { epoch, cookie } = ctx.cookies.make(source, hello.subarray(12, 52));
  const m = new Uint8Array(COOKIE_MSG_LEN);
  m.set(MAGIC, 0);
  m[8] = TRUNK_VERSION;
  m[9] = T_COOKIE;
  new DataView(m.buffer).setUint32(12, epoch);
  m.set(cookie, 16);
  return m;
}

/** A HELLO+COOKIE with a cookie this listener issued to `source`: the dialer's HELLO, else null. */
export function checkHelloCookie(ctx: TrunkContext, source: string, m: Uint8Array): Uint8Array | null {
  if (!isMsg(m, T_HELLO_COOKIE, HELLO_COOKIE_LEN)) return null;
  const epoch = new DataView(m.buffer, m.byteOffset, m.byteLength).getUint32(HELLO_LEN);
  if (!ctx.cookies.check(source, m.subarray(12, 52), epoch, m.subarray(HELLO_LEN + 4))) return null;
  const hello = m.slice(0, HELLO_LEN);
  hello[9] = T_HELLO;
  return hello;
}

/**
 * The next message of the handshake that `want` accepts. Over a stream anything else ends the
 * handshake; over datagrams it is skipped (anyone can send one), until the timeout.
 */
async function expect(
  wire: Wire,
  timeout: Promise<never>,
  want: (m: Uint8Array) => boolean,
  what: string,
): Promise<Uint8Array> {
  for (;;) {
    const m = await Promise.race([wire.next(), timeout]);
    if (m === null) {
      throw what === "AUTH"
        ? new AuthError("peer closed during authentication (wrong key on its side?)")
        : new ProtocolError("closed during handshake");
    }
    const v = versionError(m);
    if (v !== null) throw new ProtocolError(v);
    if (want(m)) return m;
    if (what === "AUTH" && m.length === REJECT_LEN && m[0] === TRUNK_VERSION && m[1] === T_REJECT) {
      throw new AuthError("the dialer refused our key proof (it has another key)");
    }
    if (!wire.datagram) throw new ProtocolError(hasMagic(m) ? `expected ${what}` : "not a ring3 trunk");
  }
}

function authMsg(proof: Uint8Array): Uint8Array {
  const m = new Uint8Array(AUTH_LEN);
  m[0] = TRUNK_VERSION;
  m[1] = T_AUTH;
  m.set(proof, 8);
  return m;
}

function withTimeout<T>(ctx: TrunkContext, run: (timeout: Promise<never>) => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new ProtocolError("handshake timed out")), ctx.handshakeMs ?? 5000);
  });
  timeout.catch(() => {});
  return run(timeout).finally(() => clearTimeout(timer));
}

/** After both proofs: refuse a trunk to this very daemon, a second one to the same peer, one too many. */
function checkPeer(ctx: TrunkContext, peerId: Uint8Array): void {
  if (hex(peerId) === hex(ctx.switchId)) throw new ProtocolError("trunk to itself");
  for (const l of ctx.links) {
    if (hex(l.peerId) === hex(peerId)) throw new ProtocolError(`duplicate trunk to switch ${hex(peerId)}`);
  }
  if (ctx.links.size >= ctx.limits.maxTrunks) throw new ProtocolError(`trunk limit (${ctx.limits.maxTrunks}) reached`);
}

async function link(
  wire: Wire,
  role: Role,
  peerId: Uint8Array,
  helloC: Uint8Array,
  helloS: Uint8Array,
  ctx: TrunkContext,
) {
  const keys = await sessionKeys(ctx.psk, helloC, helloS);
  const [tx, rx] = role === "C" ? [keys.c2s, keys.s2c] : [keys.s2c, keys.c2s];
  wire.open();
  return new TrunkLink(wire, peerId, tx, rx, ctx);
}

/** The dialer's side of the handshake (throws ProtocolError / AuthError). */
function dialHandshake(wire: Wire, ctx: TrunkContext): Promise<TrunkLink> {
  return withTimeout(ctx, async (timeout) => {
    const hello = makeHello(ctx.switchId);
    wire.write(hello);
    const cookie = await expect(wire, timeout, (m) => isMsg(m, T_COOKIE, COOKIE_MSG_LEN), "COOKIE");
    const hc = new Uint8Array(HELLO_COOKIE_LEN);
    hc.set(hello, 0);
    hc[9] = T_HELLO_COOKIE;
    hc.set(cookie.subarray(12, COOKIE_MSG_LEN), HELLO_LEN);
    wire.write(hc);
    const sh = await expect(wire, timeout, (m) => isMsg(m, T_SHELLO, SHELLO_LEN), "SHELLO");
    const helloS = sh.slice(0, HELLO_LEN);
    if (!(await checkProof(ctx.psk, "S", hello, helloS, sh.subarray(HELLO_LEN)))) {
      // nothing of ours that depends on the key has left this side; say so, to be logged there
      const r = new Uint8Array(REJECT_LEN);
      r[0] = TRUNK_VERSION;
      r[1] = T_REJECT;
      wire.write(r);
      await wire.drained();
      throw new AuthError("the listener's key proof does not verify (it has another key); nothing revealed");
    }
    wire.write(authMsg(await authProof(ctx.psk, "C", hello, helloS)));
    const peerId = helloS.slice(12, 20);
    checkPeer(ctx, peerId);
    return link(wire, "C", peerId, hello, helloS, ctx);
  });
}

/**
 * The listener's side once the dialer returned a good cookie (`helloC` is its HELLO): prove the
 * key, then check the dialer's proof (throws ProtocolError / AuthError).
 */
export function acceptHandshake(wire: Wire, helloC: Uint8Array, ctx: TrunkContext): Promise<TrunkLink> {
  return withTimeout(ctx, async (timeout) => {
    const sh = makeHello(ctx.switchId, T_SHELLO, SHELLO_LEN);
    const helloS = sh.slice(0, HELLO_LEN);
    sh.set(await authProof(ctx.psk, "S", helloC, helloS), HELLO_LEN);
    wire.write(sh);
    const auth = await expect(
      wire,
      timeout,
      (m) => m.length === AUTH_LEN && m[0] === TRUNK_VERSION && m[1] === T_AUTH,
      "AUTH",
    );
    if (!(await checkProof(ctx.psk, "C", helloC, helloS, auth.subarray(8)))) {
      throw new AuthError("key proof does not verify (peer has a different key)");
    }
    const peerId = helloC.slice(12, 20);
    checkPeer(ctx, peerId);
    return link(wire, "S", peerId, helloC, helloS, ctx);
  });
}

/** Count a failed handshake; its reason (for a LogThrottle) and message. */
export function failure(e: unknown, ctx: TrunkContext): { reason: string; msg: string } {
  if (e instanceof AuthError) {
    ctx.counters.authFailures++;
    return { reason: "wrong key", msg: `authentication failed: ${e.message}` };
  }
  ctx.counters.protocolErrors++;
  const msg = e instanceof Error ? e.message : String(e);
  const reason = /timed out/.test(msg) ? "handshake timeout" : /version/.test(msg) ? "protocol version" : "protocol";
  return { reason, msg };
}

/** A dialer's log of failed attempts: a new reason at once, the same one again once per log interval. */
export class DialLog {
  private last = "";
  private at = -Infinity;
  private repeats = 0;
  constructor(private readonly ctx: TrunkContext) {}
  say(msg: string): void {
    const now = performance.now();
    if (msg === this.last && now - this.at < this.ctx.limits.logIntervalMs) {
      this.repeats++;
      return;
    }
    const more = msg === this.last && this.repeats ? ` (${this.repeats} more times since)` : "";
    this.ctx.log(msg + more);
    this.last = msg;
    this.at = now;
    this.repeats = 0;
  }
}

/** Dial side: run the handshake; null after logging why (the connection is closed then). */
export async function dial(wire: Wire, ctx: TrunkContext, log: DialLog): Promise<TrunkLink | null> {
  try {
    return await dialHandshake(wire, ctx);
  } catch (e) {
    const { msg } = failure(e, ctx);
    log.say(`trunk ${wire.peer}: refused: ${msg}`);
    wire.close();
    return null;
  }
}

/** Listen side of acceptHandshake: null after handing the reason and message to `refuse`. */
export async function accept(
  wire: Wire,
  helloC: Uint8Array,
  ctx: TrunkContext,
  refuse: (reason: string, msg: string) => void,
): Promise<TrunkLink | null> {
  try {
    return await acceptHandshake(wire, helloC, ctx);
  } catch (e) {
    const { reason, msg } = failure(e, ctx);
    refuse(reason, msg);
    wire.close();
    return null;
  }
}

/**
 * Over a stream the cookie round trip happens on the connection: read HELLO, answer COOKIE, read
 * HELLO+COOKIE (the connection already proves the address; the round keeps one protocol for both
 * transports). Returns the dialer's HELLO, or throws.
 */
export function streamCookieRound(wire: Wire, ctx: TrunkContext): Promise<Uint8Array> {
  return withTimeout(ctx, async (timeout) => {
    const first = await Promise.race([wire.next(), timeout]);
    if (first === null) throw new ProtocolError("closed during handshake");
    const v = versionError(first);
    if (v !== null) {
      wire.write(versionNotice());
      await wire.drained();
      throw new ProtocolError(v);
    }
    if (!isMsg(first, T_HELLO, HELLO_LEN)) throw new ProtocolError("not a ring3 trunk");
    wire.write(cookieMsg(ctx, wire.peer, first));
    const hc = await expect(wire, timeout, (m) => isMsg(m, T_HELLO_COOKIE, HELLO_COOKIE_LEN), "HELLO+COOKIE");
    const hello = checkHelloCookie(ctx, wire.peer, hc);
    if (hello === null || hex(hello) !== hex(first)) throw new ProtocolError("bad cookie");
    return hello;
  });
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
  private readonly listener: Listener;
  private readonly tasks = new Set<Promise<void>>();
  private readonly conns = new Set<Conn>();
  private done: Promise<void>;
  private readonly rate: RateLimiter;
  private readonly pending: PendingSet<Conn>;
  private readonly evicted = new WeakSet<Conn>();
  readonly throttle: LogThrottle;

  constructor(ep: Endpoint, private readonly ctx: TrunkContext) {
    if (ep.transport !== "tcp") throw new Error(`trunk endpoints are tcp:HOST:PORT, not ${endpointToString(ep)}`);
    this.listener = host.listen({ hostname: ep.hostname, port: ep.port });
    const lim = ctx.limits;
    this.rate = new RateLimiter(lim.handshakeRate);
    this.pending = new PendingSet(lim.maxPending, lim.maxPendingPerSource, (c) => {
      this.evicted.add(c);
      this.throttle.refuse("evicted (pending limit)", sourceOf((c.remoteAddr as NetAddr).hostname));
      try {
        c.close();
      } catch { /* closed */ }
    });
    this.throttle = new LogThrottle(`trunk listener ${connAddr(this.listener.addr)}`, ctx.log, lim.logIntervalMs);
    this.done = this.acceptLoop();
  }

  get addr(): NetAddr {
    return this.listener.addr as NetAddr;
  }

  /** connections in their handshake now */
  get pendingCount(): number {
    return this.pending.size;
  }

  private async acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Conn;
      try {
        conn = await this.listener.accept();
      } catch (e) {
        if (e instanceof host.errors.BadResource || e instanceof host.errors.Interrupted) return; // closed
        // out of file descriptors and the like: the listener stays, the moment passes
        this.throttle.refuse("accept error", "-", `accept failed: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const source = sourceOf((conn.remoteAddr as NetAddr).hostname);
      if (!this.rate.take(source)) {
        this.throttle.refuse("rate limit", source);
        conn.close();
        continue;
      }
      const t = this.serve(conn, source);
      this.tasks.add(t);
      t.finally(() => this.tasks.delete(t));
    }
  }

  private async serve(conn: Conn, source: string): Promise<void> {
    (conn as TcpConn).setNoDelay?.(true);
    this.conns.add(conn);
    this.pending.admit(source, conn);
    const wire = new StreamWire(conn, "S");
    let link: TrunkLink | null = null;
    const refuse = (reason: string, msg: string) => {
      if (!this.evicted.has(conn)) this.throttle.refuse(reason, source, `trunk ${wire.peer}: refused: ${msg}`);
    };
    try {
      const hello = await streamCookieRound(wire, this.ctx);
      link = await accept(wire, hello, this.ctx, refuse);
    } catch (e) {
      const f = failure(e, this.ctx);
      refuse(f.reason, f.msg);
      wire.close();
    } finally {
      this.pending.remove(source, conn);
      this.conns.delete(conn);
    }
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
    this.throttle.close();
  }
}

/** Keep one trunk connected out to `ep`, reconnecting with exponential backoff. */
export class TrunkDialer {
  link: TrunkLink | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  private sleepTimer: ReturnType<typeof setTimeout> | undefined;
  private conn: Conn | null = null;
  private done: Promise<void>;
  private readonly dialLog: DialLog;

  constructor(
    readonly ep: Endpoint,
    private readonly ctx: TrunkContext,
    private readonly backoff = { minMs: 200, maxMs: 10_000 },
  ) {
    if (ep.transport !== "tcp") throw new Error(`trunk endpoints are tcp:HOST:PORT, not ${endpointToString(ep)}`);
    this.dialLog = new DialLog(ctx);
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    const ep = this.ep as Extract<Endpoint, { transport: "tcp" }>;
    const name = endpointToString(ep);
    let delay = this.backoff.minMs;
    let failing = false;
    while (!this.stopped) {
      try {
        const conn = await host.connect({ hostname: ep.hostname, port: ep.port });
        if (this.stopped) {
          conn.close();
          break;
        }
        conn.setNoDelay(true);
        failing = false;
        this.conn = conn;
        const link = await dial(new StreamWire(conn, "C"), this.ctx, this.dialLog);
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
