// Helper of tests/net/tap_test.ts, run inside the test's network namespace (the TAP side):
//   serve PORT       serve one random 128 KiB file at http://0.0.0.0:PORT/f.bin; print "MD5 <sum>"
//   fetch URL        fetch URL; print "MD5 <sum> <length>"
import { createHash, randomBytes } from "node:crypto";

const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
const [mode, arg] = Deno.args;
if (mode === "serve") {
  const file = new Uint8Array(randomBytes(128 * 1024));
  Deno.serve({ hostname: "0.0.0.0", port: Number(arg), onListen: () => console.log(`MD5 ${md5(file)}`) }, (req) => {
    return new URL(req.url).pathname === "/f.bin" ? new Response(file) : new Response("no", { status: 404 });
  });
} else if (mode === "fetch") {
  const r = await fetch(arg, { signal: AbortSignal.timeout(60_000) });
  if (!r.ok) throw new Error(`${arg}: HTTP ${r.status}`);
  const b = new Uint8Array(await r.arrayBuffer());
  console.log(`MD5 ${md5(b)} ${b.length}`);
} else throw new Error("usage: tap_ns.ts serve PORT | fetch URL");
