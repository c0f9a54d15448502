// Plugging the configured disks into the PCI bus: each `--disk` opens its image (runtime/block/)
// and becomes a virtio-blk function on the next slot from FIRST_DISK_SLOT, so the guest names
// them /dev/vda, vdb, ... in command-line order. Images are closed (and unlocked) by closeDisks.
import type { PciBus } from "./pci.ts";
import { VirtioBlk } from "./virtio_blk.ts";
import type { GuestRam } from "../memory.ts";
import type { DiskConfig } from "../block/options.ts";
import { openImage } from "../block/open.ts";
import { type BlockImage, DiskError } from "../block/image.ts";

export const FIRST_DISK_SLOT = 8;
export const MAX_DISKS = 16;
// virtio-blk counts 64-bit sectors; ring3 computes byte offsets in doubles: 2^53 bytes (8 PiB)
const VIRTIO_BLK_MAX_BYTES = 2 ** 53;

export interface Disk {
  readonly name: string; // "vda (virtio-blk, FILE)"
  readonly image: BlockImage;
  readonly device: VirtioBlk;
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
