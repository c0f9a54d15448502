// Debian 12's stock i386 kernels for the boot tests: the vmlinuz of the newest
// linux-image-6.1.0-N-<flavour>-unsigned package apt knows, fetched with `apt-get download` once
// and cached under build/debian-kernels/ (a kernel cached before still serves without apt).
const ROOT = new URL("../../", import.meta.url).pathname;
const CACHE = ROOT + "build/debian-kernels";

async function run(cmd: string, args: string[], cwd = CACHE): Promise<{ ok: boolean; out: string }> {
  try {
    const o = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
    const d = new TextDecoder();
    return { ok: o.success, out: d.decode(o.stdout) + d.decode(o.stderr) };
  } catch (e) {
    return { ok: false, out: String(e) };
  }
}

const exists = (p: string) => {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
};

// The vmlinuz of the newest linux-image-6.1.0-N-<flavour>-unsigned package apt knows, or a
// reason why there is none.
export async function kernel(flavour: string): Promise<{ path?: string; note?: string }> {
  Deno.mkdirSync(CACHE, { recursive: true });
  const have = [...Deno.readDirSync(CACHE)].map((e) => e.name);
  const cached = (abi: string) => `vmlinuz-6.1.0-${abi}-${flavour}`;
  const s = await run("apt-cache", ["search", "--names-only", `^linux-image-6\\.1\\.0-[0-9]+-${flavour}-unsigned$`]);
  const abis = s.ok ? [...s.out.matchAll(/^linux-image-6\.1\.0-(\d+)-/gm)].map((m) => m[1]) : [];
  abis.sort((a, b) => Number(b) - Number(a));
  if (abis.length === 0) {
    // no apt index: a kernel cached before still serves
    const old = have.filter((n) => new RegExp(`^vmlinuz-6\\.1\\.0-\\d+-${flavour}$`).test(n)).sort();
    if (old.length) return { path: `${CACHE}/${old[old.length - 1]}` };
    return { note: `apt-cache knows no linux-image-6.1.0-*-${flavour}-unsigned (${s.out.trim().slice(0, 200)})` };
  }
  const abi = abis[0];
  const out = `${CACHE}/${cached(abi)}`;
  if (exists(out)) return { path: out };
  const pkg = `linux-image-6.1.0-${abi}-${flavour}-unsigned`;
  let deb = have.find((n) => n.startsWith(pkg + "_") && n.endsWith(".deb"));
  if (!deb) {
    const d = await run("apt-get", ["download", pkg]);
    deb = [...Deno.readDirSync(CACHE)].map((e) => e.name).find((n) => n.startsWith(pkg + "_") && n.endsWith(".deb"));
    if (!d.ok || !deb) return { note: `apt-get download ${pkg} failed: ${d.out.trim().slice(0, 300)}` };
  }
  const tmp = Deno.makeTempDirSync({ dir: CACHE });
  try {
    const x = await run("sh", [
      "-c",
      `dpkg-deb --fsys-tarfile '${deb}' | tar -x -C '${tmp}' --wildcards './boot/vmlinuz-*'`,
    ]);
    const img = `${tmp}/boot/vmlinuz-6.1.0-${abi}-${flavour}`;
    if (!x.ok || !exists(img)) return { note: `cannot unpack ${deb}: ${x.out.trim().slice(0, 300)}` };
    Deno.renameSync(img, out);
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
  return { path: out };
}
