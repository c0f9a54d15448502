// Interoperability: QEMU's own `-netdev stream` client joins a ring3 switch port. With no guest
// OS, the NIC's iPXE option ROM network-boots and broadcasts a DHCPDISCOVER, which must come
// out of the switch intact at a synthetic endpoint; the endpoint answers with a DHCPOFFER, and
// iPXE's DHCPREQUEST for that offer proves frames also flow from the switch into QEMU.
// Skipped when qemu-system-i386 is absent.
import assert from "node:assert/strict";
import { parseEndpoint } from "../../net/addr.ts";
import { SwitchClient } from "../../net/client.ts";
import { SwitchDaemon } from "../../net/daemon.ts";
import { waitFor } from "./lib.ts";

function which(cmd: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

function ipChecksum(h: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < h.length; i += 2) s += (h[i] << 8) | h[i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** A DHCPOFFER of 10.0.2.15 from 10.0.2.2 answering `discover`. */
function offerFor(discover: Uint8Array): Uint8Array {
  const opts = [53, 1, 2, 54, 4, 10, 0, 2, 2, 51, 4, 0, 0, 14, 16, 1, 4, 255, 255, 255, 0, 3, 4, 10, 0, 2, 2, 255];
  const bootp = new Uint8Array(240 + opts.length);
  bootp.set([2, 1, 6, 0]); // reply, Ethernet, 6-byte addresses
  bootp.set(discover.subarray(42 + 4, 42 + 8), 4); // xid
  bootp.set([10, 0, 2, 15], 16); // yiaddr
  bootp.set([10, 0, 2, 2], 20); // siaddr
  bootp.set(discover.subarray(42 + 28, 42 + 44), 28); // chaddr
  bootp.set([99, 130, 83, 99], 236);
  bootp.set(opts, 240);
  const f = new Uint8Array(42 + bootp.length);
  f.set([255, 255, 255, 255, 255, 255, 0x52, 0x55, 10, 0, 2, 2, 0x08, 0x00]);
  const ip = f.subarray(14, 34);
  const ipLen = 20 + 8 + bootp.length;
  ip.set([0x45, 0, ipLen >> 8, ipLen & 0xff, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 2, 2, 255, 255, 255, 255]);
  const ck = ipChecksum(ip);
  ip[10] = ck >> 8;
  ip[11] = ck & 0xff;
  const udpLen = 8 + bootp.length;
  f.set([0, 67, 0, 68, udpLen >> 8, udpLen & 0xff, 0, 0], 34); // UDP checksum 0: none
  f.set(bootp, 42);
  return f;
}

/** The DHCP message type (option 53) of a BOOTP request frame from the client, or -1. */
function dhcpType(f: Uint8Array): number {
  // IPv4, UDP, 68 -> 67, BOOTP op 1 with the DHCP magic cookie
  if (f.length < 282 || f[12] !== 0x08 || f[13] !== 0x00 || f[23] !== 17 || f[36] !== 0 || f[37] !== 67) return -1;
  if (f[42] !== 1 || f[278] !== 99 || f[279] !== 130 || f[280] !== 83 || f[281] !== 99) return -1;
  for (let i = 282; i < f.length && f[i] !== 255;) {
    if (f[i] === 0) {
      i++;
      continue;
    }
    if (f[i] === 53) return f[i + 2];
    i += 2 + f[i + 1];
  }
  return -1;
}

const haveQemu = which("qemu-system-i386");
if (!haveQemu) console.log("qemu_test: qemu-system-i386 not installed, skipping");

Deno.test({
  name: "qemu: a -netdev stream client works both ways (iPXE DHCP discover, our offer, its request)",
  ignore: !haveQemu,
  fn: async () => {
    const dir = Deno.makeTempDirSync({ prefix: "ring3-qemu-" });
    const sock = `${dir}/sw.sock`;
    const d = await SwitchDaemon.start({ listen: [parseEndpoint(`unix:${sock}`)], log: () => {} });
    const c = await SwitchClient.connect(parseEndpoint(`unix:${sock}`));
    const qemu = new Deno.Command("qemu-system-i386", {
      args: [
        ...["-nodefaults", "-display", "none", "-M", "pc", "-m", "32", "-boot", "n"],
        ...["-netdev", `stream,id=n0,server=off,addr.type=unix,addr.path=${sock}`],
        ...["-device", "ne2k_pci,netdev=n0,mac=52:54:00:12:34:56"],
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      await waitFor(() => d.network().portList.length === 2, "QEMU's connection", 10_000);
      const next = async (type: number, ms: number) => {
        const end = performance.now() + ms;
        while (performance.now() < end) {
          const f = await c.recv(end - performance.now());
          if (f === null) break;
          if (dhcpType(f) === type) return f;
        }
        return null;
      };
      const discover = await next(1, 60_000);
      assert.ok(discover, "a DHCPDISCOVER from QEMU");
      assert.deepEqual([...discover.subarray(0, 12)], [255, 255, 255, 255, 255, 255, 0x52, 0x54, 0, 0x12, 0x34, 0x56]);
      const qport = d.network().portList.find((p) => p.counters.rxFrames > 0)!;
      assert.equal(d.network().lookup(0x5254_0012_3456), qport); // QEMU's NIC learned
      c.send(offerFor(discover));
      const request = await next(3, 30_000);
      assert.ok(request, "iPXE's DHCPREQUEST for our offer: the switch's frames reach QEMU");
      assert.deepEqual([...request.subarray(42 + 4, 42 + 8)], [...discover.subarray(42 + 4, 42 + 8)]); // same xid
    } finally {
      qemu.kill("SIGKILL");
      await qemu.status;
      await qemu.stderr.cancel();
      await c.close();
      await d.close();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
