// Plugging the configured disks into the PCI bus: each virtio `--disk` opens its image
// (runtime/block/) and becomes a virtio-blk function on the next slot from FIRST_DISK_SLOT, so the
// guest names them /dev/vda, vdb, ... in command-line order. IDE disks (`if=ide`) and the CD-ROM
// (`--cdrom`) go on one PIIX IDE controller (ide.ts, 00:01.1), made only when there is one:
// disks on the primary master and slave, then the secondary channel, whose master is the CD-ROM's
// when there is one. Images are closed (and unlocked) by closeDisks.
import type { PciBus } from "./pci.ts";
import { VirtioBlk } from "./virtio_blk.ts";
import type { GuestRam } from "../memory.ts";
import type { DiskConfig } from "../block/options.ts";
import { openImage } from "../block/open.ts";
import { type BlockImage, DiskError } from "../block/image.ts";
import { IDE_FN, IDE_PORTS, IDE_SLOT, IdeDrive, MAX_LBA48_SECTORS, PiixIde } from "./ide.ts";
import type { IrqRouter } from "../irq.ts";
import { Virtio9p } from "./virtio_9p.ts";
import { P9Server } from "../share/p9.ts";
import type { ShareConfig } from "../share/options.ts";

export const FIRST_DISK_SLOT = 8;
export const MAX_DISKS = 16;
// virtio-blk counts 64-bit sectors; ring3 computes byte offsets in doubles: 2^53 bytes (8 PiB)
const VIRTIO_BLK_MAX_BYTES = 2 ** 53;

export interface Disk {
  readonly name: string; // "vda (virtio-blk, FILE)"
  readonly image: BlockImage;
  readonly device: VirtioBlk | IdeDrive;
}

// `configs`: command-line disks, or images opened by the caller (tests)
export function attachDisks(
  pci: PciBus,
  ram: GuestRam,
  configs: (DiskConfig | BlockImage)[],
  log: (line: string) => void = (l) => console.error(l),
): Disk[] {
  if (configs.length > MAX_DISKS) throw new RangeError(`${configs.length} disks: at most ${MAX_DISKS}`);
  const disks: Disk[] = [];
  try {
    configs.forEach((c, i) => {
      const image = "file" in c ? openImage(c.file, c) : c;
      if ("file" in c && c.if !== "virtio") throw new Error(`${c.file}: not a virtio disk`);
      if (image.size > VIRTIO_BLK_MAX_BYTES) {
        image.close();
        throw new DiskError(`${image.name}: ${image.size} bytes is more than virtio-blk can address here`);
      }
      const letter = String.fromCharCode(0x61 + i);
      const serial = ("file" in c ? c.serial : undefined) ?? `ring3-vd${letter}`;
      const device = new VirtioBlk(ram, image, serial, log);
      try {
        pci.add(device, FIRST_DISK_SLOT + i);
      } catch (e) {
        image.close();
        throw e;
      }
      disks.push({ name: `vd${letter} (virtio-blk, ${image.name})`, image, device });
    });
  } catch (e) {
    closeDisks(disks);
    throw e;
  }
  return disks;
}

export function closeDisks(disks: readonly Disk[]): void {
  for (const d of disks) d.image.close();
}

export interface IdeSetup {
  controller: PiixIde;
  disks: Disk[]; // the IDE disks and the CD-ROM, for closeDisks
}

// `configs`: the `if=ide` disks (or opened images), `cdrom`: an ISO file or image; undefined
// when there are neither
export function attachIde(
  pci: PciBus,
  ram: GuestRam,
  irq: IrqRouter | undefined,
  configs: (DiskConfig | BlockImage)[],
  cdrom: string | BlockImage | undefined,
  log: (line: string) => void = (l) => console.error(l),
): IdeSetup | undefined {
  if (!configs.length && cdrom === undefined) return undefined;
  const slots = cdrom === undefined ? [0, 1, 2, 3] : [0, 1, 3];
  if (configs.length > slots.length) {
    throw new RangeError(
      `${configs.length} IDE disks${cdrom === undefined ? "" : " and a CD-ROM"}: at most 4 IDE devices`,
    );
  }
  const names = ["primary master", "primary slave", "secondary master", "secondary slave"];
  const drives: (IdeDrive | undefined)[] = [undefined, undefined, undefined, undefined];
  const disks: Disk[] = [];
  try {
    configs.forEach((c, i) => {
      const image = "file" in c ? openImage(c.file, c) : c;
      const letter = String.fromCharCode(0x61 + i);
      disks.push({ name: `sd${letter} (IDE ${names[slots[i]]}, ${image.name})`, image, device: undefined! });
      if (image.size < 512) throw new DiskError(`${image.name}: an IDE disk needs at least one sector`);
      if (image.size / 512 > MAX_LBA48_SECTORS) {
        throw new DiskError(`${image.name}: ${image.size} bytes is more than IDE (LBA48) can address`);
      }
      const serial = ("file" in c ? c.serial : undefined) ?? `RING3-HD${i}`;
      const d = new IdeDrive("disk", image, serial);
      drives[slots[i]] = d;
      (disks[i] as { device: IdeDrive }).device = d;
    });
    if (cdrom !== undefined) {
      const image = typeof cdrom === "string" ? openImage(cdrom, { readonly: true }) : cdrom;
      disks.push({ name: `sr0 (IDE secondary master, ${image.name})`, image, device: undefined! });
      const d = new IdeDrive("cdrom", image, "RING3-CD0");
      drives[2] = d;
      (disks[disks.length - 1] as { device: IdeDrive }).device = d;
    }
  } catch (e) {
    closeDisks(disks);
    throw e;
  }
  const controller = new PiixIde(ram, [irq?.line(IDE_PORTS[0].irq), irq?.line(IDE_PORTS[1].irq)], drives, log);
  pci.add(controller, IDE_SLOT, IDE_FN);
  return { controller, disks };
}

// Host folder shares (`--share`): a virtio-9p function each, on PCI slots from FIRST_SHARE_SLOT.
export const FIRST_SHARE_SLOT = 24;
export const MAX_SHARES = 6;

export interface Share {
  readonly name: string; // "share0 (virtio-9p, DIR)"
  readonly device: Virtio9p;
}

export function attachShares(
  pci: PciBus,
  ram: GuestRam,
  configs: ShareConfig[],
  log: (line: string) => void = (l) => console.error(l),
): Share[] {
  if (configs.length > MAX_SHARES) throw new RangeError(`${configs.length} shares: at most ${MAX_SHARES}`);
  const tags = new Set<string>();
  return configs.map((c, i) => {
    if (tags.has(c.tag)) throw new RangeError(`--share ${c.dir}: tag ${c.tag} used twice`);
    tags.add(c.tag);
    const server = new P9Server(c.dir, { readonly: c.readonly });
    const device = new Virtio9p(ram, server, c.tag, log);
    pci.add(device, FIRST_SHARE_SLOT + i);
    return { name: `${c.tag} (virtio-9p, ${server.root}${c.readonly ? ", read-only" : ""})`, device };
  });
}
