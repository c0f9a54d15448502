// The trunk handshake against fake peers: an impostor listener without the key learns nothing a
// key could be guessed from (the dialer never sends its proof), a version 1 listener is named in
// the dialer's error, and a HELLO costs the listener no state until its cookie comes back.
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { parseEndpoint } from "../../net/addr.ts";
import { SwitchDaemon } from "../../net/daemon.ts";
import { encodeFrame, FrameReader } from "../../net/stream.ts";
import {
  COOKIE_MSG_LEN,
  HELLO_COOKIE_LEN,
  HELLO_LEN,
  T_AUTH,
  T_COOKIE,
  T_HELLO,
  T_HELLO_COOKIE,
  T_SHELLO,
  TRUNK_VERSION,
} from "../../net/trunk.ts";
import { TRUNK_KEY, waitFor } from "./lib.ts";

const MAGIC = new TextEncoder().encode("RING3TRK");

function msg(type: number, len: number, version = TRUNK_VERSION): Uint8Array {
  const m = new Uint8Array(len);
  m.set(MAGIC, 0);
  m[8] = version;
  m[9] = type;
  crypto.getRandomValues(m.subarray(12));
  return m;
}

/** A TCP "listener" that answers as `answer` says and records what the dialer sends. */
function fakeListener(
  answer: (m: Uint8Array, send: (m: Uint8Array) => void) => void,
  onAccept?: (send: (m: Uint8Array) => void) => void,
) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const got: Uint8Array[] = [];
  const conns: Deno.Conn[] = [];
  const done = (async () => {
    for (;;) {
      let c: Deno.Conn;
      try {
        c = await listener.accept();
      } catch {
        return;
      }
      conns.push(c);
      const send = (m: Uint8Array) => void c.write(encodeFrame(m)).catch(() => {});
      onAccept?.(send);
      const r = new FrameReader((m) => {
        got.push(m);
        answer(m, send);
      }, 1 << 20);
      (async () => {
        const buf = new Uint8Array(4096);
        try {
          for (let n; (n = await c.read(buf)) !== null;) r.push(buf.subarray(0, n));
        } catch { /* closed */ }
      })();
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    got,
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await done;
    },
  };
}

async function dialer(port: number, log: string[]): Promise<SwitchDaemon> {
  return await SwitchDaemon.start({
    key: TRUNK_KEY,
    trunk: [parseEndpoint(`tcp:127.0.0.1:${port}`)],
    log: (m) => log.push(m),
    backoff: { minMs: 20, maxMs: 100 },
    handshakeMs: 1000,
  });
}

Deno.test("handshake: an impostor listener without the key never gets the dialer's proof", async () => {
  // it plays the protocol perfectly except that it cannot prove the key: its proof is random
  const fake = fakeListener((m, send) => {
    if (m.length === HELLO_LEN && m[9] === T_HELLO) send(msg(T_COOKIE, COOKIE_MSG_LEN));
    else if (m.length === HELLO_COOKIE_LEN && m[9] === T_HELLO_COOKIE) send(msg(T_SHELLO, HELLO_LEN + 32));
  });
  const log: string[] = [];
  const d = await dialer(fake.port, log);
  try {
    await waitFor(() => fake.got.filter((m) => m[9] === T_HELLO_COOKIE).length >= 3, "three attempts");
    const types = fake.got.map((m) => (m.length >= 12 && m[8] === TRUNK_VERSION ? `hello:${m[9]}` : `msg:${m[1]}`));
    // HELLO, HELLO+COOKIE, then only the dialer's refusal notice: never an AUTH (which would let
    // the impostor try keys offline)
    assert.ok(!fake.got.some((m) => m.length === 40 && m[1] === T_AUTH), types.join(" "));
    assert.ok(log.some((l) => /listener's key proof does not verify .*nothing revealed/.test(l)), log.join("\n"));
    assert.equal(d.trunkCtx!.links.size, 0);
  } finally {
    await d.close();
    await fake.close();
  }
});

Deno.test("handshake: a version 1 listener is named in the dialer's error", async () => {
  // a ring3 of trunk protocol version 1 sends its HELLO as soon as it accepts
  const fake = fakeListener(() => {}, (send) => send(msg(T_HELLO, HELLO_LEN, 1)));
  const log: string[] = [];
  const d = await dialer(fake.port, log);
  try {
    await waitFor(
      () => log.some((l) => /peer speaks trunk protocol version 1, this switch speaks 2/.test(l)),
      "the version error",
    );
  } finally {
    await d.close();
    await fake.close();
  }
});

Deno.test("handshake: a UDP listener answers a HELLO with a cookie and holds nothing until it returns", async () => {
  const logs: string[] = [];
  const d = await SwitchDaemon.start({
    key: TRUNK_KEY,
    trunkListen: [parseEndpoint("udp:127.0.0.1:0", false, true)],
    log: (m) => logs.push(m),
  });
  const s = dgram.createSocket("udp4");
  try {
    const l = d.trunkListeners[0] as import("../../net/trunk_udp.ts").UdpTrunkListener;
    const port = d.trunkAddrs[0].port;
    await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
    const got: Uint8Array[] = [];
    s.on("message", (m: Uint8Array) => got.push(new Uint8Array(m)));
    const hello = msg(T_HELLO, HELLO_LEN);
    for (let i = 0; i < 5; i++) s.send(hello, port, "127.0.0.1");
    await waitFor(() => got.length === 5, "five cookies");
    assert.ok(got.every((m) => m.length === COOKIE_MSG_LEN && m[9] === T_COOKIE), "answers are cookies");
    assert.ok(COOKIE_MSG_LEN <= HELLO_LEN, "an answer is no larger than the question");
    assert.equal(l.sessionCount, 0, "no state for a HELLO");
    // a forged cookie is refused; the real one opens a session (the listener's SHELLO comes back)
    const hc = new Uint8Array(HELLO_COOKIE_LEN);
    hc.set(hello, 0);
    hc[9] = T_HELLO_COOKIE;
    s.send(hc, port, "127.0.0.1");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(l.sessionCount, 0, "a forged cookie opens nothing");
    hc.set(got[0].subarray(12), HELLO_LEN);
    s.send(hc, port, "127.0.0.1");
    await waitFor(() => got.some((m) => m[9] === T_SHELLO), "the listener's SHELLO");
    assert.equal(l.sessionCount, 1);
    assert.equal(l.pendingCount, 1);
  } finally {
    s.close();
    await d.close();
  }
});
