// The attacks of issue 18 on a switch daemon in a child process (its memory is what is measured:
// the RSS of that process), each while a legitimate trunk has to come up:
// - a flood of HELLOs over UDP (it used to fill the pending handshakes and keep the real dialer
//   out), and a smarter one that answers the cookies and then stays silent;
// - hundreds of keyless TCP connections each holding a half-sent 64 KiB message, or nothing;
// - thousands of idle switch ports.
// The attackers send from 127.0.0.2 and up (Linux routes all of 127/8 to lo), the legitimate
// peers from 127.0.0.1: per-source limits are what keep them apart.
import assert from "node:assert/strict";
import dgram from "node:dgram";
import net from "node:net";
import { parseEndpoint } from "../../net/addr.ts";
import { SwitchDaemon } from "../../net/daemon.ts";
import {
  COOKIE_MSG_LEN,
  HELLO_COOKIE_LEN,
  HELLO_LEN,
  T_HELLO,
  T_HELLO_COOKIE,
  TRUNK_VERSION,
} from "../../net/trunk.ts";
import { keyFile, sleep, TRUNK_KEY, waitFor } from "./lib.ts";
import { DaemonProc } from "./proc.ts";
import { readProc, readProcDir } from "../lib/procfs.ts";

const MiB = 1 << 20;

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readProc(`/proc/${pid}/status`));
  return Number(m![1]) * 1024;
}

function fds(pid: number): number {
  return readProcDir(`/proc/${pid}/fd`).length;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function hello(): Uint8Array {
  const h = new Uint8Array(HELLO_LEN);
  h.set(new TextEncoder().encode("RING3TRK"), 0);
  h[8] = TRUNK_VERSION;
  h[9] = T_HELLO;
  crypto.getRandomValues(h.subarray(12, 52));
  return h;
}

/** A daemon in a child process listening for trunks; `extra` flags; its trunk port from the log. */
async function victim(dir: string, transport: "tcp" | "udp", extra: string[] = []) {
  const key = keyFile(dir, "key", hex(TRUNK_KEY));
  const p = new DaemonProc([
    "--listen",
    `unix:${dir}/v.sock`,
    "--trunk-listen",
    `${transport}:127.0.0.1:0`,
    "--key-file",
    key,
    "--log-interval",
    "1",
    ...extra,
  ]);
  const port = Number(await p.waitLine(new RegExp(`listening for trunks on ${transport}:127\\.0\\.0\\.1:(\\d+)`)));
  await sleep(300); // settle: the baseline is the started daemon
  return { p, port };
}

/** A legitimate peer in this process dialing the victim; resolves once the trunk is up. */
async function legit(transport: "tcp" | "udp", port: number, timeoutMs = 15000): Promise<SwitchDaemon> {
  const d = await SwitchDaemon.start({
    key: TRUNK_KEY,
    trunk: [parseEndpoint(`${transport}:127.0.0.1:${port}`, false, true)],
    log: () => {},
    backoff: { minMs: 50, maxMs: 500 },
  });
  try {
    await waitFor(() => d.trunkCtx!.links.size === 1, `the legitimate ${transport} trunk`, timeoutMs);
  } catch (e) {
    await d.close();
    throw e;
  }
  return d;
}

function udpSocket(address: string): Promise<ReturnType<typeof dgram.createSocket>> {
  const s = dgram.createSocket("udp4");
  s.on("error", () => {});
  return new Promise((r) => s.bind(0, address, () => r(s)));
}

Deno.test("attack: a UDP HELLO flood costs no memory and cannot keep a legitimate dialer out", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "ring3-attack-" });
  const { p, port } = await victim(dir, "udp", ["--handshake-timeout", "2"]);
  const socks: ReturnType<typeof dgram.createSocket>[] = [];
  let dialer: SwitchDaemon | null = null;
  try {
    const pid = p.child.pid;
    const before = rss(pid);
    const t0 = performance.now();
    // 1. plain HELLOs, the attack of the issue many times over: 200 sockets on 4 addresses
    const flooders: ReturnType<typeof dgram.createSocket>[] = [];
    for (let a = 2; a <= 5; a++) for (let i = 0; i < 50; i++) flooders.push(await udpSocket(`127.0.0.${a}`));
    socks.push(...flooders);
    let cookies = 0;
    for (const s of flooders) s.on("message", () => cookies++);
    const flood = async (rounds: number) => {
      for (let r = 0; r < rounds; r++) {
        for (const s of flooders) s.send(hello(), port, "127.0.0.1");
        await sleep(5);
      }
    };
    // 2. first, a smarter attacker on 127.0.0.6: handshakes taken through the cookie, then silence
    const smart: ReturnType<typeof dgram.createSocket>[] = [];
    for (let i = 0; i < 40; i++) smart.push(await udpSocket("127.0.0.6"));
    socks.push(...smart);
    let held = 0;
    for (const s of smart) {
      const h = hello();
      s.on("message", (m: Uint8Array) => {
        if (m.length === COOKIE_MSG_LEN) {
          const hc = new Uint8Array(HELLO_COOKIE_LEN);
          hc.set(h, 0);
          hc[9] = T_HELLO_COOKIE;
          hc.set(new Uint8Array(m).subarray(12), HELLO_LEN);
          s.send(hc, port, "127.0.0.1");
        } else held++; // the listener's SHELLO: a pending handshake exists for this socket
      });
      s.send(h, port, "127.0.0.1");
    }
    await waitFor(() => held >= 8, "the smart attacker's handshakes", 3000);
    let flooding = flood(150); // 30000 HELLOs
    // the legitimate dialer comes up during the flood
    dialer = await legit("udp", port);
    await flooding;
    await sleep(300);
    const mid = rss(pid);
    flooding = flood(150); // as much again: the cost must not grow with it
    await flooding;
    await sleep(300);
    const after = rss(pid);
    console.log(
      `udp flood: ${flooders.length} sockets sent 60000 HELLOs, ${cookies} cookies answered (rate-limited); ` +
        `${held} of ${smart.length} smart handshakes reached SHELLO; victim RSS ${(before / MiB).toFixed(1)} -> ` +
        `${(mid / MiB).toFixed(1)} (30000 HELLOs) -> ${(after / MiB).toFixed(1)} MiB (60000)`,
    );
    assert.ok(cookies > 0 && cookies < 8000, `cookies ${cookies}: answered, but rate-limited per source`);
    // the smart attacker's 20-token burst got that many cookies, and pending handshakes for them
    assert.ok(held >= 8 && held <= 20, `smart attacker got ${held} handshakes`);
    // Deno's UDP receive path itself takes 70-110 MiB under any flood and then stays there (a
    // socket that reads and drops everything does the same: each datagram arrives in a buffer V8
    // frees in batches, on its external-memory limit): bounded means "stops growing with the flood"
    assert.ok((after - before) / MiB < 150, `victim grew by ${((after - before) / MiB).toFixed(1)} MiB`);
    assert.ok((after - mid) / MiB < 40, `victim kept growing: ${((after - mid) / MiB).toFixed(1)} MiB`);
    // throttled logging: the first refusal, then one summary line a second
    const refusals = p.lines.filter((l) => /refused/.test(l));
    const seconds = (performance.now() - t0) / 1000;
    assert.ok(refusals.length <= 2 + 2 * seconds, `refusal lines: ${refusals.length}\n${refusals.join("\n")}`);
    assert.ok(refusals.some((l) => /refused \d+ more in 1 s \(.*rate limit/.test(l)), refusals.join("\n"));
    assert.equal(dialer.trunkCtx!.links.size, 1, "the legitimate trunk stays up");
  } finally {
    for (const s of socks) s.close();
    await dialer?.close();
    await p.stop();
    Deno.removeSync(dir, { recursive: true });
  }
});

/** Open `n` TCP connections from `address` to the victim; each sends `first` (if any) and holds. */
async function holdConns(n: number, address: string, port: number, first?: Uint8Array): Promise<net.Socket[]> {
  const out: net.Socket[] = [];
  const opening: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    opening.push(
      new Promise<void>((resolve) => {
        const s = net.connect({ host: "127.0.0.1", port, localAddress: address });
        s.on("error", () => resolve());
        s.on("close", () => resolve());
        s.on("connect", () => {
          if (first) s.write(first);
          resolve();
        });
        out.push(s);
      }),
    );
  }
  await Promise.all(opening);
  return out;
}

function halfSent64k(): Uint8Array {
  const m = new Uint8Array(4 + 60_000);
  new DataView(m.buffer).setUint32(0, 65536); // a 64 KiB message, of which 60000 bytes come
  return m;
}

Deno.test("attack: keyless TCP connections holding half-sent 64 KiB messages cost little; a trunk comes up", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "ring3-attack-" });
  // every connection admitted (no rate limit): the pending bound and the handshake buffers are tested
  const { p, port } = await victim(dir, "tcp", ["--handshake-rate", "1000000", "--handshake-timeout", "1"]);
  const conns: net.Socket[] = [];
  let dialer: SwitchDaemon | null = null;
  try {
    const pid = p.child.pid;
    const before = rss(pid);
    const growth: number[] = [];
    // two waves, 150 and 600 connections from 4 addresses: the cost must not scale with them
    for (const n of [150, 600]) {
      for (let a = 2; a <= 5; a++) conns.push(...await holdConns(n / 4, `127.0.0.${a}`, port, halfSent64k()));
      await sleep(300);
      growth.push((rss(pid) - before) / MiB);
      // what it holds settles at the pending bound (64) plus its own few, whatever the wave
      await waitFor(() => fds(pid) < 64 + 40, `victim holds ${fds(pid)} descriptors`, 5000);
    }
    // connections that send nothing, or half a HELLO (a message short enough to be read), are
    // closed by the handshake timeout
    const halfHello = new Uint8Array(4 + 20);
    new DataView(halfHello.buffer).setUint32(0, HELLO_LEN);
    const idle = [...await holdConns(20, "127.0.0.7", port), ...await holdConns(20, "127.0.0.8", port, halfHello)];
    conns.push(...idle);
    dialer = await legit("tcp", port);
    await waitFor(() => idle.every((s) => s.destroyed || s.readableEnded), "idle connections closed", 5000);
    const open = conns.filter((s) => !s.destroyed && !s.readableEnded).length;
    console.log(
      `tcp keyless: victim RSS growth ${growth.map((g) => g.toFixed(1)).join(" / ")} MiB after 150 / 750 ` +
        `half-sent 64 KiB messages; ${open} of ${conns.length} attacker connections still open`,
    );
    for (const g of growth) assert.ok(g < 24, `victim grew by ${g.toFixed(1)} MiB`);
    // held messages would cost 60000 bytes for each of the second wave's 600 connections (34 MiB);
    // allocator and GC slack between the waves is allowed (15-22 KB a connection seen, on CI
    // too), holding two thirds of each message is not
    const perConn = (growth[1] - growth[0]) * MiB / 600;
    assert.ok(
      perConn < 40_000,
      `growth scales with connections: ${growth.join(", ")} MiB (${perConn.toFixed(0)} B each)`,
    );
    assert.equal(dialer.trunkCtx!.links.size, 1);
    assert.ok(p.lines.filter((l) => /refused/.test(l)).length <= 20, p.lines.join("\n"));
  } finally {
    for (const s of conns) s.destroy();
    await dialer?.close();
    await p.stop();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("attack: thousands of idle switch ports are bounded by --max-ports and cost little each", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "ring3-attack-" });
  const key = keyFile(dir, "key", hex(TRUNK_KEY));
  const p = new DaemonProc([
    "--listen",
    `unix:${dir}/v.sock`,
    "--max-ports",
    "500",
    "--log-interval",
    "1",
    "--key-file",
    key,
  ]);
  const conns: Deno.Conn[] = [];
  try {
    await p.waitLine(/listening for ports/);
    await sleep(300);
    const pid = p.child.pid;
    const before = rss(pid);
    for (let i = 0; i < 2000; i++) {
      try {
        conns.push(await Deno.connect({ transport: "unix", path: `${dir}/v.sock` }));
      } catch (e) {
        if (!(e instanceof Deno.errors.WouldBlock)) throw e;
        await sleep(2); // the listen backlog is full: the victim is busy refusing
        i--;
      }
    }
    await waitFor(() => p.lines.some((l) => /refused \d+ more in 1 s \(port limit 500/.test(l)), "refusal summary");
    const grew = (rss(pid) - before) / MiB;
    const held = fds(pid);
    console.log(`idle ports: 2000 connections, victim holds ${held} descriptors, grew by ${grew.toFixed(1)} MiB`);
    assert.ok(held < 500 + 40, `victim holds ${held} descriptors`);
    assert.ok(grew < 40, `500 idle ports cost ${grew.toFixed(1)} MiB`);
    assert.ok(p.lines.filter((l) => /port limit/.test(l)).length <= 6, "throttled");
    // the ports the limit refused were closed by the victim; the others free up when they go
    for (const c of conns.splice(0)) c.close();
    await waitFor(() => fds(pid) < 40, "ports freed");
    const c = await Deno.connect({ transport: "unix", path: `${dir}/v.sock` });
    conns.push(c);
    await p.waitLine(/port \d+ \(.*\) connected/);
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await p.stop();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("attack: a version 1 peer gets the listener's version and a clear error on both sides", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "ring3-attack-" });
  const { p, port } = await victim(dir, "tcp");
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    const v1 = hello();
    v1[8] = 1; // what a ring3 of trunk protocol version 1 sends
    const m = new Uint8Array(4 + HELLO_LEN);
    new DataView(m.buffer).setUint32(0, HELLO_LEN);
    m.set(v1, 4);
    await c.write(m);
    const got = new Uint8Array(4 + HELLO_LEN);
    let n = 0;
    for (let r; n < got.length && (r = await c.read(got.subarray(n))) !== null;) n += r;
    c.close();
    assert.equal(n, 4 + HELLO_LEN);
    assert.equal(new TextDecoder().decode(got.subarray(4, 12)), "RING3TRK");
    assert.equal(got[12], TRUNK_VERSION); // a v1 peer refuses it: "trunk protocol version 2, this switch speaks 1"
    await p.waitLine(/peer speaks trunk protocol version 1, this switch speaks 2/);
  } finally {
    await p.stop();
    Deno.removeSync(dir, { recursive: true });
  }
});
