// The embedding API at work (README, "Embedding"): boot the committed guest, run a command on its
// console, save the machine, stop it, resume the snapshot and see the guest go on.
//   deno run -A examples/embed.ts [SNAPSHOT_FILE]
import { boot, restore } from "../mod.ts";

const file = Deno.args[0] ?? await Deno.makeTempFile({ suffix: ".ring3snap" });

const guest = await boot({ memMiB: 128 });
guest.on((e) => console.log(`event: ${JSON.stringify(e)}`));
await guest.waitFor("ring3: shell ready");
await guest.waitFor("# ");
guest.send("echo uptime=$(cut -d' ' -f1 /proc/uptime)\n");
const before = Number(/uptime=([\d.]+)/.exec(await guest.waitFor(/uptime=[\d.]+\r?\n/))![1]);
console.log(`booted; guest uptime ${before} s`);

const saved = await guest.save(file);
console.log(`saved ${saved.bytes} bytes to ${file} in ${saved.ms.toFixed(0)} ms`);
await guest.stop();

const t0 = performance.now();
const again = await restore(file);
again.on((e) => console.log(`event: ${JSON.stringify(e)}`));
again.send("echo uptime=$(cut -d' ' -f1 /proc/uptime)\n");
const after = Number(/uptime=([\d.]+)/.exec(await again.waitFor(/uptime=[\d.]+\r?\n/))![1]);
console.log(`restored in ${(performance.now() - t0).toFixed(0)} ms; guest uptime ${after} s`);
const cpu0 = (again.stats().vcpus as { instructions: number }[])[0];
console.log(`vCPU 0 ran ${cpu0.instructions} instructions since power-on`);
again.send("poweroff -f\n");
const end = await again.done;
console.log(`guest ended: ${end.kind}`);
if (!Deno.args[0]) await Deno.remove(file);
if (!(after >= before)) {
  console.error("the restored guest's uptime went backwards");
  Deno.exit(1);
}
