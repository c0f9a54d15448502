// Guest-to-guest TCP throughput through the switch: two guests boot with one NIC each on the
// same switch daemon, and busybox nc moves 2 MiB of random data from one to the other, once over
// virtio-net and once over ne2k-pci. The MB/s figure is printed; Deno.bench then times a 256 KiB
// transfer on the guests already running. Needs the committed guest images.
import { haveGuest, type Pair, startPair, transfer } from "../tests/net/nic_pair.ts";

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
    const p = await startPair(model); // one pair at a time: each guest wants a core
    pairs.set(model, p);
    const t = await transfer(p, KIB, 600_000);
    if (!t.sumA || t.sumA !== t.sumB) throw new Error(`${model}: transfer corrupted or failed:\n${t.log}`);
    console.log(
      `nic: ${model}, guest-to-guest TCP (busybox nc, ${KIB} KiB): ${(KIB / 1024 / (t.ms / 1000)).toFixed(2)} MB/s`,
    );
  }
  for (const model of MODELS) {
    Deno.bench({ name: `${model}: 256 KiB guest to guest over TCP`, group: "nic", n: 2, warmup: 0 }, async () => {
      const t = await transfer(pairs.get(model)!, 256, 300_000);
      if (!t.sumA || t.sumA !== t.sumB) throw new Error(`${model}: transfer failed:\n${t.log}`);
    });
  }
}
