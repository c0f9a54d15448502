// Soak: a 2-vCPU guest with a virtio NIC (user networking, passt) and a virtio disk (a sparse
// temporary image) under a mixed load for N minutes, checking that nothing leaks and nothing is
// lost. Each round, at the same time:
//   - host -> guest: the guest wgets a fresh seeded blob from an HTTP server in this process and
//     md5sums it; the host knows the blob's md5
//   - guest -> host: the guest sends a file of /dev/urandom with nc to a TCP listener here, which
//     hashes what arrives; compared with the guest's md5sum of the file
//   - disk: the guest writes that file to /dev/vda at a round-dependent offset (dd conv=fsync),
//     drops its caches and reads it back; compared with the guest's md5sum, and at the end the
//     host reads every region from the image file and compares too
//   - CPU: md5sum loops keep both vCPUs busy meanwhile
// Between rounds it samples the ring3 process (/proc/PID/status VmRSS, /proc/PID/fd) and prints a
// table. It fails (exit 1) when a checksum differs, when RSS grows more than --rss-growth MiB over
// its level after the warm-up rounds, or when the number of open fds changes after them.
//
//   deno task bench:soak [--minutes 10] [--mib 2] [--rss-growth 48] [--warmup 2] [--no-burn]
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import { GuestProc } from "../tests/net/nic_pair.ts";

const { values: opt } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    mib: { type: "string", default: "2" }, // per transfer and per disk write
    "rss-growth": { type: "string", default: "48" }, // MiB allowed over the level after warm-up
    warmup: { type: "string", default: "2" }, // rounds before the baseline is taken
    "no-burn": { type: "boolean", default: false }, // no md5sum loops on the vCPUs
    help: { type: "boolean", default: false },
  },
});
if (opt.help) {
  console.log("deno task bench:soak [--minutes 10] [--mib 2] [--rss-growth 48] [--warmup 2] [--no-burn]");
  Deno.exit(0);
}
const MINUTES = Number(opt.minutes), MIB = Number(opt.mib), GROWTH = Number(opt["rss-growth"]);
const WARMUP = Number(opt.warmup);
if (!(MINUTES > 0 && MIB >= 1 && MIB <= 64 && GROWTH > 0 && WARMUP >= 1)) {
  console.error("soak: --minutes > 0, --mib 1..64, --rss-growth > 0, --warmup >= 1");
  Deno.exit(2);
}
const DISK_MIB = 256;
const ROUND_MS = 600_000, BOOT_MS = 900_000;

const root = new URL("../", import.meta.url);
const CLI = new URL("cli/boot.ts", root).pathname;
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");

// a seeded blob for host -> guest (xorshift32)
function blob(seed: number, bytes: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes);
  const w = new Uint32Array(out.buffer);
  let s = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < w.length; i++) {
    s ^= s << 13, s ^= s >>> 17, s ^= s << 5;
    w[i] = s >>> 0;
  }
  return out;
}

// ring3's resident memory, open fds, threads and CPU seconds, through `sh` (Deno gives /proc/PID
// to a program only with every permission; this task runs with named ones)
async function sample(pid: number): Promise<{ rss: number; fds: number; threads: number; cpu: number }> {
  const o = await new Deno.Command("sh", {
    args: ["-c", `cat /proc/${pid}/status; echo FDS $(ls /proc/${pid}/fd | wc -l); echo STAT $(cat /proc/${pid}/stat)`],
    stdout: "piped",
    stderr: "null",
  }).output();
  const st = new TextDecoder().decode(o.stdout);
  const rss = Number(/VmRSS:\s+(\d+)/.exec(st)?.[1] ?? 0) / 1024;
  const threads = Number(/Threads:\s+(\d+)/.exec(st)?.[1] ?? 0);
  const fds = Number(/FDS (\d+)/.exec(st)?.[1] ?? -1);
  const f = (/STAT .*?\) (.*)/.exec(st)?.[1] ?? "").split(" ");
  const cpu = (Number(f[11]) + Number(f[12])) / 100;
  return { rss, fds, threads, cpu };
}

const dir = await Deno.makeTempDir({ prefix: "ring3-soak-" });
const disk = `${dir}/disk.img`;
{
  const f = await Deno.open(disk, { create: true, write: true });
  await f.truncate(DISK_MIB << 20);
  f.close();
}

// host -> guest: GET /blob/N
const blobs = new Map<number, string>();
const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
  const n = Number(new URL(req.url).pathname.split("/")[2]);
  const b = blob(n + 1, MIB << 20);
  blobs.set(n, md5(b));
  return new Response(b);
});
// guest -> host: whatever arrives on a connection, hashed (one connection per round, in order)
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const arrived: { md5: string; bytes: number }[] = [];
const arrivedWaiters: (() => void)[] = [];
(async () => {
  for await (const c of listener) {
    (async () => {
      const h = createHash("md5");
      let n = 0;
      try {
        for await (const chunk of c.readable) h.update(chunk), (n += chunk.length);
      } catch { /* reset: what arrived is what counts */ }
      arrived.push({ md5: h.digest("hex"), bytes: n });
      for (const w of arrivedWaiters.splice(0)) w();
    })();
  }
})();

const args = [
  "run",
  "-A",
  CLI,
  "--smp",
  "2",
  "--mem",
  "256",
  "--net",
  "virtio,user",
  "--disk",
  disk,
  "--append",
  "console=ttyS0 tsc=reliable",
];
const g = new GuestProc("soak", [], "", [], [Deno.execPath(), ...args]);
const failures: string[] = [];
const rows: string[] = [];
const diskRegions: { off: number; md5: string }[] = [];
let status = 0;
try {
  await g.expect(/ring3: shell ready/, BOOT_MS);
  await g.expect(/ring3: eth0 \S+ via/, BOOT_MS);
  console.log(`soak: guest up (pid ${g.child.pid}); ${MINUTES} min, ${MIB} MiB per transfer`);
  console.log(
    "| min | round | RSS MiB | fds | threads | host->guest | guest->host | disk | CPU s |\n" +
      "|---:|---:|---:|---:|---:|---|---|---|---:|",
  );
  const t0 = performance.now();
  let baseline: { rss: number; fds: number } | undefined;
  let peak = 0;
  for (let round = 0; performance.now() - t0 < MINUTES * 60_000; round++) {
    const off = (round * MIB) % (DISK_MIB - MIB);
    const got = arrived.length;
    // everything at once: download, upload, disk write + read-back, a CPU burner per vCPU
    const burn = opt["no-burn"] ? "sleep 1" : "while :; do nice -n 19 md5sum /tmp/up >/dev/null 2>&1; done";
    const cmd = `(${burn}) & B1=$!; (${burn}) & B2=$!; ` +
      `dd if=/dev/urandom of=/tmp/up bs=1M count=${MIB} 2>/dev/null; ` +
      `(wget -q -O - http://10.0.2.2:${http.addr.port}/blob/${round} | md5sum | sed 's/^/DOWN /' > /tmp/down.txt) & ` +
      `W=$!; nc 10.0.2.2 ${listener.addr.port} < /tmp/up; echo NCRC $?; ` +
      `dd if=/tmp/up of=/dev/vda bs=1M seek=${off} conv=fsync 2>/dev/null; ` +
      `echo 3 > /proc/sys/vm/drop_caches; ` +
      `dd if=/dev/vda bs=1M skip=${off} count=${MIB} 2>/dev/null | md5sum | sed 's/^/DISK /'; ` +
      `md5sum /tmp/up | sed 's/^/UP /'; wait $W; cat /tmp/down.txt; kill $B1 $B2 2>/dev/null; wait`;
    const r = await g.run(cmd, ROUND_MS);
    const up = /UP ([0-9a-f]{32})/.exec(r.text)?.[1];
    const down = /DOWN ([0-9a-f]{32})/.exec(r.text)?.[1];
    const dsk = /DISK ([0-9a-f]{32})/.exec(r.text)?.[1];
    // the upload's connection may never reach the host (a reset while connecting): wait a while
    if (arrived.length === got) {
      await new Promise<void>((res) => {
        const t = setTimeout(res, 30_000);
        arrivedWaiters.push(() => (clearTimeout(t), res()));
      });
    }
    const recv = arrived[got];
    const ncrc = /NCRC (\d+)/.exec(r.text)?.[1];
    const ncErr = /nc: [^\r\n]*/.exec(r.text)?.[0];
    const okDown = down !== undefined && down === blobs.get(round);
    const okUp = up !== undefined && recv?.md5 === up && recv.bytes === MIB << 20;
    const okDisk = dsk !== undefined && dsk === up;
    if (up) diskRegions.push({ off, md5: up });
    if (!okDown) failures.push(`round ${round}: host->guest md5 ${down} != ${blobs.get(round)}`);
    if (!okUp) {
      failures.push(
        `round ${round}: guest->host ${recv?.md5} (${recv?.bytes} bytes) != ${up}; nc exit ${ncrc}` +
          (ncErr ? ` (${ncErr})` : ""),
      );
    }
    if (!okDisk) failures.push(`round ${round}: disk read back ${dsk} != ${up}`);
    const s = await sample(g.child.pid);
    const cpu = s.cpu;
    const min = (performance.now() - t0) / 60_000;
    rows.push(
      `| ${min.toFixed(1)} | ${round} | ${s.rss.toFixed(1)} | ${s.fds} | ${s.threads} | ${okDown ? "ok" : "BAD"} | ` +
        `${okUp ? "ok" : ncrc !== "0" ? "reset" : "BAD"} | ${okDisk ? "ok" : "BAD"} | ${cpu.toFixed(0)} |`,
    );
    console.log(rows[rows.length - 1]);
    if (round + 1 === WARMUP) baseline = { rss: s.rss, fds: s.fds };
    else if (baseline) {
      peak = Math.max(peak, s.rss);
      if (s.rss > baseline.rss + GROWTH) {
        failures.push(`round ${round}: RSS ${s.rss.toFixed(1)} MiB > ${baseline.rss.toFixed(1)} + ${GROWTH}`);
      }
      if (s.fds !== baseline.fds) failures.push(`round ${round}: ${s.fds} open fds, ${baseline.fds} after warm-up`);
    }
  }
  // what the guest wrote is in the image file (dd conv=fsync: flushed through virtio-blk)
  const f = await Deno.open(disk, { read: true });
  const last = new Map<number, string>();
  for (const d of diskRegions) last.set(d.off, d.md5); // later rounds overwrite earlier ones
  for (const [off, want] of last) {
    const b = new Uint8Array(MIB << 20);
    await f.seek(off << 20, Deno.SeekMode.Start);
    let n = 0;
    while (n < b.length) {
      const k = await f.read(b.subarray(n));
      if (k === null) break;
      n += k;
    }
    if (md5(b) !== want) failures.push(`image file at ${off} MiB: ${md5(b)} != ${want}`);
  }
  f.close();
  console.log(
    `soak: ${rows.length} rounds, ${last.size} disk regions checked in the image file; RSS after warm-up ` +
      `${baseline?.rss.toFixed(1) ?? "-"} MiB, peak after ${peak.toFixed(1)} MiB (bound +${GROWTH}); fds ` +
      `${baseline?.fds ?? "-"}`,
  );
  if (!baseline) failures.push(`only ${rows.length} rounds: fewer than the ${WARMUP} warm-up rounds, nothing compared`);
} catch (e) {
  failures.push(`${(e as Error).message}`);
  console.error(g.out.slice(-3000));
} finally {
  await g.kill();
  await http.shutdown();
  listener.close();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
if (failures.length) {
  console.error(`soak: FAILED\n  ${failures.join("\n  ")}`);
  status = 1;
} else console.log("soak: ok");
Deno.exit(status);
