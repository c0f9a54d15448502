// Helpers for the switch tests: synthetic frames, polling, a set of daemons.
import { parseEndpoint } from "../../net/addr.ts";
import { SwitchClient } from "../../net/client.ts";
import { type DaemonOptions, SwitchDaemon } from "../../net/daemon.ts";

export const BCAST = 0xffff_ffff_ffff;

/** A frame from `src` to `dst` (48-bit MACs as numbers), `len` bytes, payload tagged with `tag`. */
export function mkFrame(dst: number, src: number, len = 60, tag = 0): Uint8Array {
  const f = new Uint8Array(len);
  const put = (off: number, mac: number) => {
    const hi = Math.floor(mac / 0x1_0000_0000), lo = mac >>> 0;
    f[off] = hi >> 8;
    f[off + 1] = hi & 0xff;
    f[off + 2] = lo >>> 24;
    f[off + 3] = (lo >> 16) & 0xff;
    f[off + 4] = (lo >> 8) & 0xff;
    f[off + 5] = lo & 0xff;
  };
  if (len >= 6) put(0, dst);
  if (len >= 12) put(6, src);
  if (len >= 14) {
    f[12] = 0x88;
    f[13] = 0xb5; // IEEE local experimental EtherType
  }
  if (len >= 18) new DataView(f.buffer).setUint32(14, tag);
  for (let i = 18; i < len; i++) f[i] = (i * 7 + tag) & 0xff;
  return f;
}

export function tagOf(f: Uint8Array): number {
  return f.length >= 18 ? new DataView(f.buffer, f.byteOffset).getUint32(14) : -1;
}

/** Locally administered unicast MAC number n. */
export function mac(n: number): number {
  return 0x0200_0000_0000 + n;
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A key file in `dir` holding `key`. */
export function keyFile(dir: string, name: string, key: string): string {
  const p = `${dir}/${name}`;
  Deno.writeTextFileSync(p, key + "\n");
  return p;
}

// Switch daemons of one test in this process, each listening on a unix socket in a temporary
// folder, with synthetic clients; close() takes everything down (closers first: proxies, relays).
// 32 bytes, all different (a fixed key for tests; real keys come from --gen-key)
export const TRUNK_KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 73 + 11) & 0xff);
/** another good key (a peer with the wrong key) */
export const OTHER_KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 59 + 7) & 0xff);

export class SwitchNet {
  readonly dir: string;
  daemons: SwitchDaemon[] = [];
  clients: SwitchClient[] = [];
  logs = new Map<SwitchDaemon, string[]>();
  closers: (() => Promise<void> | void)[] = [];

  constructor(prefix: string, private readonly defaults: DaemonOptions = {}) {
    this.dir = Deno.makeTempDirSync({ prefix });
  }

  async daemon(name: string, opts: DaemonOptions): Promise<SwitchDaemon> {
    const log: string[] = [];
    const d = await SwitchDaemon.start({
      key: TRUNK_KEY,
      listen: [parseEndpoint(`unix:${this.dir}/${name}.sock`)],
      log: (m) => log.push(m),
      ...this.defaults,
      ...opts,
    });
    this.logs.set(d, log);
    this.daemons.push(d);
    return d;
  }

  async client(name: string): Promise<SwitchClient> {
    const c = await SwitchClient.connect(parseEndpoint(`unix:${this.dir}/${name}.sock`));
    this.clients.push(c);
    return c;
  }

  async close(): Promise<void> {
    for (const c of this.clients) await c.close();
    for (const f of this.closers) await f();
    for (const d of this.daemons) await d.close();
    Deno.removeSync(this.dir, { recursive: true });
  }
}
