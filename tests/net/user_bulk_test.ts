// Guest to host through user networking (passt), in bulk: a guest sends RING3_USER_BULK_MIB
// (default 64) MiB with /opt/tests/netperf to a TCP server on the host's 127.0.0.1 (through the
// gateway 10.0.2.2); the server checks the byte count and every byte against netperf's pattern.
// Meanwhile passt is frozen (SIGSTOP) for 30 ms of every 60, so ring3's socket to it fills again
// and again: before net/fdstream.ts wrote whole frames to passt, such a transfer ended in
// "Connection reset by peer" after some MB (bench/results/net.md). Skipped, with a note, without
// passt or the guest images.
import assert from "node:assert/strict";
import { findPasst } from "../../net/passt.ts";
import { GuestProc } from "./nic_pair.ts";
import { readProc, readProcDir } from "../lib/procfs.ts";

const root = new URL("../../", import.meta.url);
const CLI = new URL("cli/boot.ts", root).pathname;
const INITRD = new URL("guest/images/initramfs-tests.cpio.gz", root).pathname;
const MIB = Number(Deno.env.get("RING3_USER_BULK_MIB") ?? 64);

function skipReason(): string {
  if (!findPasst()) return "passt not installed (apt-get install passt)";
  try {
    Deno.statSync(INITRD);
    Deno.statSync(new URL("guest/images/bzImage", root));
  } catch {
    return "guest/images (bzImage, initramfs-tests.cpio.gz) missing";
  }
  return "";
}
const skip = skipReason();
if (skip) console.log(`user_bulk_test: skipped: ${skip}`);

// netperf's byte stream (guest/tests/netperf.c): pattern[i % PERIOD], xorshift32 from seed 1
const PERIOD = 65521;
const PATTERN = (() => {
  const p = new Uint8Array(PERIOD);
  let x = 1;
  for (let i = 0; i < PERIOD; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    p[i] = x & 0xff;
  }
  return p;
})();

// the passt a ring3 process started (its child; Debian's passt may exec passt.avx2)
function passtOf(pid: number): number | null {
  for (const name of readProcDir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const st = readProc(`/proc/${name}/stat`);
      const comm = st.slice(st.indexOf("(") + 1, st.lastIndexOf(")"));
      const ppid = Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid && comm.startsWith("passt")) return Number(name);
    } catch { /* gone */ }
  }
  return null;
}

Deno.test({
  name: `user networking: ${MIB} MiB guest to host through passt, passt stalling, every byte checked`,
  ignore: skip !== "",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const append = "console=ttyS0";
    const g = new GuestProc("G", [], append, [], [
      Deno.execPath(),
      ...["run", "-A", CLI, "--mem", "256", "--initrd", INITRD, "--append", append, "--net", "virtio,user"],
    ]);
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    let stalling = true;
    try {
      await g.expect(/ring3: eth0 \S+ via/, 600_000);
      await g.expect(/ring3: shell ready/, 600_000);
      const passt = passtOf(g.child.pid);
      assert.ok(passt, "ring3 started passt");
      const server = (async () => {
        const c = await l.accept();
        let n = 0, bad = -1;
        for await (const chunk of c.readable) {
          if (bad < 0) {
            for (let j = 0; j < chunk.length; j++) {
              if (chunk[j] !== PATTERN[(n + j) % PERIOD]) {
                bad = n + j;
                break;
              }
            }
          }
          n += chunk.length;
        }
        return { n, bad };
      })();
      const stalls = (async () => {
        let count = 0;
        while (stalling) {
          Deno.kill(passt, "SIGSTOP");
          await new Promise((r) => setTimeout(r, 30));
          Deno.kill(passt, "SIGCONT");
          count++;
          await new Promise((r) => setTimeout(r, 30));
        }
        return count;
      })();
      const sent = await g.run(`/opt/tests/netperf send 10.0.2.2 ${l.addr.port} ${MIB}`, 1_800_000);
      const got = await server;
      stalling = false;
      const n = await stalls;
      assert.equal(sent.rc, 0, `netperf send failed: ${sent.text.trim().split("\n").slice(-3).join(" | ")}`);
      assert.equal(got.bad, -1, `byte ${got.bad} differs from netperf's pattern`);
      assert.equal(got.n, MIB * 2 ** 20, "the host received every byte");
      assert.ok(n > 10, `passt was stalled ${n} times`);
    } finally {
      stalling = false;
      l.close();
      await g.kill();
    }
  },
});
