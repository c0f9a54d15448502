// `deno task boot`: boot a Linux bzImage on ring3 with QEMU-like flags. The console is COM1: on a
// terminal it is interactive (raw mode, Ctrl-A x quits); otherwise stdin feeds COM1 and the guest's
// output goes to stdout, so `echo 'uname -a; poweroff -f' | deno task boot` works in scripts.
// Exits 0 when the guest powers off. `--bios FILE` instead powers on a PC with that ROM and lets
// the CPU start at the reset vector, as QEMU's -bios without -kernel does. Argument parsing and
// file checks are plain functions so they are testable without a machine; the machine is imported
// only when a boot really starts. The parts: options.ts (the flags and --help), guest_files.ts
// (reading and checking kernel, initrd, ROM), machine.ts (the machine glue, debugcon), console.ts
// (COM1 on this terminal, Ctrl-A keys, monitor prompt), run.ts (a run to its end: signals, the
// control socket, reboots), exit.ts (the exit statuses).
import { BootImageError } from "../runtime/boot/bzimage.ts";
import { ControlError } from "../runtime/control/server.ts";
import { SnapshotError } from "../runtime/snapshot/persist.ts";
import { RING3_VERSION } from "../runtime/version.ts";
import { host, isMain } from "../runtime/platform/mod.ts";
import { BootFileError, parseBootArgs, USAGE, UsageError } from "./options.ts";
import { loadBootFiles } from "./guest_files.ts";
import type { MachineFactory } from "./machine.ts";
import { restoreGuest, runGuest } from "./run.ts";
import { EXIT_BROKEN_PIPE } from "./exit.ts";

// the parts, for the tests and tools that import cli/boot.ts
export * from "./options.ts";
export { type BootFiles, loadBootFiles } from "./guest_files.ts";
export type { MachineFactory, MachineLike, MachineOptions, PortHandler, RunOutcome } from "./machine.ts";
export { restoreGuest, runGuest } from "./run.ts";
export * from "./exit.ts";

export function versionText(): string {
  let commit = "";
  try {
    const r = new host.Command("git", {
      args: ["-C", new URL("..", import.meta.url).pathname, "describe", "--always", "--dirty"],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    if (r.success) commit = ` (${new TextDecoder().decode(r.stdout).trim()})`;
  } catch { /* no git: the version alone */ }
  return `ring3 ${RING3_VERSION}${commit}\n${host.version}`;
}

export async function main(argv: string[], factory?: MachineFactory): Promise<number> {
  const say = (msg: string) => {
    try {
      console.error(`ring3: ${msg}`);
    } catch { /* stderr closed */ }
  };
  try {
    const cfg = parseBootArgs(argv);
    if (cfg.help) {
      console.log(USAGE);
      return 0;
    }
    if (cfg.version) {
      console.log(versionText());
      return 0;
    }
    if (cfg.restore !== null) return await restoreGuest(cfg);
    const files = await loadBootFiles(cfg);
    return await runGuest(cfg, files, factory);
  } catch (e) {
    if (e instanceof UsageError) {
      say(e.message);
      return 2;
    }
    if (e instanceof BootFileError || e instanceof BootImageError || e instanceof SnapshotError) {
      say(e.message);
      return 1;
    }
    if (e instanceof ControlError) {
      say(e.message);
      return 1;
    }
    if (e instanceof host.errors.BrokenPipe) return EXIT_BROKEN_PIPE;
    say(`internal error: ${(e as Error)?.message?.split("\n")[0] ?? e}`);
    if (host.env.get("RING3_DEBUG")) console.error(e);
    return 1;
  }
}

if (isMain(import.meta)) host.exit(await main(host.args));
