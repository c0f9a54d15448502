// Port framing: reassembly from arbitrary splits, and a daemon's ports over real sockets
// (unix in a temp dir, loopback TCP) surviving partial writes, dying and misbehaving peers.
import assert from "node:assert/strict";
import { parseEndpoint } from "../../net/addr.ts";
import { SwitchClient } from "../../net/client.ts";
import { SwitchDaemon } from "../../net/daemon.ts";
import { encodeFrame, FramedWriter, FrameReader, FramingError, STREAM_MAX_LEN } from "../../net/stream.ts";
import { BCAST, mac, mkFrame, sleep, tagOf, waitFor } from "./lib.ts";
import { Rng } from "../lib/rng.ts";

Deno.test("stream: frames reassemble from any split of the byte stream", () => {
  const rng = new Rng(42);
  const rnd = () => rng.float();
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 200; i++) frames.push(mkFrame(BCAST, mac(i + 1), [0, 14, 60, 1514, 1518][i % 5], i));
  const total = frames.reduce((n, f) => n + 4 + f.length, 0);
  const stream = new Uint8Array(total);
  let o = 0;
  for (const f of frames) {
    stream.set(encodeFrame(f), o);
    o += 4 + f.length;
  }
  for (const maxChunk of [1, 3, 7, 100, 5000]) {
    const out: Uint8Array[] = [];
    const r = new FrameReader((f) => out.push(f));
    for (let i = 0; i < total;) {
      const n = 1 + Math.floor(rnd() * maxChunk);
      r.push(stream.subarray(i, Math.min(total, i + n)));
      i += n;
    }
    assert.equal(out.length, frames.length, `chunks up to ${maxChunk}`);
    out.forEach((f, i) => assert.deepEqual(f, frames[i]));
    assert.equal(r.midFrame, false);
  }
});

Deno.test("stream: the length prefix is 4 bytes big-endian (QEMU -netdev stream)", () => {
  const e = encodeFrame(new Uint8Array(0x0102));
  assert.deepEqual([...e.subarray(0, 4)], [0, 0, 1, 2]);
  assert.equal(e.length, 4 + 0x102);
});

Deno.test("stream: an oversized length prefix is a framing error; a half frame is visible", () => {
  const r = new FrameReader(() => {});
  r.push(new Uint8Array([0, 0, 0, 60, 1, 2]));
  assert.equal(r.midFrame, true);
  const bad = new FrameReader(() => {});
  const h = new Uint8Array(4);
  new DataView(h.buffer).setUint32(0, STREAM_MAX_LEN + 1);
  assert.throws(() => bad.push(h), FramingError);
  const bad2 = new FrameReader(() => {});
  bad2.push(h.subarray(0, 2));
  assert.throws(() => bad2.push(h.subarray(2)), FramingError);
});

async function withDaemon(fn: (d: SwitchDaemon, sock: string, log: string[]) => Promise<void>) {
  const dir = Deno.makeTempDirSync({ prefix: "ring3-net-" });
  const sock = `${dir}/sw.sock`;
  const log: string[] = [];
  const d = await SwitchDaemon.start({
    listen: [parseEndpoint(`unix:${sock}`), parseEndpoint("tcp:127.0.0.1:0")],
    log: (m) => log.push(m),
  });
  try {
    await fn(d, sock, log);
  } finally {
    await d.close();
    assert.throws(() => Deno.lstatSync(sock), Deno.errors.NotFound); // socket file removed
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("stream: unix and TCP ports of one daemon exchange frames both ways", async () => {
  await withDaemon(async (d, sock) => {
    const tcp = d.edgeAddrs[1] as Deno.NetAddr;
    const a = await SwitchClient.connect(parseEndpoint(`unix:${sock}`));
    const b = await SwitchClient.connect(parseEndpoint(`tcp:127.0.0.1:${tcp.port}`));
    await waitFor(() => d.network().portList.length === 2, "two ports");
    a.send(mkFrame(BCAST, mac(1), 60, 11));
    assert.equal(tagOf((await b.recv())!), 11);
    b.send(mkFrame(mac(1), mac(2), 1514, 12));
    const f = (await a.recv())!;
    assert.deepEqual(f, mkFrame(mac(1), mac(2), 1514, 12));
    a.send(mkFrame(mac(2), mac(1), 60, 13));
    assert.equal(tagOf((await b.recv())!), 13);
    assert.equal(await a.recv(100), null); // nothing echoed back
    await a.close();
    await b.close();
  });
});

Deno.test("stream: a frame written a byte at a time arrives whole", async () => {
  await withDaemon(async (d, sock) => {
    const b = await SwitchClient.connect(parseEndpoint(`unix:${sock}`));
    const raw = await Deno.connect({ transport: "unix", path: sock });
    await waitFor(() => d.network().portList.length === 2, "two ports");
    const bytes = encodeFrame(mkFrame(BCAST, mac(5), 100, 77));
    for (let i = 0; i < bytes.length; i++) {
      await raw.write(bytes.subarray(i, i + 1));
      if (i % 16 === 0) await sleep(1);
    }
    assert.equal(tagOf((await b.recv())!), 77);
    raw.close();
    await b.close();
  });
});

Deno.test("stream: a peer dying mid-frame loses only that frame, and its port goes away", async () => {
  await withDaemon(async (d, sock, log) => {
    const b = await SwitchClient.connect(parseEndpoint(`unix:${sock}`));
    const raw = await Deno.connect({ transport: "unix", path: sock });
    await waitFor(() => d.network().portList.length === 2, "two ports");
    const bytes = encodeFrame(mkFrame(BCAST, mac(6), 600, 1));
    await raw.write(bytes.subarray(0, 300));
    await sleep(20);
    raw.close();
    await waitFor(() => d.network().portList.length === 1, "the dead port removed");
    assert.ok(log.some((l) => /disconnected: mid-frame/.test(l)), log.join("\n"));
    assert.equal(await b.recv(100), null);
    // the switch carries on
    const c = await SwitchClient.connect(parseEndpoint(`unix:${sock}`));
    await waitFor(() => d.network().portList.length === 2, "new port");
    c.send(mkFrame(BCAST, mac(7), 60, 2));
    assert.equal(tagOf((await b.recv())!), 2);
    await b.close();
    await c.close();
  });
});

Deno.test("stream: an oversized length prefix closes that port only", async () => {
  await withDaemon(async (d, sock, log) => {
    const b = await SwitchClient.connect(parseEndpoint(`unix:${sock}`));
    const raw = await Deno.connect({ transport: "unix", path: sock });
    await waitFor(() => d.network().portList.length === 2, "two ports");
    await raw.write(new Uint8Array([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]));
    await waitFor(() => d.network().portList.length === 1, "the bad port closed");
    assert.ok(log.some((l) => /disconnected: framing/.test(l)));
    assert.equal(await raw.read(new Uint8Array(16)), null); // the switch hung up on it
    raw.close();
    // a frame above the switch's size limit (but a sane prefix) is dropped, the port stays
    const a = await SwitchClient.connect(parseEndpoint(`unix:${sock}`));
    await waitFor(() => d.network().portList.length === 2, "two ports");
    a.send(mkFrame(BCAST, mac(1), 3000, 5));
    a.send(mkFrame(BCAST, mac(1), 60, 6));
    assert.equal(tagOf((await b.recv())!), 6);
    const pa = d.network().portList.find((p) => p.counters.rxOversize > 0);
    assert.ok(pa, "oversize counted");
    await a.close();
    await b.close();
  });
});

Deno.test("stream: a peer that stops reading gets drops, the others get everything", async () => {
  await withDaemon(async (d, sock) => {
    const a = await SwitchClient.connect(parseEndpoint(`unix:${sock}`));
    const b = await SwitchClient.connect(parseEndpoint(`unix:${sock}`));
    const stuck = await Deno.connect({ transport: "unix", path: sock }); // never reads
    await waitFor(() => d.network().portList.length === 3, "three ports");
    const N = 4000;
    let got = 0;
    b.onFrame = () => got++;
    for (let i = 0; i < N; i++) {
      a.send(mkFrame(BCAST, mac(1), 1500, i));
      if (i % 50 === 49) await waitFor(() => got === i + 1, `frame ${i}`);
    }
    await waitFor(() => got === N, "all frames at b");
    const ports = d.network().portList;
    const stuckPort = ports[2];
    assert.ok(stuckPort.counters.txDropped > 0, "drops counted on the stalled port");
    assert.equal(ports[1].counters.txDropped, 0);
    stuck.close();
    await a.close();
    await b.close();
  });
});

Deno.test("stream: a second daemon on a live socket path is refused, a stale one is replaced", async () => {
  await withDaemon(async (_d, sock) => {
    await assert.rejects(SwitchDaemon.start({ listen: [parseEndpoint(`unix:${sock}`)], log: () => {} }), /in use/);
  });
  const dir = Deno.makeTempDirSync({ prefix: "ring3-net-" });
  const sock = `${dir}/stale.sock`;
  // a process that exits without closing its listener leaves the socket file behind
  const code = `Deno.listen({ transport: "unix", path: ${JSON.stringify(sock)} }); Deno.exit(0);`;
  await new Deno.Command(Deno.execPath(), { args: ["eval", code] }).output();
  assert.ok(Deno.lstatSync(sock).isSocket, "stale socket file left behind");
  const d = await SwitchDaemon.start({ listen: [parseEndpoint(`unix:${sock}`)], log: () => {} });
  const c = await SwitchClient.connect(parseEndpoint(`unix:${sock}`));
  await waitFor(() => d.network().portList.length === 1, "port on the replaced socket");
  await c.close();
  await d.close();
  Deno.removeSync(dir, { recursive: true });
});

// FramedWriter with wholeFrames (the Deno.Conn path to passt): every write() the connection sees
// starts and ends on a frame boundary and holds at most 32 KiB, unless it is one larger frame
Deno.test("FramedWriter wholeFrames: writes of whole frames only, 32 KiB at most", async () => {
  const writes: Uint8Array[] = [];
  const conn = {
    write(b: Uint8Array): Promise<number> {
      writes.push(b.slice());
      return Promise.resolve(b.length);
    },
  } as unknown as Deno.Conn;
  const w = new FramedWriter(
    conn,
    (e) => {
      throw e;
    },
    64 << 20,
    true,
  );
  const rng = new Rng(5);
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 2000; i++) {
    const f = new Uint8Array(i % 500 === 7 ? 60000 : 42 + rng.u32() % 1500).fill(i & 0xff);
    frames.push(f);
    assert.ok(w.write(f));
  }
  await w.drained;
  let k = 0;
  for (const b of writes) {
    let o = 0, n = 0;
    while (o < b.length) {
      const len = new DataView(b.buffer, b.byteOffset + o).getUint32(0);
      assert.equal(len, frames[k].length, `frame ${k}'s prefix`);
      assert.deepEqual(b.subarray(o + 4, o + 4 + len), frames[k]);
      o += 4 + len, k++, n++;
    }
    assert.equal(o, b.length, "a write ends on a frame boundary");
    assert.ok(b.length <= 32 << 10 || n === 1, `a write of ${b.length} bytes holds ${n} frames`);
  }
  assert.equal(k, frames.length);
  assert.ok(writes.length > 10 && writes.length < 1000, `${writes.length} writes: batched`);
});
