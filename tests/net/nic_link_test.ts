// The NIC's cable to the switch: one stream frame per guest frame both ways, a dead switch gives
// one log line and link down (frames dropped), and the link comes back by itself when the switch
// does. Plus the --net option parser and the default MAC.
import assert from "node:assert/strict";
import { SwitchDaemon } from "../../net/daemon.ts";
import { SwitchClient } from "../../net/client.ts";
import { defaultMac, macToString, NicLink } from "../../runtime/devices/nic_link.ts";
import { parseNetOption } from "../../runtime/netopt.ts";
import { Machine } from "../../runtime/machine.ts";
import { VirtioNet } from "../../runtime/devices/virtio_net.ts";
import { Ne2k } from "../../runtime/devices/ne2k.ts";
import { frame, MAC, PEER } from "./nic_lib.ts";
import { waitFor } from "./lib.ts";

Deno.test({
  name: "nic link: dead switch -> one log line, link down, frames dropped; switch appears -> link up, frames flow",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/sw.sock`;
    const logs: string[] = [];
    const link = new NicLink(`unix:${path}`, "nic0 (test)", MAC, (l) => logs.push(l));
    const ups: boolean[] = [];
    const rx: Uint8Array[] = [];
    link.onLink = (u) => ups.push(u);
    link.onFrame = (f) => rx.push(f);
    try {
      await waitFor(() => logs.length > 0, "unreachable log line");
      assert.match(logs[0], /nic0 \(test\): switch unix:.*sw\.sock unreachable .*link down, frames dropped, retrying/);
      assert.equal(link.up, false);
      link.send(frame(PEER, MAC, 60, 1));
      assert.equal(link.txDropped, 1);

      let daemon = await SwitchDaemon.start({ listen: [{ transport: "unix", path }], log: () => {} });
      await waitFor(() => link.up, "link up after the switch starts", 10_000);
      assert.deepEqual(ups, [true]);
      assert.match(logs.at(-1)!, /connected; link up/);
      const peer = await SwitchClient.connect({ transport: "unix", path });
      // the peer announces itself so the switch learns it; the NIC sees the broadcast
      const hello = frame(new Uint8Array(6).fill(0xff), PEER, 60, 2);
      peer.send(hello);
      await waitFor(() => rx.length === 1, "broadcast from the peer");
      assert.deepEqual(rx[0], hello);
      const out = frame(PEER, MAC, 1514, 3);
      link.send(out);
      assert.deepEqual(await peer.recv(3000), out);
      assert.equal(link.txFrames, 1);

      // the switch dies: a log line, link down, then back when it returns
      await peer.close();
      await daemon.close();
      await waitFor(() => !link.up, "link down after the switch dies", 10_000);
      assert.deepEqual(ups, [true, false]);
      assert.match(logs.at(-1)!, /closed the connection .*link down, retrying/);
      daemon = await SwitchDaemon.start({ listen: [{ transport: "unix", path }], log: () => {} });
      await waitFor(() => link.up, "link up again", 15_000);
      assert.deepEqual(ups, [true, false, true]);
      link.close();
      await daemon.close();
    } finally {
      link.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("nic link: --net parsing and the default MAC", () => {
  assert.deepEqual(parseNetOption("virtio,switch=unix:/tmp/sw.sock"), { model: "virtio", switch: "unix:/tmp/sw.sock" });
  assert.deepEqual(parseNetOption("ne2k-pci,switch=tcp:127.0.0.1:7000,mac=02:00:00:00:00:05"), {
    model: "ne2k",
    switch: "tcp:127.0.0.1:7000",
    mac: "02:00:00:00:00:05",
  });
  assert.throws(() => parseNetOption("e1000,switch=unix:/x"), /unknown NIC model 'e1000'/);
  assert.throws(() => parseNetOption("virtio"), /missing switch=/);
  assert.throws(() => parseNetOption("virtio,switch=udp:x"), /switch .*expected unix:PATH or tcp:HOST:PORT/);
  assert.throws(() => parseNetOption("virtio,switch=unix:/x,mac=01:00:00:00:00:01"), /group/);
  assert.throws(() => parseNetOption("virtio,switch=unix:/x,mac=zz"), /not a MAC/);
  assert.throws(() => parseNetOption("virtio,switch=unix:/x,speed=10"), /unknown option 'speed'/);
  const a = defaultMac("unix:/tmp/sw.sock", 0);
  assert.deepEqual(a, defaultMac("unix:/tmp/sw.sock", 0), "stable");
  assert.notDeepEqual(a, defaultMac("unix:/tmp/sw.sock", 1));
  assert.notDeepEqual(a, defaultMac("unix:/tmp/other.sock", 0));
  assert.equal(a[0] & 3, 2, "locally administered unicast");
  assert.match(macToString(a), /^52:54:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/);
});

Deno.test({
  name: "nic link: machine net option puts the NICs on PCI slots 3.. with their MACs",
  sanitizeResources: false,
  sanitizeOps: false,
  fn() {
    const m = new Machine({
      memMiB: 16,
      acpi: false,
      net: [
        { model: "virtio", switch: "unix:/nonexistent/sw.sock" },
        { model: "ne2k", switch: "unix:/nonexistent/sw.sock", mac: "02:11:22:33:44:55" },
      ],
    });
    try {
      assert.ok(m.pci.get(3) instanceof VirtioNet);
      assert.ok(m.pci.get(4) instanceof Ne2k);
      assert.deepEqual(m.nics[0].mac, defaultMac("unix:/nonexistent/sw.sock", 0));
      assert.equal(macToString(m.nics[1].mac), "02:11:22:33:44:55");
    } finally {
      m.close();
    }
  },
});
