#!/usr/bin/env bash
# deno task image: a bootable Debian 12 (bookworm) i386 disk image from Debian's packages.
#   build/images/debian-i386.img        raw disk: an MBR, one ext4 partition (/dev/vda1) from 1 MiB
#   build/images/debian-i386.boot/      the image's kernel (vmlinuz), initrd (initrd.img) and
#                                       kernel command line (cmdline): `deno task boot --disk IMG`
#                                       boots with these when it finds them next to the image
# The packages are guest/image/packages.txt (one per line, # comments). Root logs in on ttyS0
# without a password. Needs mmdebstrap, e2fsprogs (mkfs.ext4 -d) and deno (the MBR); runs as root
# (or under fakeroot-free unshare mode where the kernel allows it). Options:
#   --size N      image size in MiB (default 2048)
#   --out FILE    image path (default build/images/debian-i386.img)
#   --mirror URL  Debian mirror (default: the host's apt sources)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
size=2048
out="$root/build/images/debian-i386.img"
mirror=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --mirror) mirror=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "image: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for t in mmdebstrap mkfs.ext4 deno; do
  command -v "$t" >/dev/null || { echo "image: $t not found (apt-get install mmdebstrap e2fsprogs)" >&2; exit 1; }
done
# Maintainer scripts are i386 programs. A host kernel without IA32 emulation runs them through
# qemu-user (qemu-user-static), registered with binfmt_misc here if nobody did (root only), and
# unregistered again right after mmdebstrap: other programs on the host (tests comparing against
# the host CPU) must not start running i386 binaries through qemu-user.
registered=""
if ! arch-test -n i386 >/dev/null 2>&1 && [ ! -e /proc/sys/fs/binfmt_misc/qemu-i386 ]; then
  [ -x /usr/bin/qemu-i386-static ] || { echo "image: this host cannot run i386 programs; apt-get install qemu-user-static" >&2; exit 1; }
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  echo "image: registering qemu-i386-static with binfmt_misc (this host runs no i386 programs natively)"
  printf '%s' ':qemu-i386:M::\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00:\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-i386-static:F' \
    > /proc/sys/fs/binfmt_misc/register
  registered=1
fi
unregister() { if [ -n "$registered" ]; then echo -1 > /proc/sys/fs/binfmt_misc/qemu-i386 || true; registered=""; fi; }
pkgs=$(grep -v '^\s*#' "$here/packages.txt" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
mkdir -p "$(dirname "$out")"
work=$(mktemp -d "${TMPDIR:-/tmp}/ring3-image.XXXXXX")
trap 'unregister; rm -rf --one-file-system "$work"' EXIT
rootfs="$work/rootfs"

echo "image: mmdebstrap bookworm i386 ($pkgs)"
# the setup hooks write the configuration before the packages are configured
mmdebstrap --arch=i386 --variant=minbase --include="$pkgs" \
  --customize-hook='echo ring3-debian > "$1/etc/hostname"' \
  --customize-hook='printf "127.0.0.1 localhost\n127.0.1.1 ring3-debian\n" > "$1/etc/hosts"' \
  --customize-hook='printf "/dev/vda1 / ext4 errors=remount-ro 0 1\n" > "$1/etc/fstab"' \
  --customize-hook='chroot "$1" passwd -d root' \
  --customize-hook='sed -i "s|^\([1-6]\):|#\1:|; \$a T0:2345:respawn:/sbin/getty -a root -L 115200 ttyS0 vt100" "$1/etc/inittab"' \
  --customize-hook='printf "auto lo\niface lo inet loopback\n" > "$1/etc/network/interfaces"' \
  --customize-hook='mkdir -p "$1/boot-out" && cp -L "$1/vmlinuz" "$1/boot-out/vmlinuz" && cp -L "$1/initrd.img" "$1/boot-out/initrd.img"' \
  bookworm "$rootfs" ${mirror:+"$mirror"}
unregister

boot="${out%.img}.boot"
rm -rf "$boot"
mkdir -p "$boot"
mv "$rootfs/boot-out/vmlinuz" "$rootfs/boot-out/initrd.img" "$boot/"
rmdir "$rootfs/boot-out"
echo "root=/dev/vda1 rw console=ttyS0" > "$boot/cmdline"

echo "image: ext4 partition of $((size - 1)) MiB"
part="$work/part.ext4"
mkfs.ext4 -q -F -L debian-root -d "$rootfs" "$part" "$((size - 1))M"
rm -f "$out"
truncate -s "${size}M" "$out"
# the MBR: one bootable Linux partition from sector 2048 to the end (no boot code yet)
deno eval --quiet '
const [path, total] = [Deno.args[0], Number(Deno.args[1])];
const mbr = new Uint8Array(512);
const dv = new DataView(mbr.buffer);
mbr.set([0x80, 0xfe, 0xff, 0xff, 0x83, 0xfe, 0xff, 0xff], 446);
dv.setUint32(454, 2048, true);
dv.setUint32(458, total - 2048, true);
dv.setUint32(440, 0x72336764, true); // disk signature
mbr[510] = 0x55, mbr[511] = 0xaa;
const f = Deno.openSync(path, { write: true });
f.writeSync(mbr);
f.close();' "$out" "$((size * 2048))"
dd if="$part" of="$out" bs=1M seek=1 conv=notrunc,sparse status=none
echo "image: $out ($(du -h "$out" | cut -f1) used of ${size} MiB), kernel and initrd in $boot/"
