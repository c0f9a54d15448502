// Reading /proc from tests and benchmarks that do not run with -A. Deno (2.x) lets a program read
// /proc and /dev files only with --allow-all, whatever --allow-read says; the tasks in deno.json
// never get -A (least privilege, README "Permissions"), so these go through `cat`/`ls`/`sh`, which
// --allow-run lets them run. With -A (a test file run by hand) the file is read directly.

const dec = new TextDecoder();

function viaCommand(cmd: string, args: string[]): string {
  const r = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).outputSync();
  if (!r.success) throw new Deno.errors.NotFound(`${cmd} ${args.join(" ")}: ${dec.decode(r.stderr).trim()}`);
  return dec.decode(r.stdout);
}

/** The text of a /proc file (/proc/self is this process, also through `cat`). */
export function readProc(path: string): string {
  path = path.replace(/^\/proc\/self\//, `/proc/${Deno.pid}/`);
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotCapable)) throw e;
    return viaCommand("cat", [path]);
  }
}

/** The names in a /proc folder (e.g. /proc/PID/fd). */
export function readProcDir(path: string): string[] {
  try {
    return [...Deno.readDirSync(path)].map((e) => e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotCapable)) throw e;
    return viaCommand("ls", ["-A", path]).split("\n").filter((l) => l !== "");
  }
}

/** Write `text` to a /proc file (e.g. /proc/PID/clear_refs). */
export function writeProc(path: string, text: string): void {
  try {
    Deno.writeTextFileSync(path, text);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotCapable)) throw e;
    viaCommand("sh", ["-c", `printf %s "$1" > "$2"`, "sh", text, path]);
  }
}
