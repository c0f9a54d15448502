// net/fdstream.ts: a NIC's switch connection driven through libc. Frames cross in QEMU's stream
// framing both ways (checked against a Deno.Conn peer that parses them independently), one flush
// writes a whole burst, input arrives with nobody calling pump() (the poll thread) and with it,
// pause() keeps frames in the socket until resume(), the output queue is bounded, a ring3 switch
// answers the offload hello, and the peer's close or a broken length prefix ends the stream.
import assert from "node:assert/strict";
import { FdStream } from "../../net/fdstream.ts";
import { SwitchDaemon } from "../../net/daemon.ts";
import { SwitchClient } from "../../net/client.ts";
import { frame, MAC, PEER } from "./nic_lib.ts";
import { waitFor } from "./lib.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

// a listening unix socket and the one connection an FdStream makes to it
async function pair(
  maxQueueBytes?: number,
  wholeFrames = false,
): Promise<{ s: FdStream; peer: Deno.Conn; close(): Promise<void> }> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/p.sock`;
  const l = Deno.listen({ transport: "unix", path });
  const [s, peer] = await Promise.all([
    FdStream.connect({ transport: "unix", path }, { maxQueueBytes, wholeFrames }),
    l.accept(),
  ]);
  assert.ok(s, "FFI is available to the tests (deno test -A)");
  return {
    s,
    peer,
    close: async () => {
      await s.close();
      try {
        peer.close();
      } catch { /* closed */ }
      l.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

// read `n` length-prefixed frames from a Deno.Conn
async function readFrames(c: Deno.Conn, n: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(1 << 16);
  while (out.length < n) {
    for (;;) {
      if (buf.length < 4) break;
      const len = new DataView(buf.buffer, buf.byteOffset).getUint32(0);
      if (buf.length < 4 + len) break;
      out.push(buf.slice(4, 4 + len));
      buf = buf.slice(4 + len);
    }
    if (out.length >= n) break;
    const got = await c.read(chunk);
    if (got === null) throw new Error(`EOF after ${out.length} frames`);
    const next = new Uint8Array(buf.length + got);
    next.set(buf);
    next.set(chunk.subarray(0, got), buf.length);
    buf = next;
  }
  return out;
}

function encode(frames: Uint8Array[]): Uint8Array {
  const total = frames.reduce((a, f) => a + 4 + f.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const f of frames) {
    new DataView(out.buffer).setUint32(o, f.length);
    out.set(f, o + 4);
    o += 4 + f.length;
  }
  return out;
}

Deno.test({
  name: "fdstream: a burst goes out in one write; frames in arrive with and without pump()",
  ...opts,
  async fn() {
    const p = await pair();
    try {
      const sent = [frame(PEER, MAC, 60, 1), frame(PEER, MAC, 1514, 2), frame(PEER, MAC, 9000, 3)];
      for (const f of sent) assert.equal(p.s.send(f), true);
      assert.equal(p.s.pending, sent.reduce((a, f) => a + 4 + f.length, 0));
      p.s.flush();
      assert.equal(p.s.pending, 0);
      assert.equal(p.s.writes, 1, "one write() for the burst");
      assert.deepEqual(await readFrames(p.peer, 3), sent);

      const rx: Uint8Array[] = [];
      p.s.onFrame = (f) => rx.push(f);
      // nobody pumps: the poll thread notices the input
      const back = [frame(MAC, PEER, 1514, 4), frame(MAC, PEER, 64, 5)];
      await p.peer.write(encode(back));
      await waitFor(() => rx.length === 2, "frames through the poll thread");
      assert.deepEqual(rx, back);
      // a frame split across writes, read by pump()
      const big = frame(MAC, PEER, 4000, 6), enc = encode([big]);
      await p.peer.write(enc.subarray(0, 1000));
      await new Promise((r) => setTimeout(r, 50));
      p.s.pump();
      await p.peer.write(enc.subarray(1000));
      await waitFor(() => (p.s.pump(), rx.length === 3), "the split frame");
      assert.deepEqual(rx[2], big);
    } finally {
      await p.close();
    }
  },
});

Deno.test({
  name: "fdstream: pause() leaves frames in the socket until resume(); the output queue is bounded",
  ...opts,
  async fn() {
    const p = await pair(64 << 10);
    try {
      const rx: Uint8Array[] = [];
      p.s.onFrame = (f) => rx.push(f);
      p.s.pause();
      await p.peer.write(encode([frame(MAC, PEER, 100, 1)]));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(p.s.pump(), 0);
      assert.equal(rx.length, 0, "nothing read while paused");
      p.s.resume();
      await waitFor(() => rx.length === 1, "the frame after resume");

      // the peer reads nothing: the socket fills, then the 64 KiB queue, then frames are dropped
      let ok = 0;
      for (let i = 0; i < 2000 && p.s.dropped === 0; i++) {
        if (p.s.send(frame(PEER, MAC, 1514, i))) ok++;
        p.s.flush();
      }
      assert.ok(p.s.dropped > 0, "a full queue drops");
      assert.ok(p.s.pending <= 64 << 10);
      // everything accepted arrives, in order, once the peer reads
      const got = await readFrames(p.peer, ok);
      assert.equal(got.length, ok);
      for (let i = 0; i < ok; i++) assert.deepEqual(got[i], frame(PEER, MAC, 1514, i));
    } finally {
      await p.close();
    }
  },
});

Deno.test({
  name: "fdstream: the peer's close, and a length prefix over 64 KiB, end the stream",
  ...opts,
  async fn() {
    let p = await pair();
    try {
      p.peer.close();
      await waitFor(() => p.s.closedReason !== null, "eof");
      assert.equal(p.s.closedReason, "eof");
      await p.s.done;
    } finally {
      await p.close();
    }
    p = await pair();
    try {
      await p.peer.write(new Uint8Array([0, 1, 0, 1, 0, 0]));
      await waitFor(() => p.s.closedReason !== null, "framing error");
      assert.equal(p.s.closedReason, "framing");
      assert.equal(p.s.send(frame(PEER, MAC, 60, 1)), false, "nothing queued after close");
    } finally {
      await p.close();
    }
  },
});

Deno.test({
  name: "fdstream: through a switch daemon, over unix and TCP; the switch answers the offload hello",
  ...opts,
  async fn() {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/sw.sock`;
    const d = await SwitchDaemon.start({
      listen: [{ transport: "unix", path }, { transport: "tcp", hostname: "127.0.0.1", port: 0 }],
      log: () => {},
    });
    try {
      const port = (d.edgeListeners.find((l) => l.ep.transport === "tcp")!.listener.addr as Deno.NetAddr).port;
      const s = (await FdStream.connect({ transport: "tcp", hostname: "127.0.0.1", port }))!;
      const peer = await SwitchClient.connect({ transport: "unix", path });
      const rx: Uint8Array[] = [];
      s.onFrame = (f) => rx.push(f);
      s.sendHello(MAC);
      await waitFor(() => s.offload, "the switch's answer to the hello");
      const bcast = frame(new Uint8Array(6).fill(0xff), PEER, 60, 7);
      peer.send(bcast);
      await waitFor(() => rx.length === 1, "broadcast from the peer");
      assert.deepEqual(rx[0], bcast);
      const out = frame(PEER, MAC, 1514, 8);
      s.send(out);
      s.flush();
      assert.deepEqual(await peer.recv(3000), out);
      await s.close();
      await peer.close();
    } finally {
      await d.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// Frames of sizes 42..1541 with random contents (a fixed seed): lengths land anywhere in a write
function mixed(n: number, seed: number): Uint8Array[] {
  let x = seed;
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.push(frame(PEER, MAC, 42 + (x >>> 8) % 1500, i + seed));
  }
  return out;
}

Deno.test({
  name: "fdstream: with wholeFrames every write a full socket stops ends on a frame boundary",
  ...opts,
  async fn() {
    const cuts: Record<string, number> = {};
    for (const whole of [true, false]) {
      const p = await pair(64 << 20, whole);
      let cut = 0;
      try {
        for (let round = 0; round < 8; round++) {
          // the peer reads nothing meanwhile: the socket fills and the write stops somewhere
          const burst = mixed(800, round * 1000 + 1);
          for (const f of burst) assert.equal(p.s.send(f), true);
          p.s.flush();
          assert.ok(p.s.pending > 0, "the burst is more than the socket holds");
          // the bytes that left: whole frames only?
          let left = burst.reduce((a, f) => a + 4 + f.length, 0) - p.s.pending;
          for (let i = 0; i < burst.length && left >= 4 + burst[i].length; i++) left -= 4 + burst[i].length;
          if (left !== 0) cut++;
          // the peer takes everything (the poll thread writes the rest): whole, in order
          assert.deepEqual(await readFrames(p.peer, burst.length), burst);
          await waitFor(() => p.s.pending === 0, "the queue drained");
        }
        if (whole) assert.equal(p.s.splitWrites, 0, "no write was cut by the kernel");
      } finally {
        await p.close();
      }
      cuts[whole ? "whole" : "plain"] = cut;
    }
    assert.equal(cuts.whole, 0, "with wholeFrames every stopped write ended on a frame boundary");
    // the control: without it the same bursts stop mid-frame (else this test would check nothing)
    assert.ok(cuts.plain > 0, `plain writes stopped mid-frame (${cuts.plain} of 8)`);
  },
});
