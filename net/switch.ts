// The learning bridge: pure logic, no sockets and no timers. A port is anything with
// send(frame); the clock is injected so ageing is testable and deterministic.
//
import { headerOf, MAX_OFFLOAD_FRAME, needsWork, software } from "./offload.ts";

// Frames handed to input() belong to the switch from then on and are never modified; the
// same array may be given to several sinks (flooding), so a sink must not modify it either.

/** Ethernet header: destination MAC, source MAC, EtherType. */
export const ETH_HEADER = 14;
/** 1500-byte payload + header + one 802.1Q tag; the FCS never travels over these sockets. */
export const MAX_FRAME = 1518;
/** 9000-byte jumbo payload + header + one 802.1Q tag. */
export const MAX_JUMBO_FRAME = 9018;

export interface FrameSink {
  /** false when the transport had to drop the frame (back-pressure) */
  send(frame: Uint8Array): boolean | void;
  /** takes frames with pending offloads (net/offload.ts); others get them segmented here */
  readonly offload?: boolean;
}

export interface PortCounters {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  /** shorter than an Ethernet header */
  rxRunt: number;
  /** longer than the switch's maximum frame size */
  rxOversize: number;
  /** multicast or all-zero source address (not a station) */
  rxBadSource: number;
  /** destination is on the ingress port, or split horizon forbids the only way out */
  filtered: number;
  /** frames the port's transport could not take (back-pressure) */
  txDropped: number;
}

function zeroCounters(): PortCounters {
  return {
    rxFrames: 0,
    rxBytes: 0,
    txFrames: 0,
    txBytes: 0,
    rxRunt: 0,
    rxOversize: 0,
    rxBadSource: 0,
    filtered: 0,
    txDropped: 0,
  };
}

export class SwitchPort {
  readonly counters: PortCounters = zeroCounters();
  /** the MACs learned on this port, oldest first (Map keeps insertion order) */
  readonly macs = new Map<number, MacEntry>();
  attached = true;
  constructor(readonly id: number, readonly name: string, readonly trunk: boolean, readonly sink: FrameSink) {}
}

interface MacEntry {
  port: SwitchPort;
  lastSeen: number;
  /** when the entry last moved to the end of the maps (at most `regroup` before lastSeen) */
  placed: number;
}

export interface SwitchOptions {
  /** most MAC entries kept (default 4096) */
  macTableSize?: number;
  /** an entry not refreshed for this long is forgotten (default 300 s, as Linux bridges) */
  ageingMs?: number;
  /** largest frame accepted, header included, FCS excluded (default MAX_FRAME) */
  maxFrame?: number;
  /**
   * Split horizon (default true): a frame that came in over a trunk never leaves over another
   * trunk. That makes a full mesh of trunks loop-free. Turn it off only on the inner switches of
   * a tree of trunks (a hub relaying between spokes); with it off any cycle of trunks loops.
   */
  splitHorizon?: boolean;
  /** milliseconds, monotonic (default performance.now) */
  now?: () => number;
}

export interface SwitchCounters {
  learned: number;
  moved: number;
  aged: number;
  evicted: number;
  flooded: number;
}

/** 48-bit MAC at `off` as a number (exact: below 2^53). */
export function macAt(f: Uint8Array, off: number): number {
  return ((f[off] << 8) | f[off + 1]) * 0x1_0000_0000 +
    (((f[off + 2] << 24) | (f[off + 3] << 16) | (f[off + 4] << 8) | f[off + 5]) >>> 0);
}

export function macToString(mac: number): string {
  return mac.toString(16).padStart(12, "0").replace(/(..)(?!$)/g, "$1:");
}

export class Switch {
  readonly macTableSize: number;
  readonly ageingMs: number;
  readonly maxFrame: number;
  readonly splitHorizon: boolean;
  readonly counters: SwitchCounters = { learned: 0, moved: 0, aged: 0, evicted: 0, flooded: 0 };
  private readonly now: () => number;
  /**
   * All entries in order of `placed`, least recent first. A refresh re-inserts an entry at the
   * end only once it is `regroup` ms stale, which keeps the per-frame cost at one lookup while
   * the order stays within `regroup` of true least-recently-seen order.
   */
  private readonly table = new Map<number, MacEntry>();
  private readonly regroup: number;
  private readonly ports: SwitchPort[] = [];
  private nextId = 1;
  private lastSweep = -Infinity;

  constructor(opts: SwitchOptions = {}) {
    this.macTableSize = Math.max(1, opts.macTableSize ?? 4096);
    this.ageingMs = opts.ageingMs ?? 300_000;
    this.maxFrame = opts.maxFrame ?? MAX_FRAME;
    this.splitHorizon = opts.splitHorizon ?? true;
    this.now = opts.now ?? (() => performance.now());
    if (!(this.ageingMs > 0)) throw new RangeError("ageing must be positive");
    if (this.maxFrame < ETH_HEADER) throw new RangeError("maxFrame below an Ethernet header");
    this.regroup = Math.min(1000, this.ageingMs / 8);
  }

  addPort(sink: FrameSink, opts: { name?: string; trunk?: boolean } = {}): SwitchPort {
    const id = this.nextId++;
    const port = new SwitchPort(id, opts.name ?? `port${id}`, opts.trunk ?? false, sink);
    this.ports.push(port);
    return port;
  }

  /** Detach a port and forget every MAC learned on it (the stations are gone or will relearn). */
  removePort(port: SwitchPort): void {
    const i = this.ports.indexOf(port);
    if (i < 0) return;
    this.ports.splice(i, 1);
    port.attached = false;
    for (const mac of port.macs.keys()) this.table.delete(mac);
    port.macs.clear();
  }

  get portList(): readonly SwitchPort[] {
    return this.ports;
  }

  get macCount(): number {
    return this.table.size;
  }

  /** The port a MAC is currently learned on, if the entry is still fresh. */
  lookup(mac: number): SwitchPort | undefined {
    const e = this.table.get(mac);
    if (e === undefined) return undefined;
    if (this.now() - e.lastSeen >= this.ageingMs) {
      this.forget(mac, e);
      this.counters.aged++;
      return undefined;
    }
    return e.port;
  }

  input(port: SwitchPort, frame: Uint8Array): void {
    if (!port.attached) return;
    const c = port.counters;
    const len = frame.length;
    if (len < ETH_HEADER) {
      c.rxRunt++;
      return;
    }
    if (len > this.maxFrame && !(len <= MAX_OFFLOAD_FRAME && headerOf(frame) !== undefined)) {
      c.rxOversize++;
      return;
    }
    // A group bit in the source, or an all-zero source, is no station: learning it would let
    // one frame steer unicast traffic for a multicast address.
    if ((frame[6] & 1) !== 0 || (frame[6] | frame[7] | frame[8] | frame[9] | frame[10] | frame[11]) === 0) {
      c.rxBadSource++;
      return;
    }
    c.rxFrames++;
    c.rxBytes += len;

    const now = this.now();
    if (now - this.lastSweep >= Math.min(1000, this.ageingMs / 4)) this.sweep(now);
    this.learn(macAt(frame, 6), port, now);

    const fromTrunk = port.trunk && this.splitHorizon;
    if ((frame[0] & 1) === 0) {
      const out = this.lookup(macAt(frame, 0));
      if (out !== undefined) {
        if (out === port || (fromTrunk && out.trunk)) {
          c.filtered++;
          return;
        }
        this.transmit(out, frame);
        return;
      }
    }
    this.counters.flooded++;
    for (const p of this.ports) {
      if (p === port || (fromTrunk && p.trunk)) continue;
      this.transmit(p, frame);
    }
  }

  /** Drop entries older than the ageing time. */
  sweep(now = this.now()): void {
    this.lastSweep = now;
    for (const [mac, e] of this.table) {
      // every later entry was placed (hence seen) no earlier than this one
      if (now - e.placed < this.ageingMs) break;
      if (now - e.lastSeen < this.ageingMs) continue;
      this.forget(mac, e);
      this.counters.aged++;
    }
  }

  private transmit(p: SwitchPort, frame: Uint8Array): void {
    const hdr = headerOf(frame);
    if (hdr !== undefined && !p.sink.offload && needsWork(hdr)) {
      // a port without offloads: complete checksums and segment here
      for (const s of software(frame, hdr)) this.transmit(p, s);
      return;
    }
    if (p.sink.send(frame) === false) {
      p.counters.txDropped++;
      return;
    }
    p.counters.txFrames++;
    p.counters.txBytes += frame.length;
  }

  private forget(mac: number, e: MacEntry): void {
    this.table.delete(mac);
    e.port.macs.delete(mac);
  }

  private learn(mac: number, port: SwitchPort, now: number): void {
    const e = this.table.get(mac);
    if (e !== undefined) {
      e.lastSeen = now;
      if (e.port === port && now - e.placed < this.regroup) return;
      // re-insert at the end of both maps so they stay ordered by last use
      this.table.delete(mac);
      e.port.macs.delete(mac);
      if (e.port !== port) {
        e.port = port;
        this.counters.moved++;
      }
      e.placed = now;
      this.table.set(mac, e);
      port.macs.set(mac, e);
      return;
    }
    if (this.table.size >= this.macTableSize) this.evictFor(port);
    const n: MacEntry = { port, lastSeen: now, placed: now };
    this.table.set(mac, n);
    port.macs.set(mac, n);
    this.counters.learned++;
  }

  // The table is full. A port already holding its fair share (a MAC flood comes from one port)
  // gives up its own least recently seen entry, so a flood only churns the flooder's entries and
  // the stations on other ports stay known; otherwise the least recently seen entry overall goes.
  private evictFor(port: SwitchPort): void {
    const fair = Math.max(1, Math.floor(this.macTableSize / Math.max(1, this.ports.length)));
    let victim: number | undefined;
    if (port.macs.size >= fair) victim = port.macs.keys().next().value;
    else victim = this.table.keys().next().value;
    if (victim === undefined) return;
    this.forget(victim, this.table.get(victim)!);
    this.counters.evicted++;
  }
}
