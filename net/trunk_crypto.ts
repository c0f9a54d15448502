// Key handling for trunks, all through WebCrypto (crypto.subtle):
// - the pre-shared key (PSK) proves itself with HMAC-SHA256 over the handshake transcript
//   (both HELLOs, hence both fresh random nonces) and the prover's role, so a proof is useless
//   in any other session or reflected back at its sender;
// - each direction gets its own AES-256-GCM key, HKDF-SHA256(PSK, salt = SHA-256(transcript)),
//   so the 96-bit IV can simply be the message sequence number.

const enc = new TextEncoder();
const AUTH_LABEL = enc.encode("ring3 trunk v1 auth");
export const MIN_KEY_BYTES = 16;

export type Role = "C" | "S"; // C = the side that connected, S = the side that accepted

export interface Psk {
  hmac: CryptoKey;
  hkdf: CryptoKey;
}

/** Read a key file: its bytes, surrounding ASCII whitespace removed (so `echo KEY > f` works). */
export async function readKeyFile(path: string): Promise<Uint8Array> {
  const raw = await Deno.readFile(path);
  let a = 0, b = raw.length;
  const ws = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
  while (a < b && ws(raw[a])) a++;
  while (b > a && ws(raw[b - 1])) b--;
  const key = raw.slice(a, b);
  if (key.length < MIN_KEY_BYTES) {
    throw new Error(
      `key file ${path} holds ${key.length} bytes; use at least ${MIN_KEY_BYTES} random bytes ` +
        `(e.g. head -c 32 /dev/urandom | base64 > ${path})`,
    );
  }
  return key;
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
      { name: "HKDF", hash: "SHA-256", salt, info: enc.encode(`ring3 trunk v1 ${dir}`) },
      psk.hkdf,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt", "decrypt"],
    );
  const [c2s, s2c] = await Promise.all([derive("c2s"), derive("s2c")]);
  return { c2s, s2c };
}
