// What every disk controller (virtio-blk today, IDE/ATAPI later) sees of a disk: a byte-addressed
// image of fixed size with synchronous positioned reads and writes, a flush that returns once
// the data is durable on the host, and an advisory discard. The backends: `raw.ts` (a host file),
// `qcow2.ts` (QEMU's copy-on-write format, with a backing chain), `overlay.ts` (snapshot=on:
// writes kept in memory); `open.ts` picks one from the command line's options, `file.ts` is the
// host file under them (positioned I/O, fdatasync, the exclusive lock).
//
// Controllers check every guest-chosen offset and length against `size` before calling; a
// backend may still throw (a host I/O error, a corrupt qcow2 table found late): the controller
// turns that into the bus's I/O error status, never into a host exception.

export const SECTOR = 512;

// A one-line error for the user: a missing file, a locked image, a corrupt header, ...
export class DiskError extends Error {
  override name = "DiskError";
}

export interface BlockImage {
  readonly name: string; // the file (for messages)
  readonly format: "raw" | "qcow2" | "snapshot";
  readonly size: number; // bytes, a multiple of SECTOR
  readonly readonly: boolean;
  read(off: number, dst: Uint8Array): void; // fills dst from `off` (zeros past the end of the data)
  write(off: number, src: Uint8Array): void;
  flush(): void; // everything written so far is on the host's disk when this returns
  discard(off: number, len: number): void; // the range's contents become unspecified (may free space)
  close(): void;
}
