// snapshot=on: the image underneath is opened read-only and every write lands in host memory, in
// 4 KiB chunks (a partly written chunk starts as a copy of the image's bytes); reads take the
// chunks written so far, the image for the rest. Everything written is gone when ring3 exits.
// Memory grows with what the guest writes (a discard does not give it back).
import type { BlockImage } from "./image.ts";

const CHUNK = 4096;

export class SnapshotOverlay implements BlockImage {
  readonly format = "snapshot";
  readonly readonly = false;
  readonly name: string;
  readonly size: number;
  private readonly chunks = new Map<number, Uint8Array>();

  constructor(private readonly base: BlockImage) {
    this.name = base.name;
    this.size = base.size;
  }

  get bytesHeld(): number {
    return this.chunks.size * CHUNK;
  }

  read(off: number, dst: Uint8Array): void {
    let runStart = -1; // a stretch of chunks not written: one read from the image
    const flushRun = (end: number) => {
      if (runStart >= 0) this.readBase(off + runStart, dst.subarray(runStart, end));
      runStart = -1;
    };
    for (let done = 0; done < dst.length;) {
      const pos = off + done;
      const n = Math.min(CHUNK - (pos % CHUNK), dst.length - done);
      const c = this.chunks.get(Math.floor(pos / CHUNK));
      if (c) {
        flushRun(done);
        dst.set(c.subarray(pos % CHUNK, (pos % CHUNK) + n), done);
      } else if (runStart < 0) runStart = done;
      done += n;
    }
    flushRun(dst.length);
  }

  private readBase(pos: number, dst: Uint8Array): void {
    const n = Math.max(0, Math.min(dst.length, this.base.size - pos));
    if (n) this.base.read(pos, dst.subarray(0, n));
    dst.fill(0, n);
  }

  write(off: number, src: Uint8Array): void {
    for (let done = 0; done < src.length;) {
      const pos = off + done;
      const ci = Math.floor(pos / CHUNK);
      const n = Math.min(CHUNK - (pos % CHUNK), src.length - done);
      let c = this.chunks.get(ci);
      if (!c) {
        c = new Uint8Array(CHUNK);
        if (n < CHUNK) this.readBase(ci * CHUNK, c);
        this.chunks.set(ci, c);
      }
      c.set(src.subarray(done, done + n), pos % CHUNK);
      done += n;
    }
  }

  flush(): void {}

  discard(_off: number, _len: number): void {}

  close(): void {
    this.chunks.clear();
    this.base.close();
  }
}
