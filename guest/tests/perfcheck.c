/* The performance counters as a Linux program sees them: perf_event_open(2) on the generic
 * hardware events that Linux maps onto the Core Duo's architectural events (CPUID leaf 0xA),
 * each counting a loop of a known number of instructions, and RDPMC from ring 3 on the
 * counter of an mmapped event (Linux sets CR4.PCE for such a task).
 *
 * Checked: the events ring3 counts exactly open and count: instructions retired match the loop
 * (the OS/USR filters are not applied by ring3, so interrupts that arrive in the loop count too:
 * a margin), cycles advance (they are time: no ratio is checked), twice the loop counts about
 * twice as much. The branch and cache events, which ring3 marks unavailable in leaf 0xA EBX
 * (core-as/ops/msr.ts), are refused by Linux (ENOENT): nothing advertised that does not count.
 *
 * Guest only (ring3.run=/opt/tests/perfcheck): tests/guest/perf_test.ts.
 */
#pragma GCC diagnostic ignored "-Wunused-function" /* check.h's signal helpers */
#include "check.h"

#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define LOOP 1000000u /* iterations of a 2-instruction loop */

static void spin(unsigned n) {
  __asm__ volatile("1: dec %0\n\tjnz 1b" : "+r"(n) : : "cc");
}

static int open_event(uint64_t config) {
  struct perf_event_attr a;
  memset(&a, 0, sizeof a);
  a.size = sizeof a;
  a.type = PERF_TYPE_HARDWARE;
  a.config = config;
  a.disabled = 1;
  a.exclude_kernel = 1;
  a.exclude_hv = 1;
  return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

/* the count of one event over spin(n) */
static int64_t count(int fd, unsigned n) {
  int64_t v = -1;
  ioctl(fd, PERF_EVENT_IOC_RESET, 0);
  ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
  spin(n);
  ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
  if (read(fd, &v, sizeof v) != sizeof v) return -1;
  return v;
}

static const struct {
  const char *name;
  uint64_t config;
  int timed; /* 1: time, 2: not offered */
} EVENTS[] = {
    {"instructions", PERF_COUNT_HW_INSTRUCTIONS, 0},
    {"cycles", PERF_COUNT_HW_CPU_CYCLES, 1},
    {"bus-cycles", PERF_COUNT_HW_BUS_CYCLES, 1},
    {"branches", PERF_COUNT_HW_BRANCH_INSTRUCTIONS, 2},
    {"branch-misses", PERF_COUNT_HW_BRANCH_MISSES, 2},
    {"cache-references", PERF_COUNT_HW_CACHE_REFERENCES, 2},
    {"cache-misses", PERF_COUNT_HW_CACHE_MISSES, 2},
};
#define NEV (sizeof EVENTS / sizeof EVENTS[0])

int main(void) {
  start("perfcheck", 120);
  int64_t one[NEV], two[NEV];
  char name[64];
  for (unsigned i = 0; i < NEV; i++) {
    snprintf(name, sizeof name, "perf.%s", EVENTS[i].name);
    one[i] = two[i] = -1;
    int fd = open_event(EVENTS[i].config);
    if (EVENTS[i].timed == 2) {
      if (fd < 0 && errno == ENOENT)
        pass(name);
      else
        fail(name, "opened (fd %d, %s): ring3 does not offer it", fd, fd < 0 ? strerror(errno) : "ok");
      if (fd >= 0) close(fd);
      continue;
    }
    if (fd < 0) {
      fail(name, "perf_event_open: %s", strerror(errno));
      continue;
    }
    one[i] = count(fd, LOOP);
    two[i] = count(fd, 2 * LOOP);
    close(fd);
    out_line("perf %s %lld %lld", EVENTS[i].name, (long long)one[i], (long long)two[i]);
    /* twice the loop: about twice the count (the loop dominates; interrupts add a little);
     * cycles are time (the TSC's rate), which a loaded host stretches: they only have to
     * advance by more than the loop could take at 10 instructions a cycle */
    if (EVENTS[i].timed ? one[i] < LOOP / 5 || two[i] < LOOP / 5
                        : one[i] <= 0 || two[i] < one[i] * 3 / 2 || two[i] > one[i] * 3)
      fail(name, "counted %lld over the loop and %lld over twice the loop", (long long)one[i],
           (long long)two[i]);
    else
      pass(name);
  }
  int64_t insn = one[0];
  if (insn >= 2 * LOOP && insn < 2 * LOOP + 2 * LOOP / 5)
    pass("perf.instructions-exact");
  else
    fail("perf.instructions-exact", "%lld instructions over a loop of %u", (long long)insn, 2 * LOOP);
  /* RDPMC in ring 3 on the counter of an mmapped, enabled event */
  int fd = open_event(PERF_COUNT_HW_INSTRUCTIONS);
  void *page = fd < 0 ? MAP_FAILED : mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 0);
  if (page == MAP_FAILED) {
    fail("perf.rdpmc", "perf_event_open/mmap: %s", strerror(errno));
  } else {
    volatile struct perf_event_mmap_page *pc = page;
    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
    spin(1000);
    uint32_t idx = pc->index;
    if (!pc->cap_user_rdpmc || idx == 0) {
      fail("perf.rdpmc", "cap_user_rdpmc %d index %u", (int)pc->cap_user_rdpmc, idx);
    } else {
      uint32_t lo0, hi0, lo1, hi1;
      __asm__ volatile("rdpmc" : "=a"(lo0), "=d"(hi0) : "c"(idx - 1));
      spin(LOOP);
      __asm__ volatile("rdpmc" : "=a"(lo1), "=d"(hi1) : "c"(idx - 1));
      int64_t d = (int64_t)((((uint64_t)hi1 << 32) | lo1) - (((uint64_t)hi0 << 32) | lo0));
      out_line("perf rdpmc counter %u advanced %lld", idx - 1, (long long)d);
      if (d >= 2 * LOOP && d < 2 * LOOP + 2 * LOOP / 5)
        pass("perf.rdpmc");
      else
        fail("perf.rdpmc", "counter %u advanced %lld over a loop of %u instructions", idx - 1, (long long)d,
             2 * LOOP);
    }
    ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
  }
  return summary();
}
