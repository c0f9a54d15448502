// Helpers shared by the guest check tests: parsing the CHECK lines the programs in guest/tests
// print, and compiling/running those programs natively (x86-64) on the host.

export const GUEST_DIR = new URL("../../guest/", import.meta.url).pathname;
export const TESTS_SRC = GUEST_DIR + "tests/";
export const PROGRAMS = ["sigcheck", "iocheck"] as const;
// what the native runs pass so nothing touches the host's ports
export const NATIVE_ARGS: Record<string, string[]> = { sigcheck: [], iocheck: ["--no-grant"] };

export interface Check {
  name: string;
  status: "PASS" | "FAIL" | "SKIP";
  detail: string;
}

export interface Report {
  checks: Check[];
  summaries: string[]; // SUMMARY lines
}

// CHECK lines may share a console line with kernel messages or the COM1 markers, so each match
// is taken wherever it starts.
export function parseChecks(text: string): Report {
  const checks: Check[] = [];
  const summaries: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const m = /CHECK (\S+) (PASS|FAIL|SKIP)\s*(.*)$/.exec(raw);
    if (m) checks.push({ name: m[1], status: m[2] as Check["status"], detail: m[3].trim() });
    const s = /SUMMARY \S+ \d+ passed, \d+ failed, \d+ skipped/.exec(raw);
    if (s) summaries.push(s[0]);
  }
  return { checks, summaries };
}

export function describe(checks: Check[]): string {
  return checks.map((c) => `  ${c.name} ${c.status}${c.detail ? " " + c.detail : ""}`).join("\n");
}

export async function run(cmd: string, args: string[], opts: Deno.CommandOptions = {}) {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", ...opts }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

export async function hasCommand(cmd: string): Promise<boolean> {
  try {
    return (await run(cmd, ["--version"])).code === 0;
  } catch {
    return false;
  }
}

// Native builds need gcc on an x86-64 host (the asm in the programs is x86).
export async function nativeAvailable(): Promise<string | null> {
  if (Deno.build.arch !== "x86_64") return `host is ${Deno.build.arch}, not x86-64`;
  if (!(await hasCommand("gcc"))) return "gcc not found";
  return null;
}

// Compile guest/tests/NAME.c for the host; returns the binary's path.
export async function buildNative(name: string, dir: string): Promise<string> {
  const bin = `${dir}/${name}`;
  const r = await run("gcc", ["-O2", "-Wall", "-Wextra", "-Werror", "-o", bin, `${TESTS_SRC}${name}.c`]);
  if (r.code !== 0) throw new Error(`gcc ${name}.c failed:\n${r.stderr}`);
  return bin;
}

export async function runNative(name: string, dir: string): Promise<{ code: number; out: string; report: Report }> {
  const bin = await buildNative(name, dir);
  const r = await run(bin, NATIVE_ARGS[name] ?? []);
  return { code: r.code, out: r.stdout + r.stderr, report: parseChecks(r.stdout) };
}

// Names of all checks, in order, as the programs print them (native runs print SKIP lines for the
// ones they cannot do, so every name shows up).
export async function expectedCheckNames(): Promise<string[] | null> {
  if (await nativeAvailable()) return null;
  const dir = await Deno.makeTempDir({ prefix: "ring3-checks-" });
  try {
    const names: string[] = [];
    for (const p of PROGRAMS) names.push(...(await runNative(p, dir)).report.checks.map((c) => c.name));
    return names;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// ---- the test initramfs -------------------------------------------------------------------------

// Entries of a newc cpio archive (stops at TRAILER!!!).
export function readCpio(b: Uint8Array): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const dec = new TextDecoder();
  const hex = (off: number) => parseInt(dec.decode(b.subarray(off, off + 8)), 16);
  let off = 0;
  while (off + 110 <= b.length) {
    const magic = dec.decode(b.subarray(off, off + 6));
    if (magic !== "070701" && magic !== "070702") throw new Error(`cpio: bad magic at ${off}`);
    const size = hex(off + 54);
    const nameSize = hex(off + 94);
    const name = dec.decode(b.subarray(off + 110, off + 110 + nameSize - 1));
    const dataOff = (off + 110 + nameSize + 3) & ~3;
    if (name === "TRAILER!!!") break;
    files.set(name.replace(/^\.\//, ""), b.subarray(dataOff, dataOff + size));
    off = (dataOff + size + 3) & ~3;
  }
  return files;
}

export async function gunzip(b: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([b.slice()]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function sha256Hex(b: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b.slice()));
  return Array.from(d, (x) => x.toString(16).padStart(2, "0")).join("");
}

// What guest/build-tests.sh records in /opt/tests/SOURCES, computed from the working tree.
export async function sourcesDigest(): Promise<string> {
  const names: string[] = [];
  for await (const e of Deno.readDir(TESTS_SRC)) {
    if (e.isFile && (/\.[ch]$/.test(e.name) || e.name === "init")) names.push("tests/" + e.name);
  }
  // LC_ALL=C sort order, as the script's
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let out = "";
  for (const n of ["build-tests.sh", ...names]) {
    out += `${await sha256Hex(await Deno.readFile(GUEST_DIR + n))}  ${n}\n`;
  }
  return out;
}
