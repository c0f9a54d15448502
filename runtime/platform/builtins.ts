// Node's modules that Deno implements as well: the files that use them import them from here
// (through mod.ts), so that runtime/, cli/ and net/ name no host module themselves.
//
// Loaded on first use, not at start-up: under Deno the first node:fs, node:zlib or node:crypto
// import sets up Deno's Node layer, ~50-70 ms of a process's start (measured for
// `--restore`, README "Snapshots"), which a machine without disks never needs. Under Node,
// node.ts hands its modules over (provideBuiltins) before anything runs; under Deno they come from
// process.getBuiltinModule on the first call.
import type * as Fs from "node:fs";
import type * as Path from "node:path";
import type * as Zlib from "node:zlib";
import type * as Crypto from "node:crypto";
import type * as Dgram from "node:dgram";
import type * as Dns from "node:dns/promises";
import type * as Util from "node:util";

// (the run loop's yield, a macrotask turn that lets host I/O callbacks run; node:timers costs
// ~10 ms of a start under Deno, but a MessageChannel turn, which costs nothing to set up, keeps a
// Deno process alive for good once used, and one channel per turn costs ~40 us against ~15 us)
export { setImmediate } from "node:timers";

interface Builtins {
  "node:fs": typeof Fs;
  "node:path": typeof Path;
  "node:zlib": typeof Zlib;
  "node:crypto": typeof Crypto;
  "node:dgram": typeof Dgram;
  "node:dns/promises": typeof Dns;
  "node:util": typeof Util;
}
const loaded: Partial<Builtins> = {};

// node.ts (Node): the modules it imported anyway
export function provideBuiltins(mods: Partial<Builtins>): void {
  Object.assign(loaded, mods);
}

function load<K extends keyof Builtins>(name: K): Builtins[K] {
  // deno-lint-ignore no-explicit-any
  return (loaded[name] ??= (globalThis as any).process.getBuiltinModule(name));
}

// an object whose properties are looked up on first use (in the module, or one of its objects)
function lazy<T extends object>(get: () => T): T {
  return new Proxy({}, { get: (_t, key) => (get() as Record<string | symbol, unknown>)[key] }) as T;
}

export const fs: typeof Fs = lazy(() => load("node:fs"));
export declare namespace fs {
  export type Stats = Fs.Stats;
}
export const dirname: typeof Path.dirname = (p) => load("node:path").dirname(p);
export const isAbsolute: typeof Path.isAbsolute = (p) => load("node:path").isAbsolute(p);
export const join: typeof Path.join = (...p) => load("node:path").join(...p);
export const zlibConstants: typeof Zlib.constants = lazy(() => load("node:zlib").constants);
export const inflateRawSync: typeof Zlib.inflateRawSync = (b, o) => load("node:zlib").inflateRawSync(b, o);
export const createHmac: typeof Crypto.createHmac = (a, k, o) => load("node:crypto").createHmac(a, k, o);
export const timingSafeEqual: typeof Crypto.timingSafeEqual = (a, b) => load("node:crypto").timingSafeEqual(a, b);
export const dgram: typeof Dgram = lazy(() => load("node:dgram"));
export const dnsLookup: typeof Dns.lookup =
  ((...a: Parameters<typeof Dns.lookup>) => load("node:dns/promises").lookup(...a)) as typeof Dns.lookup;
// (every start parses its arguments: node:util costs a start under Deno some 15-20 ms, which a
// hand-written parser would save, but the project takes its parser from the runtime)
export const parseArgs: typeof Util.parseArgs =
  ((c: Parameters<typeof Util.parseArgs>[0]) => load("node:util").parseArgs(c)) as typeof Util.parseArgs;
