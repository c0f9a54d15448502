// Node's modules that Deno implements as well: the files that use them import them from here
// (through mod.ts), so that runtime/, cli/ and net/ name no host module themselves.
export * as fs from "node:fs";
export { dirname, isAbsolute, join } from "node:path";
export { constants as zlibConstants, inflateRawSync } from "node:zlib";
export { createHmac, timingSafeEqual } from "node:crypto";
export { default as dgram } from "node:dgram";
export { lookup as dnsLookup } from "node:dns/promises";
export { parseArgs } from "node:util";
export { setImmediate } from "node:timers";
