// Disk options: the machine's `disks: [...]` list and the CLI's QEMU-like
// `--disk FILE[,if=virtio][,format=raw|qcow2][,snapshot=on][,readonly=on][,cache=writeback|none]`
// (one flag per disk). Errors are single lines naming the bad part.
import type { ImageOptions } from "./open.ts";

export type DiskBus = "virtio" | "ide";

export interface DiskConfig extends ImageOptions {
  file: string;
  if: DiskBus;
  serial?: string; // the ID the guest reads (virtio-blk GET_ID): default "ring3-diskN"
}

const BOOL: Record<string, boolean> = { on: true, off: false, yes: true, no: false, true: true, false: false };

export function parseDiskOption(spec: string): DiskConfig {
  // QEMU's escape: ",," is a comma inside the file name
  const parts = spec.replaceAll(",,", "\0").split(",").map((p) => p.replaceAll("\0", ","));
  let file = parts[0];
  const cfg: Partial<DiskConfig> = { if: "virtio" };
  const rest = parts.slice(1);
  if (file.startsWith("file=")) file = file.slice(5);
  else if (file.includes("=")) {
    rest.unshift(file);
    file = "";
  }
  for (const p of rest) {
    const eq = p.indexOf("=");
    const key = eq < 0 ? p : p.slice(0, eq), val = eq < 0 ? "" : p.slice(eq + 1);
    const flag = () => {
      const b = BOOL[val];
      if (b === undefined) throw new Error(`--disk ${spec}: ${key}=${val}: on or off`);
      return b;
    };
    switch (key) {
      case "file":
        file = val;
        break;
      case "if":
        if (val !== "virtio" && val !== "ide") {
          throw new Error(`--disk ${spec}: unknown interface '${val}' (virtio or ide)`);
        }
        cfg.if = val;
        break;
      case "format":
        if (val !== "raw" && val !== "qcow2") throw new Error(`--disk ${spec}: unknown format '${val}' (raw or qcow2)`);
        cfg.format = val;
        break;
      case "snapshot":
        cfg.snapshot = flag();
        break;
      case "readonly":
        cfg.readonly = flag();
        break;
      case "cache":
        if (val !== "writeback" && val !== "none") {
          throw new Error(`--disk ${spec}: unknown cache mode '${val}' (writeback or none)`);
        }
        cfg.cache = val;
        break;
      case "serial":
        if (!/^[\x20-\x7e]{1,20}$/.test(val)) throw new Error(`--disk ${spec}: serial: 1-20 printable characters`);
        cfg.serial = val;
        break;
      default:
        throw new Error(
          `--disk ${spec}: unknown option '${key}' (file=, if=, format=, snapshot=, readonly=, cache=, serial=)`,
        );
    }
  }
  if (!file) throw new Error(`--disk ${spec}: missing the image file name`);
  cfg.file = file;
  return cfg as DiskConfig;
}

export const DISK_USAGE =
  `  --disk FILE[,format=raw|qcow2][,snapshot=on][,readonly=on][,cache=writeback|none][,if=virtio|ide]
                   add a disk: virtio-blk (/dev/vda, vdb, ... in order) or with if=ide an ATA disk on
                   the PIIX IDE controller (primary master, primary slave, then the secondary channel:
                   /dev/sda, sdb, ...); the format is probed when not given. snapshot=on keeps the guest's writes in memory (gone at exit); readonly=on
                   shows a write-protected disk; cache=none makes every write durable before it
                   completes (else a guest flush does: fdatasync). The image is locked while in use.
  --cdrom FILE     an ATAPI CD-ROM with the ISO image FILE (read-only) on the secondary IDE master
                   (/dev/sr0)
  --boot c|d|n     what firmware (--bios) boots first: the hard disk, the CD-ROM or the network
                   (then the others; default c)`;
