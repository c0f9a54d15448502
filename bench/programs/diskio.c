// Guest-side disk benchmark (static i386 Linux program, run by bench/disk_bench.ts in ring3 and
// in QEMU on the same images): O_DIRECT I/O on a block device, timed with CLOCK_MONOTONIC.
//   diskio DEV seqread  MIB      sequential 1 MiB reads of the first MIB MiB
//   diskio DEV seqwrite MIB      sequential 1 MiB writes (then fdatasync)
//   diskio DEV randread N        N random 4 KiB reads, 4 KiB-aligned, over the whole device
// Prints "DISKIO <test> <MB/s> <IOPS> <seconds>".
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: diskio DEV seqread|seqwrite|randread N\n");
    return 2;
  }
  const char *test = argv[2];
  long n = atol(argv[3]);
  int wr = !strcmp(test, "seqwrite");
  int fd = open(argv[1], (wr ? O_RDWR : O_RDONLY) | O_DIRECT);
  if (fd < 0) {
    perror(argv[1]);
    return 1;
  }
  uint64_t size = 0;
  ioctl(fd, BLKGETSIZE64, &size);
  void *buf;
  if (posix_memalign(&buf, 4096, 1 << 20)) return 1;
  memset(buf, 0xa5, 1 << 20);
  double t0 = now(), bytes = 0;
  long ops = 0;
  if (!strcmp(test, "randread")) {
    uint32_t x = 12345, blocks = (uint32_t)(size / 4096);
    for (long i = 0; i < n; i++) {
      x = x * 1103515245u + 12345u;
      uint64_t off = (uint64_t)((x >> 8) % blocks) * 4096;
      if (pread(fd, buf, 4096, off) != 4096) { perror("pread"); return 1; }
      bytes += 4096, ops++;
    }
  } else {
    for (long i = 0; i < n; i++) {
      ssize_t r = wr ? pwrite(fd, buf, 1 << 20, (off_t)i << 20) : pread(fd, buf, 1 << 20, (off_t)i << 20);
      if (r != 1 << 20) { perror(wr ? "pwrite" : "pread"); return 1; }
      bytes += 1 << 20, ops++;
    }
    if (wr) fdatasync(fd);
  }
  double s = now() - t0;
  printf("DISKIO %s %.2f %.0f %.3f\n", test, bytes / 1e6 / s, ops / s, s);
  return 0;
}
