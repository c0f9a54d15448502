/* devfuzz: a hostile root program against ring3's device models, from inside the guest.
 *
 * For a fixed time it writes random values (a seeded xorshift; the seed is printed) to the
 * devices ring3 emulates: every I/O BAR of every PCI function (virtio-net, virtio-blk, ne2k-pci),
 * the PCI configuration ports, memory BARs through /sys/bus/pci/devices/.../resourceN (the kernel
 * has no /dev/mem), ISA ports (COM2, RTC/CMOS, ACPI PM, i8042, POST), random ports anywhere, and
 * the virtqueues: it takes each virtio device over from its kernel driver (reset, its own rings
 * in pages it locked and found the physical addresses of in /proc/self/pagemap, DRIVER_OK) and
 * posts chains whose every field is random: descriptor loops, indices past the queue, lengths up
 * to 4 GiB, addresses outside RAM, indirect flags, avail indices jumping anywhere.
 *
 * It unbinds the kernel drivers of the NICs and disks first (they are the fuzzer's alone).
 *
 * What it leaves alone, and why (the host-side fuzzer, tests/devices/hostile_fuzz_test.ts, drives
 * these models with everything instead):
 *   - writes to the 8259A PICs, ELCR, 8254 PIT and port 0x61: the guest kernel's interrupts and
 *     clock; reads are fuzzed.
 *   - writes to COM1: it is the console the host test reads its markers from.
 *   - reset and power: port 0x92 (bit 0 resets, bit 1 is A20), 0xCF9, the i8042 commands that pulse
 *     reset (0xD1, 0xF0-0xFF), ACPI PM1_CNT (SLP_EN powers off) and the pvpanic events: they end
 *     the run, which is their job, not a failure.
 *   - where a device writes guest memory: queue PFNs and device-writable buffers point only at
 *     this program's own pages (or outside RAM), so the devices never scribble over the kernel;
 *     device-readable buffers may point anywhere. Values written to a virtio PFN register follow
 *     the same rule.
 * The local APIC and IO-APIC are not reachable without /dev/mem.
 *
 * Usage: devfuzz [seconds [seed]]   (default 20 s, seed 1; or devfuzz.seconds=N devfuzz.seed=S on
 *        the kernel command line, for ring3.run=/opt/tests/devfuzz)
 * Prints "DEVFUZZ seed S seconds T", then "DEVFUZZ done ops N takeovers N chains N" and exits 0.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static uint32_t rs;
static uint32_t rnd(void) {
  rs ^= rs << 13;
  rs ^= rs >> 17;
  rs ^= rs << 5;
  return rs;
}
static uint32_t below(uint32_t n) { return n ? rnd() % n : 0; }
static int chance(int pct) { return (int)below(100) < pct; }

static uint32_t value(void) {
  switch (below(8)) {
  case 0: return 0;
  case 1: return 0xffffffff;
  case 2: return below(256);
  case 3: return 1u << below(32);
  case 4: return below(8);
  case 5: return 0x80000000u | below(0x10000);
  default: return rnd();
  }
}

/* ---- ports ---------------------------------------------------------------------------------- */
/* an access past port 0xFFFF raises #GP even with iopl(3) (the I/O bitmap ends there) */
static void out(uint32_t port, int size, uint32_t v) {
  if (port + size > 0x10000) return;
  if (size == 1) outb(v, port);
  else if (size == 2) outw(v, port);
  else outl(v, port);
}
static uint32_t in(uint32_t port, int size) {
  if (port + size > 0x10000) return 0;
  return size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
}
static int rsize(void) { return 1 << below(3); }

static int pfn_port(uint16_t port); /* a virtio PFN register (below) */

/* may this program write `size` bytes at `port` with value v? (the reasons are above) */
static int writable_port(uint16_t port, int size, uint32_t *v) {
  for (int i = 0; i < size; i++) {
    if (pfn_port(port + i)) return 0;
    uint16_t p = port + i;
    if (p == 0x20 || p == 0x21 || p == 0xa0 || p == 0xa1 || p == 0x4d0 || p == 0x4d1) return 0;
    if ((p >= 0x40 && p <= 0x43) || p == 0x61) return 0;
    if (p >= 0x3f8 && p <= 0x3ff) return 0;
    if (p == 0x92 || p == 0xcf9 || p == 0x604 || p == 0x605) return 0;
    if (p == 0x505) *v &= ~(1u << (8 * i)); /* pvpanic: no PANICKED */
    if (p == 0x64) {
      uint32_t c = (*v >> (8 * i)) & 0xff;
      if (c == 0xd1 || c >= 0xf0) return 0;
    }
  }
  return 1;
}

/* ---- PCI ------------------------------------------------------------------------------------ */
struct fn {
  char name[32];
  unsigned vendor, device, devfn;
  unsigned long bar_start[6], bar_len[6];
  int bar_io[6];
  volatile uint8_t *mem[6];
};
static struct fn fns[32];
static int nfns;

static unsigned long hexfile(const char *dir, const char *f) {
  char p[300];
  snprintf(p, sizeof p, "%s/%s", dir, f);
  FILE *fp = fopen(p, "r");
  unsigned long v = 0;
  if (fp) {
    if (fscanf(fp, "%lx", &v) != 1) v = 0;
    fclose(fp);
  }
  return v;
}

static void scan_pci(void) {
  DIR *d = opendir("/sys/bus/pci/devices");
  struct dirent *e;
  while (d && (e = readdir(d)) && nfns < 32) {
    if (e->d_name[0] == '.') continue;
    struct fn *f = &fns[nfns];
    char dir[300];
    unsigned dom, bus, slot, func;
    if (sscanf(e->d_name, "%x:%x:%x.%x", &dom, &bus, &slot, &func) != 4 || bus) continue;
    snprintf(f->name, sizeof f->name, "%.31s", e->d_name);
    snprintf(dir, sizeof dir, "/sys/bus/pci/devices/%s", e->d_name);
    f->vendor = hexfile(dir, "vendor");
    f->device = hexfile(dir, "device");
    f->devfn = slot << 3 | func;
    char p[320];
    snprintf(p, sizeof p, "%s/resource", dir);
    FILE *fp = fopen(p, "r");
    for (int i = 0; fp && i < 6; i++) {
      unsigned long long s, en, fl;
      if (fscanf(fp, "%llx %llx %llx", &s, &en, &fl) != 3) break;
      if (!s) continue;
      f->bar_start[i] = s;
      f->bar_len[i] = en - s + 1;
      f->bar_io[i] = (fl & 0x100) != 0;
      if (!f->bar_io[i] && (fl & 0x200)) {
        snprintf(p, sizeof p, "%s/resource%d", dir, i);
        int fd = open(p, O_RDWR | O_SYNC);
        if (fd >= 0) {
          void *m = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
          if (m != MAP_FAILED) f->mem[i] = m;
          close(fd);
        }
      }
    }
    if (fp) fclose(fp);
    /* the NICs and disks become this program's alone: a kernel driver would fight it for them, and
       an interrupt the fuzzer leaves asserted would keep the driver's handler running for ever
       (with no driver the kernel turns the line off: "nobody cared") */
    int unbound = 0;
    if (f->vendor == 0x1af4 || f->vendor == 0x10ec) {
      snprintf(p, sizeof p, "%s/driver/unbind", dir);
      FILE *u = fopen(p, "w");
      if (u) {
        unbound = fprintf(u, "%s", f->name) > 0;
        unbound &= fclose(u) == 0;
      }
    }
    printf("DEVFUZZ pci %s %04x:%04x%s", f->name, f->vendor, f->device, unbound ? " (driver unbound)" : "");
    for (int i = 0; i < 6; i++)
      if (f->bar_len[i]) printf(" bar%d %s 0x%lx+%lu%s", i, f->bar_io[i] ? "io" : "mem", f->bar_start[i], f->bar_len[i],
                                f->mem[i] ? " mapped" : "");
    printf("\n");
    nfns++;
  }
  if (d) closedir(d);
}

static uint32_t cfg_read(unsigned devfn, unsigned off) {
  outl(0x80000000u | devfn << 8 | (off & 0xfc), 0xcf8);
  return inl(0xcfc);
}
static void cfg_write(unsigned devfn, unsigned off, uint32_t v) {
  outl(0x80000000u | devfn << 8 | (off & 0xfc), 0xcf8);
  outl(v, 0xcfc);
}
/* where the function's I/O BAR 0 is now (the fuzzer itself may have moved it) */
static uint16_t io_bar0(struct fn *f) { return cfg_read(f->devfn, 0x10) & 0xfffc; }

/* ---- pages this program owns, by physical address -------------------------------------------- */
#define NPAGES 1024
static uint8_t *buf;
static uint32_t phys[NPAGES]; /* physical page number of buf page i */
static uint32_t ram_pages;   /* guest RAM size in pages, from /proc/iomem's last System RAM */

static void find_pages(void) {
  buf = mmap(0, NPAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED, -1, 0);
  if (buf == MAP_FAILED) {
    perror("devfuzz: mmap");
    exit(1);
  }
  memset(buf, 0, NPAGES * 4096);
  int fd = open("/proc/self/pagemap", O_RDONLY);
  for (int i = 0; i < NPAGES; i++) {
    uint64_t e = 0;
    if (fd < 0 || pread(fd, &e, 8, ((uintptr_t)buf / 4096 + i) * 8) != 8 || !(e >> 63) || !(e & ((1ull << 55) - 1))) {
      fprintf(stderr, "devfuzz: no physical address for page %d (need root)\n", i);
      exit(1);
    }
    phys[i] = e & ((1ull << 55) - 1);
  }
  close(fd);
  FILE *fp = fopen("/proc/iomem", "r");
  char line[200];
  while (fp && fgets(line, sizeof line, fp)) {
    unsigned long s, e;
    if (strstr(line, "System RAM") && sscanf(line, " %lx-%lx", &s, &e) == 2 && (e + 1) / 4096 > ram_pages)
      ram_pages = (e + 1) / 4096;
  }
  if (fp) fclose(fp);
  if (!ram_pages) ram_pages = 0x10000;
}

/* a run of n physically contiguous pages of ours starting at buf page i, or -1 */
static int contiguous(int n, int from) {
  for (int i = from; i + n <= NPAGES; i++) {
    int ok = 1;
    for (int k = 1; k < n && ok; k++) ok = phys[i + k] == phys[i] + k;
    if (ok) return i;
  }
  return -1;
}

/* an address for a buffer the device will write: in one of our pages with room for len, or
   outside RAM */
static uint32_t dev_writable(uint32_t *len) {
  if (chance(85)) {
    int i = below(NPAGES); /* rings included: they are ours too */
    uint32_t off = below(4096);
    if (*len > 4096 - off) *len = 4096 - off;
    return phys[i] * 4096 + off;
  }
  return chance(50) ? ram_pages * 4096u + below(0x1000000) : 0xfffff000u + below(0x1000);
}

/* ---- virtio: taken over from the kernel driver, rings in our pages -------------------------- */
struct vq {
  int page; /* buf page of the descriptor table (3 contiguous pages) */
  uint16_t size, idx;
};
struct vdev {
  struct fn *f;
  int nq;
  struct vq q[2];
};
static struct vdev vdevs[8];
static int nvdevs;
static unsigned long takeovers, chains;

static int pfn_port(uint16_t port) {
  for (int i = 0; i < nvdevs; i++) {
    uint16_t b = io_bar0(vdevs[i].f);
    if (port >= b + 8 && port < b + 12) return 1;
  }
  return 0;
}

/* the device's BAR 0, put back where the kernel had it when the fuzzer moved it somewhere a
   takeover would reach other devices (below 0x1000: the console, PIC, PIT...) */
static uint16_t vbar(struct vdev *v) {
  uint32_t b = io_bar0(v->f), len = v->f->bar_len[0] ? v->f->bar_len[0] : 32;
  if (b < 0x1000 || b + len > 0x10000) {
    cfg_write(v->f->devfn, 0x10, v->f->bar_start[0] | 1);
    b = v->f->bar_start[0];
  }
  return b;
}

static uint32_t safe_pfn(struct vdev *v, int q) {
  if (chance(90) && q < v->nq && v->q[q].page >= 0) return phys[v->q[q].page];
  return chance(50) ? ram_pages + below(0x100000) : 0xfffff + below(0xfff00000u);
}

static void takeover(struct vdev *v) {
  uint16_t b = vbar(v);
  cfg_write(v->f->devfn, 4, cfg_read(v->f->devfn, 4) | 5);
  outb(0, b + 0x12);
  outb(1 | 2, b + 0x12);
  outl(chance(50) ? inl(b) : rnd(), b + 4);
  for (int q = 0; q < v->nq; q++) {
    outw(q, b + 0x0e);
    uint16_t size = inw(b + 0x0c);
    v->q[q].size = size && size <= 256 ? size : 256;
    v->q[q].idx = 0;
    if (v->q[q].page >= 0) memset(buf + v->q[q].page * 4096, 0, 3 * 4096);
    outl(safe_pfn(v, q), b + 8);
  }
  outb(chance(90) ? 1 | 2 | 4 : value(), b + 0x12);
  takeovers++;
}

static void post(struct vdev *v) {
  int qi = below(v->nq);
  struct vq *q = &v->q[qi];
  if (q->page < 0) return;
  uint8_t *ring = buf + q->page * 4096;
  unsigned n = 1 + below(chance(90) ? 4 : 300), at = below(q->size);
  unsigned head = at;
  int wrote = 0;
  for (unsigned i = 0; i < n; i++) {
    uint8_t *d = ring + 16 * (at % q->size);
    uint16_t flags = i < n - 1 ? 1 : 0;
    if (chance(5)) flags |= below(8);
    if (chance(40) || wrote) flags |= 2, wrote = 1;
    if (chance(3)) wrote = 0; /* sometimes a readable one after a writable one */
    uint32_t len = chance(70) ? below(0x2000) : value();
    uint32_t addr, hi = chance(97) ? 0 : rnd();
    if (flags & 2) addr = dev_writable(&len), hi = 0;
    else if (chance(3)) addr = 0, len = ram_pages * 4096u, hi = 0; /* all of RAM: the first attack */
    else if (chance(70)) {
      /* readable: mostly our pages, with a virtio-blk request header in front */
      int p = 12 * 3 + below(NPAGES - 12 * 3); /* past the rings */
      addr = phys[p] * 4096;
      uint32_t *h = (uint32_t *)(buf + p * 4096);
      h[0] = chance(80) ? (uint32_t[]){0, 1, 4, 8, 11}[below(5)] : rnd();
      h[1] = 0;
      h[2] = chance(80) ? below(0x4000) : rnd();
      h[3] = chance(90) ? 0 : rnd();
      if (chance(50)) len = 16;
    } else addr = rnd();
    uint16_t next = chance(85) ? (at + 1) % q->size : below(0x10000);
    memcpy(d, &addr, 4);
    memcpy(d + 4, &hi, 4);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
    at = next;
  }
  uint8_t *avail = ring + 16 * q->size;
  uint16_t idx;
  memcpy(&idx, avail + 2, 2);
  uint16_t h16 = chance(95) ? head : below(0x10000);
  memcpy(avail + 4 + 2 * (idx % q->size), &h16, 2);
  idx += chance(95) ? 1 : below(0x10000);
  if (chance(3)) memcpy(avail, &(uint16_t){(uint16_t)rnd()}, 2); /* flags */
  __sync_synchronize();
  memcpy(avail + 2, &idx, 2);
  __sync_synchronize();
  outw(chance(95) ? (uint32_t)qi : below(0x10000), vbar(v) + 0x10);
  chains++;
}

/* random access to a virtio BAR; the PFN register only gets safe values */
static void poke_virtio(struct vdev *v) {
  uint16_t b = vbar(v);
  unsigned len = v->f->bar_len[0] ? v->f->bar_len[0] : 32;
  unsigned off = below(len);
  int size = rsize();
  if (chance(40)) {
    in(b + off, size);
    return;
  }
  uint32_t val = value();
  if (off + size > 8 && off < 12) {
    if (off != 8 || size != 4) return;
    uint16_t sel = inw(b + 0x0e);
    val = safe_pfn(v, sel);
  }
  out(b + off, size, val);
}

int main(int argc, char **argv) {
  int seconds = argc > 1 ? atoi(argv[1]) : 20;
  rs = argc > 2 ? strtoul(argv[2], 0, 0) : 1;
  /* run as ring3.run=/opt/tests/devfuzz, it takes devfuzz.seconds= and devfuzz.seed= from the
     kernel command line */
  FILE *cl = fopen("/proc/cmdline", "r");
  char cmd[1024] = "", *p;
  if (cl) {
    if (!fgets(cmd, sizeof cmd, cl)) cmd[0] = 0;
    fclose(cl);
  }
  if (argc <= 1 && (p = strstr(cmd, "devfuzz.seconds="))) seconds = atoi(p + 16);
  if (argc <= 2 && (p = strstr(cmd, "devfuzz.seed="))) rs = strtoul(p + 13, 0, 0);
  unsigned skip = (p = strstr(cmd, "devfuzz.skip=")) ? strtoul(p + 13, 0, 0) : 0; /* categories, by bit */
  if (!rs) rs = 1;
  setvbuf(stdout, 0, _IOLBF, 0);
  printf("DEVFUZZ seed %u seconds %d\n", rs, seconds);
  if (iopl(3)) {
    perror("devfuzz: iopl(3)");
    return 1;
  }
  find_pages();
  scan_pci();
  int next = 0;
  for (int i = 0; i < nfns; i++) {
    struct fn *f = &fns[i];
    if (f->vendor != 0x1af4 || nvdevs >= 8) continue;
    struct vdev *v = &vdevs[nvdevs++];
    v->f = f;
    v->nq = f->device == 0x1000 ? 2 : 1;
    for (int q = 0; q < v->nq; q++) {
      v->q[q].page = contiguous(3, next);
      if (v->q[q].page >= 0) next = v->q[q].page + 3;
      v->q[q].size = 256;
    }
    printf("DEVFUZZ virtio %s queues %d rings at pfn 0x%x 0x%x\n", f->name, v->nq,
           v->q[0].page >= 0 ? phys[v->q[0].page] : 0, v->nq > 1 && v->q[1].page >= 0 ? phys[v->q[1].page] : 0);
  }
  /* the ISA ports ring3 owns (writes filtered by writable_port) */
  static const uint16_t isa[] = {0x2f8, 0x2f9, 0x2fa, 0x2fb, 0x2fc, 0x2fd, 0x2fe, 0x2ff, 0x70, 0x71, 0x72,
                                 0x73, 0x600, 0x601, 0x602, 0x603, 0x604, 0x606, 0x608, 0x60, 0x64, 0x80,
                                 0x505, 0x20, 0x21, 0xa0, 0xa1, 0x40, 0x41, 0x42, 0x43, 0x61, 0x3f8, 0x3fd,
                                 0xcf8, 0xcfc, 0xcfd, 0xcfe, 0xcff};
  time_t end = time(0) + seconds;
  unsigned long ops = 0;
  time_t last = time(0);
  while (time(0) < end) {
    if (time(0) - last >= 2 || ops % 100000 == 0) {
      last = time(0);
      printf("DEVFUZZ progress ops %lu takeovers %lu chains %lu time %ld\n", ops, takeovers, chains, (long)last);
    }
    for (int burst = 0; burst < 200; burst++, ops++) {
      unsigned k = below(100);
      if (skip >> (k < 20 ? 0 : k < 40 ? 1 : k < 55 ? 2 : k < 65 ? 3 : k < 85 ? 4 : 5) & 1) continue;
      int size = rsize();
      if (k < 20 && nvdevs) {
        struct vdev *v = &vdevs[below(nvdevs)];
        if (chance(5)) takeover(v);
        else post(v);
      } else if (k < 40 && nvdevs) {
        poke_virtio(&vdevs[below(nvdevs)]);
      } else if (k < 55 && nfns) {
        /* any BAR of any function: I/O by port, memory through its sysfs mapping */
        struct fn *f = &fns[below(nfns)];
        int i = below(6);
        if (!f->bar_len[i]) continue;
        if (f->vendor == 0x1af4) continue; /* the PFN rule: poke_virtio */
        unsigned off = below(f->bar_len[i]);
        uint32_t v = value();
        if (f->bar_io[i]) {
          uint16_t p = f->bar_start[i] + off;
          if (chance(50)) in(p, size);
          else if (writable_port(p, size, &v)) out(p, size, v);
        } else if (f->mem[i] && off + 4 <= 4096 && off + 4 <= f->bar_len[i]) {
          volatile uint8_t *m = f->mem[i] + (off & ~3u);
          if (f->vendor == 0x1b36) v &= ~1u; /* pvpanic: no PANICKED */
          if (chance(50)) (void)*(volatile uint32_t *)m;
          else *(volatile uint32_t *)m = v;
        }
      } else if (k < 65 && nfns) {
        /* configuration space: BARs, command, anything */
        struct fn *f = &fns[below(nfns)];
        unsigned off = below(256);
        if (chance(50)) cfg_read(f->devfn, off);
        else {
          outl(0x80000000u | f->devfn << 8 | (off & 0xfc), 0xcf8);
          out(0xcfc + (off & 3) / size * size, size, value());
        }
        if (chance(10)) cfg_write(f->devfn, 4, cfg_read(f->devfn, 4) | 7); /* keep them mostly decoding */
      } else if (k < 85) {
        uint16_t p = isa[below(sizeof isa / sizeof isa[0])];
        uint32_t v = value();
        if (chance(50)) in(p, size);
        else if (writable_port(p, size, &v)) out(p, size, v);
      } else {
        /* anywhere at all */
        uint16_t p = rnd();
        uint32_t v = value();
        if (p > 0xfffc) continue;
        if (chance(50)) in(p, size);
        else if (writable_port(p, size, &v)) out(p, size, v);
      }
    }
  }
  printf("DEVFUZZ done ops %lu takeovers %lu chains %lu\n", ops, takeovers, chains);
  return 0;
}
