// The host services ring3 uses (files, the console, signals, workers, sockets, child processes,
// timers, the environment, FFI), behind one object, `host`, with the shape of Deno's own API:
// under Deno it is Deno's (deno.ts), under Node a small implementation on Node's modules
// (node.ts). Everything in runtime/, cli/, net/ and mod.ts reaches the host through this folder
// only (tests/platform/ checks it), so the same sources run on both, and `deno task bundle`
// (build/bundle.ts) turns them into plain JavaScript files that `node build/dist/boot.mjs` runs.
//
// Node's modules that both runtimes have (Deno implements node:fs, node:zlib, ...) are
// re-exported from builtins.ts, so the files that use them import them from here as well.
import { denoHost } from "./deno.ts";
import type { Host } from "./types.ts";

export type * from "./types.ts";

// deno-lint-ignore no-explicit-any
const isDeno = typeof (globalThis as any).Deno?.version?.deno === "string";

// (node.ts imports Node's modules: under Deno that would cost the start-up builtins.ts spares)
export const host: Host = isDeno ? denoHost() : (await import("./node.ts")).nodeHost();

// Running from build/dist/*.mjs (the bundle) rather than from the TypeScript sources: files the
// sources find next to themselves (the core, the default guest, worker scripts) are in the
// bundle's folder instead.
export const bundled = !import.meta.url.endsWith(".ts");
const DIST = new URL("./", import.meta.url);

// A file shipped with ring3: `source` as the sources name it (new URL("../x", import.meta.url)),
// or `name` (a path relative to build/dist/) in the bundle.
export function asset(source: URL, name: string): URL {
  return bundled ? new URL(name, DIST) : source;
}

// A worker thread running the module `source` (in the bundle: build/dist/<entry>.mjs), with the
// Web Worker interface (postMessage, onmessage, onerror, terminate) on both runtimes.
export function newWorker(source: URL, entry: string): WorkerLike {
  return host.newWorker(bundled ? new URL(`${entry}.mjs`, DIST) : source);
}

// Inside a worker: the parent's side (onmessage, postMessage) as `self` is in a Web Worker.
export function workerScope(): WorkerScope {
  return host.workerScope();
}

// Whether the module whose import.meta this is was the program started (Deno's import.meta.main;
// Node 18 has none: the script Node was given, its path resolved).
export function isMain(meta: ImportMeta): boolean {
  return (meta as { main?: boolean }).main ?? host.isMainUrl(meta.url);
}

import type { WorkerLike, WorkerScope } from "./types.ts";
export * from "./builtins.ts";

// The host's cores, as the runtime reports them (navigator.hardwareConcurrency; 0 if it does not:
// Node before 21).
export function hostCoreCount(): number {
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 0;
}
