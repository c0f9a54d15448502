// Key handling for trunks, through WebCrypto (crypto.subtle; node:crypto's synchronous HMAC for
// the listener's cookies, which must cost no pending work):
// - the pre-shared key (PSK) proves itself with HMAC-SHA256 over the handshake transcript
//   (both HELLOs, hence both fresh random nonces) and the prover's role, so a proof is useless
//   in any other session or reflected back at its sender;
// - each direction gets its own AES-256-GCM key, HKDF-SHA256(PSK, salt = SHA-256(transcript)),
//   so the 96-bit IV can simply be the message sequence number.
import { createHmac, type FsFile, host, timingSafeEqual } from "../runtime/platform/mod.ts";

const enc = new TextEncoder();
const AUTH_LABEL = enc.encode("ring3 trunk v2 auth");
/** key material a key file must hold at least (256 bits) */
export const MIN_KEY_BYTES = 32;
/** distinct byte values 32 random bytes have at least (all but certainly: about 30 on average) */
const MIN_DISTINCT = 16;

export type Role = "C" | "S"; // C = the side that connected, S = the side that accepted

export interface Psk {
  hmac: CryptoKey;
  hkdf: CryptoKey;
}

const GEN_HINT = (path: string) => `(deno task switch --gen-key ${path.replace(/^key file /, "")} writes a good one)`;

/**
 * The key material in a key file's text: hex or base64 is decoded (what --gen-key writes, or
 * `head -c 32 /dev/urandom | base64`), a binary file is taken as it is. Printable text that is
 * neither is a passphrase, not a key: refused, like anything under 32 bytes of material or
 * material that is plainly not random (a repeated pattern), since a trunk's proofs can be
 * guessed at offline with a weak key.
 */
export function keyMaterial(text: Uint8Array, path = "the key"): Uint8Array {
  let a = 0, b = text.length;
  const ws = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
  while (a < b && ws(text[a])) a++;
  while (b > a && ws(text[b - 1])) b--;
  const raw = text.slice(a, b);
  const printable = raw.every((c) => c >= 0x20 && c < 0x7f);
  let key: Uint8Array;
  let kind: string;
  const str = printable ? new TextDecoder().decode(raw) : "";
  if (printable && /^(?:[0-9a-fA-F]{2})+$/.test(str)) {
    key = Uint8Array.from(str.match(/../g)!, (h) => parseInt(h, 16));
    kind = "hex";
  } else if (printable && /^[A-Za-z0-9+/_-]+={0,2}$/.test(str) && str.length % 4 !== 1) {
    const std = str.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
    const bin = atob(std + "=".repeat((4 - std.length % 4) % 4));
    key = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    kind = "base64";
  } else if (printable) {
    throw new Error(
      `${path} holds text that is neither hex nor base64 (a passphrase?); a trunk key must be ` +
        `at least ${MIN_KEY_BYTES} random bytes ${GEN_HINT(path)}`,
    );
  } else {
    key = raw;
    kind = "binary";
  }
  checkKeyStrength(key, path, ` (${kind})`);
  return key;
}

/** Throw unless `key` is at least 32 bytes that could be random. */
export function checkKeyStrength(key: Uint8Array, path = "the key", kind = ""): void {
  if (key.length < MIN_KEY_BYTES) {
    throw new Error(
      `${path} holds ${key.length} bytes of key material${kind}; use at least ${MIN_KEY_BYTES} ` +
        `random bytes ${GEN_HINT(path)}`,
    );
  }
  const distinct = new Set(key).size;
  if (distinct < MIN_DISTINCT) {
    throw new Error(
      `${path} does not look random (${distinct} distinct byte values in ${key.length}); use ` +
        `${MIN_KEY_BYTES} random bytes ${GEN_HINT(path)}`,
    );
  }
}

/** Read a key file: its key material (keyMaterial), or a clear error. */
export async function readKeyFile(path: string): Promise<Uint8Array> {
  return keyMaterial(await host.readFile(path), `key file ${path}`);
}

/** Write a fresh key (32 random bytes, base64) to a new file only its owner can read. */
export function generateKeyFile(path: string): void {
  const key = crypto.getRandomValues(new Uint8Array(MIN_KEY_BYTES));
  let f: FsFile;
  try {
    f = host.openSync(path, { write: true, createNew: true, mode: 0o600 });
  } catch (e) {
    if (e instanceof host.errors.AlreadyExists) throw new Error(`${path} exists; not overwriting a key`);
    throw e;
  }
  try {
    host.chmodSync(path, 0o600); // the umask may have narrowed it further, never widened it: make it exact
    f.writeSync(enc.encode(btoa(String.fromCharCode(...key)) + "\n"));
  } finally {
    f.close();
  }
}

// Cookies: the listener's answer to a HELLO, which the dialer must send back before the listener
// keeps any state for it (as DTLS's HelloVerifyRequest and WireGuard's cookie reply). A cookie is
// HMAC-SHA256 over the coarse time (an epoch number), the sender's address and port and its HELLO,
// keyed with a random secret of that epoch; only the current and the previous epoch's secrets are
// kept, so a cookie is good for one to two epochs and a secret never lives longer than two.
export const COOKIE_LEN = 16;

export class CookieJar {
  private secrets = new Map<number, Uint8Array>();
  constructor(private readonly epochMs = 60_000, private readonly now = () => Date.now()) {}

  private epoch(): number {
    return Math.floor(this.now() / this.epochMs) >>> 0;
  }

  private secret(epoch: number, create: boolean): Uint8Array | undefined {
    const cur = this.epoch();
    if (epoch !== cur && epoch !== ((cur - 1) >>> 0)) return undefined;
    for (const e of this.secrets.keys()) if (e !== cur && e !== ((cur - 1) >>> 0)) this.secrets.delete(e);
    let s = this.secrets.get(epoch);
    if (s === undefined && create) this.secrets.set(epoch, s = crypto.getRandomValues(new Uint8Array(32)));
    return s;
  }

  private mac(secret: Uint8Array, epoch: number, source: string, hello: Uint8Array): Uint8Array {
    const h = createHmac("sha256", secret);
    const e = new Uint8Array(4);
    new DataView(e.buffer).setUint32(0, epoch);
    h.update(e);
    h.update(enc.encode(source));
    h.update(hello);
    return new Uint8Array(h.digest().subarray(0, COOKIE_LEN));
  }

  /** The cookie for `hello` from `source` ("address:port"), with its epoch. */
  make(source: string, hello: Uint8Array): { epoch: number; cookie: Uint8Array } {
    const epoch = this.epoch();
    return { epoch, cookie: this.mac(this.secret(epoch, true)!, epoch, source, hello) };
  }

  check(source: string, hello: Uint8Array, epoch: number, cookie: Uint8Array): boolean {
    const s = this.secret(epoch, false);
    if (s === undefined || cookie.length !== COOKIE_LEN) return false;
    return timingSafeEqual(this.mac(s, epoch, source, hello), cookie);
  }
}

export async function importPsk(key: Uint8Array): Promise<Psk> {
  const raw = key.slice(); // a plain ArrayBuffer-backed copy
  const hmac = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
  const hkdf = await crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveKey"]);
  return { hmac, hkdf };
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function authInput(role: Role, helloC: Uint8Array, helloS: Uint8Array): Uint8Array<ArrayBuffer> {
  return concat(AUTH_LABEL, enc.encode(role), helloC, helloS);
}

export async function authProof(psk: Psk, role: Role, helloC: Uint8Array, helloS: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", psk.hmac, authInput(role, helloC, helloS)));
}

/** Constant-time check (crypto.subtle.verify) of the peer's proof. */
export function checkProof(
  psk: Psk,
  role: Role,
  helloC: Uint8Array,
  helloS: Uint8Array,
  proof: Uint8Array,
): Promise<boolean> {
  return crypto.subtle.verify("HMAC", psk.hmac, proof.slice(), authInput(role, helloC, helloS));
}

export async function sessionKeys(
  psk: Psk,
  helloC: Uint8Array,
  helloS: Uint8Array,
): Promise<{ c2s: CryptoKey; s2c: CryptoKey }> {
  const salt = new Uint8Array(await crypto.subtle.digest("SHA-256", concat(helloC, helloS)));
  const derive = (dir: string) =>
    crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt, info: enc.encode(`ring3 trunk v2 ${dir}`) },
      psk.hkdf,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt", "decrypt"],
    );
  const [c2s, s2c] = await Promise.all([derive("c2s"), derive("s2c")]);
  return { c2s, s2c };
}
