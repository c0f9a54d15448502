// Two switch daemons in two network namespaces joined by a veth pair, the trunk crossing it:
// the closest thing to two hosts on one machine. Needs root and iproute2; skipped otherwise.
// The addresses live only inside the two throwaway namespaces.
import assert from "node:assert/strict";
import { parseEndpoint } from "../../net/addr.ts";
import { SwitchClient } from "../../net/client.ts";
import { BCAST, keyFile, mac, mkFrame, tagOf } from "./lib.ts";
import { DaemonProc } from "./proc.ts";

function run(...args: string[]): { ok: boolean; err: string } {
  try {
    const o = new Deno.Command(args[0], { args: args.slice(1), stdout: "null", stderr: "piped" }).outputSync();
    return { ok: o.success, err: new TextDecoder().decode(o.stderr).trim() };
  } catch (e) {
    return { ok: false, err: String(e) };
  }
}

const tag = `r3${Deno.pid % 100000}`;
const NS_A = `${tag}a`, NS_B = `${tag}b`;
let skip = "";
if (Deno.uid() !== 0) skip = "not root";
else if (!run("ip", "-V").ok) skip = "iproute2 (ip) not installed";
else {
  const probe = run("ip", "netns", "add", NS_A);
  if (!probe.ok) skip = `cannot create a network namespace: ${probe.err}`;
  else run("ip", "netns", "del", NS_A);
}
if (skip) console.log(`netns_test: skipped: ${skip}`);

function txBytes(ns: string, dev: string): number {
  const o = new Deno.Command("ip", { args: ["netns", "exec", ns, "cat", `/sys/class/net/${dev}/statistics/tx_bytes`] })
    .outputSync();
  return Number(new TextDecoder().decode(o.stdout).trim());
}

Deno.test({
  name: "netns: a trunk across two network namespaces carries frames both ways",
  ignore: skip !== "",
  fn: async () => {
    const dir = Deno.makeTempDirSync({ prefix: "ring3-netns-" });
    const vA = `${tag}va`, vB = `${tag}vb`;
    const setup = [
      ["ip", "netns", "add", NS_A],
      ["ip", "netns", "add", NS_B],
      ["ip", "link", "add", vA, "type", "veth", "peer", "name", vB],
      ["ip", "link", "set", vA, "netns", NS_A],
      ["ip", "link", "set", vB, "netns", NS_B],
      ["ip", "-n", NS_A, "addr", "add", "10.213.7.1/24", "dev", vA],
      ["ip", "-n", NS_B, "addr", "add", "10.213.7.2/24", "dev", vB],
      ["ip", "-n", NS_A, "link", "set", vA, "up"],
      ["ip", "-n", NS_B, "link", "set", vB, "up"],
      ["ip", "-n", NS_A, "link", "set", "lo", "up"],
      ["ip", "-n", NS_B, "link", "set", "lo", "up"],
    ];
    const procs: DaemonProc[] = [];
    try {
      for (const c of setup) {
        const r = run(...c);
        assert.ok(r.ok, `${c.join(" ")}: ${r.err}`);
      }
      const key = keyFile(dir, "key", "netns test key: thirty-two bytes!");
      const a = new DaemonProc(
        ["--listen", `unix:${dir}/a.sock`, "--trunk-listen", "tcp:10.213.7.1:7001", "--key-file", key],
        ["ip", "netns", "exec", NS_A],
      );
      procs.push(a);
      await a.waitLine(/listening for trunks/);
      const b = new DaemonProc(
        ["--listen", `unix:${dir}/b.sock`, "--trunk", "tcp:10.213.7.1:7001", "--key-file", key],
        ["ip", "netns", "exec", NS_B],
      );
      procs.push(b);
      await b.waitLine(/trunk .*: up \(connected/);
      const before = txBytes(NS_B, vB);
      // unix sockets are files: this process reaches both switches while their trunk is
      // confined to the namespaces
      const ca = await SwitchClient.connect(parseEndpoint(`unix:${dir}/a.sock`));
      const cb = await SwitchClient.connect(parseEndpoint(`unix:${dir}/b.sock`));
      await a.waitLine(/port \d+ \(unix.* connected/);
      await b.waitLine(/port \d+ \(unix.* connected/);
      for (let i = 0; i < 50; i++) cb.send(mkFrame(BCAST, mac(2), 1514, i));
      for (let i = 0; i < 50; i++) assert.equal(tagOf((await ca.recv(5000))!), i);
      ca.send(mkFrame(mac(2), mac(1), 60, 99));
      assert.equal(tagOf((await cb.recv(5000))!), 99);
      assert.ok(txBytes(NS_B, vB) - before >= 50 * 1514, "the frames went over the veth");
      await ca.close();
      await cb.close();
      for (const p of procs) assert.equal((await p.stop()).code, 0, p.lines.join("\n"));
    } finally {
      for (const p of procs) await p.stop("SIGKILL");
      run("ip", "netns", "del", NS_A);
      run("ip", "netns", "del", NS_B);
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
