// End to end: two guests on one switch ping each other and move a file over TCP with busybox nc
// (equal md5 sums), once over virtio-net and once over ne2k-pci. One boot pair per NIC model.
// Each guest is a `deno task boot --net ...` process; skipped without the committed guest images.
import assert from "node:assert/strict";
import { haveGuest, startPair, transfer } from "./nic_pair.ts";

// KNOWN BUG (issue 6 stays open): since the paced guest clock was merged, the ne2k-pci pair
// stalls during the transfer (virtio-net still passes). Run it with RING3_NE2K_E2E=1 while fixing.
const NE2K_E2E = !!Deno.env.get("RING3_NE2K_E2E");

for (const model of ["virtio", "ne2k"] as const) {
  Deno.test({
    name: `nic e2e (${model}): two guests on one switch ping each other and move a file over TCP`,
    ignore: !haveGuest() || (model === "ne2k" && !NE2K_E2E),
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const p = await startPair(model);
      try {
        const ping = await p.b.run("ping -c 3 -W 10 10.0.0.1", 60_000);
        assert.equal(ping.rc, 0, ping.text);
        assert.match(ping.text, /3 packets transmitted, [1-3] packets received/);
        const back = await p.a.run("ping -c 2 -W 10 10.0.0.2", 60_000);
        assert.equal(back.rc, 0, back.text);
        const drv = await p.a.run("readlink /sys/class/net/eth0/device/driver", 10_000);
        assert.match(drv.text, model === "virtio" ? /virtio_net/ : /ne2k-pci/);
        const t = await transfer(p, 256, 300_000);
        assert.ok(t.sumA, t.log);
        assert.equal(t.sendRc, 0, t.log);
        assert.equal(t.recvRc, 0, t.log);
        assert.equal(t.sumB, t.sumA, t.log);
      } finally {
        await p.close();
      }
    },
  });
}
