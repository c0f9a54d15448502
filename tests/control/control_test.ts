// Every control command against a live guest, through `--control unix:PATH` of the CLI.
import assert from "node:assert/strict";
import { ControlClient, GuestProc } from "./guest_proc.ts";
import { unescapeKeys } from "../../cli/ctl.ts";

const CTL = new URL("../../cli/ctl.ts", import.meta.url).pathname;
async function ctlCli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", CTL, ...args] }).output();
  const d = new TextDecoder();
  return { code: o.code, out: d.decode(o.stdout), err: d.decode(o.stderr) };
}

Deno.test("deno task ctl: escapes in sendkeys, a clear error without a machine, usage", async () => {
  assert.equal(unescapeKeys("ls\\n\\t\\e\\x41\\\\"), "ls\n\t\x1bA\\");
  assert.equal(unescapeKeys("plain"), "plain");
  const dir = await Deno.makeTempDir();
  const r = await ctlCli(`${dir}/none.sock`, "status");
  assert.equal(r.code, 1);
  assert.match(r.err, /^ctl: .*none\.sock: no such socket \(is ring3 running with --control unix:PATH\?\)\n$/);
  const u = await ctlCli();
  assert.equal(u.code, 2);
  assert.match(u.out, /usage: deno task ctl PATH COMMAND/);
  assert.match(u.out, /savevm FILE/);
  await Deno.remove(dir, { recursive: true });
});

type Stats = { state: string; vcpus: { instructions: number; haltedMs: number; eip: string }[] };
const SHELL = /ring3: shell ready[\s\S]*?# /;

async function uptime(g: GuestProc, tag: string): Promise<number> {
  const from = g.out.length;
  await g.send(`echo ${tag}=$(cut -d' ' -f1 /proc/uptime)\n`);
  const m = await g.waitOut(new RegExp(`${tag}=(\\d+\\.\\d+)`), 60_000, from);
  return Number(m[1]);
}

Deno.test({
  name: "control socket: status, stats, pause/resume, sendkeys, sysrq, savevm/loadvm, events, quit",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const g = new GuestProc(["--mem", "128M"]);
    try {
      await g.waitSocket();
      const mode = (await Deno.stat(g.socket)).mode! & 0o777;
      assert.equal(mode, 0o600, "the socket is its owner's only");
      await g.waitOut(SHELL);
      const events = new ControlClient();
      await events.connect(g.socket);

      // the tool people use: one command, its result as JSON
      const viaCli = await ctlCli(g.socket, "status");
      assert.equal(viaCli.code, 0, viaCli.err);
      assert.equal(JSON.parse(viaCli.out).state, "running");
      const st = await g.ctl("status");
      assert.ok(st.ok);
      assert.equal((st.result as { state: string; cpus: number; memMiB: number }).state, "running");
      assert.equal((st.result as { memMiB: number }).memMiB, 128);

      // bad requests get an error reply, and the connection goes on
      const bad = await g.ctl("frobnicate");
      assert.equal(bad.ok, false);
      assert.match(bad.error!, /unknown command 'frobnicate'/);
      assert.match((await g.ctl("savevm")).error!, /usage: savevm FILE/);

      // pause: the instruction counters stand still; resume: they move again
      assert.ok((await g.ctl("pause")).ok);
      const s1 = (await g.ctl("stats")).result as Stats;
      assert.equal(s1.state, "paused");
      await new Promise((r) => setTimeout(r, 700));
      const s2 = (await g.ctl("stats")).result as Stats;
      assert.equal(s2.vcpus[0].instructions, s1.vcpus[0].instructions, "no instruction retires while paused");
      assert.equal(s2.vcpus[0].haltedMs, s1.vcpus[0].haltedMs, "a paused vCPU is not halted");
      // regs and xp (paused: the registers stand still). Linux runs with paging on, in its kernel
      // code segment (0x60) or a user one (0x73), and its page directory maps the kernel's
      // 3 GiB half: the entry for 0xC0000000 (index 768) is present
      const r = (await g.ctl("regs", "0")).result as Record<string, string>;
      assert.equal(r.eip, s2.vcpus[0].eip, "regs and stats agree on EIP");
      assert.match(r.cs, /^0x00(60|73) /);
      assert.equal(Number(r.cr0) >>> 31, 1, `CR0 ${r.cr0}: paging on`);
      const pde = (await g.ctl("xp", String((Number(r.cr3) & ~0xfff) + 768 * 4), "4")).result as { hex: string };
      assert.equal(pde.hex.length, 8);
      assert.equal(parseInt(pde.hex.slice(0, 2), 16) & 1, 1, `PDE 768 ${pde.hex} present`);
      assert.match((await g.ctl("regs", "1")).error!, /no CPU '1' \(0\.\.0\)/);
      assert.match((await g.ctl("xp", String(512 << 20))).error!, /not all guest RAM/);
      assert.match((await g.ctl("xp", "0", "5000")).error!, /bad length/);
      await events.waitEvent("pause");
      // typed while paused, echoed once resumed
      assert.ok((await g.ctl("sendkeys", "echo keys-$((6*7))\n")).ok);
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(!/keys-42/.test(g.out), "a paused guest does not run its shell");
      assert.ok((await g.ctl("resume")).ok);
      await g.waitOut(/keys-42/);
      await events.waitEvent("resume");
      const s3 = (await g.ctl("stats")).result as Stats;
      assert.ok(s3.vcpus[0].instructions > s2.vcpus[0].instructions, "instructions retire again");
      // an idle shell halts most of the time: the halted time grows, by no more than the time passed
      const t3 = performance.now();
      await new Promise((r) => setTimeout(r, 1500));
      const s4 = (await g.ctl("stats")).result as Stats;
      const halted = s4.vcpus[0].haltedMs - s3.vcpus[0].haltedMs;
      assert.ok(halted > 100 && halted <= performance.now() - t3 + 50, `halted ${halted} ms in 1.5 s`);

      // magic SysRq: a serial break and 'h'. The 8250 driver counts the break (brk: in
      // /proc/tty/driver/serial) whatever the kernel; one with MAGIC_SYSRQ prints its help (and
      // takes the 'h'), one without passes the 'h' to the shell
      let from = g.out.length;
      await g.send("test -e /proc/sysrq-trigger && echo sysrq-yes || echo sysrq-no\n");
      const sysrq = (await g.waitOut(/\nsysrq-(yes|no)/, 60_000, from))[1] === "yes";
      if (sysrq) await g.send("echo 8 > /proc/sys/kernel/printk\n");
      await new Promise((r) => setTimeout(r, 300));
      from = g.out.length;
      assert.ok((await g.ctl("sysrq", "h")).ok);
      if (sysrq) await g.waitOut(/sysrq: HELP : /, 60_000, from);
      else {
        console.warn("guest kernel without CONFIG_MAGIC_SYSRQ: the SysRq help line is not checked");
        await g.send("\n");
      }
      from = g.out.length;
      await g.send("grep -o 'brk:[0-9]*' /proc/tty/driver/serial | head -1\n");
      assert.equal((await g.waitOut(/brk:(\d+)/, 60_000, from))[1], "1", "the guest's UART saw one break");
      assert.match((await g.ctl("sysrq", "hh")).error!, /one key/);

      // savevm / loadvm: the guest's state goes back to the snapshot, and its clock goes on
      const snap = `${g.dir}/a.snap`;
      await g.send("echo before > /tmp/mark\n");
      const t0 = await uptime(g, "up0");
      const saved = await g.ctl("savevm", snap);
      assert.ok(saved.ok, saved.error);
      assert.ok((saved.result as { bytes: number }).bytes > 1 << 20);
      await g.send("echo after > /tmp/mark\n");
      const t1 = await uptime(g, "up1");
      assert.ok(t1 >= t0);
      const loaded = await g.ctl("loadvm", snap);
      assert.ok(loaded.ok, loaded.error);
      await events.waitEvent("loadvm");
      from = g.out.length;
      await g.send("cat /tmp/mark\n");
      await g.waitOut(/\r?\nbefore\r?\n/, 60_000, from);
      const t2 = await uptime(g, "up2");
      assert.ok(t2 >= t0, `uptime goes on from the snapshot (${t0} s saved, ${t2} s after loadvm)`);
      assert.match((await g.ctl("loadvm", `${g.dir}/none`)).error!, /no such file/);

      // quit: the process ends at once with status 0
      assert.ok((await g.ctl("quit")).ok);
      const end = await g.status();
      assert.equal(end.code, 0);
      events.close();
    } finally {
      await g.close();
    }
  },
});

Deno.test({
  name: "control socket: powerdown presses the ACPI power button and the guest shuts down",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const g = new GuestProc(["--mem", "64M"]);
    try {
      await g.waitSocket();
      await g.waitOut(SHELL);
      const c = new ControlClient();
      await c.connect(g.socket);
      const presses = async (tag: string) => {
        const from = g.out.length;
        await g.send(`echo ${tag}=$(awk '{print $1}' /sys/firmware/acpi/interrupts/ff_pwr_btn)\n`);
        return Number((await g.waitOut(new RegExp(`\\n${tag}=(\\d+)`), 60_000, from))[1]);
      };
      const before = await presses("b0");
      assert.ok((await c.request("powerdown")).ok);
      await c.waitEvent("powerdown");
      // the kernel took the fixed power-button event (ACPI PM1 status, SCI)
      assert.equal(await presses("b1"), before + 1);
      // a guest that acts on the button (acpid, or the lead's init) powers off cleanly
      try {
        await c.waitEvent("poweroff", 30_000);
        assert.equal((await g.status(60_000)).code, 0);
      } catch {
        console.warn("the guest took the power button but did not power off (nothing in it acts on the button)");
      }
      c.close();
    } finally {
      await g.close();
    }
  },
});

Deno.test({
  name: "control socket: nic NAME down|up pulls and plugs the cable (event, the guest sees the carrier)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const sw = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../../net/main.ts", import.meta.url).pathname, "--listen", `unix:${dir}/sw.sock`],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const g = new GuestProc(["--mem", "64M", "--net", `virtio,switch=unix:${dir}/sw.sock`]);
    try {
      await g.waitSocket();
      await g.waitOut(SHELL);
      const carrier = async (tag: string) => {
        const from = g.out.length;
        await g.send(`echo ${tag}=$(cat /sys/class/net/eth0/carrier)\n`);
        return (await g.waitOut(new RegExp(`${tag}=(\\d)`), 60_000, from))[1];
      };
      await g.send("ip link set eth0 up\n");
      for (let i = 0; i < 100 && (await carrier(`c${i}`)) !== "1"; i++) await new Promise((r) => setTimeout(r, 200));
      const c = new ControlClient();
      await c.connect(g.socket);
      assert.match((await c.request("nic", ["nic7", "down"])).error!, /no NIC 'nic7'/);
      assert.ok((await c.request("nic", ["nic0", "down"])).ok);
      assert.deepEqual(await c.waitEvent("link"), { event: "link", nic: "nic0", up: false });
      assert.equal(await carrier("down"), "0");
      c.events = [];
      assert.ok((await c.request("nic", ["nic0", "up"])).ok);
      assert.deepEqual(await c.waitEvent("link"), { event: "link", nic: "nic0", up: true });
      assert.equal(await carrier("up"), "1");
      c.close();
    } finally {
      await g.close();
      try {
        sw.kill("SIGKILL");
      } catch { /* ended */ }
      await sw.status;
      await sw.stderr.cancel();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
