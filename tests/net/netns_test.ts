// Two switch daemons in two network namespaces joined by a veth pair, the trunk crossing it:
// the closest thing to two hosts on one machine. Synthetic endpoints over TCP and UDP trunks,
// then a guest behind each switch (one boot each side) pinging and moving a file across the
// trunk. Needs root and iproute2; skipped with the reason otherwise. The addresses live only
// inside the two throwaway namespaces.
import assert from "node:assert/strict";
import { parseEndpoint } from "../../net/addr.ts";
import { SwitchClient } from "../../net/client.ts";
import { BCAST, keyFile, mac, mkFrame, tagOf } from "./lib.ts";
import { DaemonProc } from "./proc.ts";
import { bringUp, GuestProc, haveGuest, transfer } from "./nic_pair.ts";

function run(...args: string[]): { ok: boolean; err: string } {
  try {
    const o = new Deno.Command(args[0], { args: args.slice(1), stdout: "null", stderr: "piped" }).outputSync();
    return { ok: o.success, err: new TextDecoder().decode(o.stderr).trim() };
  } catch (e) {
    return { ok: false, err: String(e) };
  }
}

const tag = `r3${Deno.pid % 100000}`;
let skip = "";
if (Deno.uid() !== 0) skip = "not root";
else if (!run("ip", "-V").ok) skip = "iproute2 (ip) not installed";
else {
  const probe = run("ip", "netns", "add", `${tag}p`);
  if (!probe.ok) skip = `cannot create a network namespace: ${probe.err}`;
  else run("ip", "netns", "del", `${tag}p`);
}
if (skip) console.log(`netns_test: skipped: ${skip}`);

function txBytes(ns: string, dev: string): number {
  const o = new Deno.Command("ip", { args: ["netns", "exec", ns, "cat", `/sys/class/net/${dev}/statistics/tx_bytes`] })
    .outputSync();
  return Number(new TextDecoder().decode(o.stdout).trim());
}

interface Hosts {
  dir: string;
  key: string;
  nsA: string;
  nsB: string;
  vA: string;
  vB: string;
  procs: DaemonProc[];
}

// Namespaces A (10.213.7.1) and B (10.213.7.2) on a veth pair; switch A accepts a trunk on
// `transport`:10.213.7.1:7001, switch B dials it; unix sockets a.sock / b.sock for the ports.
async function withHosts(id: string, transport: "tcp" | "udp", fn: (h: Hosts) => Promise<void>): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "ring3-netns-" });
  const nsA = `${tag}${id}a`, nsB = `${tag}${id}b`, vA = `${tag}${id}va`, vB = `${tag}${id}vb`;
  const setup = [
    ["ip", "netns", "add", nsA],
    ["ip", "netns", "add", nsB],
    ["ip", "link", "add", vA, "type", "veth", "peer", "name", vB],
    ["ip", "link", "set", vA, "netns", nsA],
    ["ip", "link", "set", vB, "netns", nsB],
    ["ip", "-n", nsA, "addr", "add", "10.213.7.1/24", "dev", vA],
    ["ip", "-n", nsB, "addr", "add", "10.213.7.2/24", "dev", vB],
    ["ip", "-n", nsA, "link", "set", vA, "up"],
    ["ip", "-n", nsB, "link", "set", vB, "up"],
    ["ip", "-n", nsA, "link", "set", "lo", "up"],
    ["ip", "-n", nsB, "link", "set", "lo", "up"],
  ];
  const h: Hosts = { dir, key: "", nsA, nsB, vA, vB, procs: [] };
  try {
    for (const c of setup) {
      const r = run(...c);
      assert.ok(r.ok, `${c.join(" ")}: ${r.err}`);
    }
    h.key = keyFile(dir, "key", "9c4e1f7a2b0d83e6f5a1c7b92e4d06f8a3b5c1e7d9f20486a1c3e5f7092b4d6e");
    const a = new DaemonProc(
      ["--listen", `unix:${dir}/a.sock`, "--trunk-listen", `${transport}:10.213.7.1:7001`, "--key-file", h.key],
      ["ip", "netns", "exec", nsA],
    );
    h.procs.push(a);
    await a.waitLine(/listening for trunks/);
    const b = new DaemonProc(
      ["--listen", `unix:${dir}/b.sock`, "--trunk", `${transport}:10.213.7.1:7001`, "--key-file", h.key],
      ["ip", "netns", "exec", nsB],
    );
    h.procs.push(b);
    await b.waitLine(/trunk .*: up \(connected/);
    await fn(h);
    for (const p of h.procs) assert.equal((await p.stop()).code, 0, p.lines.join("\n"));
  } finally {
    for (const p of h.procs) await p.stop("SIGKILL");
    run("ip", "netns", "del", nsA);
    run("ip", "netns", "del", nsB);
    Deno.removeSync(dir, { recursive: true });
  }
}

for (const transport of ["tcp", "udp"] as const) {
  Deno.test({
    name: `netns: a ${transport} trunk across two network namespaces carries frames both ways`,
    ignore: skip !== "",
    fn: () =>
      withHosts(transport[0], transport, async (h) => {
        const before = txBytes(h.nsB, h.vB);
        // unix sockets are files: this process reaches both switches while their trunk is
        // confined to the namespaces
        const ca = await SwitchClient.connect(parseEndpoint(`unix:${h.dir}/a.sock`));
        const cb = await SwitchClient.connect(parseEndpoint(`unix:${h.dir}/b.sock`));
        await h.procs[0].waitLine(/port \d+ \(unix.* connected/);
        await h.procs[1].waitLine(/port \d+ \(unix.* connected/);
        for (let i = 0; i < 50; i++) {
          cb.send(mkFrame(BCAST, mac(2), 1514, i));
          // over UDP nothing retransmits: pace the burst so the veth and socket buffers never drop
          if (transport === "udp") await new Promise((r) => setTimeout(r, 1));
        }
        for (let i = 0; i < 50; i++) assert.equal(tagOf((await ca.recv(5000))!), i);
        ca.send(mkFrame(mac(2), mac(1), 60, 99));
        assert.equal(tagOf((await cb.recv(5000))!), 99);
        assert.ok(txBytes(h.nsB, h.vB) - before >= 50 * 1514, "the frames went over the veth");
        await ca.close();
        await cb.close();
      }),
  });
}

Deno.test({
  name: "netns: a guest behind each switch pings and moves a file across the trunk",
  ignore: skip !== "" || !haveGuest(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withHosts("g", "tcp", async (h) => {
      const before = txBytes(h.nsA, h.vA);
      // each guest runs in its namespace too, like a VM on its own host
      const a = new GuestProc("A", [`virtio,switch=unix:${h.dir}/a.sock,mac=52:54:00:00:0a:01`], undefined, [
        "ip",
        "netns",
        "exec",
        h.nsA,
      ]);
      const b = new GuestProc("B", [`virtio,switch=unix:${h.dir}/b.sock,mac=52:54:00:00:0b:02`], undefined, [
        "ip",
        "netns",
        "exec",
        h.nsB,
      ]);
      const p = await bringUp(a, b, 300_000, async () => {});
      try {
        const ping = await p.b.run("ping -c 3 -W 10 10.0.0.1", 60_000);
        assert.equal(ping.rc, 0, ping.text);
        assert.match(ping.text, /3 packets transmitted, [1-3] packets received/);
        const t = await transfer(p, 512, 180_000);
        assert.ok(t.sumA, t.log);
        assert.equal(t.sendRc, 0, t.log);
        assert.equal(t.recvRc, 0, t.log);
        assert.equal(t.sumB, t.sumA, t.log);
        // A sent 512 KiB towards B: it crossed the veth from namespace A, inside the trunk
        assert.ok(txBytes(h.nsA, h.vA) - before >= 512 * 1024, "the transfer went over the veth");
      } finally {
        await p.close();
      }
    }),
});
