#!/bin/sh
# /opt/node/run in the Node.js test initramfs (guest/node/fetch.sh); boot with
# `ring3.run=/opt/node/run node.n=N node.s=WORD` (tests/guest/node_test.ts picks N and WORD).
# Prints node's version, the time `node -e 0` takes (guest seconds from /proc/uptime), then runs
# /opt/node/check.js with `node -e` (N and S in its environment); its lines start with "NODE ".
# Exit status: node's.
n=1000 s=ring3
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    node.n=*) n="${arg#node.n=}" ;;
    node.s=*) s="${arg#node.s=}" ;;
  esac
done
up() { read -r a _ </proc/uptime; echo "$a"; }
echo "NODE cpu $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
echo "NODE flags $(grep -m1 '^flags' /proc/cpuinfo | sed 's/.*: //')"
t1=$(up)
v=$(node -e 'process.stdout.write(process.version + " " + process.arch)')
rc=$?
t2=$(up)
echo "NODE version $v (exit $rc)"
echo "NODE startup $(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", b - a }') s"
[ $rc = 0 ] || { dmesg | tail -n 20; exit $rc; }
t1=$(up)
N="$n" S="$s" node -e "$(cat /opt/node/check.js)"
rc=$?
t2=$(up)
echo "NODE check $(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", b - a }') s (exit $rc)"
[ $rc = 0 ] || dmesg | tail -n 20
exit $rc
