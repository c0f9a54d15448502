// Probe of the host's SSE in 32-bit and 64-bit processes (not part of the suite):
//   gcc -m32 -msse2 -O1 -o /tmp/p32 probe32.c && /tmp/p32; gcc -O1 -o /tmp/p64 probe32.c && /tmp/p64
// On the development host (AMD EPYC under the PVM hypervisor) the 64-bit build prints the SDM's
// answers and the 32-bit build does not: ADDSS of two QNaNs returns the second (the larger
// significand, the x87 rule) and COMISD with a denormal operand leaves DE clear. ring3's tests
// therefore take the host's 64-bit mode as the reference for SSE.
#include <stdio.h>
int main(void) {
  unsigned a = 0xffdee67d, b = 0x7fe51604, r, m;
  __asm__ volatile("movd %1, %%xmm0\n movd %2, %%xmm1\n addss %%xmm1, %%xmm0\n movd %%xmm0, %0\n"
                   : "=r"(r) : "r"(a), "r"(b) : "xmm0", "xmm1");
  printf("addss(ffdee67d, 7fe51604) = %x (SDM: the first operand, ffdee67d)\n", r);
  unsigned den[2] = {0x2be00e06, 0x800347b6}, mx = 0x1f80;
  __asm__ volatile("ldmxcsr %2\n movsd %1, %%xmm1\n pxor %%xmm2, %%xmm2\n comisd %%xmm1, %%xmm2\n stmxcsr %0"
                   : "=m"(m) : "m"(den), "m"(mx) : "xmm1", "xmm2");
  printf("comisd 0, denormal: MXCSR %x (SDM: DE set, 1f82)\n", m);
  return 0;
}
