// Native side of the differential tests: runs 64-bit template code (assembled by harness.ts from
// the same instruction text ring3 runs in 32-bit mode) on this host's CPU, one input record at a
// time, and writes the output records.
//
//   runner CODE.bin IN.bin OUT.bin
//
// IN:  u32 njobs, then per job: u32 entry offset, u32 count, u32 memBytes, count records of
//      (u32 regs[8], u32 eflags, u8 mem[memBytes])
// OUT: per job, count records of (u32 regs[8], u32 eflags, u32 fault, u8 mem[memBytes])
//      fault = exception vector (hardware trap number) or 0xffffffff; on a fault regs/eflags are
//      the state at the faulting instruction, taken from the signal context.
//
// The data window lives at the same fixed address as in ring3's guest memory, so pointer
// registers hold identical values on both sides.
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#define DATA_ADDR 0x300000UL
#define DATA_SIZE 0x10000UL

typedef void (*entry_fn)(uint32_t *in, uint32_t *out);

static sigjmp_buf jb;
static uint32_t *cur_out;

static void on_fault(int sig, siginfo_t *si, void *ctx) {
  (void)si;
  ucontext_t *uc = ctx;
  greg_t *g = uc->uc_mcontext.gregs;
  cur_out[0] = (uint32_t)g[REG_RAX];
  cur_out[1] = (uint32_t)g[REG_RCX];
  cur_out[2] = (uint32_t)g[REG_RDX];
  cur_out[3] = (uint32_t)g[REG_RBX];
  cur_out[4] = 0;
  cur_out[5] = (uint32_t)g[REG_RBP];
  cur_out[6] = (uint32_t)g[REG_RSI];
  cur_out[7] = (uint32_t)g[REG_RDI];
  cur_out[8] = (uint32_t)g[REG_EFL];
  cur_out[9] = sig == SIGILL ? 6 : (uint32_t)g[REG_TRAPNO];
  siglongjmp(jb, 1);
}

static void *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *p = malloc(n ? n : 1);
  if (fread(p, 1, n, f) != (size_t)n) { perror(path); exit(2); }
  fclose(f);
  *len = n;
  return p;
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: runner CODE IN OUT\n"); return 2; }
  size_t codeLen, inLen;
  void *code = slurp(argv[1], &codeLen);
  uint8_t *in = slurp(argv[2], &inLen);
  uint8_t *exe = mmap(NULL, codeLen + 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uint8_t *data = mmap((void *)DATA_ADDR, DATA_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (exe == MAP_FAILED || data != (void *)DATA_ADDR) { perror("mmap"); return 2; }
  memcpy(exe, code, codeLen);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGFPE, &sa, NULL);
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  sigaction(SIGILL, &sa, NULL);
  sigaction(SIGTRAP, &sa, NULL);

  FILE *out = fopen(argv[3], "wb");
  if (!out) { perror(argv[3]); return 2; }
  uint32_t *p = (uint32_t *)in;
  uint32_t njobs = *p++;
  uint32_t obuf[10];
  for (uint32_t j = 0; j < njobs; j++) {
    uint32_t entry = *p++, count = *p++, memBytes = *p++;
    entry_fn fn = (entry_fn)(exe + entry);
    for (uint32_t i = 0; i < count; i++) {
      uint32_t *rec = p;
      memcpy(data, rec + 9, memBytes);
      cur_out = obuf;
      obuf[9] = 0xffffffff;
      if (sigsetjmp(jb, 1) == 0) {
        fn(rec, obuf);
      } else {
        // (a faulting template may have left MXCSR changed: back to the default for the next case)
        uint32_t mxcsr = 0x1f80;
        __asm__ volatile("cld; fninit; ldmxcsr %0" ::"m"(mxcsr) : "memory");
      }
      fwrite(obuf, 4, 10, out);
      fwrite(data, 1, memBytes, out);
      p = (uint32_t *)((uint8_t *)p + 36 + memBytes);
    }
  }
  fclose(out);
  return 0;
}
