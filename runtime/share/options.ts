// Host folder shares: `--share HOSTDIR[,tag=T][,readonly=on]` (one flag per share). The guest
// mounts one with `mount -t 9p -o trans=virtio,version=9p2000.L T /mnt`; the default tag of the
// Nth share (from 0) is shareN. Errors are single lines naming the bad part.
export interface ShareConfig {
  dir: string;
  tag: string;
  readonly: boolean;
}

export const MAX_TAG = 31; // the mount tag's length (Linux's v9fs accepts up to 31 bytes)

export function parseShareOption(spec: string, index = 0): ShareConfig {
  const parts = spec.replaceAll(",,", "\0").split(",").map((p) => p.replaceAll("\0", ","));
  const cfg: ShareConfig = { dir: parts[0], tag: `share${index}`, readonly: false };
  for (const p of parts.slice(1)) {
    const eq = p.indexOf("=");
    const key = eq < 0 ? p : p.slice(0, eq), val = eq < 0 ? "" : p.slice(eq + 1);
    if (key === "tag") {
      if (!/^[A-Za-z0-9_.-]+$/.test(val) || val.length > MAX_TAG) {
        throw new Error(`--share ${spec}: tag: 1-${MAX_TAG} letters, digits, '_', '.' or '-'`);
      }
      cfg.tag = val;
    } else if (key === "readonly") {
      if (!["on", "off", "yes", "no", "true", "false"].includes(val)) {
        throw new Error(`--share ${spec}: readonly=${val}: on or off`);
      }
      cfg.readonly = val === "on" || val === "yes" || val === "true";
    } else throw new Error(`--share ${spec}: unknown option '${key}' (tag=, readonly=)`);
  }
  if (!cfg.dir) throw new Error(`--share ${spec}: missing the host folder`);
  return cfg;
}

export const SHARE_USAGE = `  --share DIR[,tag=T][,readonly=on]
                   share the host folder DIR with the guest over virtio-9p (9P2000.L); the guest
                   mounts it with mount -t 9p -o trans=virtio,version=9p2000.L T /mnt (default tag:
                   share0, share1, ... in order). The guest cannot reach outside DIR: symbolic links
                   are resolved by the guest, never followed on the host. readonly=on refuses writes.`;
