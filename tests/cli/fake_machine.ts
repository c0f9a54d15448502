// Runs cli/boot.ts's main() against a scripted stand-in for runtime/machine.ts, so the console
// plumbing (stdin held until the shell's prompt, stdout, --timing, resets) is testable without a
// CPU. The fake guest prints a kernel line, the shell marker and a prompt, echoes input lines,
// powers off on "poweroff" and resets on "reboot" the first time; a second boot powers off by
// itself.
import { type MachineLike, type MachineOptions, main, type RunOutcome } from "../../cli/boot.ts";
import { GuestRam } from "../../runtime/memory.ts";

let boots = 0;
let shellReady = false;

function fake(opts: MachineOptions): Promise<MachineLike> {
  const enc = new TextEncoder();
  let line = "";
  let finish: ((why: RunOutcome) => void) | null = null;
  const m: MachineLike = {
    ram: GuestRam.detached(opts.memMiB << 20),
    core: {
      ex: { setSeg() {}, resyncFromState() {} },
      set() {},
      setReg() {},
      icount: 42n,
    },
    ncpu: opts.smp,
    retired: (cpu: number) => 1000 + cpu,
    serial: {
      onOutput: null,
      input(data: Uint8Array) {
        if (!finish) return; // stopped: a real machine would drop it too
        if (!shellReady) say("EARLY INPUT\n");
        for (const b of data) {
          if (b !== 10) {
            line += String.fromCharCode(b);
            continue;
          }
          say(`> ${line}\n`);
          const why = line.includes("poweroff") ? "poweroff" : line.includes("reboot") ? "reset" : "";
          line = "";
          if (why) {
            finish?.(why === "reset" ? { kind: "reset", reason: "keyboard controller" } : why);
            finish = null;
            return;
          }
        }
      },
    },
    run() {
      boots++;
      shellReady = false;
      // the ZERO_PAGE magic proves the loader ran on this RAM before the guest started
      const hdrs = String.fromCharCode(...m.ram.view(0x10202, 4)!);
      say(`Linux version fake boot=${boots} smp=${opts.smp} mem=${opts.memMiB} ${hdrs}\n`);
      return new Promise((res) => {
        finish = res;
        setTimeout(() => {
          say("ring3: shell ready\n");
          if (boots > 1) finish?.("poweroff");
          // the shell starts, then prints its prompt and reads (FAKE_PROMPT=none: no prompt)
          setTimeout(() => {
            shellReady = true;
            if (Deno.env.get("FAKE_PROMPT") !== "none") say("/ # ");
          }, 200);
        }, 300);
      });
    },
    reset() {},
  };
  const say = (s: string) => m.serial.onOutput?.(enc.encode(s));
  return Promise.resolve(m);
}

Deno.exit(await main(Deno.args, fake));
