// User-mode networking (`--net MODEL,user,hostfwd=...`, passt): a guest gets a DHCP lease, a DNS
// answer, fetches a file from an HTTP server on the host's loopback through 10.0.2.2, and serves
// one to a host client through a forwarded port. Everything runs in a throwaway user + network
// namespace (tests/net/user_ns.ts) with its own DNS server, so nothing leaves the machine.
// Skipped, with the reason, without passt, the guest images or unprivileged namespaces.
import assert from "node:assert/strict";
import { findPasst } from "../../net/passt.ts";
import { haveGuest } from "./nic_pair.ts";
import { parseNetOption } from "../../runtime/netopt.ts";

const CHILD = new URL("./user_ns.ts", import.meta.url).pathname;

function probe(): string {
  if (!findPasst()) return "passt not installed (apt-get install passt)";
  if (!haveGuest()) return "guest/images missing";
  try {
    const o = new Deno.Command("unshare", { args: ["-rnm", "ip", "link", "add", "v0", "type", "veth", "peer", "v1"] })
      .outputSync();
    if (!o.success) return `no user/network namespace with a veth pair: ${new TextDecoder().decode(o.stderr).trim()}`;
  } catch (e) {
    return `unshare: ${(e as Error).message}`;
  }
  return "";
}
const skip = probe();
if (skip) console.log(`user_test: skipped: ${skip}`);

Deno.test("--net user parses hostfwd and rejects bad ones", () => {
  const c = parseNetOption("virtio,user,hostfwd=tcp::8080-:80,hostfwd=udp:127.0.0.1:5353-10.0.2.15:53");
  assert.deepEqual(c.user?.hostfwd, [
    { proto: "tcp", hostPort: 8080, guestPort: 80 },
    { proto: "udp", hostAddr: "127.0.0.1", hostPort: 5353, guestPort: 53 },
  ]);
  assert.equal(parseNetOption("ne2k,hostfwd=2222-:22").user?.hostfwd[0].guestPort, 22);
  assert.throws(() => parseNetOption("virtio,user,hostfwd=tcp:80"), /hostfwd/);
  assert.throws(() => parseNetOption("virtio,user,hostfwd=tcp::0-:80"), /out of range/);
  assert.throws(() => parseNetOption("virtio,user,hostfwd=tcp::80-10.0.2.9:80"), /10\.0\.2\.15/);
  assert.throws(() => parseNetOption("virtio,user,switch=unix:/tmp/x"), /either/);
  assert.throws(() => parseNetOption("virtio"), /missing/);
});

// The namespace: loopback up, a veth pair carrying a default route (passt copies its template
// interface from the default route), /etc/resolv.conf -> 127.0.0.1 (the child's DNS server).
async function runChild(model: string): Promise<Record<string, unknown>> {
  const dir = await Deno.makeTempDir({ prefix: "ring3-user-" });
  await Deno.writeTextFile(`${dir}/resolv.conf`, "nameserver 127.0.0.1\n");
  const script = [
    "set -e",
    "ip link set lo up",
    "ip link add r3u0 type veth peer name r3u1",
    "ip addr add 10.9.9.2/24 dev r3u0",
    "ip link set r3u0 up",
    "ip link set r3u1 up",
    "ip route add default via 10.9.9.1",
    `mount --bind ${dir}/resolv.conf /etc/resolv.conf`,
    `exec "${Deno.execPath()}" run -A "${CHILD}" ${model}`,
  ].join("\n");
  try {
    const o = await new Deno.Command("unshare", {
      args: ["-rnm", "sh", "-c", script],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const out = new TextDecoder().decode(o.stdout);
    const line = out.split("\n").find((l) => l.startsWith("USER-RESULT "));
    if (!line) throw new Error(`no result from the namespace:\n${out}\n${new TextDecoder().decode(o.stderr)}`);
    return JSON.parse(line.slice("USER-RESULT ".length));
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

for (const model of ["virtio", "ne2k"]) {
  Deno.test({
    name: `${model} user networking: DHCP, DNS through passt, HTTP from the host, hostfwd to the guest`,
    ignore: skip !== "",
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const r = await runChild(model);
      assert.equal(r.error, undefined, `${r.error}\n${r.console}`);
      // the namespace's resolver is 127.0.0.1: passt offers it as the gateway, which reaches it
      assert.deepEqual(r.lease, { addr: "10.0.2.15/24", router: "10.0.2.2", dns: "10.0.2.2" });
      assert.match(String(r.nslookup), /Address:?\s+192\.0\.2\.77/, String(r.nslookup));
      assert.ok(Number(r.dnsQueries) >= 1, "the query reached the namespace's resolver");
      assert.equal(r.wgetRc, 0);
      assert.equal(r.guestMd5, r.fileMd5, "the guest's copy of the host's file");
      assert.equal(r.httpdRc, 0);
      assert.equal(r.hostfwdLen, 192 * 1024);
      assert.equal(r.hostfwdMd5, r.fileMd5, "the host's copy of the guest's file, through hostfwd");
    },
  });
}
