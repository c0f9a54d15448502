// SSE floating point in a Linux guest: a program as gcc -m32 -static -O2 -msse2 -mfpmath=sse
// builds it (scalar and vectorised arithmetic, the four rounding modes through fesetround, the
// exception flags through fetestexcept, glibc's libm and printf/strtod). tests/guest/ssefp_test.ts
// runs the same static binary in the guest and on the host and compares every FPCHECK line.
// NaNs print as "nan" (which NaN an operation passes on is compared elsewhere, tests/ssefp).
// Without SSE2 in CPUID the program says so and the test skips.
#include <fenv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static void pd(const char *n, double v) {
  if (v != v) printf("FPCHECK %s nan\n", n);
  else printf("FPCHECK %s %a\n", n, v);
}

int main(void) {
  if (!__builtin_cpu_supports("sse2")) {
    printf("FPCHECK SKIP no sse2 in cpuid\n");
    return 0;
  }
  static const int modes[4] = {FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO};
  unsigned x = 1;
  for (int m = 0; m < 4; m++) {
    fesetround(modes[m]);
    feclearexcept(FE_ALL_EXCEPT);
    double acc = 0;
    float facc = 0;
    for (int i = 0; i < 3000; i++) {
      x = x * 1103515245u + 12345u;
      double a = (double)(int)x / 65536.0, b = ((x >> 8) & 0xffff) / 37.0 + 1e-3;
      acc += a / b + sqrt(fabs(a)) * 1.0000001 - (double)(float)(a * b);
      facc += (float)a * 0.1f + (float)b / 3.0f;
      acc += (double)lrint(a / 7.0) + nearbyint(b * 3.3) + (double)(long)(a * 0.01);
      if (i % 500 == 0) pd("step", acc);
    }
    pd("acc", acc);
    pd("facc", facc);
    printf("FPCHECK flags %x\n", fetestexcept(FE_ALL_EXCEPT));
  }
  fesetround(FE_TONEAREST);
  double s = 0;
  for (int i = 1; i < 500; i++) {
    double t = i * 0.37;
    s += sin(t) + cos(t) * exp(-t / 50) + log(t) + pow(t, 0.3) + atan2(t, 3.0) + fmod(t * 7.1, 2.3);
  }
  pd("libm", s);
  printf("FPCHECK printf %.17g %.9g %g %e\n", s, (float)s, 1.0 / 3, 6.02214076e23);
  printf("FPCHECK strtod %a %a\n", strtod("3.14159265358979323846264338327950288", 0), strtod("1e-310", 0));
  static float va[4096], vb[4096];
  static double wa[2048];
  for (int i = 0; i < 4096; i++) { va[i] = i * 0.25f - 100; vb[i] = 1.0f / (i + 1); }
  float dot = 0;
  for (int i = 0; i < 4096; i++) dot += va[i] * vb[i];
  for (int i = 0; i < 2048; i++) wa[i] = sqrt((double)i) * 0.5 + i / 3.0;
  double sum = 0;
  for (int i = 0; i < 2048; i++) sum += wa[i];
  pd("dot", dot);
  pd("sum", sum);
  volatile double z = 0;
  volatile double inf = 1.0 / z;
  feclearexcept(FE_ALL_EXCEPT);
  volatile double nn = inf - inf;
  printf("FPCHECK invalid %d %d\n", fetestexcept(FE_INVALID) != 0, nn != nn);
  volatile double big = 1e10 * (z + 1);
  printf("FPCHECK ints %d %d %d\n", (int)nn, (int)big, (int)-2.5);
  feclearexcept(FE_ALL_EXCEPT);
  volatile double tiny = 1e-300 * 1e-20 * (z + 1);
  printf("FPCHECK underflow %d %a\n", fetestexcept(FE_UNDERFLOW | FE_INEXACT), tiny);
  printf("FPCHECK done\n");
  return 0;
}
