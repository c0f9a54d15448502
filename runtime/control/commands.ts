// The control commands, one table for the control socket (server.ts), the console's monitor
// prompt (Ctrl-A c in cli/boot.ts) and the embedding API (mod.ts). A request is a JSON object
// {"cmd": "savevm", "args": ["/tmp/a.snap"], "id": 7} or, for people, the same as a text line
// `savevm /tmp/a.snap`; the reply is {"id": 7, "ok": true, "result": ...} or {"ok": false, "error": "..."}.
import type { Vm } from "./vm.ts";

export interface Command {
  usage: string;
  help: string;
  args: [number, number]; // how many arguments: min, max
  run(vm: Vm, args: string[]): unknown | Promise<unknown>;
}

export class CommandError extends Error {
  override name = "CommandError";
}

function nicCable(vm: Vm, name: string, state: string): unknown {
  const nics = vm.machine.nics;
  const n = nics.find((x, i) => name === `nic${i}` || x.name === name || name === String(i));
  if (!n) {
    throw new CommandError(
      `no NIC '${name}' (${nics.length ? nics.map((_, i) => `nic${i}`).join(", ") : "this machine has none"})`,
    );
  }
  if (state !== "up" && state !== "down") throw new CommandError("nic NAME up|down");
  const up = state === "up";
  // the cable: no frames in while it is out, and the device sees its carrier go (or come back
  // when the switch is connected)
  n.link.hold(!up);
  n.link.onLink(up && n.link.up);
  const nic = `nic${nics.indexOf(n)}`;
  vm.emit({ event: "link", nic, up });
  return { nic, up };
}

export const COMMANDS: Record<string, Command> = {
  help: {
    usage: "help",
    help: "list the commands",
    args: [0, 0],
    run: () => Object.values(COMMANDS).map((c) => `${c.usage.padEnd(22)} ${c.help}`),
  },
  status: {
    usage: "status",
    help: "running, paused or off; CPUs, memory, guest time",
    args: [0, 0],
    run: (vm) => ({
      state: vm.state,
      cpus: vm.machine.ncpu,
      memMiB: vm.machine.ramBytes / 0x100000,
      guestSeconds: vm.guestNs() / 1e9,
      nics: vm.machine.nics.map((n, i) => ({ nic: `nic${i}`, model: n.config.model, link: n.link.up })),
    }),
  },
  pause: {
    usage: "pause",
    help: "stop every vCPU (guest time stops too)",
    args: [0, 0],
    run: async (vm) => {
      await vm.pause();
      return { state: vm.state };
    },
  },
  resume: {
    usage: "resume",
    help: "run the vCPUs again",
    args: [0, 0],
    run: (vm) => {
      vm.resume();
      return { state: vm.paused ? "running" : vm.state };
    },
  },
  stats: {
    usage: "stats",
    help: "per vCPU: instructions, state, block compiler; per device: counters",
    args: [0, 0],
    run: (vm) => vm.stats(),
  },
  regs: {
    usage: "regs CPU",
    help: "one vCPU's registers as of its last slice (general, EIP, segments, control registers)",
    args: [1, 1],
    run: (vm, [cpu]) => {
      const n = Number(cpu);
      if (!Number.isInteger(n) || n < 0 || n >= vm.machine.ncpu) {
        throw new CommandError(`no CPU '${cpu}' (0..${vm.machine.ncpu - 1})`);
      }
      return vm.regs(n);
    },
  },
  xp: {
    usage: "xp ADDR [LEN]",
    help: "guest-physical memory at ADDR (hex or decimal), LEN bytes (default 64, at most 4096), as hex",
    args: [1, 2],
    run: (vm, [addr, len]) => {
      const a = Number(addr), n = len === undefined ? 64 : Number(len);
      if (!Number.isInteger(a) || a < 0) throw new CommandError(`bad address '${addr}'`);
      if (!Number.isInteger(n) || n < 1 || n > 4096) throw new CommandError(`bad length '${len}' (1..4096)`);
      const b = vm.machine.ram.read(a, n);
      if (!b) throw new CommandError(`${addr}+${n} is not all guest RAM`);
      return { addr: "0x" + a.toString(16), hex: Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("") };
    },
  },
  sysrq: {
    usage: "sysrq KEY",
    help: "magic SysRq: a serial break and KEY on COM1 (h: help, t: tasks, s: sync ...)",
    args: [1, 1],
    run: (vm, [key]) => {
      if (key.length !== 1) throw new CommandError(`sysrq wants one key, not '${key}'`);
      vm.sysrq(key);
      return { key };
    },
  },
  sendkeys: {
    usage: "sendkeys TEXT",
    help: "type TEXT on COM1 (JSON strings carry newlines; ctl turns \\n into one)",
    args: [1, 1],
    run: (vm, [text]) => {
      vm.input(text);
      return { bytes: new TextEncoder().encode(text).length };
    },
  },
  nic: {
    usage: "nic NAME up|down",
    help: "plug or pull a NIC's cable (NAME: nic0, nic1 ...)",
    args: [2, 2],
    run: (vm, [name, state]) => nicCable(vm, name, state),
  },
  powerdown: {
    usage: "powerdown",
    help: "press the ACPI power button (the guest shuts down cleanly)",
    args: [0, 0],
    run: (vm) => {
      vm.powerdown();
      return {};
    },
  },
  quit: {
    usage: "quit",
    help: "end ring3 at once (the guest is not asked)",
    args: [0, 0],
    run: (vm) => {
      vm.quit();
      return {};
    },
  },
  savevm: {
    usage: "savevm FILE",
    help: "write the whole machine to FILE (a running machine pauses for it)",
    args: [1, 1],
    run: (vm, [file]) => vm.savevm(file),
  },
  loadvm: {
    usage: "loadvm FILE",
    help: "replace the machine by the one saved in FILE",
    args: [1, 1],
    run: (vm, [file]) => vm.loadvm(file),
  },
};

export interface Request {
  id?: unknown;
  cmd: string;
  args: string[];
}

// One request line: a JSON object, or words (the last argument of sendkeys is the rest of the line).
export function parseRequest(line: string): Request {
  const t = line.trim();
  if (t.startsWith("{")) {
    let o: { id?: unknown; cmd?: unknown; args?: unknown };
    try {
      o = JSON.parse(t);
    } catch {
      throw new CommandError("bad JSON");
    }
    if (typeof o.cmd !== "string") throw new CommandError('a request needs "cmd": "NAME"');
    const args = o.args === undefined ? [] : o.args;
    if (!Array.isArray(args) || args.some((a) => typeof a !== "string")) {
      throw new CommandError('"args" must be an array of strings');
    }
    return { id: o.id, cmd: o.cmd, args };
  }
  const m = /^(\S+)\s*(.*)$/.exec(t);
  if (!m) throw new CommandError("empty request");
  const cmd = m[1];
  if (cmd === "sendkeys") return { cmd, args: m[2] ? [m[2]] : [] };
  return { cmd, args: m[2] ? m[2].split(/\s+/) : [] };
}

export async function execute(vm: Vm, req: Request): Promise<unknown> {
  const c = Object.hasOwn(COMMANDS, req.cmd) ? COMMANDS[req.cmd] : undefined;
  if (!c) throw new CommandError(`unknown command '${req.cmd}' (help lists them)`);
  const [lo, hi] = c.args;
  if (req.args.length < lo || req.args.length > hi) throw new CommandError(`usage: ${c.usage}`);
  return await c.run(vm, req.args);
}

// A request line in, a reply line out (never throws).
export async function handleLine(vm: Vm, line: string): Promise<string> {
  let id: unknown;
  try {
    const req = parseRequest(line);
    id = req.id;
    const result = await execute(vm, req);
    return JSON.stringify(id === undefined ? { ok: true, result } : { id, ok: true, result });
  } catch (e) {
    const error = (e as Error)?.message?.split("\n")[0] ?? String(e);
    return JSON.stringify(id === undefined ? { ok: false, error } : { id, ok: false, error });
  }
}
