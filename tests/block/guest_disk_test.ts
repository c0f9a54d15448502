// Disks under a real guest (the default kernel and initramfs, virtio-blk as /dev/vda, an ext4
// file system made on the host): a file written and synced survives kill -9 of ring3 and a new
// boot; after kill -9 in the middle of a write storm the next boot replays the journal and the
// host's `e2fsck -fn` finds the file system clean; a qcow2 overlay over a raw base takes the
// guest's writes and passes `qemu-img check`, the base untouched. Skipped (with a note) when the
// guest kernel has no virtio-blk/ext4 or e2fsprogs/qemu-utils are missing.
import assert from "node:assert/strict";
import { runBootCli } from "../lib/cli_run.ts";
import { E2FS, firstDiff, mustRun, QEMU_IMG, run, scratchDir, skipNote } from "./lib.ts";

const CLI = new URL("../../cli/boot.ts", import.meta.url).pathname;
const CONFIG = new URL("../../guest/linux.config", import.meta.url).pathname;
// Another kernel and initramfs (e.g. Debian's, with the modules loaded by a prelude command):
// RING3_DISK_KERNEL, RING3_DISK_INITRD, RING3_DISK_PRELUDE.
const ALT_KERNEL = Deno.env.get("RING3_DISK_KERNEL");
const KERNEL_ARGS = ALT_KERNEL ? ["--kernel", ALT_KERNEL, "--initrd", Deno.env.get("RING3_DISK_INITRD") ?? ""] : [];
const PRELUDE = Deno.env.get("RING3_DISK_PRELUDE") ? `${Deno.env.get("RING3_DISK_PRELUDE")}\n` : "";
const kernelHasDisks = ALT_KERNEL !== undefined || (() => {
  const c = Deno.readTextFileSync(CONFIG);
  return /^CONFIG_VIRTIO_BLK=y$/m.test(c) && /^CONFIG_EXT4_FS=y$/m.test(c);
})();
const BOOT_MS = 400_000;

function ready(): boolean {
  if (!kernelHasDisks) {
    console.log("  (skipped: the guest kernel has no built-in virtio-blk and ext4 yet)");
    return false;
  }
  if (!E2FS) {
    skipNote("e2fsprogs");
    return false;
  }
  return true;
}

function mkext4(path: string, mib: number): void {
  Deno.writeFileSync(path, new Uint8Array(0));
  Deno.truncateSync(path, mib << 20);
  mustRun("mkfs.ext4", "-q", "-F", "-L", "ring3test", path);
}

// Boot with `args`, type `script` into the guest's shell, and kill -9 ring3 as soon as the
// console shows `marker`. Returns the console output.
async function bootAndKill(args: string[], script: string, marker: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...KERNEL_ARGS, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), BOOT_MS);
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(PRELUDE + script));
  // stdin stays open: the shell must not see the end of its input and power off by itself
  let out = "";
  const dec = new TextDecoder();
  for await (const chunk of child.stdout) {
    out += dec.decode(chunk, { stream: true });
    if (out.includes(marker)) {
      child.kill("SIGKILL");
      break;
    }
  }
  clearTimeout(timer);
  await child.stderr.cancel();
  const st = await child.status;
  w.releaseLock();
  assert.ok(out.includes(marker), `no '${marker}' on the console:\n${out.slice(-3000)}`);
  assert.equal(st.signal, "SIGKILL");
  return out;
}

async function bootScript(args: string[], script: string): Promise<string> {
  // the shell's exit powers the guest off (guest/init)
  const r = await runBootCli([...KERNEL_ARGS, ...args], PRELUDE + script + "exit\n", BOOT_MS);
  assert.equal(r.code, 0, `ring3 exit ${r.code}\n${r.stderr}\n${r.stdout.slice(-3000)}`);
  return r.stdout;
}

Deno.test("virtio-blk guest: a synced file survives kill -9 and a new boot", async () => {
  if (!ready()) return;
  const dir = scratchDir();
  try {
    const img = `${dir}/disk.img`;
    mkext4(img, 64);
    const token = `persist-${Date.now()}`;
    await bootAndKill(
      ["--disk", img],
      `mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && echo ${token} > /mnt/keep && sync && echo SYNC''ED-OK\n`,
      "SYNCED-OK",
    );
    const out = await bootScript(
      ["--disk", img],
      "mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && cat /mnt/keep\numount /mnt\n",
    );
    assert.ok(out.includes(token), `the file after the new boot:\n${out.slice(-2000)}`);
    const fsck = run("e2fsck", "-fn", img);
    assert.equal(fsck.code, 0, fsck.out);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("virtio-blk guest: kill -9 during a write storm, the journal replays, e2fsck -fn is clean", async () => {
  if (!ready()) return;
  const dir = scratchDir();
  try {
    const img = `${dir}/disk.img`;
    mkext4(img, 96);
    const storm = [
      "mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && mkdir -p /mnt/d",
      "i=0; while :; do dd if=/dev/urandom of=/mnt/d/f$((i % 24)) bs=16k count=$((i % 7 + 1)) 2>/dev/null; " +
      "mkdir -p /mnt/d/x$((i % 5)); echo $i > /mnt/d/x$((i % 5))/n$i; rm -f /mnt/d/x$(((i + 2) % 5))/n$((i - 9)); " +
      "i=$((i + 1)); [ $i = 60 ] && echo STORM''-RUNNING; done",
      "",
    ].join("\n");
    await bootAndKill(["--disk", img], storm, "STORM-RUNNING");
    // what the kill left: a file system that needs its journal replayed
    const out = await bootScript(
      ["--disk", img],
      "mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && ls /mnt/d | wc -l && umount /mnt && echo UMOUNT''ED\n",
    );
    assert.ok(out.includes("UMOUNTED"), out.slice(-2000));
    const fsck = run("e2fsck", "-fn", img);
    assert.equal(fsck.code, 0, `e2fsck -fn after the replay:\n${fsck.out}`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("virtio-blk guest: a qcow2 overlay over a raw base takes the guest's writes and passes qemu-img check", async () => {
  if (!ready()) return;
  if (!QEMU_IMG) return skipNote("qemu-img");
  const dir = scratchDir();
  try {
    const base = `${dir}/base.img`;
    mkext4(base, 64);
    const baseBytes = Deno.readFileSync(base);
    mustRun("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.img", "-F", "raw", `${dir}/top.qcow2`);
    const out = await bootScript(
      ["--disk", `${dir}/top.qcow2`],
      "mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && dd if=/dev/urandom of=/mnt/r bs=64k count=40 2>/dev/null && " +
        "md5sum /mnt/r > /mnt/r.md5 && mkdir /mnt/many && for i in $(seq 1 200); do echo $i > /mnt/many/$i; done && " +
        "umount /mnt && echo DONE''OK\n",
    );
    assert.ok(out.includes("DONEOK"), out.slice(-2000));
    const check = run("qemu-img", "check", `${dir}/top.qcow2`);
    assert.equal(check.code, 0, check.out);
    assert.match(check.out, /No errors were found/);
    assert.equal(firstDiff(Deno.readFileSync(base), baseBytes), -1, "the base is untouched");
    mustRun("qemu-img", "convert", "-O", "raw", `${dir}/top.qcow2`, `${dir}/flat.img`);
    const fsck = run("e2fsck", "-fn", `${dir}/flat.img`);
    assert.equal(fsck.code, 0, fsck.out);
    const cat = run("debugfs", "-R", "cat /many/200", `${dir}/flat.img`);
    assert.match(cat.out, /^200$/m);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
