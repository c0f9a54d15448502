// MMX/SSE2 integer code in a Linux guest: glibc's SSE2 string functions (chosen at run time
// when CPUID says SSE2), SSE2 and MMX intrinsics, a loop gcc vectorises; every result is folded
// into one hash. tests/guest/sse_test.ts builds it with gcc -m32 -static -O3 -msse2
// -mfpmath=387 (no SSE floating point) for the guest and natively for the host and compares
// the lines. Without SSE2 in CPUID the program says so and the test skips.
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <emmintrin.h>
#include <mmintrin.h>
static unsigned h = 2166136261u;
static void mix(const void *p, size_t n) { const unsigned char *c = p; for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 16777619u; }
int main(void) {
  if (!__builtin_cpu_supports("sse2")) { printf("SSECHECK SKIP no sse2 in cpuid\n"); return 0; }
  static unsigned char a[70000], b[70000];
  unsigned x = 12345;
  for (int i = 0; i < 70000; i++) { x = x * 1103515245 + 12345; a[i] = x >> 16; b[i] = x >> 8; }
  for (int i = 0; i < 70000; i += 7) a[i] = 0;
  size_t total = 0;
  for (int i = 0; i < 2000; i++) total += strlen((char *)a + i * 13);
  for (int i = 0; i < 2000; i++) { unsigned char *p = memchr(a + i * 11, 0x5a, 3000); total += p ? p - a : 1; }
  memcpy(b + 3, a + 17, 50000); mix(b, 70000);
  memmove(b + 100, b + 101, 40000); mix(b, 70000);
  total += memcmp(a, b, 70000) > 0; total += strcmp((char *)a + 5, (char *)b + 9) > 0;
  memset(b + 7, 0x33, 12345); mix(b, 70000);
  __m128i acc = _mm_setzero_si128();
  for (int i = 0; i + 16 <= 70000; i += 16) {
    __m128i v = _mm_loadu_si128((__m128i *)(a + i)), w = _mm_loadu_si128((__m128i *)(b + i));
    acc = _mm_add_epi32(acc, _mm_madd_epi16(v, w));
    acc = _mm_xor_si128(acc, _mm_sad_epu8(v, w));
    acc = _mm_add_epi64(acc, _mm_mul_epu32(_mm_srli_epi64(v, 3), w));
    acc = _mm_shuffle_epi32(_mm_adds_epi16(acc, _mm_packs_epi32(v, w)), 0x39);
  }
  mix(&acc, 16);
  __m64 m = _mm_setzero_si64();
  for (int i = 0; i + 8 <= 70000; i += 8) {
    __m64 v = *(__m64 *)(a + i), w = *(__m64 *)(b + i);
    m = _mm_add_pi16(m, _mm_mulhi_pi16(v, w));
    m = _mm_xor_si64(m, _mm_unpackhi_pi8(v, w));
  }
  unsigned long long mm; memcpy(&mm, &m, 8);
  _mm_empty();
  mix(&mm, 8);
  int sum = 0; for (int i = 0; i < 70000; i++) sum += a[i] * b[i];  /* vectorised with -O3 -msse2 */
  mix(&sum, 4);
  char buf[200]; snprintf(buf, sizeof buf, "%zu %08x", total, h);
  printf("SSECHECK %s\n", buf);
  return 0;
}
