#!/usr/bin/env bash
# deno task image: a bootable Debian 12 (bookworm) i386 disk image from Debian's packages.
#   build/images/debian-i386.img   raw disk: syslinux's MBR code, one bootable ext4 partition
#                                  (label debian-root) from 1 MiB with extlinux in /boot/extlinux,
#                                  the kernel in /boot/vmlinuz, ring3's small initrd in /boot/initrd.img
# Boot it with `deno task boot --disk IMG` (ring3 reads kernel, initrd and command line from the
# image's /boot) or through the firmware: `deno task boot --bios ROM --disk IMG,if=ide`.
# The packages are guest/image/packages.txt (one per line, # comments). Root logs in on ttyS0
# without a password. Needs mmdebstrap, e2fsprogs, extlinux + syslinux-common, cpio, xz-utils,
# deno; runs as root (loop mount for extlinux). Options:
#   --size N      image size in MiB (default 2048)
#   --out FILE    image path (default build/images/debian-i386.img)
#   --mirror URL  Debian mirror (default: the host's apt sources)
#   --fresh       rebuild the root file system even if the cached tarball matches
#   --add PKG     one more package besides packages.txt (repeatable; deno task nest adds nodejs)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
size=2048
out="$root/build/images/debian-i386.img"
mirror=""
fresh=""
extra=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --mirror) mirror=$2; shift 2 ;;
    --fresh) fresh=1; shift ;;
    --add) extra="$extra,$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "image: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for t in mmdebstrap mkfs.ext4 extlinux cpio xz deno; do
  command -v "$t" >/dev/null || { echo "image: $t not found (apt-get install mmdebstrap e2fsprogs extlinux syslinux-common cpio xz-utils)" >&2; exit 1; }
done
[ -f /usr/lib/syslinux/mbr/mbr.bin ] || { echo "image: /usr/lib/syslinux/mbr/mbr.bin missing (apt-get install syslinux-common)" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
work=$(mktemp -d "${TMPDIR:-/tmp}/ring3-image.XXXXXX")
registered=""
unregister() { if [ -n "$registered" ]; then echo -1 > /proc/sys/fs/binfmt_misc/qemu-i386 || true; registered=""; fi; }
cleanup() { unregister; mountpoint -q "$work/mnt" 2>/dev/null && umount "$work/mnt"; rm -rf --one-file-system "$work"; }
trap cleanup EXIT

# Stage 1: the root file system as a tarball, cached next to the image and keyed by the package
# list and this script's mmdebstrap options (stage 2 alone takes a minute; stage 1 much longer).
pkgs=$(grep -v '^\s*#' "$here/packages.txt" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')$extra
tarball="${out%.img}.rootfs.tar"
key=$( (echo "$pkgs"; sed -n '/^# stage1:begin/,/^# stage1:end/p' "$0") | sha256sum | cut -c1-16)
if [ -n "$fresh" ] || [ ! -f "$tarball" ] || [ "$(cat "$tarball.key" 2>/dev/null)" != "$key" ]; then
  # Maintainer scripts are i386 programs. A host kernel without IA32 emulation runs them through
  # qemu-user (qemu-user-static), registered with binfmt_misc for the time of mmdebstrap only:
  # other programs on the host (tests comparing against the host CPU) must not start running
  # i386 binaries through qemu-user.
  if ! arch-test -n i386 >/dev/null 2>&1 && [ ! -e /proc/sys/fs/binfmt_misc/qemu-i386 ]; then
    [ -x /usr/bin/qemu-i386-static ] || { echo "image: this host cannot run i386 programs; apt-get install qemu-user-static" >&2; exit 1; }
    [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    echo "image: registering qemu-i386-static with binfmt_misc (this host runs no i386 programs natively)"
    printf '%s' ':qemu-i386:M::\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00:\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-i386-static:F' \
      > /proc/sys/fs/binfmt_misc/register
    registered=1
  fi
  echo "image: mmdebstrap bookworm i386 ($pkgs)"
  rm -f "$tarball.key"
# stage1:begin
  # update-initramfs is diverted to a no-op while packages install: Debian's initramfs generation
  # under qemu-user takes hours on a loaded host; stage 2 writes ring3's own small initrd instead
  # (a Debian initrd is made by the guest itself on its next kernel upgrade).
  mmdebstrap --arch=i386 --variant=minbase --include="$pkgs" \
    --essential-hook='chroot "$1" dpkg-divert --local --rename --add /usr/sbin/update-initramfs' \
    --essential-hook='printf "#!/bin/sh\nexit 0\n" > "$1/usr/sbin/update-initramfs" && chmod 755 "$1/usr/sbin/update-initramfs"' \
    --customize-hook='rm -f "$1/usr/sbin/update-initramfs" && chroot "$1" dpkg-divert --local --rename --remove /usr/sbin/update-initramfs' \
    --customize-hook='echo ring3-debian > "$1/etc/hostname"' \
    --customize-hook='printf "127.0.0.1 localhost\n127.0.1.1 ring3-debian\n" > "$1/etc/hosts"' \
    --customize-hook='printf "LABEL=debian-root / ext4 errors=remount-ro 0 1\n" > "$1/etc/fstab"' \
    --customize-hook='chroot "$1" passwd -d root' \
    --customize-hook='sed -i "s|^\([1-6]\):|#\1:|; \$a T0:2345:respawn:/sbin/getty -a root -L 115200 ttyS0 vt100" "$1/etc/inittab"' \
    --customize-hook='printf "auto lo\niface lo inet loopback\n" > "$1/etc/network/interfaces"' \
    bookworm "$work/rootfs.tar" ${mirror:+"$mirror"}
# stage1:end
  unregister
  mv "$work/rootfs.tar" "$tarball"
  echo "$key" > "$tarball.key"
else
  echo "image: reusing $tarball (packages unchanged; --fresh rebuilds it)"
fi

# Stage 2: unpack, add the initrd and extlinux, make the ext4 partition and the disk.
rootfs="$work/rootfs"
mkdir -p "$rootfs"
tar -C "$rootfs" --numeric-owner -xpf "$tarball"
kver=$(ls "$rootfs/lib/modules" | sort -V | tail -1)
[ -n "$kver" ] || { echo "image: no kernel in the root file system" >&2; exit 1; }
echo "image: kernel $kver; initrd"
bash "$here/initrd.sh" "$rootfs" "$kver" "$rootfs/boot/initrd.img-$kver"
ln -sf "vmlinuz-$kver" "$rootfs/boot/vmlinuz"
ln -sf "initrd.img-$kver" "$rootfs/boot/initrd.img"
mkdir -p "$rootfs/boot/extlinux"
cmdline="root=LABEL=debian-root rw console=ttyS0 tsc=reliable"
cat > "$rootfs/boot/extlinux/extlinux.conf" <<EOF
SERIAL 0 115200
DEFAULT debian
PROMPT 0
TIMEOUT 1
LABEL debian
  LINUX /boot/vmlinuz-$kver
  INITRD /boot/initrd.img-$kver
  APPEND $cmdline
EOF
# udev is not started at boot: the initrd's devtmpfs already has every device node, and udev's
# "waiting for /dev to be fully populated" costs minutes in an emulator (start it by hand with
# /etc/init.d/udev.real start if you need it)
if [ -f "$rootfs/etc/init.d/udev" ] && ! grep -q ring3 "$rootfs/etc/init.d/udev"; then
  mv "$rootfs/etc/init.d/udev" "$rootfs/etc/init.d/udev.real"
  printf '#!/bin/sh\n### BEGIN INIT INFO\n# Provides: udev\n# Required-Start: mountkernfs\n# Required-Stop:\n# Default-Start: S\n# Default-Stop:\n# Short-Description: ring3: udev not started (see udev.real)\n### END INIT INFO\nexit 0\n' > "$rootfs/etc/init.d/udev"
  chmod 755 "$rootfs/etc/init.d/udev"
fi

echo "image: ext4 partition of $((size - 1)) MiB"
part="$work/part.ext4"
# no 64bit feature: syslinux 6.04 cannot read 64-bit ext4 group descriptors
mkfs.ext4 -q -F -O ^64bit -L debian-root -d "$rootfs" "$part" "$((size - 1))M"
mkdir -p "$work/mnt"
mount -o loop "$part" "$work/mnt"
extlinux --install "$work/mnt/boot/extlinux" >/dev/null
umount "$work/mnt"
rm -f "$out"
truncate -s "${size}M" "$out"
# syslinux's MBR code and one bootable Linux partition from sector 2048 to the end; the
# partition's boot sector learns its offset (extlinux ran on the bare partition: 0)
deno eval --quiet '
const [path, total, mbrCode, partPath] = [Deno.args[0], Number(Deno.args[1]), Deno.args[2], Deno.args[3]];
const mbr = new Uint8Array(512);
mbr.set(Deno.readFileSync(mbrCode).subarray(0, 440));
const dv = new DataView(mbr.buffer);
mbr.set([0x80, 0xfe, 0xff, 0xff, 0x83, 0xfe, 0xff, 0xff], 446);
dv.setUint32(454, 2048, true);
dv.setUint32(458, total - 2048, true);
dv.setUint32(440, 0x72336764, true); // disk signature
mbr[510] = 0x55, mbr[511] = 0xaa;
const f = Deno.openSync(path, { write: true });
f.writeSync(mbr);
f.close();
const p = Deno.openSync(partPath, { read: true, write: true });
const vbr = new Uint8Array(512);
p.readSync(vbr);
new DataView(vbr.buffer).setUint32(0x1c, 2048, true); // hidden sectors
p.seekSync(0, Deno.SeekMode.Start);
p.writeSync(vbr);
p.close();' "$out" "$((size * 2048))" /usr/lib/syslinux/mbr/mbr.bin "$part"
dd if="$part" of="$out" bs=1M seek=1 conv=notrunc,sparse status=none
rm -rf "${out%.img}.boot"
echo "image: $out ($(du -h "$out" | cut -f1) used of ${size} MiB)"
