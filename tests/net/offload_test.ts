// Offloads between ring3 NICs (net/offload.ts): software segmentation and checksums checked by an
// independent verifier; the bit-31 stream framing; the switch passing a frame with its header
// to a port that said hello and segmenting it for one that did not, over a real daemon.
import assert from "node:assert/strict";
import {
  completeChecksum,
  F_NEEDS_CSUM,
  GSO_TCPV4,
  headerOf,
  helloFrame,
  software,
  withHeader,
} from "../../net/offload.ts";
import { FrameReader, FramingError, OFFLOAD_BIT } from "../../net/stream.ts";
import { SwitchDaemon } from "../../net/daemon.ts";
import { SwitchClient } from "../../net/client.ts";

// ---- an independent reference: RFC 1071 sums over plain arrays ----
function ocSum(bytes: number[]): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i] << 8) + (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}
function ipValid(f: Uint8Array): boolean {
  return ocSum([...f.subarray(14, 34)]) === 0xffff;
}
function tcpValid(f: Uint8Array): boolean {
  const tcpLen = ((f[16] << 8) | f[17]) - 20;
  const pseudo = [...f.subarray(26, 34), 0, 6, tcpLen >> 8, tcpLen & 0xff];
  return ocSum([...pseudo, ...f.subarray(34, 34 + tcpLen)]) === 0xffff;
}

const A = [0x52, 0x54, 0, 0, 0, 1], B = [0x52, 0x54, 0, 0, 0, 2];

// A TCP/IPv4 frame as Linux hands it to a NIC with TSO: one big segment, IP header for the whole,
// TCP checksum field holding the pseudo-header sum (not complemented)
function bigSegment(payload: Uint8Array, flags = 0x18): Uint8Array {
  const f = new Uint8Array(14 + 20 + 20 + payload.length);
  f.set(B, 0), f.set(A, 6), f[12] = 0x08;
  const v = new DataView(f.buffer);
  f[14] = 0x45;
  v.setUint16(16, 40 + payload.length);
  v.setUint16(18, 0x1234); // id
  f[20] = 0x40, f[22] = 64, f[23] = 6;
  f.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
  v.setUint16(34, 40000), v.setUint16(36, 5000);
  v.setUint32(38, 0xfffff000); // seq, wraps within the segment
  v.setUint32(42, 777);
  f[46] = 0x50, f[47] = flags;
  v.setUint16(48, 0xffff);
  f.set(payload, 54);
  const tcpLen = 20 + payload.length;
  v.setUint16(50, ocSum([...f.subarray(26, 34), 0, 6, tcpLen >> 8, tcpLen & 0xff]));
  return f;
}

function hdr(flags: number, gso: number, mss: number, csumStart: number, csumOff: number): Uint8Array {
  const h = new Uint8Array(10);
  const v = new DataView(h.buffer);
  h[0] = flags, h[1] = gso;
  v.setUint16(2, 54, true), v.setUint16(4, mss, true), v.setUint16(6, csumStart, true), v.setUint16(8, csumOff, true);
  return h;
}

Deno.test("offload: a 64 KiB TSO segment becomes MSS-sized frames with valid checksums, seq, ids and flags", () => {
  const payload = new Uint8Array(65000).map((_, i) => (i * 7 + (i >> 8)) & 0xff);
  const big = bigSegment(payload, 0x19); // PSH|FIN|ACK
  const segs = software(big, hdr(F_NEEDS_CSUM, GSO_TCPV4, 1448, 34, 16));
  assert.equal(segs.length, Math.ceil(65000 / 1448));
  const joined: number[] = [];
  segs.forEach((s, i) => {
    const v = new DataView(s.buffer);
    assert.ok(s.length <= 14 + 40 + 1448);
    assert.equal(v.getUint16(16), s.length - 14, "IP total length");
    assert.equal(v.getUint16(18), 0x1234 + i, "IP id");
    assert.ok(ipValid(s), `IP checksum of segment ${i}`);
    assert.ok(tcpValid(s), `TCP checksum of segment ${i}`);
    assert.equal(v.getUint32(38), (0xfffff000 + i * 1448) >>> 0, "seq");
    assert.equal(s[47], i === segs.length - 1 ? 0x19 : 0x10, "FIN/PSH on the last only");
    joined.push(...s.subarray(54));
  });
  assert.deepEqual(new Uint8Array(joined), payload);
});

Deno.test("offload: a partial checksum is completed; a header that does not fit drops the frame", () => {
  const big = bigSegment(new Uint8Array(999).fill(0xa5));
  const [f] = software(big, hdr(F_NEEDS_CSUM, 0, 0, 34, 16));
  assert.ok(tcpValid(f));
  assert.ok(!tcpValid(big), "the original is left alone");
  const g = big.slice();
  assert.equal(completeChecksum(g, 34, 16), true);
  assert.deepEqual(g, f);
  assert.deepEqual(software(big, hdr(F_NEEDS_CSUM, 0, 0, 5000, 16)), []);
  assert.deepEqual(software(big, hdr(F_NEEDS_CSUM, GSO_TCPV4, 0, 34, 16)), [], "MSS 0");
  assert.deepEqual(software(big.subarray(0, 40), hdr(F_NEEDS_CSUM, GSO_TCPV4, 1448, 34, 16)), [], "truncated");
});

Deno.test("offload: the stream framing carries the header only once the peer said hello", () => {
  const f = bigSegment(new Uint8Array(3000));
  const h = hdr(F_NEEDS_CSUM, GSO_TCPV4, 1448, 34, 16);
  const msg = new Uint8Array(4 + 10 + f.length);
  new DataView(msg.buffer).setUint32(0, OFFLOAD_BIT + 10 + f.length);
  msg.set(h, 4), msg.set(f, 14);
  const got: Uint8Array[] = [];
  const plain = new FrameReader((x) => got.push(x));
  assert.throws(() => plain.push(msg), FramingError);
  const r = new FrameReader((x) => got.push(x));
  r.offload = true;
  for (let i = 0; i < msg.length; i += 777) r.push(msg.subarray(i, i + 777)); // split anywhere
  assert.equal(got.length, 1);
  assert.deepEqual(got[0], f);
  assert.deepEqual(headerOf(got[0]), h);
});

Deno.test("offload: over a daemon, a port that said hello gets the header, another gets segments", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ring3-offload-" });
  const path = `${dir}/sw.sock`;
  const d = await SwitchDaemon.start({ listen: [{ transport: "unix", path }], log: () => {} });
  const ep = { transport: "unix" as const, path };
  const a = await SwitchClient.connect(ep), b = await SwitchClient.connect(ep), c = await SwitchClient.connect(ep);
  try {
    a.sendHello(new Uint8Array(A));
    b.sendHello(new Uint8Array(B));
    for (let i = 0; i < 100 && !(a.offload && b.offload); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(a.offload && b.offload, "the switch answered both hellos");
    assert.equal(c.offload, false);
    // b and c make themselves known; c uses a third MAC
    const learn = (src: number[]) => {
      const f = new Uint8Array(60);
      f.fill(0xff, 0, 6), f.set(src, 6), f[12] = 0x08, f[13] = 0x06;
      return f;
    };
    b.send(learn(B));
    c.send(learn([0x52, 0x54, 0, 0, 0, 3]));
    await a.recv(), await a.recv();
    await b.recv(); // c's broadcast
    await c.recv(); // b's broadcast
    const payload = new Uint8Array(20000).map((_, i) => i & 0xff);
    const big = bigSegment(payload);
    a.send(withHeader(big, hdr(F_NEEDS_CSUM, GSO_TCPV4, 1448, 34, 16)));
    const atB = await b.recv();
    assert.ok(atB);
    assert.equal(atB.length, big.length, "one frame with its header to the port that takes offloads");
    assert.equal(headerOf(atB)?.[1], GSO_TCPV4);
    // to a port without offloads: segmented by the switch (broadcast destination reaches every port)
    const bc = bigSegment(payload);
    bc.fill(0xff, 0, 6);
    a.send(withHeader(bc, hdr(F_NEEDS_CSUM, GSO_TCPV4, 1448, 34, 16)));
    const n = Math.ceil(20000 / 1448);
    const joined: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = await c.recv();
      assert.ok(s && tcpValid(s) && ipValid(s) && headerOf(s) === undefined, `segment ${i}`);
      joined.push(...s.subarray(54));
    }
    assert.deepEqual(new Uint8Array(joined), payload);
    assert.equal(helloFrame(new Uint8Array(A)).length, 30);
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
    await d.close();
    await Deno.remove(dir, { recursive: true });
  }
});
