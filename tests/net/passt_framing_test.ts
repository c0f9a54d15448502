// A NIC's link to passt (net/fdstream.ts with wholeFrames) keeps passt's framing however full the
// socket gets. Debian 12's passt loses its framing when one of its reads ends inside a frame's
// 4-byte length prefix (it drops those bytes) and later takes garbage for frames: a guest's TCP
// connection through it then ends in a reset (bench/results/net.md). Here a real passt is frozen
// (SIGSTOP) while bursts of ARP requests of random sizes fill the socket, then thawed; every
// request must get its reply. The same bursts written as plain byte streams lose thousands of
// replies in most runs (printed, not asserted: that is passt's behaviour, not ring3's).
// Skipped, with a note, when passt is not installed.
import assert from "node:assert/strict";
import { findPasst, Passt } from "../../net/passt.ts";
import { FdStream } from "../../net/fdstream.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const MAC = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// an ARP request from the guest (10.0.2.15) for the gateway (10.0.2.2), padded to `len` bytes
function arp(len: number): Uint8Array {
  const f = new Uint8Array(len);
  f.fill(0xff, 0, 6), f.set(MAC, 6), f.set([8, 6], 12);
  f.set([0, 1, 8, 0, 6, 4, 0, 1], 14), f.set(MAC, 22), f.set([10, 0, 2, 15], 28), f.set([10, 0, 2, 2], 38);
  return f;
}

// rounds of `perRound` requests written while passt is stopped; replies counted
async function stress(wholeFrames: boolean, rounds: number, perRound: number) {
  const p = await Passt.start([], 1500);
  const s = await FdStream.connect({ transport: "unix", path: p.socketPath }, { wholeFrames, maxQueueBytes: 64 << 20 });
  assert.ok(s, "FFI is available to the tests (deno test -A)");
  let replies = 0, sent = 0, stalled = 0, seed = 7;
  s.onFrame = (f) => {
    if (f.length >= 42 && f[12] === 8 && f[13] === 6 && f[21] === 2 && f[31] === 2) replies++;
  };
  try {
    for (let round = 0; round < rounds; round++) {
      Deno.kill(p.pid, "SIGSTOP");
      for (let i = 0; i < perRound; i++, sent++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        assert.ok(s.send(arp(42 + (seed >>> 8) % 160)));
      }
      s.flush();
      if (s.pending > 0) stalled++; // the socket was full: the write stopped somewhere
      await sleep(5);
      Deno.kill(p.pid, "SIGCONT");
      const t0 = Date.now();
      while (Date.now() - t0 < 500 && replies < sent) {
        s.flush();
        s.pump();
        await sleep(2);
      }
    }
    return { sent, replies, stalled, splitWrites: s.splitWrites };
  } finally {
    try {
      Deno.kill(p.pid, "SIGCONT");
    } catch { /* gone */ }
    await s.close();
    await p.stop();
  }
}

Deno.test({
  name: "passt: whole-frame writes keep its framing through a full socket (every ARP answered)",
  ignore: !findPasst(),
  ...opts,
  async fn() {
    const keep = setInterval(() => {}, 1000); // passt's child handles are unref'd (net/passt.ts)
    try {
      await run();
    } finally {
      clearInterval(keep);
    }
  },
});

async function run() {
  const r = await stress(true, 30, 2500);
  assert.ok(r.stalled >= 25, `the bursts filled the socket (${r.stalled} of 30 rounds)`);
  assert.equal(r.splitWrites, 0);
  assert.equal(r.replies, r.sent, `replies ${r.replies} of ${r.sent}`);
  const plain = await stress(false, 30, 2500);
  console.log(`  (plain byte-stream writes, the same bursts: ${plain.replies} of ${plain.sent} answered)`);
}

if (!findPasst()) console.log("passt_framing_test: skipped: passt not installed (apt-get install passt)");
