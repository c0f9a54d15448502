#!/bin/bash
# Builds ring3's default guest from Debian packages: an i386 Linux 6.1 bzImage (from
# linux-source-6.1, configured by the committed guest/linux.config) and a busybox initramfs
# (busybox-static:i386 + guest/init). Outputs are committed so that booting needs only a clone.
#
# Usage: guest/build.sh [all|kernel|initramfs|config]      (default: all; about 7 min on 2 cores)
#   all        kernel + initramfs into guest/images/
#   kernel     bzImage only (uses guest/linux.config as is)
#   initramfs  initramfs only (seconds; no kernel source needed)
#   config     regenerate guest/linux.config from tinyconfig + the option list below
# Environment:
#   WORK=dir       scratch directory (default /tmp/ring3-guest-build)
#   JOBS=n         make -j (default nproc)
#   OUT=path       initramfs output file (default guest/images/initramfs.cpio.gz)
#   EXTRA_DIR=dir  overlay: every file under dir is copied into the initramfs root at the same
#                  relative path (e.g. dir/opt/tests/foo -> /opt/tests/foo). Meant for test images
#                  with extra `gcc -m32 -static` binaries; boot them with `ring3.run=/opt/tests/foo`.
#   SKIP_APT=1     do not install packages (they must already be there)
# Example test image:
#   EXTRA_DIR=/tmp/t OUT=/tmp/test-initramfs.cpio.gz guest/build.sh initramfs
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAGES="$HERE/images"
CONFIG="$HERE/linux.config"
WORK="${WORK:-/tmp/ring3-guest-build}"
JOBS="${JOBS:-$(nproc)}"
OUT="${OUT:-$IMAGES/initramfs.cpio.gz}"
EXTRA_DIR="${EXTRA_DIR:-}"
WHAT="${1:-all}"

# Every timestamp that ends up in an output is this one (2025-01-01 00:00:00 UTC).
EPOCH=1735689600
export SOURCE_DATE_EPOCH=$EPOCH
export KBUILD_BUILD_TIMESTAMP="2025-01-01 00:00:00 UTC"
export KBUILD_BUILD_USER=ring3 KBUILD_BUILD_HOST=ring3 KBUILD_BUILD_VERSION=1
export LC_ALL=C TZ=UTC

KSRC_PKG=linux-source-6.1
KSRC_TAR=/usr/src/linux-source-6.1.tar.xz
BUSYBOX_PKG=busybox-static:i386

die() { echo "build.sh: $*" >&2; exit 1; }

# Options the guest needs on top of tinyconfig. y = enable, n = disable, anything else = value.
OPTIONS=(
  # LZ4: the kernel decompresses itself inside the emulated CPU before it prints anything, and
  # LZ4 does that several times faster than XZ (XZ took most of the first 17 s of a ring3 boot)
  KERNEL_LZ4=y KERNEL_XZ=n
  # CPU/platform: 32-bit P6 class, FPU required; no PAE (so it runs on any P6-class CPU model)
  # but HIGHMEM4G, so guests with more than ~880 MiB use all their RAM; MTRR/PAT used when the
  # CPU advertises them; legacy vm86() for real-mode programs
  64BIT=n X86_32=y M686=y M486=n M586=n MPENTIUMII=n MPENTIUMIII=n
  NOHIGHMEM=n HIGHMEM4G=y HIGHMEM64G=n X86_PAE=n MATH_EMULATION=n X86_TSC=y
  MTRR=y X86_PAT=y EXPERT=y X86_LEGACY_VM86=y VM86=y
  # SMP up to 64 CPUs (the i386 limit; BIGSMP is what allows more than 8), APIC, MP table, ACPI, PCI
  SMP=y X86_BIGSMP=y NR_CPUS=64 X86_LOCAL_APIC=y X86_IO_APIC=y X86_MPPARSE=y
  ACPI=y PCI=y PCI_GOANY=y
  HZ_100=y HZ_250=n HZ_300=n HZ_1000=n HZ=100
  # tickless idle: an idle vCPU sleeps in HLT until its next real timer, instead of waking at HZ
  NO_HZ_IDLE=y HZ_PERIODIC=n NO_HZ_FULL=n HIGH_RES_TIMERS=y
  # user ABI: iopl/ioperm, 32-bit time syscalls (glibc's i386 nanosleep needs them)
  X86_IOPL_IOPERM=y COMPAT_32BIT_TIME=y
  PRINTK=y PRINTK_TIME=y BUG=y MULTIUSER=y FUTEX=y EPOLL=y SIGNALFD=y TIMERFD=y EVENTFD=y
  SHMEM=y TMPFS=y POSIX_TIMERS=y PROC_SYSCTL=y BINFMT_ELF=y BINFMT_SCRIPT=y
  BLK_DEV_INITRD=y RD_GZIP=y PROC_FS=y SYSFS=y DEVTMPFS=y DEVTMPFS_MOUNT=y
  # console
  TTY=y SERIAL_8250=y SERIAL_8250_CONSOLE=y
  # network (ne2k-pci, virtio-net) and the CMOS clock
  NET=y INET=y PACKET=y UNIX=y NETDEVICES=y NET_CORE=y ETHERNET=y
  NET_VENDOR_8390=y NE2K_PCI=y VIRTIO_MENU=y VIRTIO=y VIRTIO_PCI=y VIRTIO_NET=y
  RTC_CLASS=y RTC_DRV_CMOS=y
  # storage: block layer, virtio-blk, IDE disks and ATAPI CD-ROMs on a PIIX (ata_piix, as sd/sr),
  # MBR partitions, ext4, iso9660, loop devices, and virtio-9p host folder shares
  BLOCK=y BLK_DEV=y VIRTIO_BLK=y BLK_DEV_LOOP=y PARTITION_ADVANCED=y MSDOS_PARTITION=y
  SCSI=y BLK_DEV_SD=y BLK_DEV_SR=y ATA=y ATA_SFF=y ATA_BMDMA=y ATA_PIIX=y
  EXT4_FS=y ISO9660_FS=y JOLIET=y FILE_LOCKING=y
  NET_9P=y NET_9P_VIRTIO=y 9P_FS=y
  # control: pvpanic (a panic ends ring3 with its exit code), the ACPI power button, magic SysRq
  # over the serial console's break
  PVPANIC=y PVPANIC_PCI=y PVPANIC_MMIO=y INPUT=y ACPI_BUTTON=y MAGIC_SYSRQ=y MAGIC_SYSRQ_SERIAL=y
)

install_packages() {
  [ "${SKIP_APT:-0}" = 1 ] && return 0
  export DEBIAN_FRONTEND=noninteractive
  local need=()
  if ! dpkg --print-foreign-architectures | grep -qx i386; then
    dpkg --add-architecture i386
    apt-get update || echo "build.sh: apt-get update reported errors; continuing" >&2
  fi
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
  if [ ${#need[@]} -gt 0 ]; then
    apt-get install -y --no-install-recommends "${need[@]}" || {
      apt-get update || echo "build.sh: apt-get update reported errors; continuing" >&2
      apt-get install -y --no-install-recommends "${need[@]}"
    }
  fi
}

ksrc() {
  install_packages "$KSRC_PKG" build-essential flex bison bc libelf-dev libssl-dev xz-utils lz4
  local ver
  ver=$(dpkg-query -W -f '${Version}' "$KSRC_PKG")
  KDIR="$WORK/linux-$ver"
  if [ ! -f "$KDIR/Makefile" ]; then
    rm -rf "$KDIR" "$WORK/linux-source-6.1"
    mkdir -p "$WORK"
    tar -C "$WORK" -xf "$KSRC_TAR"
    mv "$WORK/linux-source-6.1" "$KDIR"
  fi
  echo "kernel source: $KSRC_PKG $ver ($KDIR)"
}

kmake() { make -C "$KDIR" ARCH=i386 "$@"; }

check_config() {
  local f="$1" bad=0 o k v
  for o in "${OPTIONS[@]}"; do
    k=${o%%=*}; v=${o#*=}
    case "$v" in
      y) grep -qx "CONFIG_$k=y" "$f" || { echo "config: CONFIG_$k is not y" >&2; bad=1; } ;;
      n) ! grep -q "^CONFIG_$k=y" "$f" || { echo "config: CONFIG_$k must be off" >&2; bad=1; } ;;
      *) grep -qx "CONFIG_$k=$v" "$f" || { echo "config: CONFIG_$k is not $v" >&2; bad=1; } ;;
    esac
  done
  [ $bad = 0 ] || die "kernel config check failed"
}

do_config() {
  ksrc
  kmake tinyconfig
  local args=() o k v
  for o in "${OPTIONS[@]}"; do
    k=${o%%=*}; v=${o#*=}
    case "$v" in
      y) args+=(--enable "$k") ;;
      n) args+=(--disable "$k") ;;
      *) args+=(--set-val "$k" "$v") ;;
    esac
  done
  (cd "$KDIR" && scripts/config "${args[@]}")
  kmake olddefconfig
  check_config "$KDIR/.config"
  cp "$KDIR/.config" "$CONFIG"
  echo "wrote $CONFIG"
}

do_kernel() {
  [ -f "$CONFIG" ] || die "$CONFIG missing (run: guest/build.sh config)"
  ksrc
  cp "$CONFIG" "$KDIR/.config"
  kmake olddefconfig
  # A different linux-source-6.1 revision may add or drop symbols; say so, but only fail when
  # one of the required options is lost.
  if ! diff -q <(grep '^CONFIG_' "$CONFIG") <(grep '^CONFIG_' "$KDIR/.config") >/dev/null; then
    echo "build.sh: note: olddefconfig changed the committed config (different source revision?)" >&2
    diff <(grep '^CONFIG_' "$CONFIG") <(grep '^CONFIG_' "$KDIR/.config") >&2 || true
  fi
  check_config "$KDIR/.config"
  kmake -j"$JOBS" bzImage
  mkdir -p "$IMAGES"
  cp "$KDIR/arch/x86/boot/bzImage" "$IMAGES/bzImage"
}

do_initramfs() {
  [ -z "$EXTRA_DIR" ] || [ -d "$EXTRA_DIR" ] || die "EXTRA_DIR=$EXTRA_DIR is not a directory"
  install_packages cpio gzip
  local bb="$WORK/busybox" root="$WORK/rootfs"
  mkdir -p "$bb"
  if ! ls "$bb"/busybox-static_*_i386.deb >/dev/null 2>&1; then
    (cd "$bb" && apt-get download "$BUSYBOX_PKG") || {
      apt-get update || true
      (cd "$bb" && apt-get download "$BUSYBOX_PKG")
    }
  fi
  local deb
  deb=$(ls "$bb"/busybox-static_*_i386.deb | head -n1)
  rm -rf "$bb/x" "$root"
  dpkg-deb -x "$deb" "$bb/x"
  echo "busybox: $(basename "$deb")"

  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,etc,root,run}
  install -m 755 "$bb/x/bin/busybox" "$root/bin/busybox"
  ln -s busybox "$root/bin/sh"        # the other applet links are made at boot (busybox --install -s)
  install -m 755 "$HERE/init" "$root/init"
  install -D -m 755 "$HERE/udhcpc.script" "$root/etc/udhcpc/default.script" # DHCP on eth0 (Debian busybox path)
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\n' >"$root/etc/group"
  printf 'ring3\n' >"$root/etc/hostname"
  # The kernel opens /dev/console before init can mount devtmpfs.
  mknod -m 600 "$root/dev/console" c 5 1
  mknod -m 666 "$root/dev/null" c 1 3
  chmod 1777 "$root/tmp"
  chmod 700 "$root/root"
  if [ -n "$EXTRA_DIR" ]; then
    cp -a "$EXTRA_DIR"/. "$root"/
    echo "overlaid $EXTRA_DIR"
  fi

  # Reproducible archive: fixed mtimes, root ownership, sorted names, no gzip name/time.
  find "$root" -exec touch -h -d "@$EPOCH" {} +
  mkdir -p "$(dirname "$OUT")"
  (cd "$root" && find . -mindepth 1 -print0 | sort -z |
    cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
    gzip -9 -n >"$OUT.tmp"
  mv "$OUT.tmp" "$OUT"
}

sums() {
  echo "---- outputs ----"
  ls -l "$@"
  sha256sum "$@"
}

case "$WHAT" in
  all) do_kernel; do_initramfs; sums "$IMAGES/bzImage" "$OUT" ;;
  kernel) do_kernel; sums "$IMAGES/bzImage" ;;
  initramfs) do_initramfs; sums "$OUT" ;;
  config) do_config ;;
  -h|--help|help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown target '$WHAT' (all|kernel|initramfs|config)" ;;
esac
