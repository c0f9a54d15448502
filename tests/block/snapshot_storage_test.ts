// Snapshots of machines with storage: an IDE disk, an ATAPI CD-ROM, a virtio-blk disk and a
// virtio-9p share. Every plain-data field of those device models is in the saved state (or named
// here as configuration), and a guest saved with the IDE disk and the share mounted, a file open
// on the share, goes on after the restore: it reads what it wrote to the disk before the save
// (page cache dropped), writes more, reads the open file on, and writes a new file to the share.
import assert from "node:assert/strict";
import { boot, restore } from "../../mod.ts";
import { Machine } from "../../runtime/machine.ts";
import { readSnapshotHeader, saveMachine } from "../../runtime/snapshot/snapshot.ts";
import { scratchDir } from "./lib.ts";

function sized(file: string, bytes: number): void {
  Deno.writeFileSync(file, new Uint8Array(0));
  Deno.truncateSync(file, bytes);
}

function unsaved(obj: object, saved: Record<string, unknown>, notState: string[] = []): string[] {
  const plain = (v: unknown) =>
    typeof v === "number" || typeof v === "boolean" || typeof v === "string" || v === null || Array.isArray(v) ||
    ArrayBuffer.isView(v);
  return Object.entries(obj)
    .filter(([k, v]) => plain(v) && !notState.includes(k) && !(k in saved))
    .map(([k]) => k);
}

Deno.test("persist: every plain-data field of the IDE, virtio-blk and virtio-9p models is saved", async () => {
  const dir = scratchDir();
  try {
    for (const f of ["ide.img", "vd.img", "cd.iso"]) sized(`${dir}/${f}`, 1 << 20);
    Deno.mkdirSync(`${dir}/share`);
    const m = await Machine.create({
      memMiB: 16,
      disks: [
        { file: `${dir}/ide.img`, if: "ide", format: "raw" },
        { file: `${dir}/vd.img`, if: "virtio", format: "raw" },
      ],
      cdrom: `${dir}/cd.iso`,
      shares: [{ dir: `${dir}/share`, tag: "share0", readonly: false }],
    });
    try {
      const h = readSnapshotHeader(saveMachine(m)).header;
      assert.equal(h.config.disks?.length, 2);
      assert.equal(h.config.cdrom, `${dir}/cd.iso`);
      assert.equal(h.config.shares?.[0].tag, "share0");
      const d = h.devices as Record<string, Record<string, unknown>>;
      const missing: string[] = [];
      const check = (name: string, obj: object, saved: Record<string, unknown>, notState: string[] = []) =>
        missing.push(...unsaved(obj, saved, notState).map((f) => `${name}.${f}`));
      const pciFn = ["slot", "fn", "cfg", "wmask", "bars", "mapped", "intx"];
      const ide = m.ide!.controller;
      check("ide", ide, d.ide, pciFn);
      const chs = d.ide.channels as Record<string, unknown>[];
      ide.channels.forEach((ch, i) => {
        check(`ide.ch${i}`, ch, chs[i], ["index"]);
        check(`ide.ch${i}.bm`, ch.bm, chs[i].bm as Record<string, unknown>);
        ch.drives.forEach((dr, j) => {
          if (!dr) return;
          const ds = (chs[i].drives as Record<string, unknown>[])[j];
          check(`ide.ch${i}.d${j}`, dr, ds, ["sectors", "cyls", "kind", "serial"]);
          if (dr.atapi) check(`ide.ch${i}.d${j}.atapi`, dr.atapi, ds.atapi as Record<string, unknown>);
        });
      });
      const vd = m.disks.find((x) => x.name.startsWith("vd"))!.device;
      const vi = m.disks.indexOf(m.disks.find((x) => x.device === vd)!);
      const vs = d[`disk${vi}`];
      check("virtio-blk", vd, vs, [...pciFn, "readonly", "config", "serial", "deviceType", "hostFeatures", "logged"]);
      (vd as unknown as { queues: object[] }).queues.forEach((q, i) =>
        check(`virtio-blk.queue${i}`, q, (vs.queues as Record<string, unknown>[])[i], ["size"])
      );
      const sh = m.shares[0].device;
      check("virtio-9p", sh, d.share0, [...pciFn, "tag", "config", "deviceType", "hostFeatures", "logged"]);
      check("virtio-9p.server", sh.server, d.share0.server as Record<string, unknown>, ["root", "readonly"]);
      assert.deepEqual(missing, [], "fields a storage persist block leaves out");
    } finally {
      m.close();
    }
    // a snapshot=on disk keeps its writes in this process: savevm says so
    const t = await Machine.create({
      memMiB: 16,
      disks: [{ file: `${dir}/ide.img`, if: "ide", format: "raw", snapshot: true }],
    });
    try {
      assert.throws(() => saveMachine(t), /snapshot=on/);
    } finally {
      t.close();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name: "savevm with an IDE disk and a mounted 9p share: the restored guest goes on using both",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = scratchDir();
    try {
      const disk = `${dir}/ide.img`, share = `${dir}/share`, snap = `${dir}/g.snap`;
      sized(disk, 8 << 20);
      Deno.mkdirSync(share);
      Deno.writeTextFileSync(`${share}/lines.txt`, "line one\nline two\nline three\n");
      const machine = {
        disks: [{ file: disk, if: "ide" as const, format: "raw" as const }],
        shares: [{ dir: share, tag: "share0", readonly: false }],
      };
      const g = await boot({ memMiB: 128, machine });
      await g.waitFor("ring3: shell ready");
      g.send(
        "mkdir -p /s && mount -t 9p -o trans=virtio,version=9p2000.L share0 /s && " +
          "echo before-save-data | dd of=/dev/sda bs=512 conv=sync 2>/dev/null && sync && " +
          'exec 3</s/lines.txt && read -r first <&3 && echo "FIRST=$first" && echo SAVE-$((6*7))-NOW\n',
      );
      await g.waitFor("SAVE-42-NOW\r\n");
      await new Promise((r) => setTimeout(r, 300));
      await g.save(snap);
      // the guest goes on in the first machine for a moment, then that process is gone
      await g.stop();

      const r = await restore(snap);
      r.send(
        "echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/sda bs=512 count=1 2>/dev/null | head -c 16; echo; " +
          'read -r second <&3 && echo "SECOND=$second"; ' +
          "echo after-restore | dd of=/dev/sda bs=512 seek=1 conv=sync 2>/dev/null && sync && " +
          "echo from-the-restored-guest > /s/new.txt && ls /s && echo RESTORE-$((6*7))-DONE\n",
      );
      const out = await r.waitFor("RESTORE-42-DONE\r\n");
      await r.stop();
      assert.match(out, /before-save-dat/, out);
      assert.match(out, /SECOND=line two/, out);
      assert.match(out, /lines\.txt\s+new\.txt/, out);
      assert.equal(Deno.readTextFileSync(`${share}/new.txt`), "from-the-restored-guest\n");
      const bytes = Deno.readFileSync(disk);
      assert.equal(new TextDecoder().decode(bytes.subarray(0, 16)), "before-save-data");
      assert.equal(new TextDecoder().decode(bytes.subarray(512, 525)), "after-restore");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
