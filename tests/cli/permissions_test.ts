// Least privilege (README "Permissions"): no task in deno.json runs with -A, each names its
// permissions, the env names ring3 reads are all in the boot task's list (a new host.env.get
// elsewhere would otherwise fail at run time, not here), and the tasks work with exactly the
// flags they have: the switch, ctl, and a boot to the shell with a disk and user networking.
import assert from "node:assert/strict";
import { findPasst } from "../../net/passt.ts";

const ROOT = new URL("../../", import.meta.url);
const dec = new TextDecoder();

/** deno.json's tasks: name -> command line (comments stripped: deno.json is JSONC). */
function tasks(): Record<string, string> {
  const text = Deno.readTextFileSync(new URL("deno.json", ROOT)).split("\n").filter((l) => !/^\s*\/\//.test(l)).join(
    "\n",
  );
  const t = JSON.parse(text).tasks as Record<string, string | { command: string }>;
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, typeof v === "string" ? v : v.command]));
}

/** The permission flags of a task's deno command: flag -> value ("" when it has none). */
function flags(cmd: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const w of cmd.split(/\s+/)) {
    const f = /^(--(?:allow|deny)-[a-z]+|-A)(?:=(.*))?$/.exec(w);
    if (f) m.set(f[1], f[2] ?? "");
  }
  return m;
}

Deno.test("permissions: no task runs with -A or --allow-all; every deno task names its permissions", () => {
  const all = tasks();
  assert.ok(Object.keys(all).length >= 8, Object.keys(all).join(" "));
  for (const [name, cmd] of Object.entries(all)) {
    assert.doesNotMatch(cmd, /(^|\s)(-A|--allow-all)(\s|=|$)/, `task ${name} uses -A: ${cmd}`);
    assert.doesNotMatch(cmd, /(^|\s)-[a-zA-Z]*A[a-zA-Z]*(\s|$)/, `task ${name}: a short flag with A: ${cmd}`);
  }
  const boot = flags(all.boot), sw = flags(all.switch), ctl = flags(all.ctl), build = flags(all.build);
  // the boot: env names listed, programs listed (passt for user networking, git for --version),
  // uid/gid only (passt's --runas), and never a write into ring3's own code
  assert.ok(boot.get("--allow-env"), "boot lists its env names");
  assert.deepEqual(boot.get("--allow-run")!.split(",").sort(), ["git", "passt"]);
  assert.equal(boot.get("--allow-sys"), "uid,gid");
  for (const dir of ["cli", "runtime", "net", "core-as"]) assert.ok(boot.get("--deny-write")!.split(",").includes(dir));
  // the switch and ctl run nothing and read no environment
  for (const f of [sw, ctl]) {
    assert.ok(!f.has("--allow-run") && !f.has("--allow-env") && !f.has("--allow-sys"), [...f.keys()].join(" "));
  }
  assert.ok(!ctl.has("--allow-ffi"), "ctl needs no FFI");
  // the build reads the project and writes only its outputs
  assert.equal(build.get("--allow-read"), ".");
  assert.deepEqual(build.get("--allow-write")!.split(",").sort(), ["build", "core-as/generated", "core-as/prebuilt"]);
});

Deno.test("permissions: every env name ring3 reads is in the boot task's --allow-env", () => {
  const allowed = new Set(flags(tasks().boot).get("--allow-env")!.split(","));
  const read = new Set<string>();
  const walk = (dir: URL) => {
    for (const e of Deno.readDirSync(dir)) {
      const u = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
      if (e.isDirectory) walk(u);
      else if (e.name.endsWith(".ts")) {
        for (const m of Deno.readTextFileSync(u).matchAll(/(?:Deno|host)\.env\.(?:get|has)\(\s*"([A-Za-z0-9_]+)"/g)) {
          read.add(m[1]);
        }
      }
    }
  };
  for (const d of ["runtime/", "cli/", "net/"]) walk(new URL(d, ROOT));
  for (
    const m of Deno.readTextFileSync(new URL("mod.ts", ROOT)).matchAll(/(?:Deno|host)\.env\.get\("([A-Za-z0-9_]+)"/g)
  ) {
    read.add(m[1]);
  }
  assert.ok(read.size > 3, [...read].join(" "));
  const missing = [...read].filter((n) => !allowed.has(n));
  assert.deepEqual(missing, [], `add to the boot task's --allow-env in deno.json: ${missing.join(",")}`);
});

async function task(args: string[], stdin = "", timeoutMs = 60_000) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", ...args],
    cwd: ROOT.pathname,
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
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("permissions: the switch generates a key, runs and shuts down with its task's flags; ctl too", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "ring3-perm-" });
  try {
    const g = await task(["switch", "--gen-key", `${dir}/k`]);
    assert.equal(g.code, 0, g.stderr);
    // a daemon with a port listener and a trunk listener, stopped by SIGTERM once it listens
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "task",
        "-q",
        "switch",
        "--listen",
        `unix:${dir}/s.sock`,
        "--trunk-listen",
        "tcp:127.0.0.1:0",
        "--key-file",
        `${dir}/k`,
      ],
      cwd: ROOT.pathname,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let log = "";
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    while (!/listening for trunks/.test(log)) {
      const r = await reader.read();
      if (r.done) break;
      log += r.value;
    }
    assert.match(log, /listening for ports on unix:.*listening for trunks on tcp:127\.0\.0\.1:\d+/s);
    // ctl with its task's flags reaches a unix socket (the switch does not speak its protocol:
    // what matters is that the connection is allowed)
    const c = await task(["ctl", `${dir}/nothing.sock`, "status"]);
    assert.doesNotMatch(c.stderr, /Requires|NotCapable/, c.stderr);
    child.kill("SIGTERM");
    const st = await child.status;
    reader.releaseLock();
    await child.stderr.cancel().catch(() => {});
    assert.equal(st.code, 0);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name: "permissions: deno task boot reaches the shell with a disk and user networking",
  ignore: findPasst() === null,
  fn: async () => {
    const dir = Deno.makeTempDirSync({ prefix: "ring3-perm-" });
    try {
      const disk = `${dir}/d.img`;
      Deno.writeFileSync(disk, new Uint8Array(4 << 20));
      const script = [
        "for i in $(seq 60); do ip -4 addr show eth0 | grep -q 10.0.2.15 && break; sleep 1; done",
        "echo NET=$(ip -4 addr show eth0 | grep -o 10.0.2.15)",
        "echo DISK=$(grep -o vda /proc/partitions)",
        "echo PERM-$((6*7))",
        "poweroff -f",
        "",
      ].join("\n");
      const r = await task(
        ["boot", "--net", "virtio,user", "--disk", disk, "--control", `unix:${dir}/c.sock`],
        script,
        400_000,
      );
      const out = r.stdout + r.stderr;
      assert.doesNotMatch(out, /Requires .* access|NotCapable/, out.slice(-3000));
      assert.match(r.stdout, /PERM-42/, out.slice(-3000));
      assert.match(r.stdout, /DISK=vda/);
      assert.match(r.stdout, /NET=10\.0\.2\.15/);
      assert.equal(r.code, 0, out.slice(-2000));
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
