// Guest-to-guest TCP throughput: two guests boot with one NIC each, and busybox nc moves 2 MiB
// of random data from one to the other, over virtio-net and over ne2k-pci, with both guests on
// one switch daemon and with each on its own switch, the two joined by a TCP trunk (loopback,
// AES-GCM). The MB/s figures are printed; Deno.bench then times a 256 KiB transfer on the
// same-switch pairs. Needs the committed guest images.
import { haveGuest, type Pair, startPair, startTrunkedPair, transfer } from "../tests/net/nic_pair.ts";

const MODELS = ["virtio", "ne2k"] as const;
const KIB = 2048;

if (!haveGuest()) {
  console.log("nic bench: guest/images missing; skipped");
} else {
  const pairs = new Map<string, Pair>();
  globalThis.addEventListener("unload", () => {
    for (const p of pairs.values()) p.close();
  });
  for (const model of MODELS) {
    for (const where of ["same switch", "across a trunk"] as const) {
      // one pair at a time: each guest wants a core
      const p = where === "same switch" ? await startPair(model) : await startTrunkedPair(model);
      const t = await transfer(p, KIB, 600_000);
      if (!t.sumA || t.sumA !== t.sumB) throw new Error(`${model}: transfer corrupted or failed:\n${t.log}`);
      console.log(
        `nic: ${model}, ${where}, guest-to-guest TCP (busybox nc, ${KIB} KiB): ${
          (KIB / 1024 / (t.ms / 1000)).toFixed(2)
        } MB/s`,
      );
      if (where === "same switch") pairs.set(model, p);
      else await p.close();
    }
  }
  for (const model of MODELS) {
    Deno.bench({ name: `${model}: 256 KiB guest to guest over TCP`, group: "nic", n: 2, warmup: 0 }, async () => {
      const t = await transfer(pairs.get(model)!, 256, 300_000);
      if (!t.sumA || t.sumA !== t.sumB) throw new Error(`${model}: transfer failed:\n${t.log}`);
    });
  }
}
