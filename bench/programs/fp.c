/* x87-bound guest workload for the FPU bench, shaped like busybox awk's number handling: parse
 * decimal fields into doubles, accumulate sums, products and quotients, compare, and format
 * results back to digits through (int) conversions. Built with gcc -m32 it runs on the x87
 * (fld/fstp m64, fadd/fmul/fdiv, fild/fistp with the fnstcw/fldcw truncation dance,
 * fucomi(p)); the precision control is set to double first so the native SSE build computes
 * the same checksum. */
static unsigned int seed;
static unsigned int rnd(void) {
  seed = seed * 1103515245u + 12345u;
  return seed >> 7;
}

/* "123.45" style fields: digits accumulated as doubles, as strtod-like code does */
static double parse(const char *s) {
  double v = 0, scale = 1;
  int frac = 0;
  for (; *s; s++) {
    if (*s == '.') { frac = 1; continue; }
    v = v * 10 + (*s - '0');
    if (frac) scale *= 10;
  }
  return v / scale;
}

static int fmt(double x, char *out) {
  /* integer part and two decimals, through int conversions */
  int neg = x < 0;
  if (neg) x = -x;
  int ip = (int)x;
  int fp = (int)((x - ip) * 100 + 0.5);
  int n = 0;
  char tmp[16];
  do { tmp[n++] = '0' + ip % 10; ip /= 10; } while (ip);
  int k = 0;
  if (neg) out[k++] = '-';
  while (n) out[k++] = tmp[--n];
  out[k++] = '.';
  out[k++] = '0' + fp / 10 % 10;
  out[k++] = '0' + fp % 10;
  return k;
}

unsigned int work(int rounds) {
  unsigned int sum = 0;
  char field[24], out[32];
  seed = 4321;
  for (int r = 0; r < rounds; r++) {
    double total = 0, maxv = -1e300, prod = 1;
    long long cnt = 0;
    for (int i = 0; i < 20000; i++) {
      unsigned int a = rnd() % 100000, b = rnd() % 100;
      int n = 0;
      char t[12];
      int m = 0;
      do { t[m++] = '0' + a % 10; a /= 10; } while (a);
      while (m) field[n++] = t[--m];
      field[n++] = '.';
      field[n++] = '0' + b / 10;
      field[n++] = '0' + b % 10;
      field[n] = 0;
      double v = parse(field);
      total += v;
      if (v > maxv) maxv = v;
      prod = prod * (1 + v / 1e7);
      if (prod > 1e100) prod /= 1e100;
      cnt += (long long)(v * 3.0) & 7;
      if ((i & 63) == 0) {
        int k = fmt(total / (i + 1), out);
        for (int j = 0; j < k; j++) sum = sum * 31 + (unsigned char)out[j];
      }
    }
    int k = fmt(maxv + prod, out);
    for (int j = 0; j < k; j++) sum = sum * 31 + (unsigned char)out[j];
    sum += (unsigned int)cnt;
  }
  return sum;
}

/* precision control: double, as the native SSE code computes */
#define PROGRAM_INIT()                                                                              \
  do {                                                                                              \
    unsigned short cw = 0x27f;                                                                      \
    __asm__ volatile("fninit\n\tfldcw %0" : : "m"(cw));                                           \
  } while (0)
#include "harness.h"
