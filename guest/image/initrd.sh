#!/usr/bin/env bash
# ring3's small initrd for the Debian image (guest/image/build.sh): the image's static busybox, the
# modules that reach an ext4 root on IDE (ata_piix, sd) or virtio-blk with their dependencies
# (resolved here on the host from the image's modules.dep, loaded in order by insmod), and an init
# that mounts root= (a device or LABEL=) and switches to it. Made on the host in a second, where
# Debian's initramfs-tools would run hundreds of i386 programs under qemu-user.
#   initrd.sh ROOTFS KERNEL_VERSION OUT
set -euo pipefail
rootfs=$1 kver=$2 out=$3
moddir="$rootfs/lib/modules/$kver"
[ -x "$rootfs/bin/busybox" ] || { echo "initrd: $rootfs/bin/busybox missing (busybox-static in packages.txt)" >&2; exit 1; }
[ -f "$moddir/modules.dep" ] || { echo "initrd: $moddir/modules.dep missing" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ring3-initrd.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,sbin,dev,proc,sys,root,lib/modules}
cp "$rootfs/bin/busybox" "$work/bin/busybox"

# the modules wanted (those built into the kernel are simply absent from modules.dep)
want="ata_piix ata_generic sd_mod virtio_pci virtio_blk ext4 crc32c_generic libcrc32c"
declare -A dep=() path=() seen=()
while IFS=: read -r m deps; do
  name=${m##*/}; name=${name%%.ko*}; name=${name//-/_}
  path[$name]=$m
  dep[$name]=$deps
done < "$moddir/modules.dep"
order=()
visit() {
  local n=$1 d dn
  [ -n "${seen[$n]:-}" ] && return
  seen[$n]=1
  [ -n "${path[$n]:-}" ] || return 0
  for d in ${dep[$n]}; do
    dn=${d##*/}; dn=${dn%%.ko*}; dn=${dn//-/_}
    visit "$dn"
  done
  order+=("$n")
}
for n in $want; do visit "$n"; done
: > "$work/modules.list"
for n in "${order[@]}"; do
  src="$moddir/${path[$n]}"
  case "$src" in
    *.ko.xz) xz -dc "$src" > "$work/lib/modules/$n.ko" ;;
    *.ko.zst) zstd -qdc "$src" > "$work/lib/modules/$n.ko" ;;
    *.ko.gz) gzip -dc "$src" > "$work/lib/modules/$n.ko" ;;
    *) cp "$src" "$work/lib/modules/$n.ko" ;;
  esac
  echo "$n" >> "$work/modules.list"
done

cat > "$work/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules.list); do insmod /lib/modules/$m.ko 2>/dev/null; done
root= init=/sbin/init mode=rw
for x in $(cat /proc/cmdline); do
  case $x in
    root=*) root=${x#root=} ;;
    init=*) init=${x#init=} ;;
    ro) mode=ro ;;
  esac
done
dev=
for i in $(seq 1 150); do
  case $root in
    LABEL=*|UUID=*) dev=$(findfs "$root" 2>/dev/null) ;;
    *) [ -b "$root" ] && dev=$root ;;
  esac
  [ -n "$dev" ] && break
  sleep 0.2
done
if [ -z "$dev" ] || ! mount -t ext4 -o "$mode" "$dev" /root; then
  echo "initrd: cannot mount root '$root'; a shell:"
  exec sh
fi
mount --move /dev /root/dev
umount /sys /proc
exec switch_root /root "$init"
EOF
chmod 755 "$work/init"
(cd "$work" && find . | cpio -o -H newc --quiet | gzip -6) > "$out"
echo "initrd: $(wc -l < "$work/modules.list") modules ($(tr '\n' ' ' < "$work/modules.list")), $(du -h "$out" | cut -f1)"
