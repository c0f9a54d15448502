// The learning bridge on its own, with recording sinks and an injected clock.
import assert from "node:assert/strict";
import { MAX_FRAME, MAX_JUMBO_FRAME, Switch, type SwitchOptions, type SwitchPort } from "../../net/switch.ts";
import { BCAST, mac, mkFrame, tagOf } from "./lib.ts";
import { Rng } from "../lib/rng.ts";

function rig(n: number, opts: SwitchOptions = {}, trunks: number[] = []) {
  const clock = { t: 0 };
  const sw = new Switch({ now: () => clock.t, ...opts });
  const got: number[][] = [];
  const ports: SwitchPort[] = [];
  for (let i = 0; i < n; i++) {
    got.push([]);
    ports.push(sw.addPort({ send: (f) => void got[i].push(tagOf(f)) }, { trunk: trunks.includes(i) }));
  }
  const clear = () => got.forEach((g) => g.length = 0);
  return { sw, ports, got, clock, clear };
}

Deno.test("switch: unknown unicast floods, replies are learned and go to one port only", () => {
  const { sw, ports, got, clear } = rig(3);
  sw.input(ports[0], mkFrame(mac(2), mac(1), 60, 1));
  assert.deepEqual(got, [[], [1], [1]]); // never back out of the ingress port
  clear();
  sw.input(ports[1], mkFrame(mac(1), mac(2), 60, 2));
  assert.deepEqual(got, [[2], [], []]); // mac(1) learned on port 0
  clear();
  sw.input(ports[0], mkFrame(mac(2), mac(1), 60, 3));
  assert.deepEqual(got, [[], [3], []]); // mac(2) learned on port 1
  assert.equal(sw.lookup(mac(1)), ports[0]);
  assert.equal(sw.lookup(mac(2)), ports[1]);
  assert.equal(ports[0].counters.rxFrames, 2);
  assert.equal(ports[1].counters.txFrames, 2);
  assert.equal(ports[1].counters.txBytes, 120);
});

Deno.test("switch: broadcast and multicast flood to every other port even when the source is known", () => {
  const { sw, ports, got, clear } = rig(4);
  sw.input(ports[2], mkFrame(BCAST, mac(3), 60, 7));
  assert.deepEqual(got, [[7], [7], [], [7]]);
  clear();
  sw.input(ports[1], mkFrame(0x0100_5e00_0001, mac(2), 60, 8)); // IPv4 multicast group
  assert.deepEqual(got, [[8], [], [8], [8]]);
  clear();
  sw.input(ports[0], mkFrame(0x3333_0000_0001, mac(1), 60, 9)); // IPv6 all-nodes
  assert.deepEqual(got, [[], [9], [9], [9]]);
});

Deno.test("switch: no hairpin — a destination learned on the ingress port is filtered", () => {
  const { sw, ports, got } = rig(3);
  sw.input(ports[0], mkFrame(BCAST, mac(1), 60, 1));
  sw.input(ports[0], mkFrame(BCAST, mac(2), 60, 2)); // two stations behind port 0 (a hub, a trunk)
  got.forEach((g) => g.length = 0);
  sw.input(ports[0], mkFrame(mac(2), mac(1), 60, 3));
  assert.deepEqual(got, [[], [], []]);
  assert.equal(ports[0].counters.filtered, 1);
});

Deno.test("switch: entries age out on the injected clock, and traffic refreshes them", () => {
  const { sw, ports, got, clock, clear } = rig(3, { ageingMs: 1000 });
  sw.input(ports[1], mkFrame(BCAST, mac(2), 60, 0));
  clock.t = 600;
  sw.input(ports[1], mkFrame(BCAST, mac(2), 60, 0)); // refresh at 600
  clear();
  clock.t = 1500; // 900 ms after the refresh: still known
  sw.input(ports[0], mkFrame(mac(2), mac(1), 60, 1));
  assert.deepEqual(got, [[], [1], []]);
  clear();
  clock.t = 1600; // exactly the ageing time after the refresh: forgotten, floods again
  sw.input(ports[0], mkFrame(mac(2), mac(1), 60, 2));
  assert.deepEqual(got, [[], [2], [2]]);
  assert.ok(sw.counters.aged >= 1);
  // sweep drops silent entries without any lookup
  clock.t = 10_000;
  sw.sweep();
  assert.equal(sw.macCount, 0);
  assert.equal(ports[0].macs.size + ports[1].macs.size, 0);
});

Deno.test("switch: a station that moves is relearned on its new port", () => {
  const { sw, ports, got, clear } = rig(3);
  sw.input(ports[0], mkFrame(BCAST, mac(1), 60, 0));
  sw.input(ports[2], mkFrame(BCAST, mac(1), 60, 0));
  clear();
  sw.input(ports[1], mkFrame(mac(1), mac(2), 60, 5));
  assert.deepEqual(got, [[], [], [5]]);
  assert.equal(sw.counters.moved, 1);
  assert.equal(ports[0].macs.size, 0);
});

Deno.test("switch: runts, oversize frames and bad source addresses are dropped and counted", () => {
  const { sw, ports, got } = rig(2);
  sw.input(ports[0], new Uint8Array(0));
  sw.input(ports[0], mkFrame(BCAST, mac(1), 13));
  sw.input(ports[0], mkFrame(BCAST, mac(1), MAX_FRAME + 1));
  sw.input(ports[0], mkFrame(BCAST, 0x0100_5e00_0001, 60)); // multicast source
  sw.input(ports[0], mkFrame(BCAST, 0, 60)); // all-zero source
  assert.deepEqual(got, [[], []]);
  const c = ports[0].counters;
  assert.deepEqual([c.rxRunt, c.rxOversize, c.rxBadSource, c.rxFrames], [2, 1, 2, 0]);
  assert.equal(sw.macCount, 0);
  // the limits themselves pass: a bare header, and a full tagged frame
  sw.input(ports[0], mkFrame(BCAST, mac(1), 14));
  sw.input(ports[0], mkFrame(BCAST, mac(1), MAX_FRAME, 4));
  assert.equal(got[1].length, 2);
  const j = rig(2, { maxFrame: MAX_JUMBO_FRAME });
  j.sw.input(j.ports[0], mkFrame(BCAST, mac(1), MAX_JUMBO_FRAME, 6));
  j.sw.input(j.ports[0], mkFrame(BCAST, mac(1), MAX_JUMBO_FRAME + 1, 7));
  assert.deepEqual(j.got[1], [6]);
});

Deno.test("switch: under a MAC flood the table stays bounded and known stations keep unicasting", () => {
  const size = 64;
  const { sw, ports, got, clock, clear } = rig(4, { macTableSize: size });
  // stations on ports 1..3
  for (let p = 1; p < 4; p++) for (let s = 0; s < 5; s++) sw.input(ports[p], mkFrame(BCAST, mac(100 * p + s)));
  const rng = new Rng(1234);
  const rnd = () => rng.float();
  for (let i = 0; i < 20_000; i++) {
    clock.t += 0.01;
    const flood = 0x0200_0000_0000 + Math.floor(rnd() * 0xffff_ffff) * 256; // random unicast sources
    sw.input(ports[0], mkFrame(mac(Math.floor(rnd() * 1e6)), flood));
    assert.ok(sw.macCount <= size);
  }
  assert.equal(sw.macCount, size);
  assert.ok(sw.counters.evicted >= 20_000 - size);
  clear();
  // every station learned before the flood is still known: unicast, nothing leaks to port 0
  for (let p = 1; p < 4; p++) {
    for (let s = 0; s < 5; s++) {
      const q = p === 3 ? 1 : p + 1;
      sw.input(ports[q], mkFrame(mac(100 * p + s), mac(100 * q), 60, p * 10 + s));
      assert.equal(sw.lookup(mac(100 * p + s)), ports[p]);
    }
  }
  assert.equal(got[0].length, 0);
  assert.equal(got[1].length + got[2].length + got[3].length, 15);
  // and a new station on a quiet port can still be learned during the flood
  sw.input(ports[2], mkFrame(BCAST, mac(999)));
  assert.equal(sw.lookup(mac(999)), ports[2]);
  assert.ok(sw.macCount <= size);
});

Deno.test("switch: removing a port forgets its stations", () => {
  const { sw, ports, got } = rig(3);
  sw.input(ports[1], mkFrame(BCAST, mac(2)));
  sw.removePort(ports[1]);
  assert.equal(sw.lookup(mac(2)), undefined);
  got.forEach((g) => g.length = 0);
  sw.input(ports[0], mkFrame(mac(2), mac(1), 60, 4));
  assert.deepEqual(got, [[], [], [4]]); // flooded to the ports that remain
  sw.input(ports[1], mkFrame(BCAST, mac(2))); // a late frame from the removed port is ignored
  assert.equal(sw.macCount, 1);
});

Deno.test("switch: split horizon — trunk to trunk never, trunk to edge and edge to trunk yes", () => {
  // ports 0,1 are trunks, 2,3 edges
  const { sw, ports, got, clear } = rig(4, {}, [0, 1]);
  sw.input(ports[0], mkFrame(BCAST, mac(1), 60, 1));
  assert.deepEqual(got, [[], [], [1], [1]]);
  clear();
  sw.input(ports[2], mkFrame(BCAST, mac(3), 60, 2));
  assert.deepEqual(got, [[2], [2], [], [2]]);
  clear();
  // a unicast learned on another trunk is filtered too, not forwarded
  sw.input(ports[1], mkFrame(BCAST, mac(5), 60, 0));
  clear();
  sw.input(ports[0], mkFrame(mac(5), mac(1), 60, 3));
  assert.deepEqual(got, [[], [], [], []]);
  assert.equal(ports[0].counters.filtered, 1);
  // relay mode (inner node of a tree) re-floods between trunks
  const r = rig(3, { splitHorizon: false }, [0, 1]);
  r.sw.input(r.ports[0], mkFrame(BCAST, mac(1), 60, 4));
  assert.deepEqual(r.got, [[], [4], [4]]);
});

Deno.test("switch: a sink that refuses a frame is counted as a transmit drop", () => {
  const sw = new Switch();
  const a = sw.addPort({ send: () => {} });
  const b = sw.addPort({ send: () => false });
  sw.input(a, mkFrame(BCAST, mac(1)));
  assert.equal(b.counters.txDropped, 1);
  assert.equal(b.counters.txFrames, 0);
});
