// Linux on ring3, end to end: the committed guest boots with `ring3.run=bench` (guest/init), which
// times md5sum of a 16 MiB file made from /dev/zero and a busybox awk loop of 200,000 iterations
// of double arithmetic (x87), then powers off. Printed: seconds from start to userspace (where
// the interactive shell starts; init prints the marker just before), the two workloads' seconds
// as the guest's clock measured them (the machine's host clock: guest time follows the host's),
// and the guest MIPS of the whole run from the core's retired-instruction count. That run happens
// once, when the module loads (deno bench runs a bench function at least three times, and this
// one takes minutes); the timed bench is a plain boot to userspace and power-off
// (`ring3.run=poweroff`).
import { Machine } from "../runtime/machine.ts";
import { bootBzImage, E820_RAM } from "../runtime/boot/bzimage.ts";

const images = new URL("../guest/images/", import.meta.url);
const kernel = await Deno.readFile(new URL("bzImage", images));
const initrd = await Deno.readFile(new URL("initramfs.cpio.gz", images));
const BENCH = "console=ttyS0 ring3.run=bench";
const POWEROFF = "console=ttyS0 ring3.run=poweroff";
const TIMEOUT_MS = 600_000;

interface Figures {
  userspaceS: number;
  md5S: number;
  awkS: number;
  wallS: number;
  icount: number;
  mips: number;
}

async function boot(append: string): Promise<Figures> {
  const m = await Machine.create({ memMiB: 256 });
  let text = "";
  let userspaceS = NaN;
  const t0 = performance.now();
  m.serial.onOutput = (d) => {
    text += new TextDecoder().decode(d);
    if (Number.isNaN(userspaceS) && text.includes("ring3: userspace up")) userspaceS = (performance.now() - t0) / 1000;
  };
  bootBzImage(m.ram, m.core, kernel, {
    cmdline: append,
    initrd,
    regions: m.e820().filter((e) => e.type !== E820_RAM),
    acpiRsdp: m.tables?.rsdp,
  });
  const timer = setTimeout(() => m.stop(), TIMEOUT_MS);
  const outcome = await m.run();
  clearTimeout(timer);
  const wallS = (performance.now() - t0) / 1000;
  const fig = (name: string) => Number(text.match(new RegExp(`WORK ${name} ([\\d.]+)`))?.[1]);
  const ok = outcome.kind === "poweroff" && /ring3: exit 0/.test(text) &&
    (append !== BENCH || /awk-sum 50\.519065/.test(text));
  if (!ok) throw new Error(`bench run failed (${outcome.kind}):\n${text.slice(-3000)}`);
  const icount = Number(m.core.icount);
  return { userspaceS, md5S: fig("md5"), awkS: fig("awk"), wallS, icount, mips: icount / wallS / 1e6 };
}

const f = await boot(BENCH);
console.log(
  `boot: userspace (shell) after ${f.userspaceS.toFixed(2)} s; md5sum 16 MiB ${f.md5S.toFixed(2)} s; ` +
    `awk 200k ${f.awkS.toFixed(2)} s; whole run ${f.wallS.toFixed(2)} s, ` +
    `${(f.icount / 1e6).toFixed(0)} M instructions = ${f.mips.toFixed(1)} guest MIPS`,
);

Deno.bench(
  { name: "linux: boot the default guest to userspace and power off", group: "boot", n: 1, warmup: 0 },
  async () => {
    await boot(POWEROFF);
  },
);
