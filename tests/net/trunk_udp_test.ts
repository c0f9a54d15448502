// Trunks over UDP between daemons in this process (loopback), with a relay in the middle that
// can lose, alter or repeat datagrams on their way from the dialer to the listener.
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { parseEndpoint } from "../../net/addr.ts";
import { type DaemonOptions, SwitchDaemon } from "../../net/daemon.ts";
import { TRUNK_VERSION, type TrunkLink } from "../../net/trunk.ts";
import { BCAST, mac, mkFrame, OTHER_KEY, sleep, SwitchNet, tagOf, waitFor } from "./lib.ts";

const FAST = { backoff: { minMs: 20, maxMs: 200 }, handshakeMs: 1000 };
type Filter = (m: Uint8Array) => Uint8Array[]; // what to pass on for one datagram from the dialer

/** UDP relay: the dialer talks to it, it talks to the listener; replies go back unchanged. */
class Relay {
  readonly sock = dgram.createSocket("udp4");
  private readonly up = dgram.createSocket("udp4");
  private client: { address: string; port: number } | null = null;
  filter: Filter = (m) => [m];
  constructor(private readonly target: number) {
    this.sock.on("message", (m: Uint8Array, r: { address: string; port: number }) => {
      this.client = r;
      for (const out of this.filter(new Uint8Array(m))) this.up.send(out, this.target, "127.0.0.1");
    });
    this.up.on("message", (m: Uint8Array) => {
      if (this.client) this.sock.send(m, this.client.port, this.client.address);
    });
  }
  async start(): Promise<number> {
    await new Promise<void>((r) => this.up.bind(0, "127.0.0.1", () => r()));
    await new Promise<void>((r) => this.sock.bind(0, "127.0.0.1", () => r()));
    return this.sock.address().port;
  }
  async close(): Promise<void> {
    await new Promise<void>((r) => this.sock.close(() => r()));
    await new Promise<void>((r) => this.up.close(() => r()));
  }
}

class Net extends SwitchNet {
  relay: Relay | null = null;
  constructor() {
    super("ring3-utrunk-", FAST);
  }

  // a listens on UDP; b dials it through the relay
  async pair(extraA: DaemonOptions = {}, extraB: DaemonOptions = {}) {
    const a = await this.daemon("a", { trunkListen: [parseEndpoint("udp:127.0.0.1:0", false, true)], ...extraA });
    const relay = this.relay = new Relay(a.trunkAddrs[0].port);
    this.closers.push(() => relay.close());
    const rp = await relay.start();
    const b = await this.daemon("b", { trunk: [parseEndpoint(`udp:127.0.0.1:${rp}`, false, true)], ...extraB });
    return { a, b };
  }
}

const links = (d: SwitchDaemon) => d.trunkCtx!.links.size;
const firstLink = (d: SwitchDaemon): TrunkLink => [...d.trunkCtx!.links][0];
const isFrames = (m: Uint8Array) => m.length > 32 && m[0] === TRUNK_VERSION && m[1] === 3;

async function upWithClients(n: Net, extraA: DaemonOptions = {}, extraB: DaemonOptions = {}) {
  const { a, b } = await n.pair(extraA, extraB);
  await waitFor(() => links(a) === 1 && links(b) === 1, "udp trunk up");
  const ca = await n.client("a"), cb = await n.client("b");
  await waitFor(() => a.network().portList.length === 2 && b.network().portList.length === 2, "ports");
  // both stations learned on both sides
  ca.send(mkFrame(BCAST, mac(1), 60, 1));
  assert.equal(tagOf((await cb.recv())!), 1);
  cb.send(mkFrame(mac(1), mac(2), 60, 2));
  assert.equal(tagOf((await ca.recv())!), 2);
  return { a, b, ca, cb };
}

Deno.test("udp trunk: frames cross both ways; a lost datagram loses its frames, never the trunk", async () => {
  const n = new Net();
  try {
    const { a, b, ca, cb } = await upWithClients(n);
    const link = firstLink(a);
    let k = 0;
    n.relay!.filter = (m) => (isFrames(m) && ++k % 4 === 0 ? [] : [m]); // every 4th FRAMES datagram lost
    // full-size frames: one per datagram
    for (let i = 0; i < 40; i++) {
      cb.send(mkFrame(mac(1), mac(2), 1514, 100 + i));
      await sleep(2);
    }
    const got: number[] = [];
    for (let f = await ca.recv(1000); f; f = await ca.recv(500)) got.push(tagOf(f));
    assert.equal(got.length, 30, `10 of 40 lost: ${got}`);
    for (let i = 1; i < got.length; i++) assert.ok(got[i] > got[i - 1], "in order");
    n.relay!.filter = (m) => [m];
    for (let i = 0; i < 50; i++) cb.send(mkFrame(mac(1), mac(2), 60 + i, 500 + i));
    for (let i = 0; i < 50; i++) assert.equal(tagOf((await ca.recv())!), 500 + i);
    assert.equal(firstLink(a), link, "the same trunk throughout");
    assert.equal(links(b), 1);
    // the other direction
    ca.send(mkFrame(mac(2), mac(1), 1514, 7));
    assert.equal(tagOf((await cb.recv())!), 7);
  } finally {
    await n.close();
  }
});

Deno.test("udp trunk: tampered, replayed and junk datagrams are dropped and counted; the trunk stays", async () => {
  const n = new Net();
  try {
    const { a, ca, cb } = await upWithClients(n);
    const link = firstLink(a);
    n.relay!.filter = (m) => {
      if (!isFrames(m)) return [m];
      const bad = m.slice();
      bad[bad.length - 20] ^= 1; // inside the ciphertext
      const junk = new Uint8Array([1, 3, 0, 0]);
      return [bad, m, m, junk]; // altered copy, the real one, a replay, a runt
    };
    cb.send(mkFrame(mac(1), mac(2), 200, 42));
    assert.equal(tagOf((await ca.recv())!), 42);
    assert.equal(await ca.recv(300), null, "exactly one copy arrives");
    assert.equal(link.counters.authFailed, 1);
    assert.equal(link.counters.replayed, 1);
    assert.equal(link.counters.malformed, 1);
    assert.ok(n.logs.get(a)!.some((l) => /failed authentication/.test(l)));
    n.relay!.filter = (m) => [m];
    cb.send(mkFrame(mac(1), mac(2), 60, 43));
    assert.equal(tagOf((await ca.recv())!), 43);
    assert.equal(firstLink(a), link);
  } finally {
    await n.close();
  }
});

Deno.test("udp trunk: a peer with the wrong key is refused and logged, and nothing crosses", async () => {
  const n = new Net();
  try {
    const { a, b } = await n.pair({}, { key: OTHER_KEY });
    await waitFor(() => n.logs.get(a)!.some((l) => /authentication failed/.test(l)), "refusal logged");
    assert.equal(links(a), 0);
    assert.equal(links(b), 0);
    assert.ok(a.trunkCtx!.counters.authFailures >= 1);
  } finally {
    await n.close();
  }
});

Deno.test("udp trunk: a silent peer times out and the dialer redials", async () => {
  const n = new Net();
  try {
    const opts = { keepaliveMs: 100, deadMs: 400 };
    const { a, b } = await n.pair(opts, opts);
    await waitFor(() => links(a) === 1 && links(b) === 1, "up");
    const first = firstLink(b);
    let cut = true;
    n.relay!.filter = (m) => (cut ? [] : [m]);
    await waitFor(() => links(b) === 0, "dialer notices the silence", 3000);
    cut = false;
    await waitFor(() => links(a) === 1 && links(b) === 1 && firstLink(b) !== first, "redialled", 5000);
    assert.ok(n.logs.get(b)!.some((l) => /down: no message/.test(l)));
  } finally {
    await n.close();
  }
});
