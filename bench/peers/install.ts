// `deno task bench:peers`: installs the emulators the race compares ring3 with.
//   v86   npm install v86@VERSION into build/peers (not committed; the race loads its build/)
//   QEMU  apt-get install qemu-system-x86 seabios (SeaBIOS is v86's BIOS too)
// Idempotent: what is already there is left alone. apt-get needs root; without it the command
// to run is printed instead.
import { HOW_TO_INSTALL, qemuVersion, run, seabiosInstalled, V86_PREFIX, V86_VERSION, v86Version } from "./peers.ts";

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

say(
  `v86: ${v86Version() ?? "missing"}; QEMU: ${await qemuVersion() ?? "missing"}; SeaBIOS: ${
    seabiosInstalled() ? "yes" : "missing"
  }`,
);
Deno.exit(failed ? 1 : 0);
