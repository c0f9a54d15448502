// virtio-9p (device type 9) on the legacy virtio-pci transport (virtio_pci.ts): one request queue;
// the configuration space holds the mount tag (u16 length, then the bytes), offered with
// VIRTIO_9P_MOUNT_TAG. Each descriptor chain is one 9P request (device-readable part) and room
// for its reply (device-writable part); the 9P2000.L server (runtime/share/p9.ts) answers it
// synchronously when the driver notifies the queue, and one interrupt covers the batch. A request
// larger than the negotiated maximum message size is not read (the chain returns empty).
import { VirtioPci } from "./virtio_pci.ts";
import type { GuestRam } from "../memory.ts";
import { MAX_MSIZE, type P9Server, restoreP9, saveP9 } from "../share/p9.ts";
import { QUEUE_FIELDS, VIRTIO_FIELDS } from "./virtio_blk.ts";
import { type DeviceState, expectVersion, pick, put } from "../snapshot/persist.ts";

const F_MOUNT_TAG = 0;
const QUEUE_SIZE = 128;

export class Virtio9p extends VirtioPci {
  private readonly config: Uint8Array;

  constructor(ram: GuestRam, readonly server: P9Server, readonly tag: string, log?: (line: string) => void) {
    const t = new TextEncoder().encode(tag);
    super(ram, 9, 0x018000, 1 << F_MOUNT_TAG, [QUEUE_SIZE], 2 + t.length, log);
    this.config = new Uint8Array(2 + t.length);
    this.config[0] = t.length & 0xff, this.config[1] = t.length >> 8;
    this.config.set(t, 2);
  }

  protected configRead(off: number): number {
    return off < this.config.length ? this.config[off] : 0;
  }

  protected queueNotify(_q: number): void {
    const q = this.queues[0];
    let done = 0;
    try {
      for (let c = q.pop(); c; c = done < q.size ? q.pop() : null) {
        const req = q.read(c, MAX_MSIZE + 64);
        let len = 0;
        if (req && c.inLen > 0) {
          const reply = this.server.handle(req, c.inLen);
          len = reply.length <= c.inLen ? q.write(c, reply) : 0;
        }
        q.push(c.head, len);
        done++;
      }
    } catch (e) {
      this.broken(e);
    }
    if (done) this.interruptQueue(q);
  }

  protected override deviceReset(): void {
    this.server.close(); // a driver reset forgets every fid
  }
}

// ---- persist (ARCHITECTURE.md, "Snapshots"): the virtio registers and queue (as virtio-blk's),
// and the 9P server's fids (runtime/share/p9.ts)
export function saveVirtio9p(d: Virtio9p): DeviceState {
  return {
    v: 1,
    ...pick(d, VIRTIO_FIELDS),
    queues: d.queues.map((q) => pick(q, QUEUE_FIELDS)),
    server: saveP9(d.server),
  };
}
export function restoreVirtio9p(d: Virtio9p, state: DeviceState): void {
  const s = expectVersion("virtio-9p", state, 1);
  put(d, VIRTIO_FIELDS, s, "virtio-9p");
  const qs = s.queues as Record<string, unknown>[];
  d.queues.forEach((q, i) => put(q, QUEUE_FIELDS, qs[i], `virtio-9p queue ${i}`));
  restoreP9(d.server, s.server as DeviceState);
}
