// The inside of tests/net/user_test.ts, run in a throwaway user + network + mount namespace
// (`unshare -rnm`) where /etc/resolv.conf names 127.0.0.1: a DNS server and an HTTP server of its
// own on the namespace's loopback, and one `deno task boot --net MODEL,user,hostfwd=...` guest.
// The guest takes a DHCP lease from passt, resolves a name (passt forwards the query to this
// DNS server), fetches a file from the HTTP server through the gateway address 10.0.2.2 (the
// host's 127.0.0.1), and serves a file that a host client fetches through the forwarded port.
// Prints one line "USER-RESULT <json>" with what it saw; the test asserts on it.
import { createHash, randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { GuestProc } from "./nic_pair.ts";

const model = Deno.args[0] ?? "virtio";
const NAME = "ring3-test.example";
const ANSWER = [192, 0, 2, 77];
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");

// DNS: answers A NAME with ANSWER, anything else NXDOMAIN; counts queries
let dnsQueries = 0;
const dns = dgram.createSocket("udp4");
dns.on("message", (q: Uint8Array, rinfo: { address: string; port: number }) => {
  dnsQueries++;
  if (q.length < 17) return;
  let o = 12;
  const labels: string[] = [];
  while (o < q.length && q[o] !== 0) {
    labels.push(new TextDecoder().decode(q.subarray(o + 1, o + 1 + q[o])));
    o += 1 + q[o];
  }
  const qEnd = o + 5; // zero label, type, class
  const qtype = (q[o + 1] << 8) | q[o + 2];
  const hit = labels.join(".").toLowerCase() === NAME && qtype === 1;
  const r = new Uint8Array(qEnd + (hit ? 16 : 0));
  r.set(q.subarray(0, qEnd));
  r[2] = 0x81 | (q[2] & 0x01); // response, recursion desired copied... opcode 0
  r[3] = labels.join(".").toLowerCase() === NAME ? 0x80 : 0x83; // recursion available; NXDOMAIN for other names
  r[6] = 0,
    r[7] = hit ? 1 : 0,
    r[8] =
      r[9] =
      r[10] =
      r[11] =
        0;
  if (hit) {
    r.set([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...ANSWER], qEnd);
  }
  dns.send(r, rinfo.port, rinfo.address);
});
await new Promise<void>((res) => dns.bind(53, "127.0.0.1", () => res()));

// HTTP: one random file
const file = new Uint8Array(randomBytes(192 * 1024));
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
  if (new URL(req.url).pathname === "/file.bin") return new Response(file);
  return new Response("not here", { status: 404 });
});
const httpPort = server.addr.port;
const FWD_PORT = 18022, GUEST_PORT = 7000;

const result: Record<string, unknown> = { model, fileMd5: md5(file) };
const g = new GuestProc("U", [`${model},user,hostfwd=tcp:127.0.0.1:${FWD_PORT}-:${GUEST_PORT}`], "console=ttyS0");
try {
  const lease = await g.expect(/ring3: eth0 (\S+) via (\S+) dns (\S+)/, 900_000); // a loaded 2-core host
  result.lease = { addr: lease[1], router: lease[2], dns: lease[3] };
  // a loaded host can make busybox's 5-second resolver timeout: ask up to three times
  const ns = await g.run(`for i in 1 2 3; do nslookup ${NAME} && break; done`, 120_000);
  result.nslookup = ns.text.replace(/\r/g, "");
  result.dnsQueries = dnsQueries;
  const get = await g.run(`wget -q -O /tmp/f http://10.0.2.2:${httpPort}/file.bin && md5sum /tmp/f`, 120_000);
  result.wgetRc = get.rc;
  result.guestMd5 = /([0-9a-f]{32})\s+\/tmp\/f/.exec(get.text)?.[1] ?? null;
  // a guest service behind the forwarded port: busybox httpd serving what the guest fetched
  const srv = await g.run(
    `mkdir -p /tmp/www && cp /tmp/f /tmp/www/back.bin && httpd -p ${GUEST_PORT} -h /tmp/www`,
    30_000,
  );
  result.httpdRc = srv.rc;
  let back: Uint8Array | null = null;
  for (let i = 0; i < 40 && !back; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${FWD_PORT}/back.bin`);
      if (r.ok) back = new Uint8Array(await r.arrayBuffer());
      else await r.body?.cancel();
    } catch { /* not up yet */ }
    if (!back) await new Promise((r) => setTimeout(r, 500));
  }
  result.hostfwdMd5 = back ? md5(back) : null;
  result.hostfwdLen = back?.length ?? 0;
} catch (e) {
  result.error = (e as Error).message;
  result.console = g.out.slice(-3000);
} finally {
  await g.kill();
  await server.shutdown();
  dns.close();
}
console.log(`USER-RESULT ${JSON.stringify(result)}`);
