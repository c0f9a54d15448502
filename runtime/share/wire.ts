// 9P message encoding: little-endian integers, strings as u16 length + UTF-8, qids as
// type[1] version[4] path[8]. A Reader over a guest message throws P9Short when a field runs past
// its end (the server answers EPROTO); a Writer grows as the reply is built (its size is bounded
// by the server, which never writes more than the negotiated msize).
export class P9Short extends Error {}

const dec = new TextDecoder("utf-8", { fatal: false });
const enc = new TextEncoder();

export class Reader {
  private o = 0;
  private readonly dv: DataView;
  constructor(private readonly b: Uint8Array, start = 0) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.o = start;
  }
  private need(n: number): number {
    if (this.o + n > this.b.length) throw new P9Short("message too short");
    const at = this.o;
    this.o += n;
    return at;
  }
  u8(): number {
    return this.b[this.need(1)];
  }
  u16(): number {
    return this.dv.getUint16(this.need(2), true);
  }
  u32(): number {
    return this.dv.getUint32(this.need(4), true);
  }
  // u64 as a number: values past 2^53 come back inexact (only offsets and sizes use them; the
  // server rejects anything that large)
  u64(): number {
    const at = this.need(8);
    return this.dv.getUint32(at, true) + this.dv.getUint32(at + 4, true) * 2 ** 32;
  }
  str(): string {
    const n = this.u16();
    return dec.decode(this.b.subarray(this.need(n), this.o));
  }
  bytes(n: number): Uint8Array {
    return this.b.subarray(this.need(n), this.o);
  }
}

export class Writer {
  private b = new Uint8Array(256);
  private dv = new DataView(this.b.buffer);
  len = 0;
  private room(n: number): number {
    if (this.len + n > this.b.length) {
      let size = this.b.length * 2;
      while (size < this.len + n) size *= 2;
      const nb = new Uint8Array(size);
      nb.set(this.b.subarray(0, this.len));
      this.b = nb;
      this.dv = new DataView(nb.buffer);
    }
    const at = this.len;
    this.len += n;
    return at;
  }
  u8(v: number): this {
    this.b[this.room(1)] = v;
    return this;
  }
  u16(v: number): this {
    this.dv.setUint16(this.room(2), v, true);
    return this;
  }
  u32(v: number): this {
    this.dv.setUint32(this.room(4), v >>> 0, true);
    return this;
  }
  u64(v: number): this {
    const at = this.room(8);
    const x = Math.max(0, Math.floor(v));
    this.dv.setUint32(at, x % 2 ** 32, true);
    this.dv.setUint32(at + 4, Math.floor(x / 2 ** 32) >>> 0, true);
    return this;
  }
  str(s: string): this {
    const e = enc.encode(s);
    this.u16(e.length);
    const at = this.room(e.length); // (grows this.b: take the offset first)
    this.b.set(e, at);
    return this;
  }
  bytes(d: Uint8Array): this {
    const at = this.room(d.length);
    this.b.set(d, at);
    return this;
  }
  qid(q: Qid): this {
    return this.u8(q.type).u32(q.version).u64(q.path);
  }
  // the finished message: size[4] type[1] tag[2] body
  message(type: number, tag: number): Uint8Array {
    const out = new Uint8Array(7 + this.len);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, out.length, true);
    out[4] = type;
    dv.setUint16(5, tag, true);
    out.set(this.b.subarray(0, this.len), 7);
    return out;
  }
}

export interface Qid {
  type: number; // 0x80 directory, 0x02 symbolic link, 0 file
  version: number;
  path: number;
}
