/* Reference runner for tests/x87_test.ts: executes x87 code snippets on the host CPU.
 * The host runs 64-bit code only, but x87 instructions behave the same there as in 32-bit
 * mode as long as memory operands use [rbx+disp32] (identical encoding to [ebx+disp32]).
 *
 * stdin: records of  u32 code_len, code bytes, 1024 bytes of memory (RBX points at it).
 * stdout: per record, the 1024 bytes of memory afterwards, then u32 EAX and u32 EFLAGS.
 * EAX starts at 0, EFLAGS at 2 (arithmetic flags clear). The code is followed by a RET.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MEM 1024

static int rd(void *p, size_t n) { return fread(p, 1, n, stdin) == n; }

int main(void) {
  unsigned char *code = mmap(0, 65536, PROT_READ | PROT_WRITE | PROT_EXEC,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  unsigned char *mem = mmap(0, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  if (code == MAP_FAILED || mem == MAP_FAILED) { perror("mmap"); return 1; }
  uint32_t len;
  while (rd(&len, 4)) {
    if (len > 60000 || !rd(code, len) || !rd(mem, MEM)) { fprintf(stderr, "bad input\n"); return 1; }
    code[len] = 0xc3;
    uint64_t rax, fl;
    __asm__ volatile(
        "mov %[m], %%rbx\n\t"
        "xor %%eax, %%eax\n\t"
        "pushq $2\n\t"
        "popfq\n\t"
        "call *%[c]\n\t"
        "pushfq\n\t"
        "pop %[fl]\n\t"
        : "=&a"(rax), [fl] "=&r"(fl)
        : [m] "r"(mem), [c] "r"(code)
        : "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
    uint32_t out[2] = {(uint32_t)rax, (uint32_t)fl};
    fwrite(mem, 1, MEM, stdout);
    fwrite(out, 4, 2, stdout);
  }
  return 0;
}
