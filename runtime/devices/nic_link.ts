// The host side of a guest NIC: its cable to a switch daemon (net/), one connection per NIC.
// Frames the guest transmits go out as one stream frame each; frames from the switch are handed
// to the NIC model's receive path. The link never blocks or fails the guest: while the switch is
// unreachable the NIC sees "link down", transmitted frames are dropped (counted), and the link
// keeps redialling with backoff (0.25 s doubling to 5 s). Each state change is one log line.
//
// User networking (`user`): the link starts its own passt (net/passt.ts) and dials its socket; when
// that connection ends (passt is one-off) the next dial starts a fresh passt. close() stops it.
//
// Default MAC (no `mac=`): 52:54:XX:XX:XX:XX where the last four bytes are an FNV-1a hash of
// "<switch endpoint>#<NIC index>" (plus an optional salt). 0x52 has the locally administered bit
// set and the group bit clear. So a machine's NIC keeps its address from run to run; two machines
// on the same switch with the same NIC index would collide and must set mac= (the link warns
// when it sees its own source address arriving from the switch).
import { type Endpoint, endpointToString, parseEndpoint } from "../../net/addr.ts";
import { SwitchClient } from "../../net/client.ts";
import { FdStream } from "../../net/fdstream.ts";
import type { Timer, TimerQueue } from "../clock.ts";
import { type Hostfwd, Passt } from "../../net/passt.ts";
import { headerOf, needsWork, software } from "../../net/offload.ts";
import { host } from "../platform/mod.ts";

export function defaultMac(switchSpec: string, index: number, salt = ""): Uint8Array {
  let h = 0x811c9dc5;
  for (const c of new TextEncoder().encode(`${switchSpec}#${index}${salt ? "#" + salt : ""}`)) {
    h = Math.imul(h ^ c, 0x01000193) >>> 0;
  }
  return new Uint8Array([0x52, 0x54, h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff]);
}

export function parseMac(s: string): Uint8Array {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i
    .exec(s);
  if (!m) throw new Error(`'${s}' is not a MAC address (expected xx:xx:xx:xx:xx:xx)`);
  const mac = new Uint8Array(m.slice(1).map((x) => parseInt(x, 16)));
  if (mac[0] & 1) throw new Error(`MAC ${s} is a group (multicast) address`);
  if (mac.every((b) => b === 0)) throw new Error(`MAC ${s} is all zeros`);
  return mac;
}

export const macToString = (m: Uint8Array): string => [...m].map((b) => b.toString(16).padStart(2, "0")).join(":");

export interface NicPort {
  readonly up: boolean;
  send(frame: Uint8Array): void;
  // write what send() queued (a NIC calls it once per burst, e.g. per transmit notification)
  flush?(): void;
  onFrame: (frame: Uint8Array) => void;
  onLink: (up: boolean) => void;
  // Flow control from the NIC: while held, no more frames are read from the switch; they wait
  // in the socket and in the switch's bounded port queue. The NIC holds the link while its
  // receive backlog is long and lets go once the guest has taken the frames.
  hold(on: boolean): void;
  close(): void;
  // Offloads (net/offload.ts): a NIC that can take frames with pending checksum/segmentation
  // sets wantsOffload before the link connects and says per header whether the guest takes it
  // now; frames it cannot take are completed in software before onFrame.
  wantsOffload?: boolean;
  takesOffload?: (hdr: Uint8Array) => boolean;
  // user networking (passt): frames from it are built by passt with correct checksums
  readonly user?: boolean;
}

// RING3_NET_TRACE=FILE appends a line per frame: host ms, pid, direction, length, TCP fields
// (for measuring the path between two guests' links; every process may append to one file)
const TRACE = host.env.get("RING3_NET_TRACE");

function trace(dir: string, f: Uint8Array): void {
  let s = `${(performance.timeOrigin + performance.now()).toFixed(3)} ${host.pid} ${dir} ${f.length}`;
  if (f.length >= 54 && f[12] === 8 && f[13] === 0 && f[23] === 6) {
    const t = 14 + (f[14] & 15) * 4, v = new DataView(f.buffer, f.byteOffset);
    const len = v.getUint16(16) - (f[14] & 15) * 4 - (f[t + 12] >> 4) * 4;
    s +=
      ` seq=${v.getUint32(t + 4)} ack=${v.getUint32(t + 8)} fl=${f[t + 13].toString(16)} win=${v.getUint16(t + 14)}` +
      ` len=${len}`;
  }
  host.writeTextFileSync(TRACE!, s + "\n", { append: true });
}

const RETRY_MIN_MS = 250, RETRY_MAX_MS = 5000;
// While frames flow, the link reads its socket from a machine timer (guest ns), so a running guest
// gets frames within a slice: every PUMP_NS (the run loop's slice, so slices stay as long) after
// a read that found frames, the interval doubling up to PUMP_MAX_NS while reads find nothing (an
// idle machine is not woken needlessly: the socket's poll thread wakes it when frames come); after
// QUIET_NS without traffic the timer stops (net/fdstream.ts).
const PUMP_NS = 500_000, PUMP_MAX_NS = 8_000_000, QUIET_NS = 20_000_000;
const USER_QUEUE_BYTES = 64 << 20;

// An IPv4 frame cut to its IP total length: NICs like the ne2k pad short frames to 60 bytes, and
// passt (Debian 12's) takes the padding of a bare TCP ACK for 6 bytes of data, which it then
// writes to the host's socket.
function unpad(f: Uint8Array): Uint8Array {
  if (f.length > 60 || f.length < 34 || f[12] !== 0x08 || f[13] !== 0x00) return f;
  const end = 14 + ((f[16] << 8) | f[17]);
  return end >= 34 && end < f.length ? f.subarray(0, end) : f;
}

export class NicLink implements NicPort {
  endpoint: Endpoint;
  onFrame: (frame: Uint8Array) => void = () => {};
  onLink: (up: boolean) => void = () => {};
  onTransmit: () => void = () => {};
  wantsOffload = false;
  takesOffload: (hdr: Uint8Array) => boolean = () => false;
  txFrames = 0;
  rxFrames = 0;
  txDropped = 0;
  private client: SwitchClient | FdStream | null = null;
  private pumpTimer: Timer | null = null;
  private lastActive = -Infinity; // clock ns of the last frame either way (pump timer)
  private closed = false;
  private retryMs = RETRY_MIN_MS;
  private timer?: ReturnType<typeof setTimeout>;
  private warnedDown = false;
  private warnedDup = false;
  private held = false;
  private passt: Passt | null = null;
  private readonly userCfg: { hostfwd: readonly Hostfwd[]; mtu?: number } | null;
  private readonly unload = () => this.passt?.stopSync();

  // `spec`: the switch (unix:PATH or tcp:HOST:PORT), or { hostfwd } for user networking
  constructor(
    spec: string | { hostfwd: readonly Hostfwd[]; mtu?: number },
    readonly name: string,
    readonly mac: Uint8Array,
    private readonly log: (line: string) => void = (l) => console.error(l),
  ) {
    if (typeof spec === "string") {
      this.userCfg = null;
      this.endpoint = parseEndpoint(spec, false);
    } else {
      this.userCfg = spec;
      this.endpoint = { transport: "unix", path: "(passt not started)" };
      host.onExit(this.unload);
    }
    this.dial();
  }

  get user(): boolean {
    return this.userCfg !== null;
  }

  get up(): boolean {
    return this.client !== null;
  }

  private get where(): string {
    return endpointToString(this.endpoint);
  }

  send(frame: Uint8Array): void {
    if (TRACE) trace("tx", frame);
    if (this.userCfg) frame = unpad(frame);
    const c = this.client;
    if (!c || !c.send(frame)) {
      this.txDropped++;
      return;
    }
    this.txFrames++;
    if (c instanceof FdStream) {
      this.active();
      // the NIC flushes after its burst; this catches a sender that does not
      if (!this.flushQueued) {
        this.flushQueued = true;
        queueMicrotask(() => {
          this.flushQueued = false;
          this.flush();
        });
      }
    } else this.onTransmit(); // Deno.Conn writes when the run loop yields
  }

  private flushQueued = false;

  flush(): void {
    if (this.client instanceof FdStream) this.client.flush();
  }

  // Read the socket from the machine's timers between slices while traffic flows (FdStream links).
  attachTimers(timers: TimerQueue): void {
    this.pumpTimer = timers.timer((now) => {
      const c = this.client;
      if (!(c instanceof FdStream)) return;
      c.flush();
      if (c.pump() > 0) {
        this.lastActive = now;
        this.pumpNs = PUMP_NS;
      } else this.pumpNs = Math.min(PUMP_MAX_NS, this.pumpNs * 2);
      if (now - this.lastActive < QUIET_NS) this.pumpTimer!.set(now + this.pumpNs);
    });
    this.clock = timers.clock;
  }

  private clock: { now(): number } | null = null;
  private pumpNs = PUMP_NS;

  // a frame went out or came in: read the socket soon
  private active(): void {
    const t = this.pumpTimer;
    if (!t || !this.clock) return;
    this.lastActive = this.clock.now();
    if (this.pumpNs !== PUMP_NS || !t.armed) {
      this.pumpNs = PUMP_NS;
      t.set(Math.min(t.deadline, this.lastActive + PUMP_NS));
    }
  }

  hold(on: boolean): void {
    if (on === this.held) return;
    this.held = on;
    if (on) this.client?.pause();
    else this.client?.resume();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.client?.close();
    this.client = null;
    if (this.userCfg) {
      host.offExit(this.unload);
      this.passt?.stop();
      this.passt = null;
    }
  }

  // user networking: a running passt to dial (started here; false when it cannot start)
  private async startPasst(): Promise<boolean> {
    if (this.passt) return true;
    try {
      const p = await Passt.start(this.userCfg!.hostfwd, this.userCfg!.mtu);
      if (this.closed) {
        await p.stop();
        return false;
      }
      this.passt = p;
      this.endpoint = { transport: "unix", path: p.socketPath };
      return true;
    } catch (e) {
      this.log(`ring3: ${this.name}: user networking unavailable: ${(e as Error).message}; link down`);
      return false;
    }
  }

  private async dial(): Promise<void> {
    this.timer = undefined;
    if (this.closed) return;
    if (this.userCfg && !(await this.startPasst())) return;
    let c: SwitchClient | FdStream;
    try {
      // passt takes the tap link for lossless (a frame the link drops is a hole in a host TCP
      // stream, not a retransmission): user links queue up to what the guest's windows allow
      // and passt needs whole frames per write (net/fdstream.ts); RING3_NET_WHOLE=off for A/B
      const opts = this.userCfg && host.env.get("RING3_NET_WHOLE") !== "off"
        ? { maxQueueBytes: USER_QUEUE_BYTES, wholeFrames: true }
        : this.userCfg
        ? { maxQueueBytes: USER_QUEUE_BYTES }
        : {};
      // A switch link: the machine moves the bytes itself (net/fdstream.ts) where it can use FFI,
      // Deno.Conn otherwise (RING3_NET_FFI=off forces it, for A/B runs). A user link (passt):
      // Deno.Conn unless RING3_NET_FFI=on. Through FdStream a guest-to-host TCP stream through
      // passt ended in a reset from passt after 156-958 MB in each of 4 runs of 1 GiB (not yet
      // understood; small frames without offloads too), through Deno.Conn 3 of 3 went through,
      // at 83-113 MiB/s against 38-51 (bench/results/net.md, session 9).
      const ffi = this.userCfg ? host.env.get("RING3_NET_FFI") === "on" : host.env.get("RING3_NET_FFI") !== "off";
      c = (ffi ? await FdStream.connect(this.endpoint, opts) : null) ?? await SwitchClient.connect(this.endpoint, opts);
    } catch (e) {
      if (this.closed) return;
      if (!this.warnedDown) {
        this.warnedDown = true;
        this.log(
          `ring3: ${this.name}: switch ${this.where} unreachable (${(e as Error).message.split("\n")[0]}); ` +
            `link down, frames dropped, retrying`,
        );
      }
      this.retry();
      return;
    }
    if (this.closed) {
      c.close();
      return;
    }
    // the connection alone must not keep the host process alive once the machine is done
    if (c instanceof SwitchClient) c.conn.unref();
    c.onFrame = (f) => this.receive(f);
    if (this.held) c.pause();
    if (this.wantsOffload && !this.userCfg) c.sendHello(this.mac);
    this.client = c;
    this.retryMs = RETRY_MIN_MS;
    if (this.warnedDown) this.log(`ring3: ${this.name}: switch ${this.where} connected; link up`);
    this.warnedDown = false;
    this.onLink(true);
    c.done.then(() => {
      if (this.client !== c) return;
      this.client = null;
      this.onLink(false);
      if (this.closed) return;
      if (this.userCfg) {
        // passt served its one client: a fresh one for the next connection
        this.passt?.stop();
        this.passt = null;
      }
      this.log(
        `ring3: ${this.name}: switch ${this.where} closed the connection (${c.closedReason}); link down, retrying`,
      );
      this.warnedDown = true;
      this.retry();
    });
  }

  private receive(f: Uint8Array): void {
    if (
      !this.warnedDup && f.length >= 12 && f[6] === this.mac[0] && f[7] === this.mac[1] && f[8] === this.mac[2] &&
      f[9] === this.mac[3] && f[10] === this.mac[4] && f[11] === this.mac[5]
    ) {
      this.warnedDup = true;
      this.log(
        `ring3: ${this.name}: another port on ${this.where} uses this NIC's MAC ${macToString(this.mac)}; set mac=`,
      );
    }
    this.rxFrames++;
    if (TRACE) trace("rx", f);
    this.active();
    if (this.deviceBroken) return;
    try {
      const h = headerOf(f);
      if (h !== undefined && needsWork(h) && !this.takesOffload(h)) {
        for (const s of software(f, h)) this.onFrame(s);
      } else this.onFrame(f);
    } catch (e) {
      // a bug in the NIC model must not become an unhandled rejection that ends ring3
      // (runtime/bus.ts): said once, and the NIC receives nothing more
      this.deviceBroken = true;
      this.log(`ring3: ${this.name}: internal error receiving a frame: ${(e as Error).message}; receive disabled`);
    }
  }
  private deviceBroken = false;

  private retry(): void {
    if (this.closed) return;
    const t = setTimeout(() => this.dial(), this.retryMs);
    host.unrefTimer(t);
    this.timer = t;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
  }
}
