// `deno task boot --disk`: parsing into the boot configuration, a `deno task image` disk bringing
// its own kernel/initrd/cmdline, and the real command's one-line errors (exit status 1) for a
// missing image, a locked one and a corrupt qcow2 header.
import assert from "node:assert/strict";
import { parseBootArgs, UsageError } from "../../cli/boot.ts";
import { openImage } from "../../runtime/block/open.ts";
import { scratchDir } from "./lib.ts";

const CLI = new URL("../../cli/boot.ts", import.meta.url).pathname;

async function cli(...args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("--disk: repeatable, options parsed, bad options are usage errors", () => {
  const c = parseBootArgs(["--disk", "a.img", "--disk=b.qcow2,snapshot=on"]);
  assert.deepEqual(c.disks, [{ file: "a.img", if: "virtio" }, { file: "b.qcow2", if: "virtio", snapshot: true }]);
  assert.deepEqual(parseBootArgs([]).disks, []);
  assert.throws(
    () => parseBootArgs(["--disk", "a.img,format=vdi"]),
    (e) => e instanceof UsageError && /vdi/.test(e.message),
  );
});

// (a disk that boots itself: tests/block/boot_files_test.ts)

Deno.test("the command: a missing, locked or corrupt disk image is one line and status 1", async () => {
  const dir = scratchDir();
  try {
    const missing = await cli("--disk", `${dir}/none.img`);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim(), `ring3: disk ${dir}/none.img: no such file`);
    Deno.writeFileSync(`${dir}/d.img`, new Uint8Array(1 << 20));
    const held = openImage(`${dir}/d.img`);
    try {
      const locked = await cli("--disk", `${dir}/d.img`);
      assert.equal(locked.code, 1);
      assert.match(locked.stderr.trim(), /^ring3: disk .*d\.img: locked by another process \([^\n]*\)$/);
    } finally {
      held.close();
    }
    Deno.writeFileSync(
      `${dir}/bad.qcow2`,
      new Uint8Array([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 9, ...new Uint8Array(100)]),
    );
    const bad = await cli("--disk", `${dir}/bad.qcow2`);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr.trim(), /^ring3: disk .*bad\.qcow2: not a valid qcow2 image: version 9 [^\n]*$/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
