// Plugging the configured NICs into the PCI bus, each with its link to a switch.
import type { PciBus } from "./pci.ts";
import { Ne2k } from "./ne2k.ts";
import { VirtioNet } from "./virtio_net.ts";
import { defaultMac, NicLink, parseMac } from "./nic_link.ts";
import { endpointToString, parseEndpoint } from "../../net/addr.ts";
import type { NetConfig } from "../netopt.ts";
import { USER_MTU, USER_MTU_BIG } from "../../net/passt.ts";
import type { GuestRam } from "../memory.ts";
import type { TimerQueue } from "../clock.ts";
import { host } from "../platform/mod.ts";

export const FIRST_NIC_SLOT = 3;

export interface Nic {
  readonly config: NetConfig;
  readonly name: string;
  readonly mac: Uint8Array;
  readonly device: Ne2k | VirtioNet;
  readonly link: NicLink;
}

export function attachNics(
  pci: PciBus,
  ram: GuestRam,
  configs: NetConfig[],
  // called when a NIC queued a frame for the switch: the run loop should let the host write it
  onTransmit: () => void = () => {},
  log: (line: string) => void = (l) => console.error(l),
  // the machine's timers: a link reads its socket between slices while frames flow
  timers?: TimerQueue,
): Nic[] {
  return configs.map((config, i) => {
    const spec = config.switch ? endpointToString(parseEndpoint(config.switch, false)) : "user";
    const mac = config.mac ? parseMac(config.mac) : defaultMac(spec, i);
    const name = `nic${i} (${config.model}${config.switch ? "" : ", user"})`;
    // RING3_NET_OFFLOAD=off: virtio-net without checksum/segmentation offloads (A/B measurements).
    // User links (passt) get them too, and virtio-net there passt's largest MTU (65520): the
    // data lost or reset guest-to-host with either was passt losing its framing on writes cut
    // mid-prefix, fixed by whole-frame writes (net/fdstream.ts; bench/results/net.md).
    // RING3_USER_MTU=small / RING3_USER_OFFLOAD=off: MTU 1500 / no offloads on user links.
    const offloads = host.env.get("RING3_NET_OFFLOAD") !== "off" &&
      (!config.user || host.env.get("RING3_USER_OFFLOAD") !== "off");
    const mtu = host.env.get("RING3_USER_MTU") !== "small" && config.model === "virtio" ? USER_MTU_BIG : USER_MTU;
    const link = new NicLink(config.switch ?? { hostfwd: config.user!.hostfwd, mtu }, name, mac, log);
    link.onTransmit = onTransmit;
    if (timers) link.attachTimers(timers);
    const device = config.model === "ne2k" ? new Ne2k(mac, link) : new VirtioNet(ram, mac, link, log, offloads);
    pci.add(device, FIRST_NIC_SLOT + i);
    return { config, name, mac, device, link };
  });
}
