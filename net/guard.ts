// What keeps strangers from costing a daemon memory or log space: per-source rate limits, a
// bounded set of handshakes in progress that makes room by evicting the busiest source's oldest,
// and a log throttle that turns a flood of refusals into one summary line per interval.

/** Limits of one daemon's listeners (README, "Limits"); every field has a flag in main.ts. */
export interface Limits {
  /** edge ports (NICs) per daemon, all networks together */
  maxPorts: number;
  /** trunk handshakes in progress per listener */
  maxPending: number;
  /** trunk handshakes in progress per source address (per listener) */
  maxPendingPerSource: number;
  /** established trunks per daemon */
  maxTrunks: number;
  /** new trunk handshakes per second per source address (burst: twice this) */
  handshakeRate: number;
  /** a summary of refusals at most this often */
  logIntervalMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxPorts: 512,
  maxPending: 64,
  maxPendingPerSource: 8,
  maxTrunks: 64,
  handshakeRate: 10,
  logIntervalMs: 10_000,
};

/** Source addresses remembered by a RateLimiter at most (beyond, the oldest is forgotten). */
const MAX_SOURCES = 4096;

/** Token bucket per source address; memory is bounded by MAX_SOURCES entries. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly burst: number;
  constructor(private readonly perSecond: number, private readonly now = () => performance.now()) {
    this.burst = Math.max(1, perSecond * 2);
  }

  /** Take one token for `source`; false when it has none left (refuse). */
  take(source: string): boolean {
    const now = this.now();
    let b = this.buckets.get(source);
    if (b === undefined) {
      if (this.buckets.size >= MAX_SOURCES) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: this.burst, at: now };
      this.buckets.set(source, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.perSecond / 1000);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  }

  get size(): number {
    return this.buckets.size;
  }
}

/**
 * Handshakes in progress, bounded in total and per source. Admitting one when a bound is reached
 * evicts an older one (of the same source when that source is at its own bound, else the oldest
 * of the source holding the most), so a flood from one address churns only its own handshakes and
 * a legitimate peer's, which completes in a round trip or two, gets through.
 */
export class PendingSet<T> {
  private readonly bySource = new Map<string, T[]>();
  private count = 0;
  constructor(
    private readonly max: number,
    private readonly maxPerSource: number,
    private readonly evict: (item: T) => void,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Add `item` from `source`; returns how many older items were evicted for it. */
  admit(source: string, item: T): number {
    let evicted = 0;
    const own = this.bySource.get(source);
    if (own !== undefined && own.length >= this.maxPerSource) {
      this.drop(source, own[0]);
      evicted++;
    }
    while (this.count >= this.max) {
      let busiest: string | undefined, most = 0;
      for (const [s, l] of this.bySource) {
        if (l.length > most) [busiest, most] = [s, l.length];
      }
      if (busiest === undefined) break;
      this.drop(busiest, this.bySource.get(busiest)![0]);
      evicted++;
    }
    const list = this.bySource.get(source);
    if (list) list.push(item);
    else this.bySource.set(source, [item]);
    this.count++;
    return evicted;
  }

  /** Forget `item` (its handshake ended); no eviction callback. */
  remove(source: string, item: T): void {
    const l = this.bySource.get(source);
    if (!l) return;
    const i = l.indexOf(item);
    if (i < 0) return;
    l.splice(i, 1);
    this.count--;
    if (l.length === 0) this.bySource.delete(source);
  }

  private drop(source: string, item: T): void {
    this.remove(source, item);
    this.evict(item);
  }
}

/**
 * Refusals for one listener: the first of an interval is logged as it happens (a misconfigured
 * peer is diagnosed at once), the rest are counted by reason and summed up in one line when the
 * interval ends: a flood writes at most two lines per interval.
 */
export class LogThrottle {
  private counts = new Map<string, number>();
  private sources = new Map<string, number>();
  private total = 0;
  private windowStart = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** refusals since start, by reason (tests and stats) */
  readonly totals = new Map<string, number>();

  constructor(
    private readonly what: string,
    private readonly log: (m: string) => void,
    private readonly intervalMs: number,
  ) {}

  refuse(reason: string, source: string, detail?: string): void {
    this.totals.set(reason, (this.totals.get(reason) ?? 0) + 1);
    const now = performance.now();
    if (now - this.windowStart >= this.intervalMs && this.timer === undefined) {
      this.windowStart = now;
      this.log(detail ?? `${this.what}: refused ${source}: ${reason}`);
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      return;
    }
    this.total++;
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    if (this.sources.size < 1024 || this.sources.has(source)) {
      this.sources.set(source, (this.sources.get(source) ?? 0) + 1);
    }
  }

  private flush(): void {
    this.timer = undefined;
    if (this.total === 0) return;
    const why = [...this.counts].map(([r, n]) => `${r} ${n}`).join(", ");
    let top = "", most = 0;
    for (const [s, n] of this.sources) if (n > most) [top, most] = [s, n];
    this.log(
      `${this.what}: refused ${this.total} more in ${Math.round(this.intervalMs / 1000)} s (${why}) ` +
        `from ${this.sources.size} source(s), most from ${top} (${most})`,
    );
    this.total = 0;
    this.counts = new Map();
    this.sources = new Map();
    // the next refusal opens a new interval, logged at once
    this.windowStart = performance.now();
    this.timer = setTimeout(() => this.flush(), this.intervalMs);
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** The address part of "host:port" / "[v6]:port" (the unit of per-source limits). */
export function sourceOf(hostname: string): string {
  return hostname.startsWith("::ffff:") ? hostname.slice(7) : hostname;
}
