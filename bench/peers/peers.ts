// Where the peers live and how to tell whether they are installed. Shared by install.ts and race.ts.
export const ROOT = new URL("../../", import.meta.url).pathname;
export const V86_VERSION = "0.5.462";
export const V86_PREFIX = `${ROOT}build/peers`;
export const V86_LIB = `${V86_PREFIX}/node_modules/v86/build`;
export const SEABIOS = "/usr/share/seabios/bios.bin";
export const VGABIOS = "/usr/share/seabios/vgabios-stdvga.bin";
export const QEMU = "qemu-system-i386";
// Debian's stock i386 kernel (the linux-image-686 package's vmlinuz), for the race's stock-kernel
// boot row: bench:peers downloads the .deb with apt-get download and unpacks the kernel here
export const STOCK_DIR = `${ROOT}build/peers/stock`;
export const STOCK_KERNEL = `${STOCK_DIR}/vmlinuz-686`;

export const HOW_TO_INSTALL = {
  v86: `deno task bench:peers (npm install v86@${V86_VERSION} into build/peers, apt-get install seabios)`,
  qemu: "deno task bench:peers (apt-get install qemu-system-x86 seabios)",
  stock: "deno task bench:peers (apt-get download linux-image-686:i386, unpacked into build/peers/stock)",
};

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null" }).output();
    const t = new TextDecoder();
    return { ok: r.success, out: (t.decode(r.stdout) + t.decode(r.stderr)).trim() };
  } catch (e) {
    return { ok: false, out: (e as Error).message };
  }
}

const exists = (p: string) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
};

// Version string when installed, else null.
export async function qemuVersion(): Promise<string | null> {
  const r = await run(QEMU, ["--version"]);
  return r.ok ? r.out.split("\n")[0].replace(/^QEMU emulator version /, "") : null;
}

export function v86Version(): string | null {
  if (!exists(`${V86_LIB}/libv86.mjs`) || !exists(`${V86_LIB}/v86.wasm`)) return null;
  try {
    return JSON.parse(Deno.readTextFileSync(`${V86_LIB}/../package.json`)).version as string;
  } catch {
    return null;
  }
}

export const seabiosInstalled = () => exists(SEABIOS) && exists(VGABIOS);
export { exists, run };
