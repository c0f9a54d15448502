// Snapshots: the file format, every device's persist round trip, and resuming a saved guest in a
// new ring3 process (--restore) to a working shell, with one CPU and with four.
import assert from "node:assert/strict";
import { Machine } from "../../runtime/machine.ts";
import {
  readSnapshotHeader,
  restoreMachine,
  saveMachine,
  SNAPSHOT_VERSION,
  snapshotMachineOptions,
} from "../../runtime/snapshot/snapshot.ts";
import { SnapshotError } from "../../runtime/snapshot/persist.ts";
import { GuestProc } from "../control/guest_proc.ts";

const SHELL = /ring3: shell ready[\s\S]*?# /;

Deno.test("persist: every device's state survives save -> restore -> save unchanged", async () => {
  const m = await Machine.create({ memMiB: 32, smp: 2, smpThreads: 1 });
  // leave some state behind in each device, as a guest would
  m.io.write(0x20, 1, 0x11); // PIC ICW1..4, then a mask
  m.io.write(0x21, 1, 0x30);
  m.io.write(0x21, 1, 0x04);
  m.io.write(0x21, 1, 0x01);
  m.io.write(0x21, 1, 0xfa);
  m.io.write(0x43, 1, 0x34); // PIT channel 0, mode 2, 1193 ticks
  m.io.write(0x40, 1, 0xa9);
  m.io.write(0x40, 1, 0x04);
  m.io.write(0x70, 1, 0x0b); // RTC index
  m.io.write(0x3fb, 1, 0x03); // COM1 LCR, IER, scratch
  m.io.write(0x3f9, 1, 0x05);
  m.io.write(0x3ff, 1, 0x5a);
  m.com1.receive([0x41, 0x42]);
  m.io.write(0xcf8, 4, 0x80000800); // a PCI address
  m.mmio.write(0xfec00000, 4, 0x10); // IO-APIC select: redirection entry 0
  m.mmio.write(0xfec00010, 4, 0x1a030);
  m.ram.write(0x123456, [1, 2, 3, 4]);
  m.ram.write(m.ramBytes - 4, [9, 9, 9, 9]);
  m.cores[1].setReg(3, 0xdeadbeef);
  const a = saveMachine(m);
  const ha = readSnapshotHeader(a).header;
  assert.equal(ha.version, SNAPSHOT_VERSION);
  assert.equal(ha.config.smp, 2);
  assert.ok(ha.savedPages < ha.ramPages / 4, "zero pages are left out");

  const m2 = await Machine.create({ ...snapshotMachineOptions(ha), smpThreads: 1 });
  restoreMachine(m2, a);
  const b = saveMachine(m2, { clockNs: ha.clockNs });
  const hb = readSnapshotHeader(b).header;
  assert.deepEqual(hb.devices, ha.devices);
  assert.deepEqual(hb.machine, ha.machine);
  assert.equal(m2.io.read(0x3ff, 1), 0x5a);
  assert.equal(m2.io.read(0x3f8, 1), 0x41, "the UART's receive queue came along");
  assert.deepEqual([...m2.ram.read(0x123456, 4)!], [1, 2, 3, 4]);
  assert.deepEqual([...m2.ram.read(m2.ramBytes - 4, 4)!], [9, 9, 9, 9]);
  assert.equal(m2.cores[1].reg(3), 0xdeadbeef);
  assert.ok(m2.clock.now() >= ha.clockNs, "the clock goes on from the saved time");
  m.close();
  m2.close();
});

// Every field of plain data a device model holds must be in its saved state: a field added to a
// model without its persist block is a snapshot that silently loses state. Objects that are
// wiring (timers, IRQ lines, callbacks, the buses) are not state.
function unsaved(obj: object, saved: Record<string, unknown>, notState: string[] = []): string[] {
  const plain = (v: unknown) =>
    typeof v === "number" || typeof v === "boolean" || typeof v === "string" || v === null || Array.isArray(v) ||
    ArrayBuffer.isView(v);
  return Object.entries(obj)
    .filter(([k, v]) => plain(v) && !notState.includes(k) && !(k in saved))
    .map(([k]) => k);
}

Deno.test("persist: every plain-data field of every device model is in its saved state", async () => {
  const m = await Machine.create({ memMiB: 16 });
  const h = readSnapshotHeader(saveMachine(m)).header;
  const d = h.devices as Record<string, Record<string, unknown>>;
  const missing: string[] = [];
  const check = (name: string, obj: object, saved: Record<string, unknown>, notState: string[] = []) =>
    missing.push(...unsaved(obj, saved, notState).map((f) => `${name}.${f}`));
  check("pic.master", m.pic.master, d.pic.master as Record<string, unknown>, ["master", "elcrMask"]);
  check("pic.slave", m.pic.slave, d.pic.slave as Record<string, unknown>, ["master", "elcrMask"]);
  check("pic", m.pic, d.pic);
  m.pit.ch.forEach((c, i) => check(`pit.ch${i}`, c, (d.pit.ch as Record<string, unknown>[])[i], ["id"]));
  check("pit", m.pit, d.pit, ["ch"]);
  check("rtc", m.rtc, d.rtc);
  check("com1", m.com1, d.com1, ["base"]);
  check("i8042", m.i8042, d.misc.i8042 as Record<string, unknown>);
  check("acpi", m.acpi, d.acpi);
  check("ioapic", m.ioapic, d.ioapic);
  check("pci", m.pci, d.pci, ["nextIo", "nextMem"].filter((k) => k in d.pci));
  assert.deepEqual(missing, [], "fields a persist block leaves out");
  m.close();
  // the NIC models (their switch is not there: the links stay down, which is all this needs)
  const dir = await Deno.makeTempDir();
  const n = await Machine.create({
    memMiB: 16,
    net: [{ model: "ne2k", switch: `unix:${dir}/none.sock` }, { model: "virtio", switch: `unix:${dir}/none.sock` }],
  });
  const nd = readSnapshotHeader(saveMachine(n)).header.devices as Record<string, Record<string, unknown>>;
  // the PCI function's side (config space, INTx) is the bus's state; the rest is configuration
  const pciFn = ["slot", "fn", "cfg", "wmask", "bars", "mapped", "intx", "mac"];
  check("ne2k", n.nics[0].device, nd.nic0, pciFn);
  check("virtio-net", n.nics[1].device, { ...nd.nic1, ...(nd.nic1.net as Record<string, unknown>) }, [
    ...pciFn,
    "linkUp",
    "deviceType",
    "hostFeatures",
    "logged", // the host's log throttle (lines written about guest errors), not guest state
  ]);
  (n.nics[1].device as unknown as { queues: object[] }).queues.forEach((q, i) =>
    check(`virtio-net.queue${i}`, q, (nd.nic1.queues as Record<string, unknown>[])[i], ["size"])
  );
  assert.deepEqual(missing, [], "fields a NIC's persist block leaves out");
  n.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("format: another version, another file, a truncated file, the wrong machine: clear errors", async () => {
  const m = await Machine.create({ memMiB: 16 });
  const a = saveMachine(m);
  const other = a.slice();
  new DataView(other.buffer).setUint32(8, 99, true);
  assert.throws(
    () => readSnapshotHeader(other, "x.snap"),
    /x\.snap: snapshot format version 99; this ring3 reads version 1/,
  );
  assert.throws(
    () => readSnapshotHeader(new TextEncoder().encode("hello world, not a snapshot")),
    /not a ring3 snapshot/,
  );
  assert.throws(() => readSnapshotHeader(a.subarray(0, a.length - 100)), /truncated/);
  const m2 = await Machine.create({ memMiB: 32 });
  assert.throws(() => restoreMachine(m2, a), SnapshotError);
  m.close();
  m2.close();
});

Deno.test({
  name: "--restore: a saved guest resumes in a new process with a working shell, its uptime going on",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const g = new GuestProc(["--mem", "128M"]);
    const snap = `${g.dir}/g.snap`;
    let t0 = 0;
    try {
      await g.waitOut(SHELL);
      await g.send("echo kept > /tmp/mark; echo up0=$(cut -d' ' -f1 /proc/uptime)\n");
      t0 = Number((await g.waitOut(/up0=(\d+\.\d+)/))[1]);
      const r = await g.ctl("savevm", snap);
      assert.ok(r.ok, r.error);
      assert.ok((await g.ctl("quit")).ok);
      assert.equal((await g.status()).code, 0);

      const h = new GuestProc(["--restore", snap], { control: false });
      try {
        await h.send("cat /tmp/mark; echo up1=$(cut -d' ' -f1 /proc/uptime); poweroff -f\n");
        await h.waitOut(/kept\r?\n/);
        const t1 = Number((await h.waitOut(/up1=(\d+\.\d+)/))[1]);
        assert.ok(t1 >= t0, `uptime ${t0} s at the save, ${t1} s after the restore`);
        assert.ok(t1 < t0 + 60, "no jump of the guest clock");
        const st = await h.status();
        assert.equal(st.code, 0, h.err);
        assert.doesNotMatch(h.out, /Linux version/, "no new boot");
      } finally {
        await h.close();
      }

      // the wrong version, a missing file, the wrong --smp: one line and a status each
      const bytes = await Deno.readFile(snap);
      new DataView(bytes.buffer).setUint32(8, 2, true);
      await Deno.writeFile(`${g.dir}/v2.snap`, bytes);
      for (
        const [args, code, re] of [
          [["--restore", `${g.dir}/v2.snap`], 1, /snapshot format version 2; this ring3 reads version 1/],
          [["--restore", `${g.dir}/none.snap`], 1, /no such file/],
          [["--restore", snap, "--smp", "2"], 2, /--smp 1 --mem 128/],
          [["--restore", snap, "--kernel", "x"], 2, /cannot take --kernel/],
        ] as [string[], number, RegExp][]
      ) {
        const p = new GuestProc(args, { control: false });
        const st = await p.status();
        assert.equal(st.code, code, p.err);
        assert.match(p.err, re);
        assert.doesNotMatch(p.err, /internal error|\bat \S+:\d+/);
        await p.close();
      }
    } finally {
      await g.close();
    }
  },
});

Deno.test({
  name: "--restore of an --smp 4 guest keeps all four vCPUs running",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const g = new GuestProc(["--mem", "128M", "--smp", "4"]);
    const snap = `${g.dir}/smp.snap`;
    try {
      await g.waitOut(SHELL, 240_000);
      const r = await g.ctl("savevm", snap);
      assert.ok(r.ok, r.error);
      assert.ok((await g.ctl("quit")).ok);
      await g.status();
      const h = new GuestProc(["--restore", snap]);
      try {
        await h.waitSocket();
        type S = { vcpus: { instructions: number; state: string }[] };
        const a = (await h.ctl("stats")).result as S;
        // work on every CPU: four busy loops, then count the processors the kernel has online
        await h.send(
          "for i in 1 2 3 4; do (i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; echo loop-done) & done; wait\n",
        );
        await h.waitOut(/(loop-done[\s\S]*){4}/, 240_000);
        const b = (await h.ctl("stats")).result as S;
        assert.equal(b.vcpus.length, 4);
        for (let c = 0; c < 4; c++) {
          assert.equal(b.vcpus[c].state, "running");
          assert.ok(b.vcpus[c].instructions > a.vcpus[c].instructions, `vCPU ${c} runs after the restore`);
        }
        await h.send("grep -c ^processor /proc/cpuinfo\n");
        await h.waitOut(/\n4\r?\n/);
      } finally {
        await h.close();
      }
    } finally {
      await g.close();
    }
  },
});
