// Restore as a start-up path: a booted default guest (256 MiB, at its shell prompt) is saved
// once when the module loads; then
//   - "restore to a working shell, in process": mod.ts restore() of the file until the shell has
//     run `echo` and printed the result (the machine built, the file read into it, the guest
//     running interpreted and compiling its hot blocks again), and
//   - "restore to a working shell, new process": `deno run cli/boot.ts --restore FILE` from spawn
//     until its stdout shows the echo's output (Deno's start-up and module loading included).
// The target is 150 ms for the new process on a quiet machine (README, "Snapshots"). Also
// printed once: the file's size, and the floor under the new process: Deno starting an empty
// program on this host (wall time), which no change to ring3 can go below.
import { boot, restore } from "../mod.ts";
import { readSnapshotHeader } from "../runtime/snapshot/snapshot.ts";
import { readProc } from "../tests/lib/procfs.ts";

const CLI = new URL("../cli/boot.ts", import.meta.url).pathname;
const ROOT = new URL("../", import.meta.url).pathname;
const file = await Deno.makeTempFile({ suffix: ".ring3snap" });
{
  const g = await boot({ memMiB: 256 });
  await g.waitFor("ring3: shell ready", 600_000);
  await g.waitFor("# ", 60_000);
  await g.save(file);
  await g.stop();
  const bytes = await Deno.readFile(file);
  const h = readSnapshotHeader(bytes).header;
  console.log(`snapshot: ${(bytes.length / 2 ** 20).toFixed(1)} MiB, ${h.savedPages} of ${h.ramPages} RAM pages`);
}

async function inProcess(): Promise<number> {
  const t0 = performance.now();
  const g = await restore(file);
  g.send("echo ok-$((6*7))\n");
  await g.waitFor("ok-42", 60_000);
  const ms = performance.now() - t0;
  await g.stop();
  return ms;
}

// user + system CPU time of a live process (Linux /proc), ms: the figure a loaded host distorts least
function cpuMs(pid: number): number {
  try {
    const f = readProc(`/proc/${pid}/stat`).split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) * 10; // utime, stime in 100 Hz ticks
  } catch {
    return NaN;
  }
}
const cpu: number[] = [];

// `deno run cli/boot.ts --restore FILE`, or with `task` the README's `deno task boot --restore FILE`
// (Deno's task runner and the core's up-to-date check before it)
async function newProcess(task = false): Promise<number> {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: task ? ["task", "-q", "boot", "--restore", file] : ["run", "-A", CLI, "--restore", file],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode("echo ok-$((6*7))\n"));
  let out = "";
  let ms = NaN;
  for await (const t of child.stdout.pipeThrough(new TextDecoderStream())) {
    out += t;
    if (/ok-42\r?\n/.test(out)) {
      ms = performance.now() - t0;
      if (!task) cpu.push(cpuMs(child.pid));
      break;
    }
  }
  if (task) {
    // the task runner would leave its child behind a SIGKILL: the guest powers off instead
    await w.write(new TextEncoder().encode("poweroff -f\n")).catch(() => {});
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    await child.status;
    clearTimeout(timer);
  } else {
    child.kill("SIGKILL");
    await child.status;
  }
  await w.close().catch(() => {});
  return ms;
}

// Deno's own start: `deno run` of an empty program, to its exit
const empty = await Deno.makeTempFile({ suffix: ".ts" });
const floor = { wall: [] as number[] };
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), { args: ["run", empty], stdout: "null", stderr: "null" }).spawn();
  await child.status;
  floor.wall.push(performance.now() - t0);
}
Deno.removeSync(empty);

const runs = { in: [] as number[], out: [] as number[], task: [] as number[] };
for (let i = 0; i < 5; i++) {
  runs.in.push(await inProcess());
  runs.out.push(await newProcess());
  runs.task.push(await newProcess(true));
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(
  `restore to a working shell: in process median ${med(runs.in).toFixed(0)} ms (${
    runs.in.map((x) => x.toFixed(0)).join(" ")
  }), new process median ${med(runs.out).toFixed(0)} ms (${runs.out.map((x) => x.toFixed(0)).join(" ")}; host CPU ${
    cpu.map((x) => x.toFixed(0)).join(" ")
  } ms); deno task boot --restore median ${med(runs.task).toFixed(0)} ms (${
    runs.task.map((x) => x.toFixed(0)).join(" ")
  }); an empty deno run: median ${med(floor.wall).toFixed(0)} ms`,
);

Deno.bench({ name: "restore to a working shell, in process", n: 5, warmup: 1 }, async () => {
  await inProcess();
});
Deno.bench(
  { name: "restore to a working shell, new process (deno run cli/boot.ts --restore)", n: 5, warmup: 1 },
  async () => {
    await newProcess();
  },
);
Deno.bench({ name: "restore to a working shell, deno task boot --restore", n: 5, warmup: 1 }, async () => {
  await newProcess(true);
});
addEventListener("unload", () => Deno.removeSync(file));
