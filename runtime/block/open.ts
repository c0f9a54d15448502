// Opening a disk as the command line names it (`--disk FILE,format=...,snapshot=on,...`, parsed
// by options.ts): the format is probed from the first bytes when not given (qcow2 magic, else
// raw), a qcow2 image's backing chain is opened read-only (a relative backing name is taken
// relative to the image's folder, as QEMU does), and snapshot=on puts an in-memory overlay on top
// of an image opened read-only. Errors are DiskError, one line each.
import { type BlockImage, DiskError } from "./image.ts";
import { HostFile } from "./file.ts";
import { RawImage } from "./raw.ts";
import { isQcow2, Qcow2Image } from "./qcow2.ts";
import { SnapshotOverlay } from "./overlay.ts";
import { dirname, isAbsolute, join } from "../platform/mod.ts";

export interface ImageOptions {
  format?: "raw" | "qcow2"; // default: probed
  readonly?: boolean;
  snapshot?: boolean;
  cache?: "writeback" | "none"; // none: every write is durable before it completes (O_DSYNC)
}

const MAX_CHAIN = 16;

export function openImage(path: string, opts: ImageOptions = {}): BlockImage {
  const img = openFormat(path, opts.format, !(opts.readonly || opts.snapshot), opts.cache === "none", 0);
  // readonly=on wins: a read-only disk needs no overlay
  return opts.snapshot && !opts.readonly ? new SnapshotOverlay(img) : img;
}

function openFormat(
  path: string,
  format: "raw" | "qcow2" | undefined,
  write: boolean,
  sync: boolean,
  depth: number,
): BlockImage {
  if (depth > MAX_CHAIN) throw new DiskError(`${path}: backing chain deeper than ${MAX_CHAIN} images`);
  const file = HostFile.open(path, { write, sync });
  try {
    const head = new Uint8Array(4);
    file.pread(head, 0);
    const fmt = format ?? (isQcow2(head) ? "qcow2" : "raw");
    if (fmt === "raw") return new RawImage(file, !write);
    return new Qcow2Image(file, !write, (name, f) => {
      const p = isAbsolute(name) ? name : join(dirname(path), name);
      try {
        return openFormat(p, f, false, false, depth + 1);
      } catch (e) {
        if (e instanceof DiskError) throw new DiskError(`${path}: backing file ${e.message}`);
        throw e;
      }
    });
  } catch (e) {
    file.close();
    throw e;
  }
}
