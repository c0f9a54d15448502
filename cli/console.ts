// The console: COM1 on this terminal (raw mode, Ctrl-A keys, the monitor prompt) or on pipes (input
// held until the default guest's shell prompts), the --timing and --icount-at lines.
import type { Machine } from "../runtime/machine.ts";
import { Vm } from "../runtime/control/vm.ts";
import { handleLine } from "../runtime/control/commands.ts";
import { host } from "../runtime/platform/mod.ts";
import { type BootConfig, MARK_SHELL, MARK_USERSPACE } from "./options.ts";
import type { MachineLike } from "./machine.ts";
import { latin1 } from "./guest_files.ts";

const CTRL_A = 0x01;
const KEYS_HELP = [
  "C-a h    this help",
  "C-a x    quit ring3",
  "C-a s    status of every vCPU (instructions, state) and the time",
  "C-a b    send a break (then a key within 5 s: Linux's magic SysRq, e.g. h for its help)",
  "C-a c    monitor prompt with the control commands (help lists them; C-a c again leaves it)",
  "C-a C-a  send C-a to the guest",
];

const PROMPT_WAIT_MS = 5000; // after MARK_SHELL, held input waits at most this long for a prompt
// the end of a shell prompt: "# " or "$ ", or busybox ash's cursor-position query after it
// deno-lint-ignore no-control-regex -- ESC [ 6 n is busybox's cursor-position query
const PROMPT_END = /([#$] |\x1b\[6n)$/;

export class Console {
  private tail = "";
  private recent = ""; // the last few KiB of console text (the panic line)
  printed = false; // the guest wrote anything to the console since (re)boot
  private t0 = performance.now();
  private firstOutput = false;
  private marks = new Set<string>();
  private pending: Uint8Array[] = [];
  private released: boolean;
  private escape = false;
  private monitor: string | null = null; // the monitor line being typed, null: keys go to the guest
  private line = ""; // the console line being written, for --icount-at
  private enc = new TextEncoder();
  quit: (() => void) | null = null;
  brokenPipe: (() => void) | null = null;

  constructor(
    private vm: Vm,
    private cfg: BootConfig,
    private tty: boolean,
    private holdInput: boolean,
  ) {
    // Input that arrives before the guest's shell reads its terminal can be lost (CI saw a piped
    // script vanish once); for the default guest hold piped input until its shell prompts.
    this.released = tty || !holdInput;
  }

  private get m(): MachineLike {
    return this.vm.machine as unknown as MachineLike;
  }

  private err(line: string): void {
    try {
      host.stderr.writeSync(this.enc.encode(line + (this.tty ? "\r\n" : "\n")));
    } catch { /* stderr closed: nothing to tell */ }
  }

  private elapsed(): string {
    return ((performance.now() - this.t0) / 1000).toFixed(2) + " s";
  }

  restartClock(): void {
    this.t0 = performance.now();
    this.firstOutput = false;
    this.printed = false;
    this.recent = "";
    this.marks.clear();
    clearTimeout(this.promptTimer);
    this.promptTimer = undefined;
    this.released = this.tty || !this.holdInput; // a rebooted guest needs its shell again
  }

  output(data: Uint8Array): void {
    try {
      writeAll(host.stdout, data);
    } catch (e) {
      if (e instanceof host.errors.BrokenPipe) {
        this.brokenPipe?.();
        return;
      }
      throw e;
    }
    this.printed = true;
    this.recent = (this.recent + latin1(data)).slice(-8192);
    if (this.cfg.timing && !this.firstOutput) {
      this.firstOutput = true;
      this.err(`ring3: first kernel output after ${this.elapsed()}`);
    }
    if (this.cfg.icountAt.length) this.icountLines(data);
    // the marks are looked for in the last tail and all of this write (a write longer than the
    // tail, a mark and the shell's banner together, must not cut the mark off before the look)
    const seen = this.tail + latin1(data);
    this.tail = seen.slice(-256);
    for (const mark of [MARK_USERSPACE, MARK_SHELL]) {
      if (!this.marks.has(mark) && seen.includes(mark)) {
        this.marks.add(mark);
        if (this.cfg.timing) this.err(`ring3: '${mark}' after ${this.elapsed()}`);
        if (mark === MARK_SHELL) this.awaitPrompt();
      }
    }
    // the shell prints its prompt (busybox ash then asks the terminal for the cursor position)
    // once it reads its terminal: piped input goes in then, not while the shell is still starting
    if (this.promptTimer !== undefined && PROMPT_END.test(this.tail)) this.release();
  }

  // the kernel's "Kernel panic - not syncing: ..." line, if it reached the console
  panicLine(): string | null {
    const lines = this.recent.split(/\r?\n/).filter((l) => l.includes("Kernel panic"));
    return lines.length ? lines[lines.length - 1].replace(/^\[[ 0-9.]+\] /, "").trim() : null;
  }

  private promptTimer: ReturnType<typeof setTimeout> | undefined;
  private awaitPrompt(): void {
    if (this.released) return;
    // a shell whose prompt looks different gets the input after a while all the same
    const t = this.promptTimer = setTimeout(() => this.release(), PROMPT_WAIT_MS);
    host.unrefTimer(t); // (it must not keep a powered-off machine's process alive)
    if (PROMPT_END.test(this.tail)) this.release();
  }

  // The count is taken when the line's newline arrives, so a workload bracketed by two marked
  // lines is counted whole (bench/peers/race.ts divides it by the host time between them).
  private icountLines(data: Uint8Array): void {
    for (const b of data) {
      if (b === 13) continue;
      if (b !== 10) {
        if (this.line.length < 200) this.line += String.fromCharCode(b);
        continue;
      }
      const line = this.line;
      this.line = "";
      if (this.cfg.icountAt.some((p) => line.startsWith(p))) this.err(`ring3: icount ${this.icount()} after '${line}'`);
    }
  }

  private icount(): number {
    if (!this.m.retired) return Number(this.m.core.icount ?? 0n);
    let n = 0;
    for (let c = 0; c < (this.m.ncpu ?? 1); c++) n += this.m.retired(c);
    return n;
  }

  private release(): void {
    clearTimeout(this.promptTimer);
    this.promptTimer = undefined;
    if (this.released) return;
    this.released = true;
    for (const d of this.pending) this.vm.input(d);
    this.pending = [];
  }

  // Ctrl-A s: one line per vCPU
  private status(): void {
    const m = this.m;
    const n = m.ncpu ?? 1;
    this.err(`ring3: ${this.elapsed()} since boot, ${n} vCPU${n > 1 ? "s" : ""}, ${this.vm.state}`);
    const real = this.vm.machine as Machine;
    for (let c = 0; c < n; c++) {
      const insns = m.retired ? m.retired(c) : Number(m.core.icount ?? 0n);
      const v = real.vcpus?.[c];
      const state = v
        ? (["running", "waiting for SIPI", "stopped"][v.state] ?? "?") + (v.halted ? ", halted" : "")
        : "";
      const eip = v ? `, EIP ${v.core.eip.toString(16).padStart(8, "0")}` : "";
      this.err(`  CPU ${c}: ${insns} instructions${state ? `, ${state}` : ""}${eip}`);
    }
  }

  // a key typed at the monitor prompt
  private monitorKey(b: number): void {
    if (b === 13 || b === 10) {
      const line = this.monitor!.trim();
      this.monitor = "";
      this.err("");
      if (line) {
        void handleLine(this.vm, line).then((reply) => {
          const r = JSON.parse(reply);
          const text = r.ok ? JSON.stringify(r.result, null, 2) : `error: ${r.error}`;
          for (const l of text.split("\n")) this.err(l);
          this.prompt();
        });
      } else this.prompt();
      return;
    }
    if (b === 0x7f || b === 8) {
      if (this.monitor!.length) {
        this.monitor = this.monitor!.slice(0, -1);
        this.rawErr("\b \b");
      }
      return;
    }
    if (b < 0x20) return;
    this.monitor += String.fromCharCode(b);
    this.rawErr(String.fromCharCode(b));
  }
  private prompt(): void {
    if (this.monitor !== null) this.rawErr("(ring3) ");
  }
  private rawErr(s: string): void {
    try {
      host.stderr.writeSync(this.enc.encode(s));
    } catch { /* stderr closed */ }
  }

  // bytes from the host's stdin
  input(data: Uint8Array): void {
    if (!this.tty) {
      if (this.released) this.vm.input(data);
      else this.pending.push(data.slice());
      return;
    }
    const out: number[] = [];
    for (const b of data) {
      if (this.escape) {
        this.escape = false;
        const k = String.fromCharCode(b | 0x20);
        if (b === CTRL_A) {
          if (this.monitor === null) out.push(CTRL_A);
        } else if (k === "x") {
          this.err("\r\nring3: quit");
          this.quit?.();
          return;
        } else if (k === "h") { for (const l of KEYS_HELP) this.err(l); }
        else if (k === "s") this.status();
        else if (k === "b") {
          (this.vm.machine as Machine).com1?.receiveBreak();
          this.err("ring3: break sent (a key within 5 s is Linux's SysRq)");
        } else if (k === "c") {
          if (this.monitor === null) {
            this.monitor = "";
            this.err("\r\nring3 monitor: control commands (help lists them); C-a c returns to the guest");
            this.prompt();
          } else {
            this.monitor = null;
            this.err("\r\nring3: back to the guest");
          }
        }
        continue;
      }
      if (b === CTRL_A) this.escape = true;
      else if (this.monitor !== null) this.monitorKey(b);
      else out.push(b);
    }
    if (out.length) this.vm.input(new Uint8Array(out));
  }
}

function writeAll(w: { writeSync(p: Uint8Array): number }, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += w.writeSync(data.subarray(off));
}

export async function pumpStdin(con: Console): Promise<void> {
  const buf = new Uint8Array(4096);
  for (;;) {
    let n: number | null;
    try {
      n = await host.stdin.read(buf);
    } catch {
      return; // stdin closed under us (e.g. on quit)
    }
    if (n === null) return; // EOF: the guest keeps running until it powers off
    con.input(buf.subarray(0, n));
  }
}
