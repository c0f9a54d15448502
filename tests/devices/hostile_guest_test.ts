// A hostile root program inside the guest (guest/tests/devfuzz.c, from the test initramfs) fuzzes
// ring3's device models for 20 guest seconds with a fixed seed: the PCI I/O BARs of a virtio NIC
// and an ne2k NIC (both on a switch) and a virtio disk (a sparse temporary file), their PCI
// configuration space, the pvpanic memory BAR, the ISA ports ring3 owns, random ports, and
// virtqueues of its own with random chains. ring3 runs as its own process (cli/boot.ts) so its
// resident memory can be watched from /proc: it must not grow beyond a bound while the fuzzer
// runs, ring3 must report no internal error, and the guest must either finish (exit 0, powered
// off) or panic cleanly (status 3 through pvpanic).
import { readProc } from "../lib/procfs.ts";
import assert from "node:assert/strict";
import { SwitchDaemon } from "../../net/daemon.ts";
import { bootChild, TEST_INITRD } from "../smp/lib.ts";

const SECONDS = 20;
const SEED = 1;
const RSS_GROWTH_MAX = 64 << 20; // bytes the ring3 process may grow by while the fuzzer runs

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readProc(`/proc/${pid}/status`));
  return m ? Number(m[1]) * 1024 : 0;
}

function haveImages(): boolean {
  try {
    return Deno.statSync(TEST_INITRD).isFile;
  } catch {
    return false;
  }
}

Deno.test({
  name: `hostile guest: devfuzz (root, iopl, PCI config, own virtqueues) for ${SECONDS} s, seed ${SEED}: ` +
    `ring3 neither fails nor grows`,
  ignore: !haveImages(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "ring3-devfuzz-" });
    const sock = `${dir}/switch.sock`;
    const disk = `${dir}/disk.img`;
    const f = await Deno.open(disk, { create: true, write: true });
    await f.truncate(64 << 20);
    f.close();
    const daemon = await SwitchDaemon.start({ listen: [{ transport: "unix", path: sock }], log: () => {} });
    const g = bootChild([
      "--initrd",
      TEST_INITRD,
      "--mem",
      "128",
      "--net",
      `virtio,switch=unix:${sock}`,
      "--net",
      `ne2k,switch=unix:${sock}`,
      "--disk",
      disk,
      "--append",
      `console=ttyS0 tsc=reliable ring3.dhcp=0 ring3.run=/opt/tests/devfuzz devfuzz.seconds=${SECONDS} ` +
      `devfuzz.seed=${SEED}`,
    ]);
    try {
      await g.waitFor(`DEVFUZZ seed ${SEED} seconds ${SECONDS}`, 600_000);
      const rss0 = rssBytes(g.pid);
      let peak = rss0;
      let finished = false;
      const sampler = (async () => {
        while (!finished) {
          try {
            peak = Math.max(peak, rssBytes(g.pid));
          } catch { /* exited */ }
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
      const timer = setTimeout(() => {
        try {
          Deno.kill(g.pid, "SIGKILL");
        } catch { /* gone */ }
      }, 600_000);
      const status = await g.done;
      clearTimeout(timer);
      finished = true;
      await sampler;
      const out = g.out();
      const tail = out.slice(-3000);
      assert.doesNotMatch(out, /internal error|allocation failed|RangeError|TypeError|Uncaught/, tail);
      assert.ok(status.code === 0 || status.code === 3, `ring3 exited with ${status.code}\n${tail}`);
      if (status.code === 0) {
        assert.match(out, /DEVFUZZ done ops \d+ takeovers [1-9]\d* chains [1-9]\d*/, tail);
        assert.match(out, /ring3: exit 0/, tail);
      }
      const grew = peak - rss0;
      console.log(
        `devfuzz: ring3 RSS ${(rss0 / 2 ** 20).toFixed(1)} MiB when the fuzzer started, peak ` +
          `${(peak / 2 ** 20).toFixed(1)} MiB (+${(grew / 2 ** 20).toFixed(1)} MiB); exit ${status.code}; ` +
          (/DEVFUZZ done .*/.exec(out)?.[0] ?? "no summary"),
      );
      assert.ok(grew < RSS_GROWTH_MAX, `ring3 grew by ${(grew / 2 ** 20).toFixed(1)} MiB while the guest fuzzed it`);
    } finally {
      try {
        Deno.kill(g.pid, "SIGKILL");
      } catch { /* gone */ }
      await g.done.catch(() => {});
      await daemon.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
