/* CPU-bound guest workload for the MIPS bench: shell sort + insertion passes over pseudo-random
 * words, then an Adler-style checksum. Freestanding: under ring3 it reports through the debug
 * exit port; built natively (-DNATIVE) it prints the same checksum. */
#define N 4096
static unsigned int a[N];
static unsigned int seed;

static unsigned int rnd(void) {
  seed = seed * 1103515245u + 12345u;
  return seed >> 7;
}

static void shellsort(unsigned int *v, int n) {
  static const int gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
  for (int g = 0; g < 8; g++) {
    int gap = gaps[g];
    for (int i = gap; i < n; i++) {
      unsigned int t = v[i];
      int j = i;
      while (j >= gap && v[j - gap] > t) { v[j] = v[j - gap]; j -= gap; }
      v[j] = t;
    }
  }
}

static unsigned int checksum(const unsigned int *v, int n) {
  unsigned int s1 = 1, s2 = 0;
  for (int i = 0; i < n; i++) {
    unsigned int x = v[i];
    for (int k = 0; k < 4; k++) { s1 = (s1 + (x & 0xff)) % 65521u; s2 = (s2 + s1) % 65521u; x >>= 8; }
  }
  return (s2 << 16) | s1;
}

unsigned int work(int rounds) {
  unsigned int sum = 0;
  seed = 12345;
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < N; i++) a[i] = rnd();
    shellsort(a, N);
    sum ^= checksum(a, N) + (unsigned int)r;
  }
  return sum;
}

#include "harness.h"
