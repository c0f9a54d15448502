// Runs `deno run -A cli/boot.ts ARGS` as a child process, feeds `stdin` (then closes it) and
// collects its output; the child is killed after `timeoutMs`.
const CLI = new URL("../../cli/boot.ts", import.meta.url).pathname;

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  end: number; // Date.now() when the process ended
}

export async function runBootCli(args: string[], stdin: string, timeoutMs: number): Promise<CliRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin));
  await w.close();
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr), end: Date.now() };
}
