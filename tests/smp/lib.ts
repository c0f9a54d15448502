// Boots the committed kernel with the test initramfs on a Machine and collects the console.
import { Machine, type MachineOptions, type Outcome } from "../../runtime/machine.ts";
import { bootBzImage, E820_RAM } from "../../runtime/boot/bzimage.ts";

const images = new URL("../../guest/images/", import.meta.url);
export const KERNEL = new URL("bzImage", images).pathname;
export const TEST_INITRD = new URL("initramfs-tests.cpio.gz", images).pathname;

export interface Boot {
  m: Machine;
  out: () => string;
  // resolves once the console has printed `text`
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  done: Promise<Outcome>;
}

export async function boot(opts: MachineOptions, cmdline: string): Promise<Boot> {
  let text = "";
  const waiters: { text: string; resolve: () => void }[] = [];
  const m = await Machine.create({
    memMiB: 128,
    ...opts,
    serialOut: (b) => {
      text += new TextDecoder("latin1").decode(b);
      for (const w of waiters.splice(0)) {
        if (text.includes(w.text)) w.resolve();
        else waiters.push(w);
      }
    },
  });
  bootBzImage(m.ram, m.core, await Deno.readFile(KERNEL), {
    cmdline,
    initrd: await Deno.readFile(TEST_INITRD),
    regions: m.e820().filter((e) => e.type !== E820_RAM),
    acpiRsdp: m.tables?.rsdp,
  });
  const done = m.run();
  return {
    m,
    out: () => text,
    done,
    waitFor(t: string, timeoutMs = 600_000) {
      if (text.includes(t)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for '${t}'\n${text.slice(-3000)}`)),
          timeoutMs,
        );
        waiters.push({ text: t, resolve: () => (clearTimeout(timer), resolve()) });
        done.then(() => {
          if (!text.includes(t)) {
            clearTimeout(timer);
            reject(new Error(`machine stopped before '${t}'\n${text.slice(-3000)}`));
          }
        }, reject);
      });
    },
  };
}

// process CPU time (user + system) in ms
export async function cpuMs(): Promise<number> {
  const { default: process } = await import("node:process");
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
