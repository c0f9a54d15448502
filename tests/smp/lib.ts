// Boots the committed kernel with the test initramfs on a Machine and collects the console.
import { Machine, type MachineOptions, type Outcome } from "../../runtime/machine.ts";
import { bootBzImage, E820_RAM } from "../../runtime/boot/bzimage.ts";
import { readProc } from "../../tests/lib/procfs.ts";

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

// A guest in its own `deno run cli/boot.ts` process, so that /proc/<pid>/stat counts its host
// CPU time alone (deno test runs every test module in one process).
export interface ChildBoot {
  pid: number;
  out: () => string;
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  send(s: string): Promise<void>;
  done: Promise<Deno.CommandStatus>;
}

export function bootChild(args: string[]): ChildBoot {
  const cli = new URL("../../cli/boot.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const waiters: { text: string; resolve: () => void }[] = [];
  const done = (async () => {
    const dec = new TextDecoder("latin1");
    const err = (async () => {
      for await (const c of child.stderr) text += dec.decode(c);
    })();
    for await (const c of child.stdout) {
      text += dec.decode(c);
      for (const w of waiters.splice(0)) text.includes(w.text) ? w.resolve() : waiters.push(w);
    }
    await err;
    return await child.status;
  })();
  const writer = child.stdin.getWriter();
  return {
    pid: child.pid,
    out: () => text,
    send: (s) => writer.write(new TextEncoder().encode(s)),
    done,
    waitFor(t, timeoutMs = 600_000) {
      if (text.includes(t)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill();
          reject(new Error(`timed out waiting for '${t}'\n${text.slice(-3000)}`));
        }, timeoutMs);
        waiters.push({ text: t, resolve: () => (clearTimeout(timer), resolve()) });
        done.then(() => {
          if (!text.includes(t)) {
            clearTimeout(timer);
            reject(new Error(`guest process ended before '${t}'\n${text.slice(-3000)}`));
          }
        });
      });
    },
  };
}

// user + system CPU milliseconds of another process
export function processCpuMs(pid: number): number {
  const f = readProc(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * 10; // clock ticks of 10 ms
}
