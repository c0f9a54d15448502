// The real daemon (`deno task switch`, i.e. net/main.ts) as subprocesses: unix sockets in a temp
// dir, a trunk over loopback TCP, signals, command-line errors.
import assert from "node:assert/strict";
import { parseEndpoint } from "../../net/addr.ts";
import { SwitchClient } from "../../net/client.ts";
import { BCAST, keyFile, mac, mkFrame, tagOf } from "./lib.ts";
import { DaemonProc } from "./proc.ts";

Deno.test("daemon: two switch processes joined by a trunk; SIGTERM/SIGINT exit cleanly", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "ring3-sw-" });
  const key = keyFile(dir, "key", "2Wd6ztfvE6vbjX4QeFSyTq6Eo4mG0W3pyqgYcDXwRX8=");
  const a = new DaemonProc(["--listen", `unix:${dir}/a.sock`, "--trunk-listen", "tcp:127.0.0.1:0", "--key-file", key]);
  let b: DaemonProc | null = null;
  try {
    const port = await a.waitLine(/listening for trunks on tcp:127\.0\.0\.1:(\d+)/);
    b = new DaemonProc([
      "--listen",
      `unix:${dir}/b.sock`,
      "--trunk",
      `tcp:127.0.0.1:${port}`,
      "--key-file",
      key,
      "--mac-table-size",
      "128",
      "--ageing",
      "60",
    ]);
    await b.waitLine(/trunk .*: up \(connected/);
    await a.waitLine(/trunk .*: up \(accepted/);
    const ca = await SwitchClient.connect(parseEndpoint(`unix:${dir}/a.sock`));
    const cb = await SwitchClient.connect(parseEndpoint(`unix:${dir}/b.sock`));
    await a.waitLine(/port \d+ \(unix.* connected/);
    await b.waitLine(/port \d+ \(unix.* connected/);
    ca.send(mkFrame(BCAST, mac(1), 60, 1));
    assert.equal(tagOf((await cb.recv(5000))!), 1);
    cb.send(mkFrame(mac(1), mac(2), 1514, 2));
    assert.deepEqual(await ca.recv(5000), mkFrame(mac(1), mac(2), 1514, 2));
    await ca.close();
    await cb.close();
    const sa = await a.stop("SIGINT");
    const sb = await b.stop("SIGTERM");
    assert.equal(sa.code, 0, a.lines.join("\n"));
    assert.equal(sb.code, 0, b.lines.join("\n"));
    assert.ok(a.lines.some((l) => /SIGINT: shutting down/.test(l)));
    for (const s of ["a.sock", "b.sock"]) assert.throws(() => Deno.lstatSync(`${dir}/${s}`), Deno.errors.NotFound);
  } finally {
    await a.stop("SIGKILL");
    await b?.stop("SIGKILL");
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("daemon: bad command lines fail with one clear line and exit status 2", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "ring3-sw-" });
  const short = keyFile(dir, "short", "abc");
  const cases: [string[], RegExp][] = [
    [["--bogus"], /Unknown option '--bogus'/],
    [["--listen", "udp:1.2.3.4:5"], /expected unix:PATH or tcp:HOST:PORT/],
    [["--listen", "tcp:127.0.0.1:99999"], /port 99999 out of range/],
    [["--listen", `unix:${dir}/s.sock,vlan=3`], /unknown option 'vlan=3'/],
    [["--trunk", "tcp:127.0.0.1:1"], /trunks need --key-file/],
    [["--trunk", `unix:${dir}/t`, "--key-file", short], /trunks are tcp:HOST:PORT/],
    [
      ["--trunk", "tcp:127.0.0.1:1", "--key-file", short],
      /holds 2 bytes of key material \(base64\); use at least 32 random bytes \(deno task switch --gen-key/,
    ],
    [["--trunk", "tcp:127.0.0.1:1", "--key-file", `${dir}/none`], /key file .* not found/],
    [["--listen", `unix:${dir}/s.sock`, "--mac-table-size", "0"], /--mac-table-size '0' must be a positive integer/],
    [["--listen", `unix:${dir}/s.sock`, "--net-id", "x"], /--net-id 'x' is not a number/],
    [["--listen", `unix:${dir}/s.sock`, "--ageing", "-1"], /'--ageing' argument is ambiguous/],
    [[], /nothing to do/],
    [["--listen", `unix:${dir}/no/such/dir/s.sock`], /No such file or directory|not found/i],
  ];
  try {
    await Promise.all(cases.map(async ([args, re]) => {
      const p = new DaemonProc(args);
      const st = await p.child.status;
      await p.stop();
      assert.equal(st.code, 2, `${args.join(" ")}: ${p.lines.join("\n")}`);
      assert.equal(p.lines.length, 1, `${args.join(" ")}: one line, got\n${p.lines.join("\n")}`);
      assert.match(p.lines[0], /^switch: /);
      assert.match(p.lines[0], re, args.join(" "));
    }));
    const h = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../../net/main.ts", import.meta.url).pathname, "--help"],
    }).output();
    assert.equal(h.code, 0);
    assert.match(new TextDecoder().decode(h.stdout), /--trunk-listen tcp:HOST:PORT/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
