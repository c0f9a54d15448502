// The race's SSE2 workload (race.ts builds it with gcc -m32 -O2 -msse2 -mfpmath=sse -static into
// the race's initramfs as /race/sse2): run.sh's awk loop on doubles as compiled SSE2 code (MULSD
// ADDSD DIVSD CVTSI2SD), then glibc's SSE2 string functions (strlen, memchr, strchr, memcpy,
// memset: the sse2 variants on a CPU without SSSE3) over a 4 KiB text, checked against plain
// byte loops. Prints "sse2-sum <the awk loop's sum, %.6f> <strings checksum> <byte-loop checksum>".
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char text[4096 + 64], copy[4096 + 64];

// the same answers from byte loops the compiler cannot turn into library calls
static unsigned int slow_len(const volatile char *s) {
  unsigned int n = 0;
  while (s[n]) n++;
  return n;
}
static long slow_chr(const volatile char *s, unsigned long n, char c) {
  for (unsigned long i = 0; i < n; i++)
    if (s[i] == c) return (long)i;
  return -1;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  double s = 0, x = 1.0;
  for (long i = 0; i < n; i++) {
    x = x * 1.0000001 + 0.5 / (i + 1.5);
    s += x / (i + 1);
  }
  for (int k = 0; k < 4096; k++) text[k] = (char)('a' + (k * 7 + k / 26) % 26);
  unsigned int fast = 0, slow = 0; // (32 bits on the host too: the native run gives the expected line)
  long rounds = n / 40;
  for (long r = 0; r < rounds; r++) {
    int cut = 1024 + (int)((r * 389) % 3000); // the string's end moves
    char c = (char)('a' + r % 26);
    text[cut] = 0;
    memcpy(copy, text, (size_t)cut + 1);
    fast += strlen(copy + (r & 15));
    const char *p = memchr(copy + 512, c, (size_t)cut - 512);
    fast += p ? (unsigned int)(p - copy) : 0;
    const char *q = strchr(copy + 700, c ^ 1);
    fast += q ? (unsigned int)(q - copy) : 0;
    memset(copy + 100, 'z', 200);
    fast += strlen(copy + 300 + (r & 7));
    if ((r & 63) == 0) { // the byte loops, now and then (they are slow)
      slow += slow_len(copy + (r & 15)) - strlen(copy + (r & 15));
      long m = slow_chr(copy + 512, (size_t)cut - 512, c);
      slow += (unsigned int)(m < 0 ? 0 : m + 512) - (p ? (unsigned int)(p - copy) : 0);
    }
    text[cut] = (char)('a' + (cut * 7 + cut / 26) % 26);
  }
  printf("sse2-sum %.6f %u %u\n", s, fast, slow);
  return 0;
}
