// Native side of fpmath_test.ts: runs one SSE floating-point instruction per input record on
// this host's CPU (64-bit mode) and records the destination, MXCSR and EFLAGS; an unmasked
// exception (#XM, SIGFPE) is caught and the state at the faulting instruction (MXCSR, XMM0,
// EAX, MM0) read from the signal context.
//
//   runner CODE.bin < IN > OUT
// CODE: u32 entry offsets, then routines f(in, out)
// IN:   records of u32 op, u32 mxcsr, u32 eax, u32 pad, u8 a[16] (xmm0), u8 b[16] (xmm1, mm0)
// OUT:  records of u8 xmm0[16], u32 mxcsr, u32 eflags, u32 eax, u32 fault, u8 mm0[8]
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

typedef void (*fn_t)(const uint8_t *in, uint8_t *out);
static sigjmp_buf jb;
static uint8_t *cur;

static void on_fpe(int sig, siginfo_t *si, void *ctx) {
  (void)sig; (void)si;
  ucontext_t *uc = ctx;
  struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
  memcpy(cur, &fp->_xmm[0], 16);
  memcpy(cur + 16, &fp->mxcsr, 4);
  uint32_t efl = (uint32_t)uc->uc_mcontext.gregs[REG_EFL];
  memcpy(cur + 20, &efl, 4);
  uint32_t eax = (uint32_t)uc->uc_mcontext.gregs[REG_RAX];
  memcpy(cur + 24, &eax, 4);
  uint32_t trap = (uint32_t)uc->uc_mcontext.gregs[REG_TRAPNO];
  memcpy(cur + 28, &trap, 4);
  memcpy(cur + 32, &fp->_st[0], 8);
  siglongjmp(jb, 1);
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: runner CODE < IN > OUT\n"); return 2; }
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 2; }
  static uint8_t code[1 << 20];
  size_t n = fread(code, 1, sizeof code, f);
  fclose(f);
  uint8_t *exe = mmap(NULL, n + 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (exe == MAP_FAILED) { perror("mmap"); return 2; }
  memcpy(exe, code, n);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fpe;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGFPE, &sa, NULL);
  uint8_t in[48], out[40];
  while (fread(in, 1, sizeof in, stdin) == sizeof in) {
    uint32_t op;
    memcpy(&op, in, 4);
    uint32_t off;
    memcpy(&off, exe + 4 * op, 4);
    memset(out, 0, sizeof out);
    uint32_t none = 0xffffffff;
    memcpy(out + 28, &none, 4);
    cur = out;
    if (sigsetjmp(jb, 1) == 0) ((fn_t)(exe + off))(in, out);
    fwrite(out, 1, sizeof out, stdout);
  }
  return 0;
}
