/* The two ways a bench program runs, around its `unsigned int work(int rounds)`:
 *   -DNATIVE: a host program that times work() and prints "checksum nanoseconds";
 *   otherwise: a freestanding i386 entry point for ring3 that runs work(ROUNDS), reports the
 *   checksum through port 0xF4 (the bare machine's exit port) and halts.
 * PROGRAM_INIT(), if defined, runs first in the freestanding build (e.g. FPU set-up). */
#ifdef NATIVE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 20;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  unsigned int r = work(rounds);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%08x %.0f\n", r, (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec));
  return 0;
}
#else
#ifndef PROGRAM_INIT
#define PROGRAM_INIT()
#endif
void _start(void) {
  PROGRAM_INIT();
  unsigned int r = work(ROUNDS);
  __asm__ volatile("outl %0, $0xf4" : : "a"(r));
  for (;;) __asm__ volatile("hlt");
}
#endif
