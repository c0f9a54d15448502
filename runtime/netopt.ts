// Guest NIC options: the machine's `net: [{ model, switch | user, mac? }]` list and the CLI's
// `--net MODEL,switch=unix:/path|tcp:host:port[,mac=xx:xx:xx:xx:xx:xx]` or
// `--net MODEL,user[,hostfwd=tcp:HOSTPORT-:GUESTPORT]...` (one flag per NIC; user networking
// runs passt for the NIC, net/passt.ts).
import { parseEndpoint } from "../net/addr.ts";
import { type Hostfwd, parseHostfwd } from "../net/passt.ts";
import { parseMac } from "./devices/nic_link.ts";

export type NicModel = "ne2k" | "virtio";
export const NIC_MODELS: readonly NicModel[] = ["virtio", "ne2k"];

export interface NetConfig {
  model: NicModel;
  switch?: string; // unix:/path or tcp:host:port
  user?: { hostfwd: Hostfwd[] }; // user-mode networking through passt instead of a switch
  mac?: string; // default: derived from the switch and the NIC index (runtime/devices/nic_link.ts)
}

const ALIASES: Record<string, NicModel> = {
  virtio: "virtio",
  "virtio-net": "virtio",
  "virtio-net-pci": "virtio",
  ne2k: "ne2k",
  "ne2k-pci": "ne2k",
  ne2k_pci: "ne2k",
  rtl8029: "ne2k",
};

// One `--net` value. Errors are single lines naming the bad part.
export function parseNetOption(spec: string): NetConfig {
  // the switch endpoint may itself contain commas only as ",net=N", which a NIC may not use
  const parts = spec.split(",");
  const model = ALIASES[parts[0].trim().toLowerCase()];
  if (!model) throw new Error(`--net ${spec}: unknown NIC model '${parts[0]}' (virtio or ne2k)`);
  const cfg: Partial<NetConfig> = { model };
  for (const p of parts.slice(1)) {
    const eq = p.indexOf("=");
    const key = eq < 0 ? p : p.slice(0, eq), val = eq < 0 ? "" : p.slice(eq + 1);
    switch (key) {
      case "switch":
        try {
          parseEndpoint(val, false);
        } catch (e) {
          throw new Error(`--net ${spec}: switch ${(e as Error).message}`);
        }
        cfg.switch = val;
        break;
      case "user":
        if (val) throw new Error(`--net ${spec}: 'user' takes no value`);
        cfg.user ??= { hostfwd: [] };
        break;
      case "hostfwd":
        try {
          (cfg.user ??= { hostfwd: [] }).hostfwd.push(parseHostfwd(val));
        } catch (e) {
          throw new Error(`--net ${spec}: ${(e as Error).message}`);
        }
        break;
      case "mac":
        try {
          parseMac(val);
        } catch (e) {
          throw new Error(`--net ${spec}: ${(e as Error).message}`);
        }
        cfg.mac = val;
        break;
      default:
        throw new Error(`--net ${spec}: unknown option '${key}' (switch=, user, hostfwd=, mac=)`);
    }
  }
  if (cfg.switch && cfg.user) throw new Error(`--net ${spec}: a NIC has either switch= or user, not both`);
  if (!cfg.switch && !cfg.user) {
    throw new Error(`--net ${spec}: missing switch=unix:PATH, switch=tcp:HOST:PORT or user`);
  }
  return cfg as NetConfig;
}

export const NET_USAGE = `  --net MODEL,switch=ENDPOINT[,mac=MAC]
                   add a NIC (MODEL virtio or ne2k) cabled to a switch daemon (deno task switch)
                   at unix:PATH or tcp:HOST:PORT; repeat for more NICs. Default MAC 52:54:xx:..
                   from a hash of the switch and NIC index (set mac= when two guests share both)
  --net MODEL,user[,hostfwd=tcp:HOSTPORT-:GUESTPORT][,hostfwd=udp:...][,mac=MAC]
                   a NIC on user-mode networking (passt, no root): guest 10.0.2.15 by DHCP,
                   gateway 10.0.2.2 = the host's 127.0.0.1, DNS the host's resolver;
                   hostfwd forwards a host port to a guest port`;
