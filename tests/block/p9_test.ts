// The 9P2000.L server (runtime/share/p9.ts) spoken to directly, as a hostile guest could: the
// basic file operations land in the host folder, and every way out of it is refused: ".." stops
// at the root, a walk does not pass through a symbolic link (absolute, relative, to a folder
// outside), a symlink is never opened or truncated, names with "/" are rejected, a folder swapped
// for a symlink to the outside after the walk is caught before anything is created there,
// readonly=on refuses changes, and malformed messages get EPROTO, never an exception.
import assert from "node:assert/strict";
import { EACCES, EINVAL, ELOOP, ENOENT, ENOTDIR, EPROTO, EROFS, MAX_MSIZE, P9Server } from "../../runtime/share/p9.ts";
import { Reader, Writer } from "../../runtime/share/wire.ts";
import { scratchDir } from "./lib.ts";

const T = {
  lopen: 12,
  lcreate: 14,
  symlink: 16,
  readlink: 22,
  getattr: 24,
  setattr: 26,
  readdir: 40,
  mkdir: 72,
  renameat: 74,
  unlinkat: 76,
  version: 100,
  attach: 104,
  walk: 110,
  read: 116,
  write: 118,
  clunk: 120,
};

class Client {
  constructor(readonly s: P9Server) {}
  call(type: number, body: (w: Writer) => void, room = 65536): { type: number; r: Reader; errno?: number } {
    const w = new Writer();
    body(w);
    const reply = this.s.handle(w.message(type, 1), room);
    const r = new Reader(reply);
    assert.equal(r.u32(), reply.length);
    const t = r.u8();
    assert.equal(r.u16(), 1, "tag echoed");
    if (t === 7) return { type: t, r, errno: r.u32() };
    assert.equal(t, type + 1);
    return { type: t, r };
  }
  ok(type: number, body: (w: Writer) => void, room?: number): Reader {
    const x = this.call(type, body, room);
    assert.equal(x.errno, undefined, `type ${type}: errno ${x.errno}`);
    return x.r;
  }
  err(type: number, body: (w: Writer) => void): number {
    const x = this.call(type, body);
    assert.notEqual(x.errno, undefined, `type ${type} succeeded`);
    return x.errno!;
  }
  walk(fid: number, newfid: number, ...names: string[]): number {
    const r = this.ok(T.walk, (w) => {
      w.u32(fid).u32(newfid).u16(names.length);
      for (const n of names) w.str(n);
    });
    return r.u16();
  }
}

function setup(opts: { readonly?: boolean } = {}) {
  const dir = scratchDir();
  Deno.mkdirSync(`${dir}/share/sub`, { recursive: true });
  Deno.mkdirSync(`${dir}/outside`);
  Deno.writeTextFileSync(`${dir}/outside/secret.txt`, "SECRET");
  Deno.writeTextFileSync(`${dir}/share/hello.txt`, "hello 9p\n");
  Deno.symlinkSync(`${dir}/outside`, `${dir}/share/abs_dir`);
  Deno.symlinkSync("../outside/secret.txt", `${dir}/share/rel_file`);
  Deno.symlinkSync(`${dir}/outside/secret.txt`, `${dir}/share/abs_file`);
  const s = new P9Server(`${dir}/share`, opts);
  const c = new Client(s);
  const v = c.ok(T.version, (w) => w.u32(1 << 20).str("9P2000.L"));
  assert.equal(v.u32(), MAX_MSIZE);
  assert.equal(v.str(), "9P2000.L");
  c.ok(T.attach, (w) => w.u32(0).u32(0xffffffff).str("root").str("").u32(0));
  return { dir, s, c, close: () => (s.close(), Deno.removeSync(dir, { recursive: true })) };
}

Deno.test("9p server: walk, getattr, open, read, readdir, create, write, mkdir, rename, unlink, symlink", () => {
  const { dir, c, close } = setup();
  try {
    assert.equal(c.walk(0, 1, "hello.txt"), 1);
    const ga = c.ok(T.getattr, (w) => w.u32(1).u64(0x7ff));
    ga.u64();
    assert.equal(ga.u8(), 0); // qid type: file
    ga.u32(), ga.u64();
    assert.equal(ga.u32() & 0o170000, 0o100000);
    ga.u32(), ga.u32(), ga.u64(), ga.u64();
    assert.equal(ga.u64(), 9, "size");
    c.ok(T.lopen, (w) => w.u32(1).u32(0));
    const rd = c.ok(T.read, (w) => w.u32(1).u64(0).u32(100));
    const n = rd.u32();
    assert.equal(new TextDecoder().decode(rd.bytes(n)), "hello 9p\n");
    // readdir of the root: ., .., and the entries
    c.walk(0, 2);
    c.ok(T.lopen, (w) => w.u32(2).u32(0));
    const dd = c.ok(T.readdir, (w) => w.u32(2).u64(0).u32(8192));
    const len = dd.u32(), names: string[] = [];
    const body = new Reader(dd.bytes(len));
    for (let i = 0; i < 20; i++) {
      try {
        body.u8(), body.u32(), body.u64(), body.u64(), body.u8();
        names.push(body.str());
      } catch {
        break;
      }
    }
    assert.deepEqual(names.sort(), [".", "..", "abs_dir", "abs_file", "hello.txt", "rel_file", "sub"]);
    // create + write, mkdir, rename into it, symlink + readlink, unlink
    c.walk(0, 3);
    c.ok(T.lcreate, (w) => w.u32(3).str("new.txt").u32(0o1 | 0o100).u32(0o644).u32(0));
    const wr = c.ok(T.write, (w) => w.u32(3).u64(0).u32(5).bytes(new TextEncoder().encode("abcde")));
    assert.equal(wr.u32(), 5);
    assert.equal(Deno.readTextFileSync(`${dir}/share/new.txt`), "abcde");
    c.ok(T.mkdir, (w) => w.u32(0).str("d1").u32(0o755).u32(0));
    c.walk(0, 4, "d1");
    c.ok(T.renameat, (w) => w.u32(0).str("new.txt").u32(4).str("moved.txt"));
    assert.equal(Deno.readTextFileSync(`${dir}/share/d1/moved.txt`), "abcde");
    c.ok(T.symlink, (w) => w.u32(4).str("ln").str("/etc/shadow").u32(0));
    c.walk(4, 5, "ln");
    assert.equal(c.ok(T.readlink, (w) => w.u32(5)).str(), "/etc/shadow");
    c.ok(T.unlinkat, (w) => w.u32(4).str("moved.txt").u32(0));
    assert.throws(() => Deno.statSync(`${dir}/share/d1/moved.txt`));
    // truncate through setattr
    c.walk(0, 6, "hello.txt");
    c.ok(T.setattr, (w) => w.u32(6).u32(0x8).u32(0).u32(0).u32(0).u64(3).u64(0).u64(0).u64(0).u64(0));
    assert.equal(Deno.readTextFileSync(`${dir}/share/hello.txt`), "hel");
    // larger than one reply buffer: 200 KB through write and read, a folder of 300 names
    const big = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff);
    c.walk(0, 8, "d1");
    c.ok(T.lcreate, (w) => w.u32(8).str("big.bin").u32(0o2 | 0o100).u32(0o644).u32(0));
    for (let o = 0; o < big.length; o += 60_000) {
      const part = big.subarray(o, o + 60_000);
      assert.equal(c.ok(T.write, (w) => w.u32(8).u64(o).u32(part.length).bytes(part)).u32(), part.length);
    }
    const back = c.ok(T.read, (w) => w.u32(8).u64(0).u32(300_000), 300_000);
    assert.deepEqual(back.bytes(back.u32()), big);
    for (let i = 0; i < 300; i++) Deno.writeTextFileSync(`${dir}/share/sub/file-with-a-longish-name-${i}`, "");
    c.walk(0, 9, "sub");
    c.ok(T.lopen, (w) => w.u32(9).u32(0));
    let off = 0, count = 0;
    for (let guard = 0; guard < 100; guard++) {
      const d = c.ok(T.readdir, (w) => w.u32(9).u64(off).u32(4096));
      const body = new Reader(d.bytes(d.u32()));
      let any = false;
      for (;;) {
        try {
          body.u8(), body.u32(), body.u64();
          off = body.u64();
          body.u8(), body.str();
        } catch {
          break;
        }
        count++, any = true;
      }
      if (!any) break;
    }
    assert.equal(count, 302, "300 names and . ..");
    // a read asking for more than the reply room gets what fits
    c.walk(0, 7, "hello.txt");
    c.ok(T.lopen, (w) => w.u32(7).u32(0));
    assert.equal(c.ok(T.read, (w) => w.u32(7).u64(0).u32(0xffffffff), 13).u32(), 2);
  } finally {
    close();
  }
});

Deno.test("9p server: no way out of the shared folder", () => {
  const { dir, s, c, close } = setup();
  try {
    const rootQid = (fid: number) => {
      const r = c.ok(T.getattr, (w) => w.u32(fid).u64(0x7ff));
      r.u64(), r.u8(), r.u32();
      return r.u64();
    };
    // ".." at the root stays at the root
    assert.equal(c.walk(0, 1, "..", "..", ".."), 3);
    assert.equal(rootQid(1), rootQid(0));
    const out = c.ok(T.walk, (w) => w.u32(0).u32(2).u16(3).str("..").str("outside").str("secret.txt"));
    assert.equal(out.u16(), 1, "'..' is the root again; 'outside' does not exist there");
    assert.equal(c.err(T.walk, (w) => w.u32(0).u32(2).u16(1).str("outside")), ENOENT);
    // a walk does not pass through a symlink: the first step fails, or the walk stops short
    assert.equal(c.walk(0, 3, "abs_dir"), 1, "the link itself is a name in the share");
    assert.equal(c.err(T.walk, (w) => w.u32(3).u32(4).u16(1).str("secret.txt")), ENOTDIR);
    const partial = c.ok(T.walk, (w) => w.u32(0).u32(4).u16(2).str("abs_dir").str("secret.txt"));
    assert.equal(partial.u16(), 1, "stops at the link");
    assert.equal(c.err(T.getattr, (w) => w.u32(4).u64(0)), 9, "and newfid was not made (EBADF)");
    // symlinks to files outside are never opened, truncated or chmod-ed
    for (const name of ["abs_file", "rel_file"]) {
      c.walk(0, 5, name);
      assert.equal(c.err(T.lopen, (w) => w.u32(5).u32(0)), ELOOP);
      assert.equal(
        c.err(T.setattr, (w) => w.u32(5).u32(0x8).u32(0).u32(0).u32(0).u64(0).u64(0).u64(0).u64(0).u64(0)),
        ELOOP,
      );
      c.ok(T.clunk, (w) => w.u32(5));
    }
    // creating over an existing symlink would open its target
    assert.equal(c.err(T.lcreate, (w) => w.u32(0).str("abs_file").u32(0o1001).u32(0o644).u32(0)), ELOOP);
    assert.equal(Deno.readTextFileSync(`${dir}/outside/secret.txt`), "SECRET");
    // names carrying a path
    assert.equal(c.err(T.walk, (w) => w.u32(0).u32(6).u16(1).str("../outside")), EINVAL);
    assert.equal(c.err(T.lcreate, (w) => w.u32(0).str("../x").u32(0o101).u32(0o644).u32(0)), EINVAL);
    assert.equal(c.err(T.mkdir, (w) => w.u32(0).str("a/b").u32(0o755).u32(0)), EINVAL);
    // a folder the guest walked into, then swapped (by anyone) for a symlink to the outside
    c.walk(0, 7, "sub");
    Deno.removeSync(`${dir}/share/sub`);
    Deno.symlinkSync(`${dir}/outside`, `${dir}/share/sub`);
    assert.equal(c.err(T.lcreate, (w) => w.u32(7).str("planted").u32(0o101).u32(0o644).u32(0)), ENOTDIR);
    assert.equal(c.err(T.mkdir, (w) => w.u32(7).str("planted").u32(0o755).u32(0)), EACCES);
    assert.equal(c.err(T.symlink, (w) => w.u32(7).str("planted").str("x").u32(0)), EACCES);
    assert.deepEqual([...Deno.readDirSync(`${dir}/outside`)].map((e) => e.name), ["secret.txt"]);
    // malformed: a size field that lies, a message cut short
    const bad = new Writer().u32(0).message(T.clunk, 9);
    bad[0] = 99;
    assert.equal(new Reader(s.handle(bad, 100), 7).u32(), EPROTO);
    assert.equal(new Reader(s.handle(new Writer().u16(1).message(T.walk, 9), 100), 7).u32(), EPROTO);
    assert.equal(new Reader(s.handle(new Uint8Array(3), 100), 7).u32(), EPROTO);
  } finally {
    close();
  }
});

Deno.test("9p server: readonly=on refuses every change", () => {
  const { dir, c, close } = setup({ readonly: true });
  try {
    assert.equal(c.err(T.lcreate, (w) => w.u32(0).str("x").u32(0o101).u32(0o644).u32(0)), EROFS);
    assert.equal(c.err(T.mkdir, (w) => w.u32(0).str("x").u32(0o755).u32(0)), EROFS);
    assert.equal(c.err(T.unlinkat, (w) => w.u32(0).str("hello.txt").u32(0)), EROFS);
    assert.equal(c.err(T.renameat, (w) => w.u32(0).str("hello.txt").u32(0).str("y")), EROFS);
    c.walk(0, 1, "hello.txt");
    assert.equal(c.err(T.lopen, (w) => w.u32(1).u32(2)), EROFS);
    c.ok(T.lopen, (w) => w.u32(1).u32(0));
    assert.equal(c.err(T.write, (w) => w.u32(1).u64(0).u32(1).u8(65)), EROFS);
    assert.equal(Deno.readTextFileSync(`${dir}/share/hello.txt`), "hello 9p\n");
  } finally {
    close();
  }
});
