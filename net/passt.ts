// User-mode networking for one NIC: ring3 runs passt (https://passt.top, Debian package `passt`)
// and cables the NIC to its UNIX socket. passt speaks the same 4-byte big-endian length + frame
// stream as ring3's switch ports, answers DHCP/ARP/DNS itself and carries the guest's TCP, UDP and
// ICMP through the host's own sockets, so nothing here needs root.
//
// The guest sees QEMU's user-network addresses (passt is told them explicitly, so they do not
// depend on the host's addressing):
//   10.0.2.15/24  the guest (DHCP), MTU 65520 for virtio-net (passt's largest; it carries the
//                 checksum and TSO offloads too), 1500 for ne2k (RING3_USER_MTU=small: 1500 for all)
//   10.0.2.2      the gateway; passt maps it to the host: 10.0.2.2:PORT reaches the host's
//                 127.0.0.1:PORT (passt's default "map gateway to host", --no-map-gw turns it off)
//   DNS           the host's resolvers (/etc/resolv.conf), offered by DHCP; the guest's queries
//                 go out through passt's sockets. A loopback resolver (127.0.0.1) is offered as
//                 the gateway 10.0.2.2, which reaches it. (The passt of Debian 12 cannot both
//                 advertise a fixed address like QEMU's 10.0.2.3 and forward it to the host's
//                 resolver: its --dns-forward target is the advertised address itself.)
// Forwarded host ports (`hostfwd=tcp:HOSTPORT-:GUESTPORT`) become passt's -t / -u options: passt
// listens on the host's HOSTPORT (all addresses unless one is given) and connects to the guest.
//
// passt runs in the foreground (-f), for one client only (-1: it exits when the NIC's
// connection closes, even if ring3 dies without cleaning up), as the invoking user (--runas), in
// IPv4 only (-4). stop() kills it and removes its socket directory.
import { type ChildProcess, type CommandStatus, host } from "../runtime/platform/mod.ts";

export const GUEST_ADDR = "10.0.2.15", GATEWAY_ADDR = "10.0.2.2";
export const USER_MTU = 1500; // ne2k; virtio-net NICs get passt's largest, USER_MTU_BIG
export const USER_MTU_BIG = 65520;

export interface Hostfwd {
  proto: "tcp" | "udp";
  hostAddr?: string; // default: every host address
  hostPort: number;
  guestPort: number;
}

export const PASST_INSTALL = "install it with `apt-get install passt` (Debian/Ubuntu) or `dnf install passt` (Fedora)";

// QEMU's syntax: [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT (the guest address, if any,
// must be the guest's own: passt forwards to the one guest it serves).
export function parseHostfwd(s: string): Hostfwd {
  const m = /^(?:(tcp|udp):)?(?:([0-9.]*):)?(\d+)-(?:([0-9.]*):)?(\d+)$/.exec(s);
  if (!m) throw new Error(`hostfwd '${s}' is not [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT`);
  const port = (p: string) => {
    const n = Number(p);
    if (!(n >= 1 && n <= 65535)) throw new Error(`hostfwd '${s}': port ${p} out of range 1..65535`);
    return n;
  };
  const ipv4 = (a: string) => {
    const parts = a.split(".");
    if (parts.length !== 4 || parts.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) {
      throw new Error(`hostfwd '${s}': '${a}' is not an IPv4 address`);
    }
    return a;
  };
  if (m[4] && ipv4(m[4]) !== GUEST_ADDR) throw new Error(`hostfwd '${s}': the guest's address is ${GUEST_ADDR}`);
  const f: Hostfwd = { proto: (m[1] ?? "tcp") as "tcp" | "udp", hostPort: port(m[3]), guestPort: port(m[5]) };
  if (m[2]) f.hostAddr = ipv4(m[2]);
  return f;
}

export function hostfwdToString(f: Hostfwd): string {
  return `${f.proto}:${f.hostAddr ?? ""}:${f.hostPort}-:${f.guestPort}`;
}

export function passtArgs(socketPath: string, hostfwd: readonly Hostfwd[], mtu = USER_MTU): string[] {
  const args = [
    "--foreground",
    "--one-off",
    "--stderr",
    "--quiet",
    "--runas",
    `${host.uid() ?? 0}:${host.gid() ?? 0}`,
    "--socket",
    socketPath,
    "--ipv4-only",
    "--address",
    GUEST_ADDR,
    "--netmask",
    "24",
    "--gateway",
    GATEWAY_ADDR,
    "--mtu",
    String(mtu),
  ];
  for (const f of hostfwd) {
    args.push(f.proto === "tcp" ? "-t" : "-u", `${f.hostAddr ? f.hostAddr + "/" : ""}${f.hostPort}:${f.guestPort}`);
  }
  return args;
}

export function findPasst(): string | null {
  const env = host.env.get("RING3_PASST");
  if (env) return env;
  for (const dir of (host.env.get("PATH") ?? "/usr/bin:/bin").split(":").concat(["/usr/sbin", "/sbin"])) {
    try {
      const p = `${dir || "."}/passt`;
      if (host.statSync(p).isFile) return p;
    } catch { /* not here */ }
  }
  return null;
}

export class Passt {
  private stopped = false;
  private readonly tail: string[] = [];

  private constructor(
    readonly socketPath: string,
    private readonly dir: string,
    private readonly child: ChildProcess,
  ) {}

  // Start passt and wait until its socket is bound. Errors are one line (passt's own reason).
  static async start(hostfwd: readonly Hostfwd[], mtu = USER_MTU, timeoutMs = 10_000): Promise<Passt> {
    const bin = findPasst();
    if (!bin) throw new Error(`user networking needs passt, which is not installed: ${PASST_INSTALL}`);
    const dir = await host.makeTempDir({ prefix: "ring3-passt-" });
    const sock = `${dir}/passt.sock`;
    let child: ChildProcess;
    try {
      child = new host.Command(bin, {
        args: passtArgs(sock, hostfwd, mtu),
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      })
        .spawn();
    } catch (e) {
      await host.remove(dir, { recursive: true }).catch(() => {});
      throw new Error(`cannot run ${bin}: ${(e as Error).message}`);
    }
    const p = new Passt(sock, dir, child);
    child.unref();
    let ready: () => void = () => {};
    const bound = new Promise<void>((r) => (ready = r));
    (async () => {
      let pending = "";
      const dec = new TextDecoder();
      try {
        for await (const chunk of child.stderr) {
          pending += dec.decode(chunk, { stream: true });
          let nl;
          while ((nl = pending.indexOf("\n")) >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (!line || /syslog/.test(line)) continue;
            if (/socket bound at/.test(line)) ready();
            p.tail.push(line);
            if (p.tail.length > 8) p.tail.shift();
          }
        }
      } catch { /* closed */ }
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      bound.then(() => "ok"),
      child.status.then((s) => `exited with status ${s.code}`),
      new Promise<string>((r) => (timer = setTimeout(() => r(`no socket after ${timeoutMs} ms`), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (outcome !== "ok") {
      await new Promise((r) => setTimeout(r, 50)); // the last stderr lines
      const why = p.tail.filter((l) => !/^(You can|\s*kvm|or qrap|\s*\.\/qrap)/.test(l)).join("; ");
      await p.stop();
      throw new Error(`passt ${outcome}${why ? `: ${why}` : ""}`);
    }
    return p;
  }

  get pid(): number {
    return this.child.pid;
  }

  get exited(): Promise<CommandStatus> {
    return this.child.status;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      this.child.kill("SIGTERM");
    } catch { /* already gone */ }
    await this.child.status.catch(() => {});
    await host.remove(this.dir, { recursive: true }).catch(() => {});
  }

  // For exit paths that cannot await (an unload handler): kill now, remove the directory.
  stopSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    try {
      this.child.kill("SIGKILL");
    } catch { /* already gone */ }
    try {
      host.removeSync(this.dir, { recursive: true });
    } catch { /* gone */ }
  }
}
