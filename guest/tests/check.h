/* Shared pieces of ring3's guest check programs.
 *
 * Every check prints one line, "CHECK <name> PASS", "CHECK <name> FAIL <details>" or
 * "CHECK <name> SKIP <reason>", and each program ends with "SUMMARY <prog> <p> passed, <f> failed,
 * <s> skipped". Lines go out with write(2) so that nothing is lost or reordered by stdio buffers
 * when a check forks or dies.
 *
 * The programs are built twice: for the guest (gcc -m32 -static, i386) and for the host
 * (x86-64), where the same instructions behave the same and the real CPU and the host's Linux
 * show what the right answers are. The few bits of assembly differ only in register width; the
 * macros below hide that.
 */
#ifndef RING3_CHECK_H
#define RING3_CHECK_H

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <ucontext.h>
#include <unistd.h>

#ifdef __x86_64__
#define R_IP REG_RIP
#define R_AX REG_RAX
#define R_CX REG_RCX
/* pointer-sized registers, first and second argument into AX and CX */
#define AX "%rax"
#define CX "%rcx"
#define SP "%rsp"
#define SI "%rsi"
#define BX "%rbx"
#define BP "%rbp"
#define DI "%rdi"
#define ARGS2 "movq %rdi, %rax\n\tmovq %rsi, %rcx\n\t"
#define ARG1 "movq %rdi, %rax\n\t"
#else
#define R_IP REG_EIP
#define R_AX REG_EAX
#define R_CX REG_ECX
#define AX "%eax"
#define CX "%ecx"
#define SP "%esp"
#define SI "%esi"
#define BX "%ebx"
#define BP "%ebp"
#define DI "%edi"
#define ARGS2 "movl 4(%esp), %eax\n\tmovl 8(%esp), %ecx\n\t"
#define ARG1 "movl 4(%esp), %eax\n\t"
#endif
#define R_FL REG_EFL

/* Assembly helpers: a function and a global code label (to know instruction addresses). */
#define ASM_FUNC(n) ".text\n\t.globl " #n "\n\t.type " #n ", @function\n" #n ":\n\t"
#define ASM_LABEL(n) ".globl " #n "\n" #n ":\n\t"
#define CODE_LABEL(n) extern char n[]

#define EFL_TF 0x100u
#define EFL_AC 0x40000u

/* i386/x86-64 exception vectors as Linux reports them in sigcontext.trapno */
enum { T_DE = 0, T_DB = 1, T_BP = 3, T_OF = 4, T_BR = 5, T_UD = 6, T_GP = 13, T_PF = 14, T_MF = 16, T_AC = 17 };
/* page fault error code bits */
enum { PF_P = 1, PF_W = 2, PF_U = 4 };

static const char *prog_name = "check";
static int n_pass, n_fail, n_skip;

static void out_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out_line(const char *fmt, ...) {
  char buf[600];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
  buf[n++] = '\n';
  for (int off = 0; off < n;) {
    ssize_t w = write(1, buf + off, n - off);
    if (w <= 0) {
      if (w < 0 && errno == EINTR) continue;
      return;
    }
    off += w;
  }
}

static void pass(const char *name) {
  n_pass++;
  out_line("CHECK %s PASS", name);
}

static void fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(const char *name, const char *fmt, ...) {
  char msg[480];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  n_fail++;
  out_line("CHECK %s FAIL %s", name, msg);
}

static void skip(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3), unused));
static void skip(const char *name, const char *fmt, ...) {
  char msg[480];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  n_skip++;
  out_line("CHECK %s SKIP %s", name, msg);
}

static void watchdog(int sig) {
  (void)sig;
  out_line("CHECK %s-watchdog FAIL the checks did not finish in time", prog_name);
  _exit(4);
}

static void start(const char *name, unsigned seconds) {
  prog_name = name;
  signal(SIGALRM, watchdog);
  alarm(seconds);
}

static int summary(void) {
  out_line("SUMMARY %s %d passed, %d failed, %d skipped", prog_name, n_pass, n_fail, n_skip);
  return n_fail ? 1 : 0;
}

/* ---- signal capture ----------------------------------------------------------------------- */

/* What the last caught signal said. Plain volatile globals: only the handler writes them. */
struct sigrec {
  int count;
  int signo, code, errno_;
  uintptr_t addr;   /* si_addr */
  uintptr_t ip;     /* EIP/RIP in the ucontext */
  uintptr_t flags;  /* EFLAGS in the ucontext */
  uintptr_t trapno, err;
  pid_t pid;
  uid_t uid;
  int value;        /* si_value.sival_int */
  uintptr_t cx, si, di, sp; /* ECX/ESI/EDI/ESP in the ucontext */
};
static volatile struct sigrec rec;

/* Handler behaviour, set by each check before it provokes a signal. */
static volatile uintptr_t resume_at;   /* nonzero: continue there */
static volatile uintptr_t set_ax;      /* nonzero: put this in EAX/RAX before resuming */
static volatile uintptr_t clear_flags = EFL_TF | EFL_AC; /* EFLAGS bits to clear on return */
/* single-step log: with trace_max > 0 every signal appends its IP and CX, and TF stays on */
static volatile uintptr_t trace_ip[32], trace_cx[32];
static volatile int trace_n, trace_max;

static void catcher(int sig, siginfo_t *si, void *ctx) {
  /* Linux enters handlers with EFLAGS.AC as it was; the handler's own code must not trip it. */
  __asm__ volatile("pushf\n\tandl $~0x40000, (" SP ")\n\tpopf");
  ucontext_t *uc = (ucontext_t *)ctx;
  greg_t *g = uc->uc_mcontext.gregs;
  if (trace_max > 0) {
    if (trace_n < trace_max && trace_n < 32) {
      trace_ip[trace_n] = (uintptr_t)g[R_IP];
      trace_cx[trace_n] = (uintptr_t)g[R_CX];
    }
    trace_n++;
    if (trace_n >= trace_max) g[R_FL] &= ~(greg_t)EFL_TF; /* runaway guard */
    return;
  }
  if (!resume_at && (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE)) {
    /* returning would fault again forever */
    out_line("CHECK unexpected-signal FAIL signal %d si_code %d at ip %#lx addr %#lx", sig, si->si_code,
             (unsigned long)g[R_IP], (unsigned long)si->si_addr);
    _exit(3);
  }
  rec.count++;
  rec.signo = sig;
  rec.code = si->si_code;
  rec.errno_ = si->si_errno;
  rec.addr = (uintptr_t)si->si_addr;
  rec.ip = (uintptr_t)g[R_IP];
  rec.flags = (uintptr_t)g[R_FL];
  rec.trapno = (uintptr_t)g[REG_TRAPNO];
  rec.err = (uintptr_t)g[REG_ERR];
  rec.pid = si->si_pid;
  rec.uid = si->si_uid;
  rec.value = si->si_value.sival_int;
#ifdef __x86_64__
  rec.cx = (uintptr_t)g[REG_RCX];
  rec.si = (uintptr_t)g[REG_RSI];
  rec.di = (uintptr_t)g[REG_RDI];
  rec.sp = (uintptr_t)g[REG_RSP];
#else
  rec.cx = (uintptr_t)g[REG_ECX];
  rec.si = (uintptr_t)g[REG_ESI];
  rec.di = (uintptr_t)g[REG_EDI];
  rec.sp = (uintptr_t)g[REG_ESP];
#endif
  g[R_FL] &= ~(greg_t)clear_flags;
  if (set_ax) g[R_AX] = (greg_t)set_ax;
  if (resume_at) g[R_IP] = (greg_t)resume_at;
}

static void catch_signal(int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = catcher;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK; /* the alternate stack, if one is set up */
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) != 0) {
    out_line("CHECK setup FAIL sigaction(%d): %s", sig, strerror(errno));
    exit(2);
  }
}

static void arm(uintptr_t resume) {
  memset((void *)&rec, 0, sizeof rec);
  resume_at = resume;
  set_ax = 0;
  clear_flags = EFL_TF | EFL_AC;
  trace_n = 0;
  trace_max = 0;
}

/* Expected signal: every field given is compared; ~0 means "do not compare". */
#define ANY ((uintptr_t)~(uintptr_t)0)
struct expect {
  int signo, code;
  uintptr_t addr, ip, trapno, err;
};

/* Compare rec with e; on mismatch write the differences into why and return 0. */
static int matches(const struct expect *e, char *why, size_t n) {
  why[0] = 0;
  size_t len = 0;
#define ADD(...) len += snprintf(why + len, len < n ? n - len : 0, __VA_ARGS__)
  if (rec.count != 1) ADD("signals=%d ", rec.count);
  if (rec.signo != e->signo) ADD("signo=%d want %d ", rec.signo, e->signo);
  if (e->code != (int)ANY && rec.code != e->code) ADD("si_code=%d want %d ", rec.code, e->code);
  if (e->addr != ANY && rec.addr != e->addr) ADD("si_addr=%#lx want %#lx ", (unsigned long)rec.addr, (unsigned long)e->addr);
  if (e->ip != ANY && rec.ip != e->ip) ADD("ip=%#lx want %#lx ", (unsigned long)rec.ip, (unsigned long)e->ip);
  if (e->trapno != ANY && rec.trapno != e->trapno) ADD("trapno=%lu want %lu ", (unsigned long)rec.trapno, (unsigned long)e->trapno);
  if (e->err != ANY && rec.err != e->err) ADD("err=%#lx want %#lx ", (unsigned long)rec.err, (unsigned long)e->err);
#undef ADD
  return why[0] == 0;
}

__attribute__((unused)) static void expect_signal(const char *name, const struct expect *e) {
  char why[400];
  if (matches(e, why, sizeof why)) pass(name);
  else fail(name, "%s", why);
}

#endif
