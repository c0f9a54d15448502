// virtio-9p under a real guest (the default kernel's 9p over virtio): `--share DIR` mounted with
// mount -t 9p -o trans=virtio,version=9p2000.L; ls, cat, write, mkdir, mv, rm, rmdir, stat,
// readlink and ln -s from the guest land in the host folder; then the guest tries to get out:
// "..", symlinks planted by the host (absolute and relative, to a file and to a folder outside the
// share), symlinks it makes itself (to the host's absolute path of the secret, and to ../..), and
// a hard link to one. The host's secret never appears on the console; a readonly=on share refuses
// a write.
import assert from "node:assert/strict";
import { runBootCli } from "../lib/cli_run.ts";
import { scratchDir } from "./lib.ts";

Deno.test("virtio-9p guest: file operations in the shared folder, and no way out of it", async () => {
  const dir = scratchDir();
  try {
    const share = `${dir}/share`, outside = `${dir}/outside`;
    Deno.mkdirSync(`${share}/sub`, { recursive: true });
    Deno.mkdirSync(outside);
    const SECRET = `SECRET-${crypto.randomUUID()}`;
    Deno.writeTextFileSync(`${outside}/secret.txt`, SECRET + "\n");
    Deno.writeTextFileSync(`${share}/hello.txt`, "hello over 9p\n");
    Deno.symlinkSync(`${outside}/secret.txt`, `${share}/abs_file`);
    Deno.symlinkSync("../outside/secret.txt", `${share}/rel_file`);
    Deno.symlinkSync(outside, `${share}/abs_dir`);
    Deno.symlinkSync("../outside", `${share}/rel_dir`);
    Deno.mkdirSync(`${dir}/ro`);
    Deno.writeTextFileSync(`${dir}/ro/keep.txt`, "keep\n");
    const script = [
      "mkdir -p /s /r && mount -t 9p -o trans=virtio,version=9p2000.L share0 /s && echo MOUNTED",
      "mount -t 9p -o trans=virtio,version=9p2000.L,ro ro /r",
      "ls /s",
      "cat /s/hello.txt",
      "echo 'written by the guest' > /s/new.txt && mkdir /s/d1 && mv /s/new.txt /s/d1/moved.txt && echo MOVED",
      "stat -c 'STAT %s %F' /s/d1/moved.txt",
      "rm /s/hello.txt && rmdir /s/sub && echo REMOVED",
      "ln -s d1/moved.txt /s/mylink && readlink /s/mylink && cat /s/mylink",
      // the ways out
      "cat /s/abs_file /s/rel_file /s/abs_dir/secret.txt /s/rel_dir/secret.txt",
      "cat /s/../outside/secret.txt /s/../../outside/secret.txt",
      `ln -s ${outside}/secret.txt /s/guest_abs; cat /s/guest_abs`,
      "ln -s ../../../../../../../.. /s/guest_up; ls /s/guest_up/ | head -3; cat /s/guest_up" + outside +
      "/secret.txt",
      "ln /s/abs_file /s/hard 2>/dev/null; cat /s/hard",
      "echo ESCAPES-DONE",
      "echo x > /r/new.txt || echo RO-REFUSED",
      "cat /r/keep.txt",
      "umount /s && echo UNMOUNTED",
      "exit",
      "",
    ].join("\n");
    const r = await runBootCli(["--share", share, "--share", `${dir}/ro,tag=ro,readonly=on`], script, 400_000);
    const out = r.stdout;
    assert.equal(r.code, 0, `ring3 exit ${r.code}\n${r.stderr}\n${out.slice(-3000)}`);
    assert.match(out, /MOUNTED/, out);
    assert.match(out, /abs_dir\s+abs_file\s+hello\.txt\s+rel_dir\s+rel_file\s+sub/, out);
    assert.match(out, /hello over 9p/, out);
    assert.match(out, /MOVED/, out);
    assert.match(out, /STAT 21 regular file/, out);
    assert.match(out, /REMOVED/, out);
    assert.match(out, /^d1\/moved\.txt\r?$/m, out);
    assert.match(out, /ESCAPES-DONE/, out);
    assert.ok(!out.includes(SECRET), `the host's secret reached the guest:\n${out}`);
    assert.match(out, /RO-REFUSED/, out);
    assert.match(out, /^keep\r?$/m, out);
    assert.match(out, /UNMOUNTED/, out);
    // the host folder has what the guest did
    assert.equal(Deno.readTextFileSync(`${share}/d1/moved.txt`), "written by the guest\n");
    assert.equal(Deno.readLinkSync(`${share}/mylink`), "d1/moved.txt");
    assert.equal(Deno.readLinkSync(`${share}/guest_abs`), `${outside}/secret.txt`);
    assert.throws(() => Deno.statSync(`${share}/hello.txt`));
    assert.throws(() => Deno.statSync(`${dir}/ro/new.txt`));
    assert.deepEqual([...Deno.readDirSync(outside)].map((e) => e.name), ["secret.txt"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
