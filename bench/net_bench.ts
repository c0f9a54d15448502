// Frames per second through the switch daemon (a real `net/main.ts` subprocess) between two
// synthetic endpoints on unix sockets, 64- and 1500-byte frames; and the same across an
// encrypted trunk between two daemons (loopback TCP, then loopback UDP). The sender keeps a bounded window of
// frames in flight so nothing is dropped and the figure is sustained throughput.
import { parseEndpoint } from "../net/addr.ts";
import { SwitchClient } from "../net/client.ts";
import { DaemonProc } from "../tests/net/proc.ts";
import { keyFile, mac, mkFrame } from "../tests/net/lib.ts";

/** frames in flight: well inside the switch's 1 MiB per-port queue, so none is dropped */
const window = (size: number) => Math.min(1024, Math.floor((256 << 10) / (size + 4)));
const dir = Deno.makeTempDirSync({ prefix: "ring3-netbench-" });
const key = keyFile(dir, "key", "bench key, not secret, 32 bytes!");
const procs: DaemonProc[] = [];
globalThis.addEventListener("unload", () => {
  for (const p of procs) {
    try {
      p.child.kill("SIGKILL");
    } catch { /* gone */ }
  }
  Deno.removeSync(dir, { recursive: true });
});

async function daemon(args: string[]): Promise<DaemonProc> {
  const p = new DaemonProc(args); // logs only connects and disconnects, never per frame
  procs.push(p);
  await p.waitLine(/listening for ports/);
  return p;
}

interface Path {
  /** frames in flight at most (UDP: few enough for the socket buffers, nothing retransmits) */
  maxWindow: number;
  tx: SwitchClient;
  rx: SwitchClient;
  received: number;
  wake: (() => void) | null;
}

async function path(sockA: string, sockB: string, maxWindow = 1024): Promise<Path> {
  const tx = await SwitchClient.connect(parseEndpoint(`unix:${sockA}`));
  const rx = await SwitchClient.connect(parseEndpoint(`unix:${sockB}`));
  const p: Path = { maxWindow, tx, rx, received: 0, wake: null };
  rx.onFrame = () => {
    p.received++;
    p.wake?.();
  };
  // let both switches learn both stations, so the measured frames are switched, not flooded
  for (let i = 0; i < 20 && p.received === 0; i++) {
    rx.send(mkFrame(mac(1), mac(2)));
    tx.send(mkFrame(mac(2), mac(1)));
    await new Promise((r) => setTimeout(r, 50));
  }
  if (p.received === 0) throw new Error("no frame crossed the switch");
  await new Promise((r) => setTimeout(r, 100));
  return p;
}

/** Send n frames of `size` bytes through `p`; resolves when all arrived. */
async function pump(p: Path, size: number, n: number): Promise<void> {
  const frame = mkFrame(mac(2), mac(1), size);
  const base = p.received;
  const w = Math.min(p.maxWindow, window(size));
  let sent = 0;
  while (p.received - base < n) {
    while (sent < n && sent - (p.received - base) < w && p.tx.send(frame)) sent++;
    const before = p.received;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((r) => {
      p.wake = r;
      timer = setTimeout(r, 2000); // a lost frame must not hang the bench
    });
    clearTimeout(timer);
    p.wake = null;
    if (p.received === before) throw new Error(`${n - (p.received - base)} of ${n} frames lost`);
  }
}

await daemon(["--listen", `unix:${dir}/sw.sock`]);
const local = await path(`${dir}/sw.sock`, `${dir}/sw.sock`);
const t1 = await daemon(["--listen", `unix:${dir}/t1.sock`, "--trunk-listen", "tcp:127.0.0.1:0", "--key-file", key]);
const trunkPort = await t1.waitLine(/listening for trunks on tcp:127\.0\.0\.1:(\d+)/);
await daemon(["--listen", `unix:${dir}/t2.sock`, "--trunk", `tcp:127.0.0.1:${trunkPort}`, "--key-file", key]);
const trunked = await path(`${dir}/t1.sock`, `${dir}/t2.sock`);
const u1 = await daemon(["--listen", `unix:${dir}/u1.sock`, "--trunk-listen", "udp:127.0.0.1:0", "--key-file", key]);
const udpPort = await u1.waitLine(/listening for trunks on udp:127\.0\.0\.1:(\d+)/);
await daemon(["--listen", `unix:${dir}/u2.sock`, "--trunk", `udp:127.0.0.1:${udpPort}`, "--key-file", key]);
const udpTrunked = await path(`${dir}/u1.sock`, `${dir}/u2.sock`, 64);

async function measure(p: Path, size: number, n: number): Promise<number> {
  await pump(p, size, Math.min(n, 2000)); // warm up
  const t0 = performance.now();
  await pump(p, size, n);
  return n / ((performance.now() - t0) / 1000);
}

for (
  const [name, p] of [["switch", local], ["tcp trunk (AES-GCM)", trunked], ["udp trunk (AES-GCM)", udpTrunked]] as const
) {
  for (const size of [64, 1500]) {
    const fps = await measure(p, size, 20_000);
    console.log(
      `net: ${name}, ${size}-byte frames: ${(fps / 1000).toFixed(1)} kframes/s = ${
        (fps * size * 8 / 1e6).toFixed(0)
      } Mbit/s`,
    );
  }
}

for (const [name, p] of [["switch", local], ["trunk", trunked]] as const) {
  for (const size of [64, 1500]) {
    Deno.bench(
      { name: `${name}: 1000 x ${size}-byte frames, unix socket to unix socket`, group: `net ${size}` },
      async () => {
        await pump(p, size, 1000);
      },
    );
  }
}
