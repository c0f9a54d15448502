// Endpoint specs on the command line: `unix:/path/sw.sock` or `tcp:HOST:PORT` (HOST may be a
// bracketed IPv6 address), optionally followed by `,net=N` to put a listener's ports on
// virtual network N instead of the daemon's default. Trunks may also be `udp:HOST:PORT`.
import { type Addr } from "../runtime/platform/mod.ts";

export type Endpoint =
  | { transport: "unix"; path: string; net?: number }
  | { transport: "tcp"; hostname: string; port: number; net?: number }
  | { transport: "udp"; hostname: string; port: number; net?: number };

export function parseNetId(s: string, what = "network id"): number {
  if (!/^\d+$/.test(s)) throw new Error(`${what} '${s}' is not a number`);
  const n = Number(s);
  if (n < 1 || n > 0xffff_ffff) throw new Error(`${what} ${s} is outside 1..4294967295`);
  return n;
}

export function parseEndpoint(spec: string, allowNet = true, allowUdp = false): Endpoint {
  let net: number | undefined;
  const comma = spec.indexOf(",");
  let base = spec;
  if (comma >= 0) {
    base = spec.slice(0, comma);
    for (const opt of spec.slice(comma + 1).split(",")) {
      const m = /^net=(.*)$/.exec(opt);
      if (!m || !allowNet) throw new Error(`'${spec}': unknown option '${opt}'`);
      net = parseNetId(m[1]);
    }
  }
  if (base.startsWith("unix:")) {
    const path = base.slice(5);
    if (path === "") throw new Error(`'${spec}': empty unix socket path`);
    return { transport: "unix", path, net };
  }
  const transport = base.startsWith("tcp:") ? "tcp" : allowUdp && base.startsWith("udp:") ? "udp" : null;
  if (transport) {
    const rest = base.slice(4);
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+)):(\d+)$/.exec(rest);
    if (!m) throw new Error(`'${spec}': expected ${transport}:HOST:PORT`);
    const port = Number(m[3]);
    if (port > 65535) throw new Error(`'${spec}': port ${port} out of range`);
    return { transport, hostname: m[1] ?? m[2], port, net };
  }
  throw new Error(`'${spec}': expected unix:PATH or tcp:HOST:PORT${allowUdp ? " or udp:HOST:PORT" : ""}`);
}

export function endpointToString(e: Endpoint): string {
  if (e.transport === "unix") return `unix:${e.path}`;
  return `${e.transport}:${e.hostname.includes(":") ? `[${e.hostname}]` : e.hostname}:${e.port}`;
}

export function connAddr(a: Addr): string {
  if (a.transport === "tcp" || a.transport === "udp") {
    return `${a.hostname.includes(":") ? `[${a.hostname}]` : a.hostname}:${a.port}`;
  }
  if (a.transport === "unix" || a.transport === "unixpacket") return a.path || "unix";
  return String(a.transport);
}
