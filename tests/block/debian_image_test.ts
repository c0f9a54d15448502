// The Debian image from `deno task image` (build/images/debian-i386.img, when it has been built:
// the build takes minutes and Debian's mirrors, so the suite does not make it) boots straight
// with `deno task boot --disk IMAGE`, root is logged in on the serial console, and the system
// works: apt-get --version, python3, df / on /dev/vda1. Skipped with a note without the image.
// The boot runs Debian's sysvinit scripts under the stock 686-pae kernel: about 5 minutes of
// guest time at a host load of 12 on 2 cores (most of it in the init scripts' shell code), hence
// the long time limit.
import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;
const IMAGE = Deno.env.get("RING3_DEBIAN_IMAGE") ?? `${root}build/images/debian-i386.img`;
const CLI = `${root}cli/boot.ts`;
const TIMEOUT_MS = 1_200_000;

Deno.test("deno task image's Debian 12 boots to a root shell: apt-get, python3, df /", async () => {
  try {
    Deno.statSync(IMAGE);
  } catch {
    console.log(`  (skipped: no ${IMAGE}; build it with deno task image)`);
    return;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "--disk", `${IMAGE},snapshot=on`, "-m", "512"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
  const w = child.stdin.getWriter();
  const enc = new TextEncoder(), dec = new TextDecoder();
  let out = "";
  let sent = false;
  const script = [
    "apt-get --version | head -1",
    "python3 -c 'print(6*7)'",
    "df / | tail -1",
    "cat /etc/debian_version",
    "echo DEB''IAN-DONE",
    "poweroff -f",
  ];
  for await (const chunk of child.stdout) {
    out += dec.decode(chunk, { stream: true });
    if (!sent && /root@ring3-debian:~# $/.test(out)) {
      sent = true;
      for (const line of script) {
        await w.write(enc.encode(line + "\n"));
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    if (out.includes("DEBIAN-DONE")) break;
  }
  clearTimeout(timer);
  try {
    child.kill("SIGKILL");
  } catch { /* the time limit ended it */ }
  await child.status;
  await child.stderr.cancel();
  w.releaseLock();
  assert.ok(out.includes("DEBIAN-DONE"), `no root shell or commands failed:\n${out.slice(-4000)}`);
  assert.match(out, /^apt \d+\.\d+/m, "apt-get --version");
  assert.match(out, /^42\r?$/m, "python3");
  assert.match(out, /^\/dev\/vda1\s+\d+\s+\d+\s+\d+\s+\d+% \/\r?$/m, "df /");
  assert.match(out, /^12\.\d+\r?$/m, "Debian 12");
});
