#!/bin/sh
# The race's workloads, run inside the guest. Packed into a small cpio appended to the guest's
# initramfs as /race/run (and as /init for a guest whose init lacks ring3.run=): the same script
# then runs unchanged on ring3, v86 and QEMU.
#   race.work=md5,awk,...   which workloads to run (kernel command line; default: all of
#                           md5,awk,par,sh,gzip,sort,sed,fork)
#   race.mib=16             size of the file the md5sums hash (MiB)
#   race.awkn=200000        iterations of the awk loop
#   race.shn=20000          iterations of the busybox sh loop
#   race.lines=60000        lines of generated text that sort -n and sed work on
#   race.gzrep=2            copies of those lines gzip -c compresses
#   race.forkn=300          fork+execs of /bin/true
#   race.sse2n=20000000     iterations of /race/sse2's loop (bench/peers/guest/sse2.c, when present)
# Prints "START <w>" just before and "END <w>" just after each workload (the host times the
# workload between the two lines; only shell builtins run between them and the work), then
# "WORK <w> <seconds>" by the guest's /proc/uptime, and the results the host checks (md5 hash,
# awk checksum, every parallel hash, the sh loop's final count, the md5s of gzip's stream and of
# its round trip, of sort's and sed's output, the count of successful fork+execs), so a wrong
# answer never counts as a time. The text sort, sed and gzip work on is generated before their
# START lines by an awk LCG in integers below 2^53 (exact on any FPU): parse.ts makes the same.
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

work=md5,awk,par,sh,gzip,sort,sed,fork
sse2n=20000000
mib=16
awkn=200000
shn=20000
lines=60000
gzrep=2
forkn=300
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    race.work=*) work="${arg#race.work=}" ;;
    race.mib=*) mib="${arg#race.mib=}" ;;
    race.awkn=*) awkn="${arg#race.awkn=}" ;;
    race.shn=*) shn="${arg#race.shn=}" ;;
    race.lines=*) lines="${arg#race.lines=}" ;;
    race.gzrep=*) gzrep="${arg#race.gzrep=}" ;;
    race.forkn=*) forkn="${arg#race.forkn=}" ;;
    race.sse2n=*) sse2n="${arg#race.sse2n=}" ;;
  esac
done
N=$(nproc)
echo "RACE nproc=$N work=$work mib=$mib awkn=$awkn shn=$shn lines=$lines gzrep=$gzrep forkn=$forkn"
grep -m1 'model name' /proc/cpuinfo

case ",$work," in *,md5,* | *,par,*) dd if=/dev/zero of=/tmp/z bs=1048576 count="$mib" 2>/dev/null ;; esac
# the text for sort, sed and gzip: "<n> <word>-<line> <word> <n>" lines from an LCG
gen_lines() {
  awk -v n="$lines" 'BEGIN {
    split("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa", w, " ")
    x = 1
    for (i = 1; i <= n; i++) {
      x = (x * 69069 + 12345) % 4294967296
      a = int(x / 65536)
      printf "%d %s-%d %s %d\n", a, w[1 + a % 16], i, w[1 + int(x / 4096) % 16], x % 1000
    }
  }' >/tmp/lines
}
case ",$work," in *,gzip,* | *,sort,* | *,sed,*)
  gen_lines
  : >/tmp/text
  i=0
  while [ $i -lt "$gzrep" ]; do cat /tmp/lines >>/tmp/text; i=$((i + 1)); done ;;
esac
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
sh_loop() {
  i=0
  while [ $i -lt "$shn" ]; do i=$((i + 1)); done
  echo "SH-I $i"
}
fork_loop() {
  i=0 ok=0
  while [ $i -lt "$forkn" ]; do /bin/true && ok=$((ok + 1)); i=$((i + 1)); done
  echo "FORK-OK $ok"
}
# (timed's output goes to the console: the workloads' own redirections are inside these)
gzip_run() { gzip -c /tmp/text >/tmp/text.gz; }
sort_run() { sort -n /tmp/lines >/tmp/sorted; }
sed_run() { sed -e 's/\([a-z]*\)-\([0-9]*\)/\2:\1/' -e 's/[aeiou]/_/g' /tmp/lines >/tmp/sedout; }
# the md5 of a file, on one line with a tag (after END: not timed)
md5of() { set -- "$1" $(md5sum "$2"); echo "$1 $2"; }
par_md5() {
  i=0
  while [ $i -lt "$N" ]; do md5sum /tmp/z >/tmp/par.$i & i=$((i + 1)); done
  wait
}

case ",$work," in *,md5,*) timed md5 md5sum /tmp/z ;; esac
case ",$work," in *,awk,*) timed awk awk_loop ;; esac
case ",$work," in *,par,*)
  # one untimed round first: every vCPU has then run (and an emulator compiled) the hot code, as
  # the 1-vCPU row's md5sum has after the md5 workload
  par_md5
  timed par par_md5
  for f in /tmp/par.*; do read -r h _ <"$f"; echo "PAR-MD5 $h"; done ;;
esac

case ",$work," in *,sh,*) timed sh sh_loop ;; esac
case ",$work," in *,gzip,*)
  timed gzip gzip_run
  md5of GZIP-MD5 /tmp/text.gz
  gunzip -c /tmp/text.gz >/tmp/text.rt
  md5of GZIP-RT /tmp/text.rt ;;
esac
case ",$work," in *,sort,*)
  timed sort sort_run
  md5of SORT-MD5 /tmp/sorted ;;
esac
case ",$work," in *,sed,*)
  timed sed sed_run
  md5of SED-MD5 /tmp/sedout ;;
esac
case ",$work," in *,fork,*) timed fork fork_loop ;; esac
# compiled SSE2 code: the awk loop's doubles and glibc's SSE2 string functions (prints sse2-sum)
case ",$work," in *,sse2,*) timed sse2 /race/sse2 "$sse2n" ;; esac

rm -f /tmp/z /tmp/par.* /tmp/lines /tmp/text /tmp/text.gz /tmp/text.rt /tmp/sorted /tmp/sedout
echo "RACE-DONE"
if [ "$$" = 1 ]; then
  echo "ring3: exit 0"
  poweroff -f
  sleep 5
  while :; do sleep 3600; done
fi
