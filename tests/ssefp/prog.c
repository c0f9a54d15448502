// A floating-point program as gcc compiles it (-O2 -msse3 -mfpmath=sse -frounding-math
// -fno-math-errno), run by program_test.ts in ring3 (-m32, freestanding, no libc) and natively
// (64-bit): scalar and packed single/double arithmetic, square roots, conversions, comparisons,
// min/max, SSE3 horizontal adds, vectorised loops, in every rounding mode with FTZ/DAZ on and
// off; each result's bits and MXCSR after each configuration go to out[]. A NaN result is
// written as one canonical pattern: which NaN a commutative operation passes on depends on the
// operand order the compiler picked, which differs between the two builds (NaN propagation is
// compared exactly by fpmath_test.ts and tests/diff/ssefp_test.ts).
#include <pmmintrin.h>

#define N_CFG 16
#define N_ITER 160
#define N_SLOT 28
#define N_OUT (N_CFG * (N_ITER * N_SLOT + 1 + 8))

static unsigned seed;
static unsigned rnd(void) {
  seed = seed * 1103515245u + 12345u;
  return (seed >> 16) ^ (seed << 15);
}
static double bitsd(unsigned hi, unsigned lo) {
  union { unsigned u[2]; double d; } v;
  v.u[0] = lo;
  v.u[1] = hi;
  return v.d;
}
static unsigned fbits(float f) {
  union { float f; unsigned u; } v;
  v.f = f;
  return v.u;
}
static float bitsf(unsigned u) {
  union { float f; unsigned u; } v;
  v.u = u;
  return v.f;
}
// doubles: ordinary values, specials, denormals, extremes
static double gend(void) {
  unsigned k = rnd() % 16, s = rnd() & 0x80000000u;
  switch (k) {
    case 0: return bitsd(s | 0x7ff00000u, 0);
    case 1: return bitsd(s | (rnd() & 0xfffffu), rnd()); // denormal (or zero)
    case 2: return bitsd(s | 0x7ff80000u | (rnd() & 0x7ffff), rnd()); // QNaN
    case 3: return bitsd(s | ((1 + rnd() % 40) << 20) | (rnd() & 0xfffff), rnd()); // tiny normal
    case 4: return bitsd(s | ((2006 + rnd() % 40) << 20) | (rnd() & 0xfffff), rnd()); // huge
    case 5: return (double)(int)(rnd() % 2001 - 1000) / (double)(1 + rnd() % 16);
    case 6: return (double)(int)rnd() * 0.25;
    default: return bitsd(s | ((1023 - 40 + rnd() % 80) << 20) | (rnd() & 0xfffff), rnd());
  }
}
static float genf(void) {
  unsigned k = rnd() % 16, s = rnd() & 0x80000000u;
  switch (k) {
    case 0: return bitsf(s | 0x7f800000u);
    case 1: return bitsf(s | (rnd() & 0x7fffffu));
    case 2: return bitsf(s | 0x7fc00000u | (rnd() & 0x3fffff));
    case 3: return bitsf(s | ((1 + rnd() % 20) << 23) | (rnd() & 0x7fffff));
    case 4: return bitsf(s | ((234 + rnd() % 20) << 23) | (rnd() & 0x7fffff));
    case 5: return (float)(int)(rnd() % 2001 - 1000) / (float)(1 + rnd() % 16);
    default: return bitsf(s | ((127 - 20 + rnd() % 40) << 23) | (rnd() & 0x7fffff));
  }
}
static unsigned *o;
static void putd(double d) {
  union { double d; unsigned u[2]; } v;
  v.d = d;
  *o++ = d != d ? 0x7ff80000u : v.u[0] ^ v.u[1];
}
static void putf(float f) { *o++ = f != f ? 0x7fc00000u : fbits(f); }

static float va[64], vb[64];
static double wa[32], wb[32];

void compute(unsigned *out) {
  o = out;
  seed = 12345;
  for (unsigned cfg = 0; cfg < N_CFG; cfg++) {
    _mm_setcsr(0x1f80 | ((cfg & 3) << 13) | ((cfg & 4) ? 0x8000 : 0) | ((cfg & 8) ? 0x40 : 0));
    for (int i = 0; i < N_ITER; i++) {
      volatile double x = gend(), y = gend();
      volatile float fx = genf(), fy = genf();
      volatile int n = (int)rnd();
      putd(x + y);
      putd(x - y);
      putd(x * y);
      putd(x / y);
      putd(__builtin_sqrt(x < 0 ? -x : x));
      putf((float)x);
      putd((double)fx);
      *o++ = (x > -2e9 && x < 2e9) ? (unsigned)(int)x : 0;
      *o++ = (unsigned)_mm_cvtsd_si32(_mm_set_sd(x));
      *o++ = (unsigned)_mm_cvtss_si32(_mm_set_ss(fx));
      putd((double)n);
      putf((float)n);
      putf(fx + fy);
      putf(fx - fy);
      putf(fx * fy);
      putf(fx / fy);
      putf(_mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(fx))));
      *o++ = (x < y) | (x <= y) << 1 | (x == y) << 2 | (x != y) << 3 | (fx > fy) << 4 | (fx >= fy) << 5;
      putd(_mm_cvtsd_f64(_mm_max_sd(_mm_set_sd(x), _mm_set_sd(y))));
      putf(_mm_cvtss_f32(_mm_min_ss(_mm_set_ss(fx), _mm_set_ss(fy))));
      putd(_mm_cvtsd_f64(_mm_hadd_pd(_mm_set_pd(y, x), _mm_set_pd(x, y))));
      __m128 h = _mm_hsub_ps(_mm_set_ps(fy, fx, fy, fx), _mm_set_ps(fx, fx, fy, fy));
      putf(_mm_cvtss_f32(h));
      __m128d as = _mm_addsub_pd(_mm_set_pd(x, y), _mm_set_pd(y, x));
      putd(_mm_cvtsd_f64(_mm_unpackhi_pd(as, as)));
      __m128 c = _mm_cmpunord_ps(_mm_set_ps1(fx), _mm_set_ps1(fy));
      *o++ = (unsigned)_mm_movemask_ps(c) | (unsigned)_mm_movemask_pd(_mm_cmplt_pd(_mm_set1_pd(x), _mm_set1_pd(y))) << 4;
      putd(x * 0.1 + y * 3.0);
      putf(fx * 1.5f - fy);
      putd((double)(float)(x * y));
      putd(_mm_cvtsd_f64(_mm_cvtps_pd(_mm_set_ps1(fx * fy))));
    }
    *o++ = _mm_getcsr();
    // vectorised loops
    for (int i = 0; i < 64; i++) { va[i] = genf(); vb[i] = genf(); }
    for (int i = 0; i < 32; i++) { wa[i] = gend(); wb[i] = gend(); }
    float s = 0;
    for (int i = 0; i < 64; i++) s += va[i] * vb[i];
    putf(s);
    for (int i = 0; i < 64; i++) va[i] = va[i] * 0.5f + vb[i];
    putf(va[7]);
    putf(va[33]);
    double t = 0;
    for (int i = 0; i < 32; i++) t += wa[i] / (wb[i] + 1.0);
    putd(t);
    for (int i = 0; i < 32; i++) wa[i] = wa[i] * wb[i] - 2.0;
    putd(wa[5]);
    putd(wa[30]);
    int m = 0;
    for (int i = 0; i < 32; i++) m += wa[i] > wb[i];
    *o++ = (unsigned)m;
    *o++ = _mm_getcsr();
  }
}

#ifdef NATIVE
#include <stdio.h>
int main(void) {
  static unsigned out[N_OUT];
  compute(out);
  fwrite(out, 4, N_OUT, stdout);
  _mm_setcsr(0x1f80);
  return 0;
}
#else
// freestanding: ring3 enters here (flat 32-bit, ring 0) with the output buffer at 0x200000
__asm__(".globl _start\n_start:\n  mov $0x90000, %esp\n  push $0x200000\n  call compute\n  hlt\n");
#endif
