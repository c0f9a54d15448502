// `deno task switch`: the ring3 virtual Ethernet switch daemon.

import { connAddr, type Endpoint, endpointToString, parseEndpoint, parseNetId } from "./addr.ts";
import { SwitchDaemon } from "./daemon.ts";
import { DEFAULT_LIMITS as L, type Limits } from "./guard.ts";
import { MAX_FRAME, MAX_JUMBO_FRAME } from "./switch.ts";
import { generateKeyFile, readKeyFile } from "./trunk_crypto.ts";
import { host, parseArgs } from "../runtime/platform/mod.ts";

const HELP = `ring3 virtual Ethernet switch

usage: deno task switch [options]
       deno task switch --gen-key FILE     write a new trunk key to FILE (mode 0600; never overwrites)

  --listen unix:PATH | tcp:HOST:PORT   accept NICs (ring3, or QEMU -netdev stream) here;
                                       append ,net=N to put this listener on network N
  --trunk tcp:HOST:PORT                keep a trunk to another switch (reconnects with backoff);
                                       udp:HOST:PORT for a trunk over UDP (a lost datagram loses
                                       its frames, never the trunk)
  --trunk-listen tcp:HOST:PORT         accept trunks from other switches (or udp:HOST:PORT)
  --key-file PATH                      pre-shared trunk key (required with trunks): at least 32
                                       random bytes, as hex, base64 or binary; make one with
                                       --gen-key PATH (or head -c 32 /dev/urandom | base64)
  --tap NAME                           attach the host TAP interface NAME (created if absent,
                                       set up; root only) as a port of the default network
  --net-id N                           default network id (1); trunks carry every network
  --mac-table-size N                   MAC table entries per network (4096)
  --ageing SECONDS                     forget stations silent this long (300)
  --jumbo                              accept frames up to ${MAX_JUMBO_FRAME} bytes (default ${MAX_FRAME})
  --relay                              re-flood frames between trunks (inner node of a tree of
                                       trunks only; loops in any cycle). Default: split horizon,
                                       for a full mesh of trunks
  --quiet                              log only errors

Limits (what a stranger can cost; refusals are logged as one summary line per interval):
  --max-ports N                        NIC connections at once, all networks (${L.maxPorts})
  --max-trunks N                       established trunks at once (${L.maxTrunks})
  --max-pending N                      trunk handshakes in progress per listener (${L.maxPending}); when
                                       full, the busiest source's oldest handshake makes room
  --max-pending-per-source N           the same per source address (${L.maxPendingPerSource})
  --handshake-rate N                   new trunk handshakes per second per source address
                                       (${L.handshakeRate}, bursts of twice that); UDP HELLOs get a
                                       stateless cookie, so unanswered ones cost nothing
  --handshake-timeout SECONDS          a handshake not done by then is dropped (5); until done,
                                       a connection buffers under 1 KiB (messages <= 128 bytes)
  --log-interval SECONDS               refusals: the first is logged, the rest summed up once per
                                       interval (${L.logIntervalMs / 1000})
  -h, --help                           this text

Every option that takes an address may be repeated. Ports speak QEMU's stream framing (4-byte
big-endian length, then the frame).`;

function fail(msg: string): never {
  console.error(`switch: ${msg.replace(/\s*\n\s*/g, " ")}`);
  host.exit(2);
}

function positiveInt(s: string, what: string): number {
  if (!/^\d+$/.test(s) || Number(s) < 1) fail(`${what} '${s}' must be a positive integer`);
  return Number(s);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: host.args,
      strict: true,
      allowPositionals: false,
      options: {
        listen: { type: "string", multiple: true },
        trunk: { type: "string", multiple: true },
        "trunk-listen": { type: "string", multiple: true },
        tap: { type: "string", multiple: true },
        "key-file": { type: "string" },
        "net-id": { type: "string" },
        "mac-table-size": { type: "string" },
        ageing: { type: "string" },
        jumbo: { type: "boolean" },
        relay: { type: "boolean" },
        quiet: { type: "boolean" },
        "gen-key": { type: "string" },
        "max-ports": { type: "string" },
        "max-trunks": { type: "string" },
        "max-pending": { type: "string" },
        "max-pending-per-source": { type: "string" },
        "handshake-rate": { type: "string" },
        "handshake-timeout": { type: "string" },
        "log-interval": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    fail(`${e instanceof Error ? e.message : e} (try --help)`);
  }
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (values["gen-key"] !== undefined) {
    try {
      generateKeyFile(values["gen-key"]);
    } catch (e) {
      fail(`--gen-key: ${(e as Error).message}`);
    }
    console.error(`switch: wrote a new trunk key to ${values["gen-key"]} (mode 0600); copy it to each trunked switch`);
    return;
  }
  const eps = (list: string[] | undefined, allowNet: boolean, allowUdp = false): Endpoint[] => {
    try {
      return (list ?? []).map((s) => parseEndpoint(s, allowNet, allowUdp));
    } catch (e) {
      fail(e instanceof Error ? e.message : String(e));
    }
  };
  const listen = eps(values.listen, true);
  const trunk = eps(values.trunk, false, true);
  const trunkListen = eps(values["trunk-listen"], false, true);
  for (const t of [...trunk, ...trunkListen]) {
    if (t.transport === "unix") {
      fail(`trunk endpoint ${endpointToString(t)}: trunks are tcp:HOST:PORT or udp:HOST:PORT`);
    }
  }
  const tap = values.tap ?? [];
  if (listen.length + trunk.length + trunkListen.length + tap.length === 0) {
    fail("nothing to do: give --listen, --tap and/or trunks (try --help)");
  }
  if (trunk.length + trunkListen.length > 0 && !values["key-file"]) fail("trunks need --key-file");
  let netId = 1;
  if (values["net-id"] !== undefined) {
    try {
      netId = parseNetId(values["net-id"], "--net-id");
    } catch (e) {
      fail((e as Error).message);
    }
  }
  const macTableSize = values["mac-table-size"] === undefined
    ? undefined
    : positiveInt(values["mac-table-size"], "--mac-table-size");
  const ageingMs = values.ageing === undefined ? undefined : positiveInt(values.ageing, "--ageing") * 1000;
  const limits: Partial<Limits> = {};
  const limit = (flag: string, field: keyof Limits, scale = 1) => {
    const v = (values as Record<string, unknown>)[flag];
    if (typeof v === "string") limits[field] = positiveInt(v, `--${flag}`) * scale;
  };
  limit("max-ports", "maxPorts");
  limit("max-trunks", "maxTrunks");
  limit("max-pending", "maxPending");
  limit("max-pending-per-source", "maxPendingPerSource");
  limit("handshake-rate", "handshakeRate");
  limit("log-interval", "logIntervalMs", 1000);
  const handshakeMs = values["handshake-timeout"] === undefined
    ? undefined
    : positiveInt(values["handshake-timeout"], "--handshake-timeout") * 1000;
  let key: Uint8Array | undefined;
  if (values["key-file"] !== undefined) {
    try {
      key = await readKeyFile(values["key-file"]);
    } catch (e) {
      fail(e instanceof host.errors.NotFound ? `key file ${values["key-file"]} not found` : (e as Error).message);
    }
  }
  const quiet = values.quiet ?? false;
  const log = (m: string) => {
    if (!quiet) console.error(`switch: ${m}`);
  };

  let d: SwitchDaemon;
  try {
    d = await SwitchDaemon.start({
      listen,
      trunk,
      trunkListen,
      tap,
      key,
      netId,
      macTableSize,
      ageingMs,
      maxFrame: values.jumbo ? MAX_JUMBO_FRAME : MAX_FRAME,
      relay: values.relay ?? false,
      log,
      limits,
      handshakeMs,
    });
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
  for (const a of d.edgeAddrs) log(`listening for ports on ${a.transport}:${connAddr(a)}`);
  for (const a of d.trunkAddrs) log(`listening for trunks on ${a.transport}:${connAddr(a)}`);

  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: shutting down`);
    await d.close();
    host.exit(0);
  };
  host.addSignalListener("SIGINT", () => stop("SIGINT"));
  host.addSignalListener("SIGTERM", () => stop("SIGTERM"));
}

await main();
