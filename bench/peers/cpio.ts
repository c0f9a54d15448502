// A tiny "newc" cpio writer and the race's initramfs overlay. Linux unpacks concatenated
// archives in order (a later file of the same name replaces an earlier one), so appending a
// gzip'd cpio to the guest's initramfs adds the race's script without rebuilding the guest.

export interface CpioEntry {
  name: string; // path without a leading slash
  mode: number; // full st_mode: 0o040755 for a directory, 0o100755 for an executable
  data?: Uint8Array;
}

const enc = new TextEncoder();
const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, "0");
const pad4 = (n: number) => (4 - (n % 4)) % 4;

// Fixed inode numbers, owner root, mtime 0: the same input always gives the same bytes.
export function cpioNewc(entries: CpioEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let ino = 1;
  const push = (name: string, mode: number, data: Uint8Array, nlink: number) => {
    const nameBytes = enc.encode(name + "\0");
    const hdr = "070701" +
      [ino++, mode, 0, 0, nlink, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0].map(hex8).join("");
    parts.push(enc.encode(hdr), nameBytes, new Uint8Array(pad4(110 + nameBytes.length)));
    parts.push(data, new Uint8Array(pad4(data.length)));
  };
  for (const e of entries) {
    const isDir = (e.mode & 0o170000) === 0o040000;
    push(e.name, e.mode, e.data ?? new Uint8Array(0), isDir ? 2 : 1);
  }
  ino = 0;
  push("TRAILER!!!", 0, new Uint8Array(0), 1);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

async function pipe(data: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const body = new Blob([data as BlobPart]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(body).arrayBuffer());
}
export const gzip = (d: Uint8Array) => pipe(d, new CompressionStream("gzip"));
export const gunzip = (d: Uint8Array) => pipe(d, new DecompressionStream("gzip"));

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

// Does this initramfs's /init understand ring3.run=/path (guest/init of this project)? Looks for
// the option's name in the unpacked archive: the reference guest's init does not have it.
export async function initKnowsRing3Run(initrd: Uint8Array): Promise<boolean> {
  const isGzip = initrd[0] === 0x1f && initrd[1] === 0x8b;
  const raw = isGzip ? await gunzip(initrd) : initrd;
  return contains(raw, enc.encode("ring3.run=/"));
}

// The guest's initramfs plus an archive holding /race/run (and /init too when `asInit`) and the
// `extra` files (under race/).
export async function raceInitrd(
  initrd: Uint8Array,
  script: Uint8Array,
  asInit: boolean,
  extra: CpioEntry[] = [],
): Promise<Uint8Array> {
  const entries: CpioEntry[] = [
    { name: "race", mode: 0o040755 },
    { name: "race/run", mode: 0o100755, data: script },
    ...extra,
  ];
  if (asInit) entries.push({ name: "init", mode: 0o100755, data: script });
  const archive = await gzip(cpioNewc(entries));
  const out = new Uint8Array(initrd.length + archive.length);
  out.set(initrd, 0);
  out.set(archive, initrd.length);
  return out;
}
