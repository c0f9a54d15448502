// Checksum and segmentation offloads carried between ring3 NICs (virtio-net's CSUM/HOST_TSO4 on
// one side, GUEST_CSUM/GUEST_TSO4 on the other): a guest hands its NIC one TCP segment of up to
// 64 KiB with a partial checksum, and the receiving guest takes it as is, so neither computes a
// checksum nor handles 44 frames for it. The frame keeps its 10-byte struct virtio_net_hdr beside
// it (flags, gso_type, hdr_len, gso_size, csum_start, csum_offset: little-endian); `software()`
// turns it into what any other port expects (complete checksums, frames of at most one MSS).
//
// On a stream port such a frame travels as a length prefix with bit 31 set, then the 10-byte
// header, then the frame (the low 31 bits count both). Only a peer that said it takes them gets
// them: a ring3 NIC sends a hello frame (EtherType 0x88B5, local experimental, payload MAGIC) when
// it connects; a ring3 switch answers it with the same frame and from then on both sides may send
// flagged frames on that connection. Any other peer (QEMU, passt, an older switch) ignores the
// hello, never answers, and only ever sees plain frames.
//
// Inside the switch the header rides on the frame's array (a WeakMap), so the learning logic,
// flooding and trunks see an ordinary Ethernet frame.

export const VNET_HDR_LEN = 10;
export const F_NEEDS_CSUM = 1, F_DATA_VALID = 2;
export const GSO_NONE = 0, GSO_TCPV4 = 1, GSO_ECN = 0x80;
export const HELLO_TYPE = 0x88b5;
const MAGIC = new TextEncoder().encode("ring3 offload v1");
/** A frame with a header: at most a 64 KiB IP packet behind an Ethernet header and a VLAN tag. */
export const MAX_OFFLOAD_FRAME = 65535 + 18;

const headers = new WeakMap<Uint8Array, Uint8Array>();

export function withHeader(frame: Uint8Array, hdr: Uint8Array): Uint8Array {
  headers.set(frame, hdr);
  return frame;
}

/** The frame's virtio_net_hdr when it carries offloads still to be done, else undefined. */
export function headerOf(frame: Uint8Array): Uint8Array | undefined {
  return headers.get(frame);
}

/** True when a header asks for work (a partial checksum or segmentation). */
export function needsWork(hdr: Uint8Array): boolean {
  return (hdr[0] & F_NEEDS_CSUM) !== 0 || (hdr[1] & ~GSO_ECN) !== GSO_NONE;
}

export function helloFrame(src: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + MAGIC.length);
  f.fill(0xff, 0, 6);
  f.set(src.subarray(0, 6), 6);
  f[12] = HELLO_TYPE >> 8, f[13] = HELLO_TYPE & 0xff;
  f.set(MAGIC, 14);
  return f;
}

export function isHello(f: Uint8Array): boolean {
  if (f.length !== 14 + MAGIC.length || f[12] !== HELLO_TYPE >> 8 || f[13] !== (HELLO_TYPE & 0xff)) return false;
  for (let i = 0; i < MAGIC.length; i++) if (f[14 + i] !== MAGIC[i]) return false;
  return true;
}

// one's-complement sum of b[from, to) added to `sum` (not folded)
function sum16(b: Uint8Array, from: number, to: number, sum = 0): number {
  let i = from;
  for (; i + 1 < to; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (i < to) sum += b[i] << 8;
  return sum;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/**
 * NEEDS_CSUM: the 16 bits at csum_start + csum_offset hold the pseudo-header sum; add the one's-
 * complement sum from csum_start to the end and store its complement there (in place). False when
 * the offsets lie outside the frame.
 */
export function completeChecksum(f: Uint8Array, start: number, offset: number): boolean {
  const at = start + offset;
  if (start >= f.length || at + 2 > f.length) return false;
  const c = fold(sum16(f, start, f.length));
  const v = ~c & 0xffff;
  f[at] = v >> 8, f[at + 1] = v & 0xff;
  return true;
}

function l3Offset(f: Uint8Array): number {
  return f[12] === 0x81 && f[13] === 0x00 ? 18 : 14; // one 802.1Q tag
}

/**
 * The plain frames a frame with header `hdr` stands for: segmented by gso_size (TCP over IPv4
 * only, the one GSO type ring3 NICs offer) with every checksum complete, or the frame itself
 * with its partial checksum completed. A header that does not fit the frame drops it ([]).
 */
export function software(f: Uint8Array, hdr: Uint8Array): Uint8Array[] {
  const gso = hdr[1] & ~GSO_ECN;
  const csumStart = hdr[6] | (hdr[7] << 8), csumOffset = hdr[8] | (hdr[9] << 8);
  if (gso === GSO_NONE) {
    if (hdr[0] & F_NEEDS_CSUM) {
      const g = f.slice();
      return completeChecksum(g, csumStart, csumOffset) ? [g] : [];
    }
    return [f];
  }
  if (gso !== GSO_TCPV4) return [];
  const mss = hdr[4] | (hdr[5] << 8);
  const ip = l3Offset(f);
  if (mss === 0 || f.length < ip + 20 || f[ip] >> 4 !== 4 || f[ip + 9] !== 6) return [];
  const ihl = (f[ip] & 15) * 4;
  const tcp = ip + ihl;
  if (ihl < 20 || f.length < tcp + 20) return [];
  const thl = (f[tcp + 12] >> 4) * 4;
  const data = tcp + thl;
  if (thl < 20 || f.length < data) return [];
  const payload = f.length - data;
  const n = Math.max(1, Math.ceil(payload / mss));
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
  const id0 = dv.getUint16(ip + 4), seq0 = dv.getUint32(tcp + 4);
  const flags = f[tcp + 13];
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const off = i * mss, len = Math.min(mss, payload - off);
    const s = new Uint8Array(data + len);
    s.set(f.subarray(0, data));
    s.set(f.subarray(data + off, data + off + len), data);
    const v = new DataView(s.buffer);
    v.setUint16(ip + 2, ihl + thl + len);
    v.setUint16(ip + 4, (id0 + i) & 0xffff);
    v.setUint16(ip + 10, 0);
    v.setUint16(ip + 10, ~fold(sum16(s, ip, ip + ihl)) & 0xffff);
    v.setUint32(tcp + 4, (seq0 + off) >>> 0);
    let fl = flags;
    if (i > 0) fl &= ~0x80; // CWR only on the first
    if (i < n - 1) fl &= ~0x09; // FIN, PSH only on the last
    s[tcp + 13] = fl;
    // TCP checksum: pseudo header (addresses, protocol, TCP length) + header + payload
    v.setUint16(tcp + 16, 0);
    let sum = sum16(s, ip + 12, ip + 20) + 6 + thl + len;
    sum = sum16(s, tcp, s.length, sum);
    v.setUint16(tcp + 16, ~fold(sum) & 0xffff);
    out.push(s);
  }
  return out;
}
