#!/bin/bash
# Builds ring3's guest check suite: the programs in guest/tests/*.c (gcc -m32 -static -O2, i386)
# and a test initramfs, guest/images/initramfs-tests.cpio.gz, that boots like the default guest
# but, with `ring3.run=checks` on the kernel command line, runs the checks and powers off
# (see guest/tests/init). tests/guest/checks_test.ts boots it in ring3.
#
# The test initramfs is the default initramfs byte for byte followed by a second gzip'd cpio
# archive (Linux unpacks concatenated archives in order, later files replacing earlier ones):
#   /init            guest/tests/init
#   /init.default    the default initramfs' /init, which the test init runs without ring3.run=checks
#   /opt/tests/NAME  one static i386 binary per guest/tests/NAME.c
#   /opt/tests/SOURCES  sha256sum of the sources it was built from (checked by the host tests)
#   /opt/tests/smp/NAME one static threaded i386 binary per guest/tests/smp/NAME.c (+ SOURCES)
#
# Usage: guest/build-tests.sh
# Environment:
#   BASE=path  default initramfs (default guest/images/initramfs.cpio.gz, made by guest/build.sh)
#   OUT=path   output (default guest/images/initramfs-tests.cpio.gz)
#   KEEP=dir   also keep the binaries and the overlay tree there
# Reproducible: fixed mtimes, root ownership, sorted names, gzip without name or time, stripped
# binaries; the same toolchain and base give the same bytes.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BASE="${BASE:-$HERE/images/initramfs.cpio.gz}"
OUT="${OUT:-$HERE/images/initramfs-tests.cpio.gz}"
EPOCH=1735689600 # 2025-01-01 00:00:00 UTC, as guest/build.sh
export LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH=$EPOCH

die() { echo "build-tests.sh: $*" >&2; exit 1; }

[ -f "$BASE" ] || die "no default initramfs at $BASE (build it with guest/build.sh initramfs, or set BASE=)"
for tool in gcc cpio gzip strip; do command -v $tool >/dev/null || die "$tool not found"; done
echo 'int main(void){return 0;}' | gcc -m32 -static -x c -o /dev/null - 2>/dev/null ||
  die "gcc -m32 -static does not link (install gcc-multilib)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root/opt/tests"

# the default /init, to hand over to when not running checks
gzip -dc "$BASE" | (cd "$work" && cpio -i --quiet --to-stdout init >"$work/init.default") ||
  die "cannot read /init from $BASE"
[ -s "$work/init.default" ] || die "$BASE has no /init"
install -m 755 "$work/init.default" "$root/init.default"
install -m 755 "$HERE/tests/init" "$root/init"

for src in "$HERE"/tests/*.c; do
  name=$(basename "$src" .c)
  # -ffile-prefix-map keeps the build directory out of the binary; -s drops symbols
  gcc -m32 -static -O2 -Wall -Wextra -Werror -ffile-prefix-map="$HERE"=. -s \
    -o "$root/opt/tests/$name" "$src"
  echo "built /opt/tests/$name ($(stat -c %s "$root/opt/tests/$name") bytes)"
done

# SMP checks (tests/smp/*_test.ts run them with ring3.run=/opt/tests/smp/NAME): threaded
mkdir -p "$root/opt/tests/smp"
for src in "$HERE"/tests/smp/*.c; do
  name=$(basename "$src" .c)
  gcc -m32 -static -O2 -pthread -Wall -Wextra -Werror -ffile-prefix-map="$HERE"=. -s \
    -o "$root/opt/tests/smp/$name" "$src"
  echo "built /opt/tests/smp/$name ($(stat -c %s "$root/opt/tests/smp/$name") bytes)"
done
(cd "$HERE" && sha256sum $(ls tests/smp/*.c | sort)) >"$root/opt/tests/smp/SOURCES"

# sorted, relative to guest/: what tests/guest/checks_test.ts recomputes to see the image is current
(cd "$HERE" && sha256sum build-tests.sh $(cd "$HERE" && ls tests/*.c tests/*.h tests/init | sort)) \
  >"$root/opt/tests/SOURCES"

find "$root" -exec touch -h -d "@$EPOCH" {} +
mkdir -p "$(dirname "$OUT")"
cp "$BASE" "$OUT.tmp"
(cd "$root" && find . -mindepth 1 -print0 | sort -z |
  cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
  gzip -9 -n >>"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
if [ -n "${KEEP:-}" ]; then
  mkdir -p "$KEEP"
  cp -a "$root"/. "$KEEP"/
fi
ls -l "$OUT"
sha256sum "$OUT"
