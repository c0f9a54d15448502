/* vm86check: Linux's vm86(2) runs a real-mode routine in virtual-8086 mode, with this program as
 * its monitor. The routine (16-bit code copied to linear 0x10000, CS = DS = SS = 0x1000) asks
 * for its services with DOS-style INT 0x21 calls, which the kernel hands back here because
 * vector 0x21 is marked revectored: AH=09h prints a '$'-terminated string at DS:DX, AH=02h the
 * character in DL, AH=30h..32h report BX/CX values the routine computed, AH=4Ch ends it.
 *
 * What it exercises in the CPU: IRET from ring 0 into virtual-8086 mode and the nine-dword
 * frame, real-mode addressing (a word written through ES = 0x1100 read back through DS = 0x1000 at
 * offset 0x1000), a long LOOP the timer interrupts (interrupts from virtual-8086 mode and the
 * return to it), the IOPL-sensitive CLI/STI/PUSHF/POPF that #GP to the kernel, which emulates
 * them (IF in the pushed image follows the virtual IF), and INT n, which #GPs too.
 *
 * Guest only (i386): x86-64 has no virtual-8086 mode. Prints CHECK lines and a SUMMARY like the
 * other check programs; tests/guest/vm86_test.ts boots it in ring3.
 */
#define _GNU_SOURCE
#include <asm/vm86.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __i386__
#error "vm86check is an i386 program"
#endif

#define SEG 0x1000u
#define BASE (SEG << 4)

static int n_pass, n_fail;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...) {
  char buf[300];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
  buf[n++] = '\n';
  if (write(1, buf, n) < 0) return;
}

static void check(const char *name, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check(const char *name, int ok, const char *fmt, ...) {
  char msg[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (ok) {
    n_pass++;
    out("CHECK %s PASS", name);
  } else {
    n_fail++;
    out("CHECK %s FAIL %s", name, msg);
  }
}

/* The real-mode routine, assembled as 16-bit code; copied to BASE, so offsets are from rm_start. */
extern char rm_start[], rm_end[];
__asm__(".section .rodata\n"
        ".globl rm_start\n"
        "rm_start:\n"
        ".code16\n"
        "  movw %cs, %ax\n"
        "  movw %ax, %ds\n"
        "  movw %ax, %es\n"
        "  movw $(rm_msg - rm_start), %dx\n"
        "  movb $0x09, %ah\n"
        "  int $0x21\n"
        /* 1 + 2 + ... + 100 with 16-bit registers */
        "  xorw %bx, %bx\n"
        "  movw $100, %cx\n"
        "1: addw %cx, %bx\n"
        "  loop 1b\n"
        "  movb $0x30, %ah\n"
        "  int $0x21\n"
        /* segment arithmetic: 0x1100:0000 is 0x1000:1000 */
        "  movw $0x1100, %ax\n"
        "  movw %ax, %es\n"
        "  movw $0x5aa5, %es:0\n"
        "  movw 0x1000, %bx\n"
        "  movb $0x31, %ah\n"
        "  int $0x21\n"
        /* a long loop: timer interrupts arrive in virtual-8086 mode and return to it */
        "  xorw %bx, %bx\n"
        "  movw $64, %dx\n"
        "2: movw $0xffff, %cx\n"
        "3: loop 3b\n"
        "  incw %bx\n"
        "  decw %dx\n"
        "  jnz 2b\n"
        "  movb $0x33, %ah\n"
        "  int $0x21\n"
        /* the virtual IF through CLI/STI/PUSHF/POPF (each traps to the kernel) */
        "  cli\n"
        "  pushfw\n"
        "  popw %bx\n"
        "  sti\n"
        "  pushfw\n"
        "  popw %cx\n"
        "  pushw %bx\n"
        "  popfw\n"
        "  pushfw\n"
        "  popw %si\n"
        "  sti\n"
        "  movb $0x32, %ah\n"
        "  int $0x21\n"
        "  movb $0x02, %ah\n"
        "  movb $'!', %dl\n"
        "  int $0x21\n"
        "  movb $0x02, %ah\n"
        "  movb $10, %dl\n"
        "  int $0x21\n"
        "  movw $0x4c07, %ax\n"
        "  int $0x21\n"
        "  hlt\n"
        "rm_msg: .ascii \"vm86: hello from real mode$\"\n"
        ".code32\n"
        ".globl rm_end\n"
        "rm_end:\n"
        ".text\n");

static char line[128];
static int line_n;

static void putc_line(char c) {
  if (c == '\n' || line_n == (int)sizeof line - 1) {
    line[line_n] = 0;
    out("%s", line);
    line_n = 0;
    if (c == '\n') return;
  }
  line[line_n++] = c;
}

int main(void) {
  out("vm86check: start");
  void *p = mmap((void *)BASE, 0x10000, PROT_READ | PROT_WRITE | PROT_EXEC,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (p != (void *)BASE) {
    check("vm86.mmap", 0, "mmap at %#x failed", BASE);
    out("SUMMARY vm86check %d passed, %d failed, 0 skipped", n_pass, n_fail);
    return 1;
  }
  memcpy(p, rm_start, rm_end - rm_start);

  struct vm86plus_struct v;
  memset(&v, 0, sizeof v);
  v.regs.cs = v.regs.ds = v.regs.es = v.regs.ss = SEG;
  v.regs.eip = 0;
  v.regs.esp = 0xfff0;
  v.regs.eflags = 0x200;
  v.cpu_type = CPU_386;
  v.int_revectored.__map[0x21 >> 5] |= 1u << (0x21 & 31);

  int ints = 0, exit_code = -1, sum = -1, alias = -1, loops = -1;
  unsigned fl_cli = 0, fl_sti = 0, fl_pop = 0;
  for (int round = 0; round < 1000 && exit_code < 0; round++) {
    long r = syscall(SYS_vm86, VM86_ENTER, &v);
    if (r < 0) {
      check("vm86.enter", 0, "vm86(VM86_ENTER) failed: %m");
      break;
    }
    switch (VM86_TYPE(r)) {
    case VM86_SIGNAL:
      continue;
    case VM86_INTx: {
      ints++;
      if (VM86_ARG(r) != 0x21) {
        check("vm86.int", 0, "INT %#x, not 0x21", (unsigned)VM86_ARG(r));
        exit_code = 99;
        break;
      }
      unsigned ah = (v.regs.eax >> 8) & 0xff;
      if (ah == 0x09) {
        const char *s = (const char *)(uintptr_t)((v.regs.ds << 4) + (v.regs.edx & 0xffff));
        for (int i = 0; i < 200 && s[i] != '$'; i++) putc_line(s[i]);
      } else if (ah == 0x02) {
        putc_line((char)(v.regs.edx & 0xff));
      } else if (ah == 0x30) {
        sum = v.regs.ebx & 0xffff;
      } else if (ah == 0x31) {
        alias = v.regs.ebx & 0xffff;
      } else if (ah == 0x33) {
        loops = v.regs.ebx & 0xffff;
      } else if (ah == 0x32) {
        fl_cli = v.regs.ebx & 0xffff;
        fl_sti = v.regs.ecx & 0xffff;
        fl_pop = v.regs.esi & 0xffff;
      } else if (ah == 0x4c) {
        exit_code = v.regs.eax & 0xff;
      } else {
        check("vm86.service", 0, "unknown service AH=%#x", ah);
        exit_code = 98;
      }
      break;
    }
    default:
      check("vm86.return", 0, "vm86 returned %#lx at %04lx:%04lx", r, (unsigned long)v.regs.cs, (unsigned long)v.regs.eip & 0xffff);
      exit_code = 97;
    }
  }
  check("vm86.exit", exit_code == 7, "the routine ended with %d (want 7) after %d INT 0x21", exit_code, ints);
  check("vm86.ints", ints == 8, "%d INT 0x21 calls reached the monitor (want 8)", ints);
  check("vm86.sum", sum == 5050, "1+..+100 in real mode gave %d", sum);
  check("vm86.segments", alias == 0x5aa5, "0x1000:1000 read %#x after writing 0x5aa5 at 0x1100:0000", alias);
  check("vm86.loop", loops == 64, "the long loop counted %d of 64", loops);
  check("vm86.vif", (fl_cli & 0x200) == 0 && (fl_sti & 0x200) != 0 && (fl_pop & 0x200) == 0,
        "PUSHF after CLI %#x, after STI %#x, after POPF of the first %#x", fl_cli, fl_sti, fl_pop);
  out("SUMMARY vm86check %d passed, %d failed, 0 skipped", n_pass, n_fail);
  return n_fail ? 1 : 0;
}
