// `deno task switch --gen-key FILE` and the limit flags of `deno task switch`.
import assert from "node:assert/strict";
import { readKeyFile } from "../../net/trunk_crypto.ts";

const MAIN = new URL("../../net/main.ts", import.meta.url).pathname;

async function sw(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", MAIN, ...args], stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("switch --gen-key writes 32 random bytes (base64) with mode 0600 and never overwrites", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "ring3-key-" });
  try {
    const path = `${dir}/trunk.key`;
    const r = await sw("--gen-key", path);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
    const key = await readKeyFile(path);
    assert.equal(key.length, 32);
    assert.match(Deno.readTextFileSync(path), /^[A-Za-z0-9+/]{43}=\n$/);
    const again = await sw("--gen-key", path);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /exists; not overwriting a key/);
    assert.deepEqual(await readKeyFile(path), key, "the key is unchanged");
    // two keys differ
    assert.equal((await sw("--gen-key", `${dir}/k2`)).code, 0);
    assert.notDeepEqual(await readKeyFile(`${dir}/k2`), key);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("switch --help documents every limit with its default; bad limit values are refused", async () => {
  const r = await sw("--help");
  assert.equal(r.code, 0);
  for (
    const flag of [
      "--gen-key",
      "--max-ports N .*\\(512\\)",
      "--max-trunks N .*\\(64\\)",
      "--max-pending N .*\\(64\\)",
      "--max-pending-per-source N .*\\(8\\)",
      "--handshake-rate N",
      "--handshake-timeout SECONDS .*\\(5\\)",
      "--log-interval SECONDS",
      "at least 32",
    ]
  ) assert.match(r.stdout, new RegExp(flag), flag);
  const bad = await sw("--listen", "unix:/tmp/none.sock", "--max-ports", "0");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--max-ports '0' must be a positive integer/);
});
