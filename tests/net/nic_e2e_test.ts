// End to end: two guests on one switch ping each other and move a file over TCP with busybox nc
// (equal md5 sums), once over virtio-net and once over ne2k-pci, and over virtio-net with each
// vCPU in its own thread (--vcpu-thread: the NIC's host side on the device thread). One boot
// pair per case.
// Each guest is a `deno task boot --net ...` process; skipped without the committed guest images.
import assert from "node:assert/strict";
import { haveGuest, startPair, transfer } from "./nic_pair.ts";
import { Machine } from "../../runtime/machine.ts";

Deno.test("vcpuWorker (--vcpu-thread): a 1-vCPU machine runs its vCPU in a worker only when asked", async () => {
  for (const [opts, threaded] of [[{}, false], [{ vcpuWorker: true }, true]] as const) {
    const m = await Machine.create({ memMiB: 8, ...opts });
    try {
      assert.equal(m.threaded, threaded);
    } finally {
      m.close();
    }
  }
});

for (const [model, extra] of [["virtio", []], ["ne2k", []], ["virtio", ["--vcpu-thread"]]] as const) {
  Deno.test({
    name: `nic e2e (${model}${
      extra.length ? " " + extra.join(" ") : ""
    }): two guests on one switch ping each other and move a file over TCP`,
    ignore: !haveGuest(),
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const p = await startPair(model, undefined, [...extra]);
      try {
        const ping = await p.b.run("ping -c 3 -W 10 10.0.0.1", 60_000);
        assert.equal(ping.rc, 0, ping.text);
        assert.match(ping.text, /3 packets transmitted, [1-3] packets received/);
        const back = await p.a.run("ping -c 2 -W 10 10.0.0.2", 60_000);
        assert.equal(back.rc, 0, back.text);
        const drv = await p.a.run("readlink /sys/class/net/eth0/device/driver", 10_000);
        assert.match(drv.text, model === "virtio" ? /virtio_net/ : /ne2k-pci/);
        const t = await transfer(p, 1024, 300_000);
        assert.ok(t.sumA, t.log);
        assert.equal(t.sendRc, 0, t.log);
        assert.equal(t.recvRc, 0, t.log);
        assert.equal(t.sumB, t.sumA, t.log);
        // the receiving NIC holds its link instead of overflowing: TCP sees no loss
        const st = await p.b.run(
          "cat /sys/class/net/eth0/statistics/rx_dropped /sys/class/net/eth0/statistics/rx_missed_errors",
          10_000,
        );
        assert.deepEqual(st.text.trim().split(/\s+/).slice(-2), ["0", "0"], st.text);
      } finally {
        await p.close();
      }
    },
  });
}
