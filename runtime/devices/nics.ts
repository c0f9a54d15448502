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
    // RING3_NET_OFFLOAD=off: virtio-net without checksum/segmentation offloads (A/B measurements)
    // User links (passt) get none: with TSO segmented in software toward passt, an 8 MiB
    // guest-to-host transfer arrived short (4.7 MB) though every segment checked out elsewhere;
    // without offloads it arrives whole. Not understood yet (bench/results/net.md).
    const offloads = host.env.get("RING3_NET_OFFLOAD") !== "off" && !config.user;
    // USER_MTU_BIG (65520) for virtio lost data guest-to-host through Debian 12's passt (an 8 MiB
    // transfer ended after 5.8 MB); 1500 everywhere until that is understood
    const mtu = host.env.get("RING3_USER_MTU") === "big" && config.model === "virtio" ? USER_MTU_BIG : USER_MTU;
    const link = new NicLink(config.switch ?? { hostfwd: config.user!.hostfwd, mtu }, name, mac, log);
    link.onTransmit = onTransmit;
    if (timers) link.attachTimers(timers);
    const device = config.model === "ne2k" ? new Ne2k(mac, link) : new VirtioNet(ram, mac, link, log, offloads);
    pci.add(device, FIRST_NIC_SLOT + i);
    return { config, name, mac, device, link };
  });
}
