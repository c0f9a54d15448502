// ring3 as a library: boot a Linux guest (or resume a snapshot) inside your own Deno program,
// talk to its serial console, steer it, save it. README "Embedding" shows it at work and
// examples/embed.ts runs it. Nothing here needs cli/.
//
//   import { boot } from "./mod.ts";
//   const vm = await boot({ memMiB: 128 });
//   await vm.waitFor("ring3: shell ready");
//   vm.send("uname -r\n");
//   const line = await vm.waitFor(/^\d+\.\d+/m);
//   await vm.save("/tmp/guest.snap");
//   await vm.stop();
import { Machine, type MachineOptions } from "./runtime/machine.ts";
import { bootBzImage, E820_RAM } from "./runtime/boot/bzimage.ts";
import { DEFAULT_APPEND, DEFAULT_INITRD, DEFAULT_KERNEL } from "./runtime/boot/defaults.ts";
import { Vm, type VmEvent, type VmOutcome } from "./runtime/control/vm.ts";
import { handleLine } from "./runtime/control/commands.ts";
import { ControlServer } from "./runtime/control/server.ts";
import type { NetConfig } from "./runtime/netopt.ts";
import { host } from "./runtime/platform/mod.ts";

export { Machine, Vm };
export type { MachineOptions, NetConfig, VmEvent, VmOutcome };
export { COMMANDS, execute, parseRequest } from "./runtime/control/commands.ts";
export { ControlServer } from "./runtime/control/server.ts";
export { SNAPSHOT_VERSION } from "./runtime/snapshot/snapshot.ts";
export { SnapshotError } from "./runtime/snapshot/persist.ts";
export { RING3_VERSION } from "./runtime/version.ts";
export { DEFAULT_APPEND, DEFAULT_INITRD, DEFAULT_KERNEL };

export interface BootOptions {
  memMiB?: number; // default 256
  smp?: number; // default 1
  kernel?: string | Uint8Array; // a bzImage (path or bytes); default: the committed guest
  initrd?: string | Uint8Array | null; // null: none; default: the committed initramfs
  append?: string; // kernel command line; default "console=ttyS0 tsc=reliable"
  net?: NetConfig[]; // NICs, each cabled to a ring3 switch (deno task switch)
  noReboot?: boolean; // a guest reset ends the run instead of booting again
  machine?: Partial<MachineOptions>; // anything else runtime/machine.ts takes (clock, smpThreads ...)
}

async function bytesOf(x: string | Uint8Array): Promise<Uint8Array> {
  return typeof x === "string" ? await host.readFile(x) : x;
}

// A running guest.
export class Guest {
  readonly done: Promise<VmOutcome>; // settles when the guest powers off, halts or is stopped
  private text = ""; // console output not yet consumed by waitFor
  private waiters: { test: (s: string) => number; resolve: (s: string) => void }[] = [];
  private server: ControlServer | null = null;

  constructor(readonly vm: Vm) {
    vm.onOutput((b) => {
      this.text += new TextDecoder("latin1").decode(b);
      if (this.text.length > 1 << 20) this.text = this.text.slice(-(1 << 19));
      this.match();
    });
    this.done = vm.run();
  }

  get machine(): Machine {
    return this.vm.machine;
  }

  // every byte the guest writes to its console (COM1), also those of a machine loaded later
  onOutput(sink: (bytes: Uint8Array) => void): () => void {
    return this.vm.onOutput(sink);
  }

  // the console as streams: `readable` carries the guest's output, what is written to `writable`
  // is typed on the console
  get console(): { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> } {
    let off = () => {};
    const readable = new ReadableStream<Uint8Array>({
      start: (c) => {
        off = this.vm.onOutput((b) => c.enqueue(b));
        this.done.finally(() => {
          off();
          try {
            c.close();
          } catch { /* cancelled */ }
        });
      },
      cancel: () => off(),
    });
    const writable = new WritableStream<Uint8Array>({ write: (b) => this.vm.input(b) });
    return { readable, writable };
  }

  // type on the console
  send(text: string | Uint8Array): void {
    this.vm.input(text);
  }

  // Resolves with the console output up to and including the first match of `pattern` after what
  // earlier waits consumed (a RegExp is tried on that text; use the m flag for line anchors).
  waitFor(pattern: string | RegExp, timeoutMs = 60_000): Promise<string> {
    const test = typeof pattern === "string"
      ? (s: string) => {
        const i = s.indexOf(pattern);
        return i < 0 ? -1 : i + pattern.length;
      }
      : (s: string) => {
        const m = new RegExp(pattern.source, pattern.flags.replace("g", "")).exec(s);
        return m ? m.index + m[0].length : -1;
      };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== entry);
        reject(new Error(`waitFor ${pattern}: not seen within ${timeoutMs} ms`));
      }, timeoutMs);
      const entry = {
        test,
        resolve: (s: string) => {
          clearTimeout(timer);
          resolve(s);
        },
      };
      this.waiters.push(entry);
      this.match();
    });
  }

  private match(): void {
    while (this.waiters.length) {
      const w = this.waiters[0];
      const end = w.test(this.text);
      if (end < 0) return;
      const got = this.text.slice(0, end);
      this.text = this.text.slice(end);
      this.waiters.shift();
      w.resolve(got);
    }
  }

  on(listener: (e: VmEvent) => void): () => void {
    return this.vm.on(listener);
  }
  stats(): Record<string, unknown> {
    return this.vm.stats();
  }
  pause(): Promise<void> {
    return this.vm.pause();
  }
  resume(): void {
    this.vm.resume();
  }
  save(file: string): Promise<{ bytes: number; ms: number }> {
    return this.vm.savevm(file);
  }
  load(file: string): Promise<{ ms: number }> {
    return this.vm.loadvm(file);
  }
  // a control command as the socket takes it ("stats", "sysrq h", {"cmd": ...}): the reply line
  command(line: string): Promise<string> {
    return handleLine(this.vm, line);
  }
  // a control socket for this guest (runtime/control/server.ts)
  async listen(path: string): Promise<void> {
    this.server ??= await ControlServer.listen(this.vm, path);
  }

  // End the guest at once (no shutdown inside it) and free the machine.
  async stop(): Promise<VmOutcome> {
    this.vm.quit();
    const o = await this.done;
    await this.server?.close();
    this.vm.machine.close();
    return o;
  }
}

// Build a PC, load a Linux bzImage and start it.
export async function boot(opts: BootOptions = {}): Promise<Guest> {
  const kernel = await bytesOf(opts.kernel ?? DEFAULT_KERNEL);
  const initrdSrc = opts.initrd === undefined ? DEFAULT_INITRD : opts.initrd;
  const initrd = initrdSrc === null ? undefined : await bytesOf(initrdSrc);
  const append = opts.append ?? DEFAULT_APPEND;
  const m = await Machine.create({ ...opts.machine, memMiB: opts.memMiB, smp: opts.smp, net: opts.net });
  const load = (mm: Machine) =>
    void bootBzImage(mm.ram, mm.core, kernel, {
      cmdline: append,
      initrd,
      regions: mm.e820().filter((e) => e.type !== E820_RAM),
      acpiRsdp: mm.tables?.rsdp,
    });
  load(m);
  const kernelPath = typeof opts.kernel === "string" ? opts.kernel : opts.kernel ? undefined : DEFAULT_KERNEL;
  const initrdPath = typeof initrdSrc === "string" ? initrdSrc : initrdSrc === null ? null : undefined;
  return new Guest(
    new Vm(m, {
      noReboot: opts.noReboot,
      reboot: load,
      hostOptions: opts.machine,
      boot: { kernel: kernelPath, initrd: initrdPath, append },
    }),
  );
}

// Resume a machine saved with save() / savevm (a file or its bytes).
export async function restore(
  snapshot: string | Uint8Array,
  opts: { machine?: Partial<MachineOptions>; noReboot?: boolean } = {},
): Promise<Guest> {
  const { machine, header } = await Vm.machineFromSnapshot(snapshot, opts.machine);
  const b = header.boot ?? {};
  const reboot = async (mm: Machine) => {
    const kernel = await host.readFile(typeof b.kernel === "string" ? b.kernel : DEFAULT_KERNEL);
    const initrd = b.initrd === null ? undefined : await host.readFile(
      typeof b.initrd === "string" ? b.initrd : DEFAULT_INITRD,
    );
    bootBzImage(mm.ram, mm.core, kernel, {
      cmdline: typeof b.append === "string" ? b.append : DEFAULT_APPEND,
      initrd,
      regions: mm.e820().filter((e) => e.type !== E820_RAM),
      acpiRsdp: mm.tables?.rsdp,
    });
  };
  const vm = new Vm(machine, { noReboot: opts.noReboot, reboot, hostOptions: opts.machine, boot: b });
  vm.setRetiredBefore(header);
  return new Guest(vm);
}
