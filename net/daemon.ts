// The switch daemon: listeners whose connections become switch ports (one switch per virtual
// network), plus trunks to other daemons. main.ts is its command line; tests run it in-process.

import { connAddr, type Endpoint, endpointToString } from "./addr.ts";
import { StreamPort } from "./stream.ts";
import { MAX_FRAME, Switch, type SwitchPort } from "./switch.ts";
import { DEFAULT_LIMITS, type Limits, LogThrottle } from "./guard.ts";
import { type Log, newTrunkContext, type TrunkContext, TrunkDialer, TrunkListener } from "./trunk.ts";
import { checkKeyStrength, importPsk } from "./trunk_crypto.ts";
import { UdpTrunkDialer, UdpTrunkListener } from "./trunk_udp.ts";
import { TapDevice } from "./tap.ts";
import {
  type Addr,
  type Conn,
  type FileInfo,
  host,
  type Listener,
  type NetAddr,
  type TcpConn,
} from "../runtime/platform/mod.ts";

export interface DaemonOptions {
  listen?: Endpoint[];
  trunk?: Endpoint[];
  trunkListen?: Endpoint[];
  /** host TAP interfaces to attach as ports of the default network (root; net/tap.ts) */
  tap?: string[];
  /** pre-shared trunk key; required when there is any trunk */
  key?: Uint8Array;
  /** network of listeners without `,net=N` (default 1) */
  netId?: number;
  macTableSize?: number;
  ageingMs?: number;
  maxFrame?: number;
  /** split horizon off: for the inner switches of a tree of trunks only */
  relay?: boolean;
  log?: Log;
  backoff?: { minMs: number; maxMs: number };
  keepaliveMs?: number;
  deadMs?: number;
  handshakeMs?: number;
  /** what strangers may cost (guard.ts); unset fields take DEFAULT_LIMITS */
  limits?: Partial<Limits>;
}

interface EdgeListener {
  ep: Endpoint;
  listener: Listener;
  sw: Switch;
  done: Promise<void>;
  ino?: number | null;
}

export class SwitchDaemon {
  readonly networks = new Map<number, Switch>();
  readonly trunkCtx: TrunkContext | null;
  readonly edgeListeners: EdgeListener[] = [];
  readonly trunkListeners: (TrunkListener | UdpTrunkListener)[] = [];
  readonly dialers: (TrunkDialer | UdpTrunkDialer)[] = [];
  readonly taps: TapDevice[] = [];
  private readonly ports = new Set<StreamPort>();
  private readonly portTasks = new Set<Promise<void>>();
  private readonly log: Log;
  private closing = false;
  readonly limits: Limits;
  /** refused edge connections (port limit), logged sparingly */
  readonly portThrottle: LogThrottle;

  private constructor(private readonly opts: DaemonOptions, psk: Awaited<ReturnType<typeof importPsk>> | null) {
    this.log = opts.log ?? ((m) => console.error(`switch: ${m}`));
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.portThrottle = new LogThrottle("port listener", this.log, this.limits.logIntervalMs);
    const defaultNet = opts.netId ?? 1;
    for (const id of [defaultNet, ...(opts.listen ?? []).map((e) => e.net ?? defaultNet)]) {
      if (!this.networks.has(id)) {
        this.networks.set(
          id,
          new Switch({
            macTableSize: opts.macTableSize,
            ageingMs: opts.ageingMs,
            maxFrame: opts.maxFrame ?? MAX_FRAME,
            splitHorizon: !opts.relay,
          }),
        );
      }
    }
    this.trunkCtx = psk === null ? null : newTrunkContext(psk, this.networks, this.log, {
      keepaliveMs: opts.keepaliveMs,
      deadMs: opts.deadMs,
      handshakeMs: opts.handshakeMs,
      limits: this.limits,
    });
  }

  static async start(opts: DaemonOptions): Promise<SwitchDaemon> {
    const trunks = (opts.trunk?.length ?? 0) + (opts.trunkListen?.length ?? 0);
    if (trunks > 0 && !opts.key) throw new Error("trunks need a pre-shared key (--key-file)");
    if (opts.key) checkKeyStrength(opts.key); // throws on a weak key, as for a key file
    const d = new SwitchDaemon(opts, opts.key ? await importPsk(opts.key) : null);
    try {
      for (const ep of opts.listen ?? []) await d.listenEdge(ep);
      for (const ep of opts.trunkListen ?? []) {
        if (ep.transport === "udp") {
          const l = new UdpTrunkListener(ep, d.trunkCtx!);
          d.trunkListeners.push(l);
          await l.ready;
        } else d.trunkListeners.push(new TrunkListener(ep, d.trunkCtx!));
      }
      for (const name of opts.tap ?? []) d.attachTap(name);
      for (const ep of opts.trunk ?? []) {
        d.dialers.push(
          ep.transport === "udp"
            ? new UdpTrunkDialer(ep, d.trunkCtx!, opts.backoff)
            : new TrunkDialer(ep, d.trunkCtx!, opts.backoff),
        );
      }
    } catch (e) {
      await d.close();
      throw e;
    }
    return d;
  }

  /** The network a listener's ports join. */
  network(id = this.opts.netId ?? 1): Switch {
    return this.networks.get(id)!;
  }

  /** Bound addresses (ports resolved when 0 was asked for), in option order. */
  get edgeAddrs(): Addr[] {
    return this.edgeListeners.map((l) => l.listener.addr);
  }

  get trunkAddrs(): NetAddr[] {
    return this.trunkListeners.map((l) => l.addr);
  }

  private attachTap(name: string): void {
    const sw = this.network();
    let port: SwitchPort | null = null;
    const tap = TapDevice.open(name, (f) => {
      if (port) sw.input(port, f);
    });
    port = sw.addPort({ send: (f) => tap.send(f) }, { name: `tap:${tap.name}` });
    this.taps.push(tap);
    const p = port;
    tap.done.catch((e) => this.log(`tap ${tap.name}: ${(e as Error).message}`)).finally(() => sw.removePort(p));
    this.log(`port ${port.id} (tap:${tap.name}, net ${this.opts.netId ?? 1}) attached`);
  }

  private async listenEdge(ep: Endpoint): Promise<void> {
    let listener: Listener;
    let ino: number | null | undefined;
    if (ep.transport === "unix") {
      await removeStaleSocket(ep.path);
      listener = host.listen({ transport: "unix", path: ep.path });
      ino = host.lstatSync(ep.path).ino;
    } else if (ep.transport === "tcp") {
      listener = host.listen({ hostname: ep.hostname, port: ep.port });
    } else throw new Error(`ports listen on unix: or tcp:, not ${endpointToString(ep)}`);
    const sw = this.network(ep.net);
    const l: EdgeListener = { ep, listener, sw, ino, done: Promise.resolve() };
    l.done = this.acceptLoop(l);
    this.edgeListeners.push(l);
  }

  private async acceptLoop(l: EdgeListener): Promise<void> {
    for (;;) {
      let conn: Conn;
      try {
        conn = await l.listener.accept();
      } catch (e) {
        if (this.closing || e instanceof host.errors.BadResource || e instanceof host.errors.Interrupted) return;
        // out of file descriptors and the like: the listener stays, the moment passes
        this.portThrottle.refuse("accept error", "-", `port listener: accept failed: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (this.closing) {
        conn.close();
        continue;
      }
      if (this.ports.size >= this.limits.maxPorts) {
        const src = conn.remoteAddr.transport === "unix" ? endpointToString(l.ep) : connAddr(conn.remoteAddr);
        this.portThrottle.refuse(`port limit ${this.limits.maxPorts}`, src);
        conn.close();
        continue;
      }
      if (conn.remoteAddr.transport === "tcp") (conn as TcpConn).setNoDelay(true);
      const who = conn.remoteAddr.transport === "unix" ? endpointToString(l.ep) : connAddr(conn.remoteAddr);
      const net = l.ep.net ?? this.opts.netId ?? 1;
      // the sink forwards to sp, created just below (no frame can arrive before that)
      const port: SwitchPort = l.sw.addPort({
        send: (f) => sp.send(f),
        get offload() {
          return sp.offload;
        },
      }, { name: who });
      const sp = new StreamPort(conn, {
        onFrame: (f) => l.sw.input(port, f),
        onClose: (reason, detail) => {
          l.sw.removePort(port);
          this.ports.delete(sp);
          const c = port.counters;
          if (!this.closing) {
            this.log(
              `port ${port.id} (${who}, net ${net}) disconnected: ${reason}${detail ? ` (${detail})` : ""}; ` +
                `rx ${c.rxFrames} tx ${c.txFrames} dropped ${c.rxRunt + c.rxOversize + c.rxBadSource}/${c.txDropped}`,
            );
          }
        },
      }, { answerHello: true });
      this.ports.add(sp);
      this.log(`port ${port.id} (${who}, net ${net}) connected`);
      const t = sp.run();
      this.portTasks.add(t);
      t.finally(() => this.portTasks.delete(t));
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const l of this.edgeListeners) {
      try {
        l.listener.close();
      } catch { /* closed */ }
    }
    await Promise.all(this.edgeListeners.map((l) => l.done));
    for (const p of [...this.ports]) p.close();
    await Promise.all(this.portTasks);
    await Promise.all(this.taps.map((t) => t.close().catch(() => {})));
    await Promise.all(this.dialers.map((d) => d.close()));
    for (const link of [...(this.trunkCtx?.links ?? [])]) link.close("shutting down");
    await Promise.all(this.trunkListeners.map((t) => t.close()));
    this.portThrottle.close();
    for (const l of this.edgeListeners) {
      if (l.ep.transport !== "unix") continue;
      // remove the socket file only if it is still the one this daemon bound
      try {
        if (host.lstatSync(l.ep.path).ino === l.ino) host.removeSync(l.ep.path);
      } catch { /* already gone */ }
    }
  }
}

/** A socket file left by a daemon that died is removed; one still answering is an error. */
async function removeStaleSocket(path: string): Promise<void> {
  let st: FileInfo;
  try {
    st = host.lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket) throw new Error(`${path} exists and is not a socket`);
  try {
    const c = await host.connect({ transport: "unix", path });
    c.close();
  } catch {
    host.removeSync(path);
    return;
  }
  throw new Error(`${path} is in use by a running switch`);
}
