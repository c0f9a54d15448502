#!/bin/sh
# The race's workloads, run inside the guest. Packed into a small cpio appended to the guest's
# initramfs as /race/run (and as /init for a guest whose init lacks ring3.run=): the same script
# then runs unchanged on ring3, v86 and QEMU.
#   race.work=md5,awk,par   which workloads to run (kernel command line; default: all three)
#   race.mib=16             size of the file the md5sums hash (MiB)
#   race.awkn=200000        iterations of the awk loop
# Prints "START <w>" just before and "END <w>" just after each workload (the host times the
# workload between the two lines; only shell builtins run between them and the work), then
# "WORK <w> <seconds>" by the guest's /proc/uptime, and the results the host checks (md5 hash,
# awk checksum, every parallel hash), so a wrong answer never counts as a time.
if [ "$$" = 1 ]; then
  # running as /init: do what guest/init would have done
  /bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
  /bin/busybox mount -t proc proc /proc
  /bin/busybox mount -t sysfs sysfs /sys
  /bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
  /bin/busybox --install -s
  export PATH=/bin:/sbin:/usr/bin:/usr/sbin
  exec </dev/console >/dev/console 2>&1
  echo "ring3: userspace up"
fi

# builtins only: a subshell here would be timed with the workload
dt() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

work=md5,awk,par
mib=16
awkn=200000
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    race.work=*) work="${arg#race.work=}" ;;
    race.mib=*) mib="${arg#race.mib=}" ;;
    race.awkn=*) awkn="${arg#race.awkn=}" ;;
  esac
done
N=$(nproc)
echo "RACE nproc=$N work=$work mib=$mib awkn=$awkn"
grep -m1 'model name' /proc/cpuinfo

dd if=/dev/zero of=/tmp/z bs=1048576 count="$mib" 2>/dev/null
sync

# START/END frame the workload for the host's clock (only shell builtins run between them and
# it); WORK is the same span on the guest's clock, a check on the emulator's timekeeping.
timed() {
  name=$1; shift
  echo "START $name"
  read -r t1 _ </proc/uptime; "$@"; read -r t2 _ </proc/uptime
  echo "END $name"
  echo "WORK $name $(dt "$t1" "$t2")"
}
# Debian's static busybox awk has no math library; + * / on doubles run on the x87.
awk_loop() {
  awk -v n="$awkn" 'BEGIN { s = 0; x = 1.0; for (i = 0; i < n; i++) { x = x * 1.0000001 + 0.5 / (i + 1.5); s += x / (i + 1) }
               printf "awk-sum %.6f\n", s }'
}
par_md5() {
  i=0
  while [ $i -lt "$N" ]; do md5sum /tmp/z >/tmp/par.$i & i=$((i + 1)); done
  wait
}

case ",$work," in *,md5,*) timed md5 md5sum /tmp/z ;; esac
case ",$work," in *,awk,*) timed awk awk_loop ;; esac
case ",$work," in *,par,*)
  timed par par_md5
  for f in /tmp/par.*; do read -r h _ <"$f"; echo "PAR-MD5 $h"; done ;;
esac

rm -f /tmp/z /tmp/par.*
echo "RACE-DONE"
if [ "$$" = 1 ]; then
  echo "ring3: exit 0"
  poweroff -f
  sleep 5
  while :; do sleep 3600; done
fi
