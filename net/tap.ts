// A host TAP interface as a switch port (`deno task switch --tap NAME`): the host's kernel, and
// through its own bridging or routing its LAN, exchanges Ethernet frames with every guest on the
// switch. Deno has no ioctl, so this goes through Deno's FFI to libc: open /dev/net/tun,
// TUNSETIFF with IFF_TAP | IFF_NO_PI (the interface is created if absent, and goes away with the
// fd unless it was made persistent beforehand, e.g. `ip tuntap add NAME mode tap`), then the
// interface is set up (SIOCSIFFLAGS |= IFF_UP; addresses are the host's business). Frames are one
// read()/write() each on the fd. The fd is non-blocking; a poll() with a short timeout on one of
// FFI's blocking threads waits for the next frames, so the event loop never blocks and close()
// takes effect within one poll period. Needs CAP_NET_ADMIN (root) and /dev/net/tun; both are
// checked with a one-line error.
import { type DynamicLibrary, host } from "../runtime/platform/mod.ts";

const TUNSETIFF = 0x400454ca, IFF_TAP = 0x0002, IFF_NO_PI = 0x1000;
const SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914, IFF_UP = 0x1;
const O_RDWR = 2, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
const AF_INET = 2, SOCK_DGRAM = 2;
const POLLIN = 1;
const EAGAIN = 11, EINTR = 4;
const IFNAMSIZ = 16;
const POLL_MS = 100;
const MAX_TAP_FRAME = 65536;

const SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

type Libc = DynamicLibrary<typeof SYMBOLS>["symbols"];
let libc: Libc | null = null;

function loadLibc(): Libc {
  if (libc) return libc;
  if (host.build.os !== "linux") throw new Error("TAP ports need Linux");
  let lastErr: unknown;
  for (const name of ["libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6"]) {
    try {
      libc = host.dlopen(name, SYMBOLS).symbols;
      return libc;
    } catch (e) {
      lastErr = e;
    }
  }
  throw new Error(`cannot load libc for the TAP port: ${(lastErr as Error).message}`);
}

function errno(c: Libc): { code: number; text: string } {
  const p = c.__errno_location();
  const code = p ? new host.UnsafePointerView(p).getInt32() : 0;
  const s = c.strerror(code);
  return { code, text: s ? new host.UnsafePointerView(s).getCString() : `errno ${code}` };
}

function ifreq(name: string, flags: number): Uint8Array {
  const b = new Uint8Array(40);
  b.set(new TextEncoder().encode(name));
  new DataView(b.buffer).setInt16(IFNAMSIZ, flags, true);
  return b;
}

export function checkTapName(name: string): void {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) {
    throw new Error(`TAP name '${name}' must be 1-15 letters, digits, '_', '.' or '-'`);
  }
}

export class TapDevice {
  private closed = false;
  private readonly buf = new Uint8Array(MAX_TAP_FRAME);
  private readonly pfd = new Uint8Array(8);
  readonly done: Promise<void>;
  rxFrames = 0;
  txFrames = 0;
  txErrors = 0;

  private constructor(
    private readonly c: Libc,
    private readonly fd: number,
    readonly name: string,
    private readonly onFrame: (f: Uint8Array) => void,
  ) {
    const v = new DataView(this.pfd.buffer);
    v.setInt32(0, fd, true);
    v.setInt16(4, POLLIN, true);
    this.done = this.loop();
  }

  // Attach to (or create) the TAP interface NAME and set it up; frames read go to onFrame.
  static open(name: string, onFrame: (f: Uint8Array) => void): TapDevice {
    checkTapName(name);
    const c = loadLibc();
    const fd = c.open(new TextEncoder().encode("/dev/net/tun\0"), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      const e = errno(c);
      throw new Error(
        `cannot open /dev/net/tun: ${e.text}${
          e.code === 2 ? " (no TUN/TAP support: modprobe tun)" : e.code === 13 || e.code === 1 ? " (needs root)" : ""
        }`,
      );
    }
    const req = ifreq(name, IFF_TAP | IFF_NO_PI);
    if (c.ioctl(fd, BigInt(TUNSETIFF), req) < 0) {
      const e = errno(c);
      c.close(fd);
      throw new Error(
        `cannot attach TAP interface ${name}: ${e.text}${
          e.code === 1 ? " (needs root: CAP_NET_ADMIN)" : e.code === 16 ? " (in use, or not a TAP interface)" : ""
        }`,
      );
    }
    const got = new TextDecoder().decode(req.subarray(0, IFNAMSIZ)).replace(/\0.*$/s, "");
    setUp(c, got);
    return new TapDevice(c, fd, got, onFrame);
  }

  // Write one frame to the host (false when the kernel refused it: counted, never thrown).
  send(frame: Uint8Array): boolean {
    if (this.closed) return false;
    const n = this.c.write(this.fd, frame, BigInt(frame.length));
    if (Number(n) !== frame.length) {
      this.txErrors++;
      return false;
    }
    this.txFrames++;
    return true;
  }

  close(): Promise<void> {
    this.closed = true;
    return this.done;
  }

  private async loop(): Promise<void> {
    const c = this.c;
    try {
      while (!this.closed) {
        const r = await c.poll(this.pfd, 1n, POLL_MS);
        if (this.closed) break;
        if (r < 0) {
          if (errno(c).code === EINTR) continue;
          throw new Error(`poll on TAP ${this.name}: ${errno(c).text}`);
        }
        if (r === 0) continue;
        // every frame waiting now, then poll again
        for (let i = 0; i < 256 && !this.closed; i++) {
          const n = Number(c.read(this.fd, this.buf, BigInt(this.buf.length)));
          if (n < 0) {
            const e = errno(c);
            if (e.code === EAGAIN || e.code === EINTR) break;
            throw new Error(`read from TAP ${this.name}: ${e.text}`);
          }
          if (n === 0) break;
          this.rxFrames++;
          this.onFrame(this.buf.slice(0, n));
        }
      }
    } finally {
      c.close(this.fd);
    }
  }
}

function setUp(c: Libc, name: string): void {
  const s = c.socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) return;
  try {
    const req = ifreq(name, 0);
    if (c.ioctl(s, BigInt(SIOCGIFFLAGS), req) < 0) return;
    const v = new DataView(req.buffer);
    v.setInt16(IFNAMSIZ, v.getInt16(IFNAMSIZ, true) | IFF_UP, true);
    if (c.ioctl(s, BigInt(SIOCSIFFLAGS), req) < 0) {
      throw new Error(`cannot set TAP interface ${name} up: ${errno(c).text}`);
    }
  } finally {
    c.close(s);
  }
}
