// TCP throughput of guests on ring3's virtual Ethernet, beside QEMU on the same paths:
//   g2g        guest to guest on one switch daemon: /opt/tests/netperf (guest/tests/netperf.c,
//              128 KiB per system call, every byte checked at the receiver)
//   g2h        guest to the host through user networking (passt): netperf to 10.0.2.2, a TCP
//              server in this process on 127.0.0.1 checking the same byte stream
// for ring3 with virtio-net (and the variants below), and QEMU TCG (virtio-net-pci) joined to the
// same ring3 switch through `-netdev stream`, or to a passt started like ring3's. Same kernel and
// test initramfs everywhere (guest/images). Figures: MiB/s from typing the send command to the
// receiver's result line, median of NIC_BENCH_RUNS runs (default 3), and host CPU seconds per MiB
// of each guest process over a transfer. Size: NIC_BENCH_MIB (default 64). Only rows named in
// NIC_BENCH_ROWS (comma list, default all) run; NIC_BENCH_TOOL=nc moves dd's zeros through busybox
// nc (md5 at the receiver) instead, as the first version of this bench did. Prints a Markdown table.
// Run: deno task bench:net (under `deno bench` only with NIC_BENCH=1: minutes per row).
import { createHash } from "node:crypto";
import { GuestProc, haveGuest } from "../tests/net/nic_pair.ts";
import { SwitchDaemon } from "../net/daemon.ts";
import { findPasst, Passt } from "../net/passt.ts";
import { readProc } from "../tests/lib/procfs.ts";

const root = new URL("../", import.meta.url);
const KERNEL = new URL("guest/images/bzImage", root).pathname;
const INITRD = new URL("guest/images/initramfs-tests.cpio.gz", root).pathname;
const CLI = new URL("cli/boot.ts", root).pathname;
const MIB = Number(Deno.env.get("NIC_BENCH_MIB") ?? 64);
const RUNS = Number(Deno.env.get("NIC_BENCH_RUNS") ?? 3);
const ROWS = (Deno.env.get("NIC_BENCH_ROWS") ?? "").split(",").filter((x) => x);
const BOOT_MS = 600_000, XFER_MS = 1_800_000;
const ZERO_MD5 = createHash("md5").update(new Uint8Array(MIB << 20)).digest("hex");
const SEND = `dd if=/dev/zero bs=65536 count=${MIB * 16} 2>/dev/null`;
const NC = Deno.env.get("NIC_BENCH_TOOL") === "nc";

// netperf's byte stream (guest/tests/netperf.c): pattern[i % PERIOD], xorshift32 from seed 1
const PERIOD = 65521;
const PATTERN = (() => {
  const p = new Uint8Array(PERIOD);
  let x = 1;
  for (let i = 0; i < PERIOD; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    p[i] = x & 0xff;
  }
  return p;
})();

// ring3 variants: "deno" moves NIC bytes through Deno.Conn (RING3_NET_FFI=off, the way before
// net/fdstream.ts), "nooffload" offers no checksum/TSO offloads, "vcpu" runs the vCPU in its own
// thread and the devices (the NIC's host side) on the main one (--vcpu-thread)
type Emu = "ring3" | "ring3-nooffload" | "ring3-deno" | "ring3-vcpu" | "qemu";
type Spec = { kind: "switch"; sock: string; mac: string; model: "virtio" | "ne2k" } | {
  kind: "passt";
  sock?: string;
  model: "virtio" | "ne2k";
};

function cpuSeconds(pid: number): number {
  try {
    const f = readProc(`/proc/${pid}/stat`).split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

function guest(name: string, emu: Emu, net: Spec): GuestProc {
  const dhcp = net.kind === "passt" ? "" : " ring3.dhcp=0";
  const append = `console=ttyS0${dhcp}`;
  if (emu !== "qemu") {
    const spec = net.kind === "switch" ? `${net.model},switch=unix:${net.sock},mac=${net.mac}` : `${net.model},user`;
    const env = emu === "ring3-nooffload"
      ? ["env", "RING3_NET_OFFLOAD=off"]
      : emu === "ring3-deno"
      ? ["env", "RING3_NET_FFI=off"]
      : [];
    return new GuestProc(name, [], append, [], [
      ...env,
      Deno.execPath(),
      ...["run", "-A", CLI, "--mem", "256", "--initrd", INITRD, "--append", append, "--net", spec],
      ...(emu === "ring3-vcpu" ? ["--vcpu-thread"] : []),
    ]);
  }
  const dev = net.model === "ne2k" ? "ne2k_pci" : "virtio-net-pci";
  const mac = net.kind === "switch" ? `,mac=${net.mac}` : "";
  return new GuestProc(name, [], append, [], [
    "qemu-system-i386",
    ...["-accel", "tcg", "-m", "256", "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio"],
    ...["-kernel", KERNEL, "-initrd", INITRD, "-append", append],
    ...["-netdev", `stream,id=n0,server=off,addr.type=unix,addr.path=${net.sock}`],
    ...["-device", `${dev},netdev=n0${mac}`],
  ]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Row {
  name: string;
  mbs: number[];
  cpu: string;
  note?: string;
}

async function guestToGuest(emu: Emu, model: "virtio" | "ne2k"): Promise<Row> {
  const dir = await Deno.makeTempDir({ prefix: "ring3-nicb-" });
  const sock = `${dir}/sw.sock`;
  const d = await SwitchDaemon.start({ listen: [{ transport: "unix", path: sock }], log: () => {} });
  const a = guest("A", emu, { kind: "switch", sock, mac: "52:54:00:00:00:01", model });
  const b = guest("B", emu, { kind: "switch", sock, mac: "52:54:00:00:00:02", model });
  const row: Row = { name: `${emu} ${model}, guest to guest, one switch`, mbs: [], cpu: "" };
  try {
    await Promise.all([a.expect(/ring3: shell ready/, BOOT_MS), b.expect(/ring3: shell ready/, BOOT_MS)]);
    for (const [g, ip] of [[a, "10.0.0.1"], [b, "10.0.0.2"]] as const) {
      const r = await g.run(`ip addr add ${ip}/24 dev eth0 && ip link set eth0 up`, 60_000);
      if (r.rc !== 0) throw new Error(`${g.name}: ${r.text}`);
    }
    const cpuA: number[] = [], cpuB: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const recv = b.run(NC ? "nc -l -p 5000 | md5sum" : "/opt/tests/netperf recv 5000", XFER_MS);
      recv.catch(() => {});
      await new Promise((r) => setTimeout(r, 500)); // the receiver listens
      const ca = cpuSeconds(a.child.pid), cb = cpuSeconds(b.child.pid);
      const t0 = performance.now();
      await a.run(
        NC
          ? `until ${SEND} | nc 10.0.0.2 5000; do usleep 100000; done`
          : `until /opt/tests/netperf send 10.0.0.2 5000 ${MIB}; do usleep 100000; done`,
        XFER_MS,
      );
      const got = await recv;
      const ms = performance.now() - t0;
      const ok = NC ? got.text.includes(ZERO_MD5) : got.text.includes(`NETPERF recv ${MIB * 2 ** 20} ok`);
      if (!ok) throw new Error(`corrupt or short transfer:\n${got.text}`);
      row.mbs.push(MIB / (ms / 1000));
      cpuA.push((cpuSeconds(a.child.pid) - ca) / MIB), cpuB.push((cpuSeconds(b.child.pid) - cb) / MIB);
    }
    row.cpu = `${median(cpuA).toFixed(3)} / ${median(cpuB).toFixed(3)}`;
  } finally {
    await Promise.all([a.kill(), b.kill()]);
    await d.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return row;
}

async function guestToHost(emu: Emu, model: "virtio" | "ne2k"): Promise<Row> {
  let passt: Passt | null = null;
  if (emu === "qemu") passt = await Passt.start([], 65520);
  const g = guest("G", emu, { kind: "passt", sock: passt?.socketPath, model });
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const row: Row = { name: `${emu} ${model}, guest to host through passt`, mbs: [], cpu: "" };
  try {
    await g.expect(/ring3: eth0 \S+ via/, BOOT_MS);
    await g.expect(/ring3: shell ready/, BOOT_MS);
    const cpu: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const server = (async () => {
        const c = await l.accept();
        const h = createHash("md5");
        let n = 0, bad = -1;
        for await (const chunk of c.readable) {
          if (NC) h.update(chunk);
          else if (bad < 0) {
            for (let j = 0; j < chunk.length; j++) {
              if (chunk[j] !== PATTERN[(n + j) % PERIOD]) {
                bad = n + j;
                break;
              }
            }
          }
          n += chunk.length;
        }
        return { n, ok: NC ? h.digest("hex") === ZERO_MD5 : bad < 0 && n === MIB * 2 ** 20, end: performance.now() };
      })();
      const c0 = cpuSeconds(g.child.pid);
      const t0 = performance.now();
      const sent = await g.run(
        NC ? `${SEND} | nc 10.0.2.2 ${l.addr.port}` : `/opt/tests/netperf send 10.0.2.2 ${l.addr.port} ${MIB}`,
        XFER_MS,
      );
      const got = await server;
      if (!got.ok) throw new Error(`corrupt or short transfer: ${got.n} bytes; ${sent.text.trim().split("\n").at(-1)}`);
      row.mbs.push(MIB / ((got.end - t0) / 1000));
      cpu.push((cpuSeconds(g.child.pid) - c0) / MIB);
    }
    row.cpu = median(cpu).toFixed(3);
  } finally {
    l.close();
    await g.kill();
    await passt?.stop();
  }
  return row;
}

const haveQemu = new Deno.Command("sh", { args: ["-c", "command -v qemu-system-i386"], stdout: "null" }).outputSync()
  .success;
if (!import.meta.main && Deno.env.get("NIC_BENCH") !== "1") {
  console.log("nic bench: minutes per row; run `deno run -A bench/nic_bench.ts` (or NIC_BENCH=1 deno bench)");
} else if (!haveGuest()) console.log("nic bench: guest/images missing; skipped");
else {
  const plan: [string, () => Promise<Row>][] = [
    ["g2g-ring3", () => guestToGuest("ring3", "virtio")],
    ["g2g-ring3-vcpu", () => guestToGuest("ring3-vcpu", "virtio")],
    ["g2g-qemu", () => guestToGuest("qemu", "virtio")],
    ["g2g-ring3-deno", () => guestToGuest("ring3-deno", "virtio")],
    ["g2g-ring3-nooffload", () => guestToGuest("ring3-nooffload", "virtio")],
    ["g2g-ring3-ne2k", () => guestToGuest("ring3", "ne2k")],
    ["g2h-ring3", () => guestToHost("ring3", "virtio")],
    ["g2h-ring3-vcpu", () => guestToHost("ring3-vcpu", "virtio")],
    ["g2h-qemu", () => guestToHost("qemu", "virtio")],
  ];
  const load = () => readProc("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  console.log(`load average before: ${load()}; ${NC ? "busybox nc" : "netperf"}`);
  console.log(`| path | MiB/s (median of ${RUNS}, ${MIB} MiB) | runs | host CPU s per MiB |`);
  console.log("|---|--:|---|--:|");
  for (const [key, fn] of plan) {
    if (ROWS.length && !ROWS.includes(key)) continue;
    if (key.includes("qemu") && !haveQemu) {
      console.log(`| ${key} | – | qemu-system-i386 not installed | |`);
      continue;
    }
    if (key.startsWith("g2h") && !findPasst()) {
      console.log(`| ${key} | – | passt not installed | |`);
      continue;
    }
    try {
      const r = await fn();
      console.log(
        `| ${r.name} | ${median(r.mbs).toFixed(2)} | ${r.mbs.map((x) => x.toFixed(2)).join(", ")} | ${r.cpu} |`,
      );
    } catch (e) {
      console.log(`| ${key} | failed | ${(e as Error).message.split("\n")[0]} | |`);
    }
  }
  console.log(`load average after: ${load()}`);
}
