// A minimal WebAssembly binary writer for the block compiler: one code buffer with the opcodes
// the blocks use, LEB128, and the module frame (types, imports, functions, exports, code).
// Blocks are a few hundred bytes; V8 compiles one in tens of microseconds.

import { hasTailCalls } from "./tailcall.ts";

export const I32 = 0x7f;
export const VOID = 0x40;

export class Code {
  b: number[] = [];
  // where this code refers to a global of its module's own (ggetOwn/gsetOwn): each index is a
  // five-byte LEB128 at these offsets, so the code can go into a module of several blocks whose
  // own globals come after another block's (OneFunctionModule.buildPack moves them)
  own: number[] = [];
  byte(x: number): this {
    this.b.push(x & 0xff);
    return this;
  }
  u(x: number): this {
    x >>>= 0;
    do {
      let c = x & 0x7f;
      x >>>= 7;
      if (x !== 0) c |= 0x80;
      this.b.push(c);
    } while (x !== 0);
    return this;
  }
  s(x: number): this {
    x |= 0;
    for (;;) {
      const c = x & 0x7f;
      x >>= 7;
      if ((x === 0 && (c & 0x40) === 0) || (x === -1 && (c & 0x40) !== 0)) {
        this.b.push(c);
        return this;
      }
      this.b.push(c | 0x80);
    }
  }
  // ---- instructions ------------------------------------------------------------------------
  const(v: number): this {
    return this.byte(0x41).s(v | 0);
  }
  get(l: number): this {
    return this.byte(0x20).u(l);
  }
  set(l: number): this {
    return this.byte(0x21).u(l);
  }
  tee(l: number): this {
    return this.byte(0x22).u(l);
  }
  gget(g: number): this {
    return this.byte(0x23).u(g);
  }
  gset(g: number): this {
    return this.byte(0x24).u(g);
  }
  ggetOwn(g: number): this {
    return this.byte(0x23).padded(g);
  }
  gsetOwn(g: number): this {
    return this.byte(0x24).padded(g);
  }
  // an unsigned LEB128 of exactly five bytes (valid for u32: the decoder takes up to five)
  private padded(x: number): this {
    this.own.push(this.b.length);
    for (let i = 0; i < 4; i++) this.b.push(((x >>> (7 * i)) & 0x7f) | 0x80);
    this.b.push((x >>> 28) & 0x0f);
    return this;
  }
  call(f: number): this {
    return this.byte(0x10).u(f);
  }
  // i32.atomic.rmw.cmpxchg: address, expected, replacement -> the old value (address aligned)
  atomicCmpxchg(off: number): this {
    return this.byte(0xfe).byte(0x48).u(2).u(off);
  }
  // memory access: address on the stack plus a constant offset (natural alignment hint)
  load(off: number): this {
    return this.byte(0x28).u(2).u(off);
  }
  load8u(off: number): this {
    return this.byte(0x2d).u(0).u(off);
  }
  load8s(off: number): this {
    return this.byte(0x2c).u(0).u(off);
  }
  load16u(off: number): this {
    return this.byte(0x2f).u(1).u(off);
  }
  load16s(off: number): this {
    return this.byte(0x2e).u(1).u(off);
  }
  store(off: number): this {
    return this.byte(0x36).u(2).u(off);
  }
  store8(off: number): this {
    return this.byte(0x3a).u(0).u(off);
  }
  store16(off: number): this {
    return this.byte(0x3b).u(1).u(off);
  }
  block(t = VOID): this {
    return this.byte(0x02).byte(t);
  }
  loop(t = VOID): this {
    return this.byte(0x03).byte(t);
  }
  if_(t = VOID): this {
    return this.byte(0x04).byte(t);
  }
  else_(): this {
    return this.byte(0x05);
  }
  end(): this {
    return this.byte(0x0b);
  }
  br(d: number): this {
    return this.byte(0x0c).u(d);
  }
  brIf(d: number): this {
    return this.byte(0x0d).u(d);
  }
  // br_table: labels[i] for index i, `def` for any other
  brTable(labels: number[], def: number): this {
    this.byte(0x0e).u(labels.length);
    for (const l of labels) this.u(l);
    return this.u(def);
  }
  ret(): this {
    return this.byte(0x0f);
  }
  // tail call through table 0 (the wasm tail-call proposal, on in V8 since 11.2)
  returnCallIndirect(type: number): this {
    return this.byte(0x13).u(type).u(0);
  }
  drop(): this {
    return this.byte(0x1a);
  }
  select(): this {
    return this.byte(0x1b);
  }
  eqz(): this {
    return this.byte(0x45);
  }
  eq(): this {
    return this.byte(0x46);
  }
  ne(): this {
    return this.byte(0x47);
  }
  ltS(): this {
    return this.byte(0x48);
  }
  ltU(): this {
    return this.byte(0x49);
  }
  gtS(): this {
    return this.byte(0x4a);
  }
  gtU(): this {
    return this.byte(0x4b);
  }
  leS(): this {
    return this.byte(0x4c);
  }
  leU(): this {
    return this.byte(0x4d);
  }
  geS(): this {
    return this.byte(0x4e);
  }
  geU(): this {
    return this.byte(0x4f);
  }
  add(): this {
    return this.byte(0x6a);
  }
  sub(): this {
    return this.byte(0x6b);
  }
  mul(): this {
    return this.byte(0x6c);
  }
  and(): this {
    return this.byte(0x71);
  }
  or(): this {
    return this.byte(0x72);
  }
  xor(): this {
    return this.byte(0x73);
  }
  shl(): this {
    return this.byte(0x74);
  }
  shrS(): this {
    return this.byte(0x75);
  }
  shrU(): this {
    return this.byte(0x76);
  }
  rotl(): this {
    return this.byte(0x77);
  }
  rotr(): this {
    return this.byte(0x78);
  }
  popcnt(): this {
    return this.byte(0x69);
  }
  ext8s(): this {
    return this.byte(0xc0);
  }
  ext16s(): this {
    return this.byte(0xc1);
  }
}

function vec(items: number[][]): number[] {
  const c = new Code().u(items.length);
  return [...c.b, ...items.flat()];
}
function section(id: number, body: number[]): number[] {
  return [id, ...new Code().u(body.length).b, ...body];
}
function name(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...new Code().u(b.length).b, ...b];
}

export interface FuncType {
  params: number[];
  results: number[];
}
export interface Import {
  name: string;
  kind: "func" | "global" | "memory" | "table";
  type?: number; // func: type index
  memMin?: number;
  memMax?: number;
}
export interface Func {
  type: number;
  locals: number; // extra i32 locals
  body: Code;
  export?: string;
}

function concat(parts: (Uint8Array | number[])[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of parts) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

// one module: imports all from "env"
// `nGlobals` mutable i32 globals of the module's own (initially 0), after the imported ones
function globalSection(nGlobals: number): number[] {
  if (nGlobals === 0) return [];
  return section(6, vec(Array.from({ length: nGlobals }, () => [I32, 0x01, 0x41, 0x00, 0x0b])));
}

export function module(types: FuncType[], imports: Import[], funcs: Func[], nGlobals = 0): Uint8Array<ArrayBuffer> {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  out.push(
    ...section(1, vec(types.map((t) => [0x60, ...vec(t.params.map((p) => [p])), ...vec(t.results.map((r) => [r]))]))),
  );
  out.push(...section(
    2,
    vec(imports.map((im) => {
      const head = [...name("env"), ...name(im.name)];
      if (im.kind === "func") return [...head, 0x00, ...new Code().u(im.type!).b];
      if (im.kind === "global") return [...head, 0x03, I32, 0x01]; // mutable i32
      if (im.kind === "table") return [...head, 0x01, 0x70, 0x00, 0x00]; // funcref, no minimum
      return [...head, 0x02, 0x03, ...new Code().u(im.memMin!).u(im.memMax!).b]; // shared, with a maximum
    })),
  ));
  out.push(...section(3, vec(funcs.map((f) => new Code().u(f.type).b))));
  out.push(...globalSection(nGlobals));
  const nImportedFuncs = imports.filter((i) => i.kind === "func").length;
  const exps = funcs.map((f, i) => [f, i] as const).filter(([f]) => f.export !== undefined);
  out.push(...section(7, vec(exps.map(([f, i]) => [...name(f.export!), 0x00, ...new Code().u(nImportedFuncs + i).b]))));
  out.push(...section(
    10,
    vec(funcs.map((f) => {
      const locals = f.locals > 0 ? [...new Code().u(1).u(f.locals).b, I32] : [0];
      const body = [...locals, ...f.body.b, 0x0b];
      return [...new Code().u(body.length).b, ...body];
    })),
  ));
  return new Uint8Array(out);
}

// The frame of a module with one exported function "b" of type 0: everything but the code
// section is the same for every block of a vCPU, so it is built once and reused.
export class OneFunctionModule {
  private readonly head: Uint8Array; // up to the function section
  private readonly tail: Uint8Array; // the export section
  private readonly globals = new Map<number, Uint8Array>();
  constructor(types: FuncType[], imports: Import[]) {
    const probe = module(types, imports, [{ type: 0, locals: 0, body: new Code(), export: "b" }]);
    // cut before the export section (id 7) and at the code section (id 10), which module() writes last
    let p = 8, exp = 0;
    for (;;) {
      const id = probe[p];
      let len = 0, shift = 0, q = p + 1;
      for (;;) {
        const c = probe[q++];
        len |= (c & 0x7f) << shift;
        shift += 7;
        if ((c & 0x80) === 0) break;
      }
      if (id === 7) exp = p;
      if (id === 10) break;
      p = q + len;
    }
    this.head = probe.slice(0, exp);
    this.tail = probe.slice(exp, p);
    // types and imports alone (up to the function section, id 3), for modules of several functions
    let q = 8;
    for (;;) {
      if (probe[q] === 3) break;
      let len = 0, shift = 0, r = q + 1;
      for (;;) {
        const c = probe[r++];
        len |= (c & 0x7f) << shift;
        shift += 7;
        if ((c & 0x80) === 0) break;
      }
      q = r + len;
    }
    this.pre = probe.slice(0, q);
    this.nImportedFuncs = imports.filter((i) => i.kind === "func").length;
  }
  private readonly pre: Uint8Array;
  private readonly nImportedFuncs: number;

  // A module whose body function (type `bodyType`: one i32 parameter, then `nlocals` i32 locals)
  // is entered through `entries` functions of type 0, exported as "b" (the first) and "e1".."eN":
  // entry k calls the body with k (a tail call; a plain call on a host without tail calls).
  buildEntries(
    body: Code,
    nlocals: number,
    nGlobals: number,
    entries: number,
    bodyType: number,
  ): Uint8Array<ArrayBuffer> {
    let g = this.globals.get(nGlobals);
    if (!g) this.globals.set(nGlobals, g = new Uint8Array(globalSection(nGlobals)));
    const nf = this.nImportedFuncs;
    const tail = hasTailCalls();
    const funcs = new Code().u(1 + entries).u(bodyType);
    for (let k = 0; k < entries; k++) funcs.u(0);
    const exps = new Code().u(entries);
    for (let k = 0; k < entries; k++) {
      const n = [...new TextEncoder().encode(k === 0 ? "b" : `e${k}`)];
      exps.u(n.length);
      for (const x of n) exps.byte(x);
      exps.byte(0x00).u(nf + 1 + k);
    }
    const fn = new Code();
    if (nlocals > 0) fn.u(1).u(nlocals).byte(I32);
    else fn.u(0);
    const fnLen = fn.b.length + body.b.length + 1;
    const code = new Code().u(1 + entries).u(fnLen);
    const stubs = new Code();
    for (let k = 0; k < entries; k++) {
      const st = new Code().u(0).const(k).byte(tail ? 0x12 : 0x10).u(nf).end(); // (return_)call body(k)
      stubs.u(st.b.length);
      stubs.b.push(...st.b);
    }
    const codeLen = code.b.length + fn.b.length + body.b.length + 1 + stubs.b.length;
    const parts: (Uint8Array | number[])[] = [
      this.pre,
      [3, ...new Code().u(funcs.b.length).b, ...funcs.b],
      g,
      [7, ...new Code().u(exps.b.length).b, ...exps.b],
      [10, ...new Code().u(codeLen).b],
      code.b,
      fn.b,
      body.b,
      [0x0b],
      stubs.b,
    ];
    return concat(parts);
  }
  // Several blocks in one module, function k exported as "p<k>": one V8 module and instance for
  // all of them (their code side by side) instead of one each. Each body's own globals follow the
  // bodies' before it: their indices (Code.own) are moved up by those bodies' nGlobals.
  buildPack(bodies: { body: Code; nlocals: number; nGlobals: number }[]): Uint8Array<ArrayBuffer> {
    const nf = this.nImportedFuncs;
    const total = bodies.reduce((n, x) => n + x.nGlobals, 0);
    let g = this.globals.get(total);
    if (!g) this.globals.set(total, g = new Uint8Array(globalSection(total)));
    const funcs = new Code().u(bodies.length);
    const exps = new Code().u(bodies.length);
    const code = new Code().u(bodies.length);
    let base = 0;
    bodies.forEach((x, k) => {
      funcs.u(0);
      const n = [...new TextEncoder().encode(`p${k}`)];
      exps.u(n.length);
      for (const c of n) exps.byte(c);
      exps.byte(0x00).u(nf + k);
      const fn = new Code();
      if (x.nlocals > 0) fn.u(1).u(x.nlocals).byte(I32);
      else fn.u(0);
      const b = x.body.b.slice();
      for (const at of x.body.own) {
        let v = 0;
        for (let i = 0; i < 5; i++) v |= (b[at + i] & 0x7f) << (7 * i);
        v += base;
        for (let i = 0; i < 4; i++) b[at + i] = ((v >>> (7 * i)) & 0x7f) | 0x80;
        b[at + 4] = (v >>> 28) & 0x0f;
      }
      code.u(fn.b.length + b.length + 1);
      code.b.push(...fn.b);
      for (const c of b) code.b.push(c);
      code.byte(0x0b);
      base += x.nGlobals;
    });
    const parts: (Uint8Array | number[])[] = [
      this.pre,
      [3, ...new Code().u(funcs.b.length).b, ...funcs.b],
      g,
      [7, ...new Code().u(exps.b.length).b, ...exps.b],
      [10, ...new Code().u(code.b.length).b],
      code.b,
    ];
    return concat(parts);
  }
  build(body: Code, nlocals: number, nGlobals = 0): Uint8Array<ArrayBuffer> {
    let g = this.globals.get(nGlobals);
    if (!g) this.globals.set(nGlobals, g = new Uint8Array(globalSection(nGlobals)));
    const fn = new Code();
    if (nlocals > 0) fn.u(1).u(nlocals).byte(I32);
    else fn.u(0);
    const fnLen = fn.b.length + body.b.length + 1;
    const size = new Code().u(fnLen);
    const secLen = 1 + size.b.length + fnLen; // one function
    const sec = new Code().byte(10).u(secLen).u(1);
    const out = new Uint8Array(
      this.head.length + g.length + this.tail.length + sec.b.length + size.b.length + fnLen,
    );
    let o = 0;
    for (const part of [this.head, g, this.tail, sec.b, size.b, fn.b, body.b]) {
      out.set(part, o);
      o += part.length;
    }
    out[o] = 0x0b;
    return out;
  }
}
