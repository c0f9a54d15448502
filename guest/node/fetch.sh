#!/bin/bash
# Builds a test initramfs with Debian 12's i386 Node.js (nodejs 18 + libnode108) for ring3:
#   1. `apt-get download`s the .debs below into build/node-i386/debs/ (kept: a second run
#      downloads only what is missing),
#   2. unpacks them with `dpkg -x` into build/node-i386/root/ (rebuilt from the .debs each run),
#      adds /opt/node/run (guest/node/run.sh), /opt/node/check.js and an ld.so cache,
#   3. writes build/node-i386/initramfs-node.cpio.gz = the default initramfs byte for byte followed
#      by that root as a second gzip'd cpio archive (Linux unpacks concatenated archives in order).
# Boot it with `ring3.run=/opt/node/run node.n=N node.s=WORD` (tests/guest/node_test.ts does; see
# run.sh), or interactively (`--initrd build/node-i386/initramfs-node.cpio.gz -m 512`, then
# `node -e ...` at the shell).
#
# Needs: apt-get with the i386 architecture added (`dpkg --add-architecture i386; apt-get update`)
# and a reachable Debian 12 mirror, dpkg, cpio, gzip. Exit status 2 when the packages cannot be
# fetched (no mirror), so that callers can skip; 1 for any other failure.
# Environment: OUT_DIR=dir (default build/node-i386), BASE=default initramfs.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"
OUT_DIR="${OUT_DIR:-$TOP/build/node-i386}"
BASE="${BASE:-$TOP/guest/images/initramfs.cpio.gz}"
DEBS="$OUT_DIR/debs"
ROOT="$OUT_DIR/root"
OUT="$OUT_DIR/initramfs-node.cpio.gz"
EPOCH=1735689600 # 2025-01-01 00:00:00 UTC, as guest/build.sh
export LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH=$EPOCH

# nodejs:i386 and libnode108:i386 with their library dependencies; the three Architecture: all
# packages hold builtins libnode loads at start ("Cannot load externalized builtin" without them).
# sse2-support:i386 is left out: it only probes the CPU when installed by dpkg.
PACKAGES=(
  nodejs:i386 libnode108:i386
  libc6:i386 libstdc++6:i386 libgcc-s1:i386 libicu72:i386 libssl3:i386 libuv1:i386
  libbrotli1:i386 libc-ares2:i386 libnghttp2-14:i386 zlib1g:i386
  node-cjs-module-lexer node-undici node-acorn
)

say() { echo "node/fetch.sh: $*"; }
die() { echo "node/fetch.sh: $*" >&2; exit 1; }
offline() { echo "node/fetch.sh: $*" >&2; exit 2; }

[ -f "$BASE" ] || die "no default initramfs at $BASE (guest/build.sh initramfs, or set BASE=)"
for tool in apt-get apt-cache dpkg dpkg-deb cpio gzip; do
  command -v $tool >/dev/null || die "$tool not found (a Debian host is needed)"
done
dpkg --print-foreign-architectures | grep -qx i386 ||
  die "the i386 architecture is not enabled: run 'dpkg --add-architecture i386 && apt-get update'"

mkdir -p "$DEBS"
# package name without :arch -> the cached .deb (apt-get download names it NAME_VERSION_ARCH.deb)
cached() {
  local name="${1%%:*}" arch="${1#*:}"
  [ "$arch" = "$1" ] && arch=all
  ls "$DEBS/${name}"_*_"$arch".deb 2>/dev/null | head -n1
}

missing=()
for p in "${PACKAGES[@]}"; do
  [ -n "$(cached "$p")" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "downloading ${missing[*]}"
  for p in "${missing[@]}"; do
    apt-cache show "$p" >/dev/null 2>&1 ||
      offline "apt does not know $p (run 'apt-get update' with a Debian 12 mirror reachable)"
  done
  (cd "$DEBS" && apt-get download "${missing[@]}") ||
    offline "apt-get download failed (is the Debian mirror reachable?)"
else
  say "all ${#PACKAGES[@]} packages cached in $DEBS"
fi
for p in "${PACKAGES[@]}"; do
  [ -n "$(cached "$p")" ] || die "$p: no .deb in $DEBS after downloading"
done

say "unpacking into $ROOT"
rm -rf "$ROOT"
mkdir -p "$ROOT"
for p in "${PACKAGES[@]}"; do
  deb="$(cached "$p")"
  dpkg -x "$deb" "$ROOT"
  echo "  $(basename "$deb")"
done
# what a guest does not need: documentation, manuals, headers, lintian overrides, iconv modules
rm -rf "$ROOT/usr/share/doc" "$ROOT/usr/share/man" "$ROOT/usr/share/lintian" "$ROOT/usr/include" \
  "$ROOT/usr/share/locale" "$ROOT/usr/lib/i386-linux-gnu/gconv"

# The busybox root has no /lib: Debian's libc6:i386 brings /lib/ld-linux.so.2 and
# /lib/i386-linux-gnu, the other libraries /usr/lib/i386-linux-gnu. Debian's ld.so searches both
# multiarch folders by default; an ld.so.cache (built here from /etc/ld.so.conf.d, which libc6
# ships) makes the lookup not depend on that.
[ -e "$ROOT/lib/ld-linux.so.2" ] || die "libc6:i386 gave no /lib/ld-linux.so.2"
[ -x "$ROOT/usr/bin/node" ] || die "nodejs:i386 gave no /usr/bin/node"
echo 'include /etc/ld.so.conf.d/*.conf' >"$ROOT/etc/ld.so.conf"
if command -v ldconfig >/dev/null && ldconfig -r "$ROOT" -X 2>/dev/null; then
  say "ld.so.cache written"
else
  say "no ld.so.cache (ldconfig -r failed); ld.so's default multiarch paths apply"
  rm -f "$ROOT/etc/ld.so.cache"
fi
install -D -m 755 "$HERE/run.sh" "$ROOT/opt/node/run"
install -m 644 "$HERE/check.js" "$ROOT/opt/node/check.js"

find "$ROOT" -exec touch -h -d "@$EPOCH" {} +
say "writing $OUT"
cp "$BASE" "$OUT.tmp"
(cd "$ROOT" && find . -mindepth 1 -print0 | sort -z |
  cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
  gzip -6 -n >>"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
say "$(du -sh "$ROOT" | cut -f1) unpacked, $(stat -c %s "$OUT") bytes compressed"
sha256sum "$OUT"
