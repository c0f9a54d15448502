// A raw image: the disk's bytes are the file's bytes. Sparse files work as they are (holes read
// as zeros); discard punches holes. The size is the file's, rounded up to whole sectors (the
// tail reads as zeros and a write there extends the file).
import { type BlockImage, SECTOR } from "./image.ts";
import type { HostFile } from "./file.ts";

export class RawImage implements BlockImage {
  readonly format = "raw";
  readonly size: number;
  readonly name: string;

  constructor(private readonly file: HostFile, readonly readonly: boolean) {
    this.name = file.path;
    this.size = Math.ceil(file.size / SECTOR) * SECTOR;
  }

  read(off: number, dst: Uint8Array): void {
    this.file.pread(dst, off);
  }

  write(off: number, src: Uint8Array): void {
    if (this.readonly) throw new Error(`${this.name}: read-only`);
    this.file.pwrite(src, off);
  }

  flush(): void {
    if (!this.readonly) this.file.datasync();
  }

  discard(off: number, len: number): void {
    if (!this.readonly) this.file.punchHole(off, len);
  }

  close(): void {
    this.file.close();
  }
}
