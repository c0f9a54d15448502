// A guest with NICs for the network end-to-end test and bench: boots the committed bzImage and
// initramfs with `--net` NICs; stdin goes to COM1 once the shell is ready, COM1 goes to stdout;
// exits 0 when the guest powers off.
//   deno run -A tests/net/nic_guest.ts --net virtio,switch=unix:/tmp/sw.sock [--net ...] [--append TEXT]
// The boot loader lives in runtime/boot/bzimage.ts (imported lazily so that the rest of the test
// suite does not depend on it).
import { parseArgs } from "node:util";
import { Machine } from "../../runtime/machine.ts";
import { parseNetOption } from "../../runtime/netopt.ts";

const root = new URL("../../", import.meta.url);
export const GUEST_KERNEL = new URL("guest/images/bzImage", root);
export const GUEST_INITRD = new URL("guest/images/initramfs.cpio.gz", root);
export const BZIMAGE_LOADER = new URL("runtime/boot/bzimage.ts", root);

export function haveGuest(): boolean {
  try {
    return Deno.statSync(GUEST_KERNEL).isFile && Deno.statSync(GUEST_INITRD).isFile &&
      Deno.statSync(BZIMAGE_LOADER).isFile;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      net: { type: "string", multiple: true },
      append: { type: "string" },
      mem: { type: "string" },
    },
  });
  const net = (values.net ?? []).map(parseNetOption);
  const out = Deno.stdout;
  let shell = false;
  const held: Uint8Array[] = [];
  let tail = "";
  const m = await Machine.create({ memMiB: Number(values.mem ?? 128), net });
  m.serial.onOutput = (b) => {
    out.writeSync(b);
    if (!shell) {
      tail = (tail + new TextDecoder().decode(b)).slice(-64);
      if (tail.includes("ring3: shell ready")) {
        shell = true;
        for (const h of held) m.serial.input(h);
      }
    }
  };
  const { bootBzImage } = await import(BZIMAGE_LOADER.href);
  bootBzImage(m.ram, m.core, await Deno.readFile(GUEST_KERNEL), {
    cmdline: values.append ?? "console=ttyS0",
    initrd: await Deno.readFile(GUEST_INITRD),
    regions: m.e820().filter((e) => e.type !== 1),
    acpiRsdp: m.tables?.rsdp,
  });
  (async () => {
    for await (const chunk of Deno.stdin.readable) {
      if (shell) m.serial.input(chunk);
      else held.push(chunk);
    }
  })();
  const o = await m.run();
  m.close();
  Deno.exit(o.kind === "poweroff" ? 0 : 1);
}
