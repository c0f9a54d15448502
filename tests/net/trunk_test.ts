// Trunks between daemons in this process, over loopback TCP only.
import assert from "node:assert/strict";
import { type Endpoint, parseEndpoint } from "../../net/addr.ts";
import { type DaemonOptions, SwitchDaemon } from "../../net/daemon.ts";
import { encodeFrame, FrameReader } from "../../net/stream.ts";
import { readKeyFile } from "../../net/trunk_crypto.ts";
import { BCAST, keyFile, mac, mkFrame, OTHER_KEY, sleep, SwitchNet, tagOf, waitFor } from "./lib.ts";

const FAST = { backoff: { minMs: 20, maxMs: 200 }, handshakeMs: 2000 };

class Net extends SwitchNet {
  constructor() {
    super("ring3-trunk-", FAST);
  }
  trunkEp(d: SwitchDaemon): Endpoint {
    return parseEndpoint(`tcp:127.0.0.1:${d.trunkAddrs[0].port}`);
  }
}

const links = (d: SwitchDaemon) => d.trunkCtx!.links.size;
const firstLink = (d: SwitchDaemon) => [...d.trunkCtx!.links][0];

async function pair(n: Net, extraA: DaemonOptions = {}, extraB: DaemonOptions = {}) {
  const a = await n.daemon("a", { trunkListen: [parseEndpoint("tcp:127.0.0.1:0")], ...extraA });
  const b = await n.daemon("b", { trunk: [n.trunkEp(a)], ...extraB });
  await waitFor(() => links(a) === 1 && links(b) === 1, "trunk up");
  return { a, b };
}

Deno.test("trunk: two switches carry frames both ways and learn across the trunk", async () => {
  const n = new Net();
  try {
    const { a, b } = await pair(n);
    const ca = await n.client("a"), cb = await n.client("b");
    await waitFor(() => a.network().portList.length === 2 && b.network().portList.length === 2, "ports");
    ca.send(mkFrame(BCAST, mac(1), 60, 1));
    assert.equal(tagOf((await cb.recv())!), 1);
    cb.send(mkFrame(mac(1), mac(2), 1514, 2));
    assert.deepEqual(await ca.recv(), mkFrame(mac(1), mac(2), 1514, 2));
    for (let i = 0; i < 200; i++) ca.send(mkFrame(mac(2), mac(1), 60 + i, 100 + i));
    for (let i = 0; i < 200; i++) assert.equal(tagOf((await cb.recv())!), 100 + i); // in order, none lost
    // each side learned the far station on its trunk port
    assert.equal(a.network().lookup(mac(2))?.trunk, true);
    assert.equal(b.network().lookup(mac(1))?.trunk, true);
    assert.equal(firstLink(a).counters.rxFrames, 1);
    assert.equal(firstLink(b).counters.rxFrames, 201);
  } finally {
    await n.close();
  }
});

Deno.test("trunk: networks sharing a trunk never see each other's frames", async () => {
  const n = new Net();
  try {
    const two = (name: string) => [
      parseEndpoint(`unix:${n.dir}/${name}.sock`),
      parseEndpoint(`unix:${n.dir}/${name}2.sock,net=2`),
    ];
    const a = await n.daemon("a", {
      listen: [...two("a"), parseEndpoint(`unix:${n.dir}/a3.sock,net=3`)],
      trunkListen: [parseEndpoint("tcp:127.0.0.1:0")],
    });
    const b = await n.daemon("b", { listen: two("b"), trunk: [n.trunkEp(a)] });
    await waitFor(() => links(a) === 1 && links(b) === 1, "trunk up");
    const a1 = await n.client("a"), a2 = await n.client("a2"), a3 = await n.client("a3");
    const b1 = await n.client("b"), b2 = await n.client("b2");
    a1.send(mkFrame(BCAST, mac(1), 60, 10));
    a2.send(mkFrame(BCAST, mac(1), 60, 20)); // same MAC on the other network: separate tables
    assert.equal(tagOf((await b1.recv())!), 10);
    assert.equal(tagOf((await b2.recv())!), 20);
    b2.send(mkFrame(mac(1), mac(9), 60, 21));
    assert.equal(tagOf((await a2.recv())!), 21);
    a3.send(mkFrame(BCAST, mac(3), 60, 30)); // network 3 exists only on a
    await waitFor(() => firstLink(b).counters.unknownNet === 1, "net 3 frame refused by b");
    assert.equal(await a1.recv(150), null);
    assert.equal(await b1.recv(1), null);
    assert.equal(await b2.recv(1), null);
    assert.equal(await a2.recv(1), null);
  } finally {
    await n.close();
  }
});

Deno.test("trunk: a peer with the wrong key is refused and logged, and nothing crosses", async () => {
  const n = new Net();
  try {
    const a = await n.daemon("a", { trunkListen: [parseEndpoint("tcp:127.0.0.1:0")] });
    const b = await n.daemon("b", {
      trunk: [n.trunkEp(a)],
      key: OTHER_KEY,
    });
    await waitFor(() => a.trunkCtx!.counters.authFailures >= 2, "two refusals (the dialer retries)");
    assert.ok(n.logs.get(a)!.some((l) => /authentication failed/.test(l)), n.logs.get(a)!.join("\n"));
    assert.ok(n.logs.get(b)!.some((l) => /authentication failed/.test(l)), n.logs.get(b)!.join("\n"));
    assert.equal(links(a), 0);
    assert.equal(links(b), 0);
    const ca = await n.client("a"), cb = await n.client("b");
    cb.send(mkFrame(BCAST, mac(2), 60, 1));
    assert.equal(await ca.recv(200), null);
  } finally {
    await n.close();
  }
});

Deno.test("trunk: something that is not a ring3 trunk is refused", async () => {
  const n = new Net();
  try {
    const a = await n.daemon("a", { trunkListen: [parseEndpoint("tcp:127.0.0.1:0")] });
    const c = await Deno.connect({ hostname: "127.0.0.1", port: a.trunkAddrs[0].port });
    await c.write(encodeFrame(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n" + "x".repeat(40))));
    await waitFor(() => a.trunkCtx!.counters.protocolErrors === 1, "refusal");
    // the listener speaks only when spoken to in its protocol: it hangs up without a word
    let got = 0;
    for (let r; (r = await c.read(new Uint8Array(256))) !== null;) got += r;
    assert.equal(got, 0);
    c.close();
    assert.ok(n.logs.get(a)!.some((l) => /not a ring3 trunk/.test(l)));
  } finally {
    await n.close();
  }
});

/** A TCP relay that lets a test rewrite, duplicate or swallow the dialer's messages. */
class Proxy {
  readonly listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  mutate: (msg: Uint8Array) => Uint8Array[] = (m) => [m];
  blackhole = false;
  private conns: Deno.Conn[] = [];
  private done: Promise<void>;
  constructor(private readonly target: number) {
    this.done = this.loop();
  }
  get port() {
    return (this.listener.addr as Deno.NetAddr).port;
  }
  private async loop() {
    for (;;) {
      let c: Deno.Conn;
      try {
        c = await this.listener.accept();
      } catch {
        return;
      }
      const s = await Deno.connect({ hostname: "127.0.0.1", port: this.target });
      this.conns.push(c, s);
      this.pump(c, s, true);
      this.pump(s, c, false);
    }
  }
  private async pump(from: Deno.Conn, to: Deno.Conn, filter: boolean) {
    const buf = new Uint8Array(65536);
    const r = new FrameReader((m) => {
      if (filter && this.blackhole) return;
      for (const out of filter ? this.mutate(m) : [m]) to.write(encodeFrame(out)).catch(() => {});
    }, 1 << 20);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        r.push(buf.subarray(0, n));
      }
    } catch { /* closed */ }
    try {
      to.close();
    } catch { /* closed */ }
  }
  async close() {
    this.listener.close();
    for (const c of this.conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await this.done;
  }
}

Deno.test("trunk: a tampered frame is dropped and counted, a replayed one too; the link stays up", async () => {
  const n = new Net();
  try {
    const a = await n.daemon("a", { trunkListen: [parseEndpoint("tcp:127.0.0.1:0")] });
    const proxy = new Proxy(a.trunkAddrs[0].port);
    n.closers.push(() => proxy.close());
    const b = await n.daemon("b", { trunk: [parseEndpoint(`tcp:127.0.0.1:${proxy.port}`)] });
    await waitFor(() => links(a) === 1 && links(b) === 1, "trunk up");
    const ca = await n.client("a"), cb = await n.client("b");
    await waitFor(() => b.network().portList.length === 2, "b ports");
    const FRAME = 3;
    let mode = "";
    proxy.mutate = (m) => {
      if (m[1] !== FRAME || mode === "") return [m];
      const which = mode;
      mode = "";
      if (which === "payload") {
        const t = m.slice();
        t[16 + 20] ^= 0x01; // one bit of ciphertext
        return [t];
      }
      if (which === "header") {
        const t = m.slice();
        t[7] ^= 0x02; // the record count: the header is authenticated too
        return [t];
      }
      return [m, m]; // replay
    };
    mode = "payload";
    cb.send(mkFrame(BCAST, mac(2), 100, 1));
    await waitFor(() => firstLink(a).counters.authFailed === 1, "tampered payload caught");
    mode = "header";
    cb.send(mkFrame(BCAST, mac(2), 100, 2));
    await waitFor(() => firstLink(a).counters.authFailed === 2, "tampered header caught");
    mode = "replay";
    cb.send(mkFrame(BCAST, mac(2), 100, 3));
    await waitFor(() => firstLink(a).counters.replayed === 1, "replay caught");
    assert.equal(tagOf((await ca.recv())!), 3); // delivered once
    assert.equal(await ca.recv(100), null); // nothing of the forgeries
    cb.send(mkFrame(BCAST, mac(2), 100, 4));
    assert.equal(tagOf((await ca.recv())!), 4);
    assert.equal(links(a), 1);
    assert.ok(n.logs.get(a)!.some((l) => /failed authentication/.test(l)));
  } finally {
    await n.close();
  }
});

Deno.test("trunk: the dialer reconnects after the peer restarts", async () => {
  const n = new Net();
  try {
    const { a, b } = await pair(n);
    const port = a.trunkAddrs[0].port;
    const cb = await n.client("b");
    await a.close();
    n.daemons.splice(n.daemons.indexOf(a), 1);
    await waitFor(() => links(b) === 0, "b notices");
    await sleep(100); // a few failed attempts while nobody listens
    const a2 = await n.daemon("a", { trunkListen: [parseEndpoint(`tcp:127.0.0.1:${port}`)] });
    await waitFor(() => links(a2) === 1 && links(b) === 1, "trunk back up");
    const ca = await n.client("a");
    await waitFor(() => a2.network().portList.length === 2, "ports");
    ca.send(mkFrame(BCAST, mac(1), 60, 5));
    assert.equal(tagOf((await cb.recv())!), 5);
    cb.send(mkFrame(mac(1), mac(2), 60, 6));
    assert.equal(tagOf((await ca.recv())!), 6);
    assert.ok(n.logs.get(b)!.some((l) => /cannot connect/.test(l)));
  } finally {
    await n.close();
  }
});

Deno.test("trunk: a silent peer is declared dead by keepalive timeout, then reconnected", async () => {
  const n = new Net();
  try {
    const ka = { keepaliveMs: 50, deadMs: 300 };
    const a = await n.daemon("a", { trunkListen: [parseEndpoint("tcp:127.0.0.1:0")], ...ka });
    const proxy = new Proxy(a.trunkAddrs[0].port);
    n.closers.push(() => proxy.close());
    const b = await n.daemon("b", { trunk: [parseEndpoint(`tcp:127.0.0.1:${proxy.port}`)], ...ka });
    await waitFor(() => links(a) === 1 && links(b) === 1, "trunk up");
    await sleep(400); // keepalives hold an idle link up
    assert.equal(links(a), 1);
    const first = firstLink(a);
    proxy.blackhole = true; // b's messages vanish: a hears nothing
    await waitFor(() => first.isClosed, "a drops the silent link", 3000);
    assert.ok(n.logs.get(a)!.some((l) => /no message for 300 ms/.test(l)), n.logs.get(a)!.join("\n"));
    proxy.blackhole = false;
    await waitFor(() => links(a) === 1 && links(b) === 1 && firstLink(a) !== first, "relinked", 5000);
  } finally {
    await n.close();
  }
});

Deno.test("trunk: a full mesh of three switches delivers each broadcast exactly once", async () => {
  const n = new Net();
  try {
    const tl = [parseEndpoint("tcp:127.0.0.1:0")];
    const a = await n.daemon("a", { trunkListen: tl });
    const b = await n.daemon("b", { trunkListen: tl, trunk: [n.trunkEp(a)] });
    const c = await n.daemon("c", { trunk: [n.trunkEp(a), n.trunkEp(b)] });
    await waitFor(() => links(a) === 2 && links(b) === 2 && links(c) === 2, "mesh up");
    const ca = await n.client("a"), cb = await n.client("b"), cc = await n.client("c");
    await waitFor(() => [a, b, c].every((d) => d.network().portList.length === 3), "ports");
    for (const [i, src] of [ca, cb, cc].entries()) {
      src.send(mkFrame(BCAST, mac(i + 1), 60, i));
      for (const dst of [ca, cb, cc]) {
        if (dst === src) continue;
        assert.equal(tagOf((await dst.recv())!), i);
      }
    }
    await sleep(100);
    assert.deepEqual([ca.pending, cb.pending, cc.pending], [0, 0, 0]); // no duplicates, no loop
    cc.send(mkFrame(mac(1), mac(3), 60, 9)); // unicast, learned: only a's client
    assert.equal(tagOf((await ca.recv())!), 9);
    assert.equal(await cb.recv(100), null);
  } finally {
    await n.close();
  }
});

Deno.test("trunk: key files hold at least 32 bytes of key material (hex, base64 or binary), trimmed", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const key = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 5) & 0xff);
    const hex = Array.from(key, (b) => b.toString(16).padStart(2, "0")).join("");
    const b64 = btoa(String.fromCharCode(...key));
    assert.deepEqual(await readKeyFile(keyFile(dir, "hex", `  ${hex} `)), key);
    assert.deepEqual(await readKeyFile(keyFile(dir, "b64", b64)), key);
    Deno.writeFileSync(`${dir}/bin`, key);
    assert.deepEqual(await readKeyFile(`${dir}/bin`), key);
    // the weak keys of the issue and their like
    await assert.rejects(readKeyFile(keyFile(dir, "pw", "passwordpassword")), /at least 32 random bytes/);
    await assert.rejects(
      readKeyFile(keyFile(dir, "phrase", "correct horse battery staple, long enough")),
      /passphrase/,
    );
    await assert.rejects(readKeyFile(keyFile(dir, "rep", "password".repeat(6))), /does not look random/);
    await assert.rejects(readKeyFile(keyFile(dir, "hex16", hex.slice(0, 32))), /holds 16 bytes of key material/);
    await assert.rejects(readKeyFile(keyFile(dir, "b64short", btoa("x".repeat(20)))), /at least 32/);
    await assert.rejects(SwitchDaemon.start({ trunk: [parseEndpoint("tcp:127.0.0.1:1")] }), /key/);
    await assert.rejects(
      SwitchDaemon.start({ trunk: [parseEndpoint("tcp:127.0.0.1:1")], key: new TextEncoder().encode("short") }),
      /at least 32/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
