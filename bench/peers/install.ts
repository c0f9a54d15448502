// `deno task bench:peers`: installs the emulators the race compares ring3 with.
//   v86   npm install v86@VERSION into build/peers (not committed; the race loads its build/)
//   QEMU  apt-get install qemu-system-x86 seabios (SeaBIOS is v86's BIOS too)
//   stock kernel  Debian's linux-image-686 (i386): apt-get download of the kernel package the
//         metapackage depends on, its /boot/vmlinuz-* unpacked to build/peers/stock/vmlinuz-686
//         (with its version in vmlinuz-686.version); needs the i386 architecture in dpkg
// Idempotent: what is already there is left alone. apt-get needs root; without it the command
// to run is printed instead.
import {
  exists,
  HOW_TO_INSTALL,
  qemuVersion,
  run,
  seabiosInstalled,
  STOCK_DIR,
  STOCK_KERNEL,
  V86_PREFIX,
  V86_VERSION,
  v86Version,
} from "./peers.ts";

if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
  console.log(`usage: deno task bench:peers
Installs what bench:race compares ring3 with: v86 (npm, into build/peers), QEMU and SeaBIOS (apt-get),
Debian's i386 stock kernel (apt-get download, unpacked to build/peers/stock). Idempotent; without
root the apt-get commands are printed instead.`);
  Deno.exit(0);
}

let failed = false;
const say = (s: string) => console.log(`bench:peers: ${s}`);

async function sh(cmd: string, args: string[]): Promise<boolean> {
  say(`$ ${cmd} ${args.join(" ")}`);
  const r = await new Deno.Command(cmd, { args, stdin: "null" }).spawn().status.catch(() => null);
  return r?.success ?? false;
}

const have = v86Version();
if (have?.startsWith(V86_VERSION)) say(`v86 ${have} already in ${V86_PREFIX}`);
else {
  await Deno.mkdir(V86_PREFIX, { recursive: true });
  // a package.json of its own keeps npm from walking up into the project
  await Deno.writeTextFile(`${V86_PREFIX}/package.json`, JSON.stringify({ private: true, name: "ring3-peers" }) + "\n");
  if (!await sh("npm", ["install", "--prefix", V86_PREFIX, "--no-audit", "--no-fund", `v86@${V86_VERSION}`])) {
    say(`npm install failed: ${HOW_TO_INSTALL.v86}`);
    failed = true;
  }
}

const qemu = await qemuVersion();
if (qemu && seabiosInstalled()) say(`QEMU ${qemu} and SeaBIOS already installed`);
else {
  const isRoot = (await run("id", ["-u"])).out === "0";
  const apt = ["install", "-y", "qemu-system-x86", "seabios"];
  if (!isRoot) {
    say(`not root: run  sudo apt-get ${apt.join(" ")}`);
    failed = true;
  } else if (!await sh("apt-get", apt)) {
    // a stale package index is the usual cause on a fresh machine
    if (!(await sh("apt-get", ["update"]) && await sh("apt-get", apt))) failed = true;
  }
}

// Debian's stock 686 kernel: the package linux-image-686:i386 depends on (linux-image-6.1.0-N-686)
async function stockKernel(): Promise<boolean> {
  if (exists(STOCK_KERNEL)) {
    say(`stock kernel already in ${STOCK_KERNEL}`);
    return true;
  }
  const dep = await run("apt-cache", ["depends", "linux-image-686:i386"]);
  const pkg = /Depends: (linux-image-[\w.-]+-686)(:i386)?/.exec(dep.out)?.[1];
  if (!pkg) {
    say(`no linux-image-686:i386 in the package index (dpkg --add-architecture i386; apt-get update): ${dep.out}`);
    return false;
  }
  await Deno.mkdir(STOCK_DIR, { recursive: true });
  const dl = async () => {
    say(`$ apt-get download ${pkg}:i386 (in ${STOCK_DIR})`);
    const r = await new Deno.Command("apt-get", { args: ["download", `${pkg}:i386`], cwd: STOCK_DIR, stdin: "null" })
      .spawn().status.catch(() => null);
    return r?.success ?? false;
  };
  if (!await dl() && !(await sh("apt-get", ["update"]) && await dl())) return false;
  const deb = [...Deno.readDirSync(STOCK_DIR)].map((e) => e.name).find((n) => n.startsWith(pkg) && n.endsWith(".deb"));
  if (!deb) return false;
  const tree = `${STOCK_DIR}/tree`;
  await Deno.mkdir(tree, { recursive: true });
  // only /boot (the package's modules are most of its 300 MB unpacked)
  const x = `dpkg-deb --fsys-tarfile '${STOCK_DIR}/${deb}' | tar -x -C '${tree}' --wildcards './boot/vmlinuz-*'`;
  if (!await sh("sh", ["-c", x])) return false;
  const vmlinuz = [...Deno.readDirSync(`${tree}/boot`)].map((e) => e.name).find((n) => n.startsWith("vmlinuz-"));
  if (!vmlinuz) return false;
  await Deno.copyFile(`${tree}/boot/${vmlinuz}`, STOCK_KERNEL);
  await Deno.writeTextFile(`${STOCK_KERNEL}.version`, `${deb.replace(/\.deb$/, "")}\n`);
  await Deno.remove(tree, { recursive: true });
  await Deno.remove(`${STOCK_DIR}/${deb}`);
  say(`stock kernel ${vmlinuz} (${deb}) in ${STOCK_KERNEL}`);
  return true;
}
if (!await stockKernel()) {
  say(`stock kernel: not installed (${HOW_TO_INSTALL.stock})`);
  failed = true;
}

say(
  `v86: ${v86Version() ?? "missing"}; QEMU: ${await qemuVersion() ?? "missing"}; SeaBIOS: ${
    seabiosInstalled() ? "yes" : "missing"
  }`,
);
Deno.exit(failed ? 1 : 0);
