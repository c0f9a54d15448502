/* sigcheck: precise exceptions as a Linux program sees them through SA_SIGINFO signals.
 *
 * Each check provokes one CPU exception from a tiny assembly routine whose faulting instruction
 * carries a global label, then compares what the handler got (signal, si_code, si_addr, the
 * ucontext IP, trapno, error code) with what the Intel SDM and Linux 6.1's trap handlers say:
 * a fault reports the faulting instruction, a trap the next one. The handler then moves the IP to
 * the routine's resume label, which also checks that a handler can redirect execution.
 *
 * Linux 6.1 facts these expectations come from (arch/x86/kernel/traps.c, mm/fault.c):
 *   #DE  SIGFPE  FPE_INTDIV  si_addr = faulting IP (divide by zero and INT_MIN / -1 alike)
 *   #UD  SIGILL  ILL_ILLOPN  si_addr = faulting IP
 *   #BP  SIGTRAP SI_KERNEL   (do_trap with sicode 0 -> force_sig), IP after int3
 *   #DB  SIGTRAP TRAP_TRACE  when DR6.BS is set, si_addr = IP after the stepped instruction;
 *        TRAP_BRKPT when DR6 is empty (icebp)
 *   #AC  SIGBUS  BUS_ADRALN  si_addr = NULL
 *   #PF  SIGSEGV SEGV_MAPERR / SEGV_ACCERR, si_addr = CR2
 *   #MF  SIGFPE  FPE_FLTDIV / FPE_FLTINV from the saved x87 status, si_addr = the IP of the
 *        x87 instruction that noticed the pending exception
 *   #GP  SIGSEGV SI_KERNEL, error code as pushed by the CPU
 */
#include "check.h"

#include <limits.h>
#include <sys/mman.h>
#include <sys/wait.h>

#ifdef __x86_64__
#define WS "8"
#define MOVS_ENTRY "push %rsi\n\tpush %rdi\n\tmovq %rdx, %rcx\n\tcld\n\t"
#else
#define WS "4"
#define MOVS_ENTRY \
  "push %esi\n\tpush %edi\n\tmovl 12(%esp), %edi\n\tmovl 16(%esp), %esi\n\tmovl 20(%esp), %ecx\n\tcld\n\t"
#endif

__asm__(
    /* uint32_t r3_load32(const void *p) */
    ASM_FUNC(r3_load32) ARG1 ASM_LABEL(ins_load32) "movl (" AX "), %eax\n\t" ASM_LABEL(ins_load32_end) "ret\n\t"
    /* void r3_store32(void *p, uint32_t v) */
    ASM_FUNC(r3_store32) ARGS2 ASM_LABEL(ins_store32) "movl %ecx, (" AX ")\n\t" ASM_LABEL(ins_store32_end) "ret\n\t"
    /* int r3_idiv(int a, int b): a / b */
    ASM_FUNC(r3_idiv) ARGS2 "cltd\n\t" ASM_LABEL(ins_idiv) "idivl %ecx\n\t" ASM_LABEL(ins_idiv_end) "ret\n\t"
    /* int r3_ud2(void): returns whatever EAX the handler left */
    ASM_FUNC(r3_ud2) "xorl %eax, %eax\n\t" ASM_LABEL(ins_ud2) "ud2\n\t" ASM_LABEL(ins_ud2_end) "ret\n\t"
    /* unsigned r3_resume_regs(void): callee-saved registers must survive a signal and a redirected
       return; 0 when they all did, else a bitmask of the ones that changed */
    ASM_FUNC(r3_resume_regs)
    "push " BX "\n\tpush " SI "\n\tpush " DI "\n\tpush " BP "\n\t"
    "movl $0x13579bdf, %ebx\n\tmovl $0x2468ace0, %esi\n\tmovl $0x0badf00d, %edi\n\tmovl $0x5eed5eed, %ebp\n\t"
    ASM_LABEL(ins_resume) "ud2\n\t"
    "movl $0x11111111, %eax\n\t" /* skipped by the handler */
    ASM_LABEL(ins_resume_to)
    "xorl %eax, %eax\n\t"
    "cmpl $0x13579bdf, %ebx\n\tje 1f\n\torl $1, %eax\n1:\t"
    "cmpl $0x2468ace0, %esi\n\tje 1f\n\torl $2, %eax\n1:\t"
    "cmpl $0x0badf00d, %edi\n\tje 1f\n\torl $4, %eax\n1:\t"
    "cmpl $0x5eed5eed, %ebp\n\tje 1f\n\torl $8, %eax\n1:\t"
    "pop " BP "\n\tpop " DI "\n\tpop " SI "\n\tpop " BX "\n\tret\n\t"
    /* void r3_int3(void), void r3_int3_long(void): 0xCC and 0xCD 0x03 */
    ASM_FUNC(r3_int3) ASM_LABEL(ins_int3) "int3\n\t" ASM_LABEL(ins_int3_end) "ret\n\t"
    ASM_FUNC(r3_int3_long) ASM_LABEL(ins_int3l) ".byte 0xcd, 0x03\n\t" ASM_LABEL(ins_int3l_end) "ret\n\t"
    /* void r3_int20(void): INT 0x20 hits a DPL 0 gate -> #GP(0x20*8+2) */
    ASM_FUNC(r3_int20) ASM_LABEL(ins_int20) "int $0x20\n\t" ASM_LABEL(ins_int20_end) "ret\n\t"
    /* void r3_icebp(void): INT1 -> #DB with DR6 showing no cause */
    ASM_FUNC(r3_icebp) ASM_LABEL(ins_icebp) ".byte 0xf1\n\t" ASM_LABEL(ins_icebp_end) "ret\n\t"
    /* void r3_tf_step(void): POPF sets TF; the trap comes after the *next* instruction */
    ASM_FUNC(r3_tf_step)
    "pushf\n\torl $0x100, (" SP ")\n\tpopf\n\t" ASM_LABEL(ins_tf_nop) "nop\n\t" ASM_LABEL(ins_tf_after) "ret\n\t"
    /* void r3_tf_trace(void *dst, const void *src): steps through a sequence with a REP MOVSB
       (one trap per iteration) and a POPF that clears TF (still traps after itself) */
    ASM_FUNC(r3_tf_trace) ARGS2
    "push " SI "\n\tpush " DI "\n\t"
    "mov " AX ", " DI "\n\tmov " CX ", " SI "\n\tmovl $3, %ecx\n\tcld\n\t"
    "pushf\n\torl $0x100, (" SP ")\n\tpopf\n\t"
    ASM_LABEL(tr0) "nop\n\t"
    ASM_LABEL(tr1) "movl $7, %eax\n\t"
    ASM_LABEL(tr2) "rep movsb\n\t"
    ASM_LABEL(tr3) "pushf\n\t"
    ASM_LABEL(tr4) "andl $~0x100, (" SP ")\n\t"
    ASM_LABEL(tr5) "popf\n\t"
    ASM_LABEL(tr6) "nop\n\t"
    "pop " DI "\n\tpop " SI "\n\tret\n\t"
    /* uint32_t r3_ac_load32(const void *p): the load runs with EFLAGS.AC set */
    ASM_FUNC(r3_ac_load32) ARG1
    "pushf\n\torl $0x40000, (" SP ")\n\tpopf\n\t"
    ASM_LABEL(ins_ac32) "movl (" AX "), %eax\n\t"
    ASM_LABEL(ins_ac32_end) "pushf\n\tandl $~0x40000, (" SP ")\n\tpopf\n\tret\n\t"
    /* uint32_t r3_ac_load16(const void *p) */
    ASM_FUNC(r3_ac_load16) ARG1
    "pushf\n\torl $0x40000, (" SP ")\n\tpopf\n\t"
    ASM_LABEL(ins_ac16) "movzwl (" AX "), %eax\n\t"
    ASM_LABEL(ins_ac16_end) "pushf\n\tandl $~0x40000, (" SP ")\n\tpopf\n\tret\n\t"
    /* void r3_x87_zdiv(void): 1 / 0 with the zero-divide exception unmasked; FWAIT reports it */
    ASM_FUNC(r3_x87_zdiv)
    "push $0x037b\n\tfldcw (" SP ")\n\tpush $0\n\tfld1\n\tfidivl (" SP ")\n\t"
    ASM_LABEL(ins_zdiv_wait) "fwait\n\t"
    ASM_LABEL(ins_zdiv_end) "fnclex\n\tfninit\n\tadd $(2*" WS "), " SP "\n\tret\n\t"
    /* void r3_x87_inval(void): sqrt(-1) with the invalid-operation exception unmasked; the next
       x87 instruction (FLD1, not a wait) reports it */
    ASM_FUNC(r3_x87_inval)
    "push $0x037e\n\tfldcw (" SP ")\n\tfld1\n\tfchs\n\tfsqrt\n\t"
    ASM_LABEL(ins_inval_next) "fld1\n\t"
    ASM_LABEL(ins_inval_end) "fnclex\n\tfninit\n\tadd $" WS ", " SP "\n\tret\n\t"
    /* void r3_push_at(void *sp): PUSH with ESP = sp */
    ASM_FUNC(r3_push_at) ARG1
    "push " BX "\n\tmov " SP ", " BX "\n\tmov " AX ", " SP "\n\t"
    ASM_LABEL(ins_push) "push " BX "\n\t"
    ASM_LABEL(ins_push_end) "mov " BX ", " SP "\n\tpop " BX "\n\tret\n\t"
    /* size_t r3_rep_movsb(void *dst, const void *src, size_t n): returns ECX afterwards */
    ASM_FUNC(r3_rep_movsb) MOVS_ENTRY
    ASM_LABEL(ins_movs) "rep movsb\n\t"
    ASM_LABEL(ins_movs_end) "mov " CX ", " AX "\n\tpop " DI "\n\tpop " SI "\n\tret\n\t"
    /* void r3_load_fs(unsigned sel), r3_load_ss(unsigned sel): MOV Sreg, AX (8E E0 / 8E D0) */
    ASM_FUNC(r3_load_fs) ARG1 ASM_LABEL(ins_movfs) ".byte 0x8e, 0xe0\n\t" ASM_LABEL(ins_movfs_end) "ret\n\t"
    ASM_FUNC(r3_load_ss) ARG1 ASM_LABEL(ins_movss) ".byte 0x8e, 0xd0\n\t" ASM_LABEL(ins_movss_end) "ret\n\t"
#ifndef __x86_64__
    /* i386 only (invalid in 64-bit mode): BOUND out of range (#BR, a fault), INTO with OF=1
       (#OF, a trap) */
    ASM_FUNC(r3_bound) "push %ebx\n\tpush $10\n\tpush $0\n\tmovl $11, %ebx\n\t"
    ASM_LABEL(ins_bound) "boundl %ebx, (%esp)\n\t"
    ASM_LABEL(ins_bound_end) "addl $8, %esp\n\tpop %ebx\n\tret\n\t"
    ASM_FUNC(r3_into) "movl $0x7fffffff, %eax\n\taddl $1, %eax\n\t"
    ASM_LABEL(ins_into) "into\n\t"
    ASM_LABEL(ins_into_end) "ret\n\t"
#endif
    ".text\n");

uint32_t r3_load32(const void *p);
void r3_store32(void *p, uint32_t v);
int r3_idiv(int a, int b);
int r3_ud2(void);
unsigned r3_resume_regs(void);
void r3_int3(void), r3_int3_long(void), r3_int20(void), r3_icebp(void);
void r3_tf_step(void);
void r3_tf_trace(void *dst, const void *src);
uint32_t r3_ac_load32(const void *p);
uint32_t r3_ac_load16(const void *p);
void r3_x87_zdiv(void), r3_x87_inval(void);
void r3_push_at(void *sp);
size_t r3_rep_movsb(void *dst, const void *src, size_t n);
void r3_load_fs(unsigned sel), r3_load_ss(unsigned sel);
CODE_LABEL(ins_push);
CODE_LABEL(ins_push_end);
CODE_LABEL(ins_movs);
CODE_LABEL(ins_movs_end);
CODE_LABEL(ins_movfs);
CODE_LABEL(ins_movfs_end);
CODE_LABEL(ins_movss);
CODE_LABEL(ins_movss_end);
#ifndef __x86_64__
void r3_bound(void), r3_into(void);
CODE_LABEL(ins_bound);
CODE_LABEL(ins_bound_end);
CODE_LABEL(ins_into);
CODE_LABEL(ins_into_end);
#endif
CODE_LABEL(ins_load32);
CODE_LABEL(ins_load32_end);
CODE_LABEL(ins_store32);
CODE_LABEL(ins_store32_end);
CODE_LABEL(ins_idiv);
CODE_LABEL(ins_idiv_end);
CODE_LABEL(ins_ud2);
CODE_LABEL(ins_ud2_end);
CODE_LABEL(ins_resume);
CODE_LABEL(ins_resume_to);
CODE_LABEL(ins_int3);
CODE_LABEL(ins_int3_end);
CODE_LABEL(ins_int3l);
CODE_LABEL(ins_int3l_end);
CODE_LABEL(ins_int20);
CODE_LABEL(ins_int20_end);
CODE_LABEL(ins_icebp);
CODE_LABEL(ins_icebp_end);
CODE_LABEL(ins_tf_nop);
CODE_LABEL(ins_tf_after);
CODE_LABEL(tr0);
CODE_LABEL(tr1);
CODE_LABEL(tr2);
CODE_LABEL(tr3);
CODE_LABEL(tr4);
CODE_LABEL(tr5);
CODE_LABEL(tr6);
CODE_LABEL(ins_ac32);
CODE_LABEL(ins_ac32_end);
CODE_LABEL(ins_ac16);
CODE_LABEL(ins_ac16_end);
CODE_LABEL(ins_zdiv_wait);
CODE_LABEL(ins_zdiv_end);
CODE_LABEL(ins_inval_next);
CODE_LABEL(ins_inval_end);

#define U(x) ((uintptr_t)(x))

static long page;

static char *map(size_t pages, int prot) {
  void *p = mmap(NULL, pages * page, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    out_line("CHECK setup FAIL mmap: %s", strerror(errno));
    exit(2);
  }
  return p;
}

static void check_segv(void) {
  /* two pages, the second unmapped: a hole right after mapped memory */
  char *p = map(2, PROT_READ | PROT_WRITE);
  munmap(p + page, page);
  char *hole = p + page;

  arm(U(ins_load32_end));
  r3_load32(hole + 0x124);
  expect_signal("segv_maperr_read",
                &(struct expect){SIGSEGV, SEGV_MAPERR, U(hole + 0x124), U(ins_load32), T_PF, PF_U});

  arm(U(ins_store32_end));
  r3_store32(hole + 0x800, 1);
  expect_signal("segv_maperr_write",
                &(struct expect){SIGSEGV, SEGV_MAPERR, U(hole + 0x800), U(ins_store32), T_PF, PF_U | PF_W});

  /* an access that starts on a mapped page and runs into the hole: CR2 is the first byte of the
     missing page, and the part that was mapped must not have been written */
  memset(p + page - 4, 0x5a, 4);
  arm(U(ins_store32_end));
  r3_store32(p + page - 2, 0xdeadbeef);
  {
    char why[400];
    struct expect e = {SIGSEGV, SEGV_MAPERR, U(hole), U(ins_store32), T_PF, PF_U | PF_W};
    int ok = matches(&e, why, sizeof why);
    if (ok && (p[page - 2] != 0x5a || p[page - 1] != 0x5a)) {
      snprintf(why, sizeof why, "bytes before the fault were written: %02x %02x", p[page - 2] & 0xff,
               p[page - 1] & 0xff);
      ok = 0;
    }
    if (ok) pass("segv_maperr_split_store");
    else fail("segv_maperr_split_store", "%s", why);
  }

  /* (before anything else is mapped: a new mapping may land in the hole)
     REP MOVSB into the hole: the iterations before the fault are done, and ECX/ESI/EDI say so */
  {
    static const char src[8] = "ABCDEFGH";
    memset(p + page - 3, '.', 3);
    arm(U(ins_movs_end));
    size_t left = r3_rep_movsb(hole - 3, src, 8);
    char why[400];
    struct expect e = {SIGSEGV, SEGV_MAPERR, U(hole), U(ins_movs), T_PF, PF_U | PF_W};
    int ok = matches(&e, why, sizeof why);
    if (ok && (left != 5 || rec.cx != 5 || rec.si != U(src + 3) || rec.di != U(hole) || memcmp(hole - 3, "ABC", 3))) {
      snprintf(why, sizeof why, "ecx=%lu esi=src+%ld edi=hole%+ld copied '%.3s'; want 5, src+3, hole+0, 'ABC'",
               (unsigned long)rec.cx, (long)(rec.si - U(src)), (long)(rec.di - U(hole)), hole - 3);
      ok = 0;
    }
    if (ok) pass("segv_rep_movsb_partial");
    else fail("segv_rep_movsb_partial", "%s", why);
  }

  arm(U(ins_load32_end));
  r3_load32((void *)0x10);
  expect_signal("segv_maperr_null", &(struct expect){SIGSEGV, SEGV_MAPERR, 0x10, U(ins_load32), T_PF, PF_U});

  /* read-only page: a read works, a write is a protection fault on a present page */
  char *ro = map(1, PROT_READ | PROT_WRITE);
  memset(ro, 0x77, page);
  mprotect(ro, page, PROT_READ);
  arm(U(ins_load32_end));
  uint32_t v = r3_load32(ro + 0x40);
  if (rec.count == 0 && v == 0x77777777u) pass("segv_ro_read_ok");
  else fail("segv_ro_read_ok", "signals=%d value=%#x", rec.count, v);

  arm(U(ins_store32_end));
  r3_store32(ro + 0x3c4, 0x12345678);
  {
    char why[400];
    struct expect e = {SIGSEGV, SEGV_ACCERR, U(ro + 0x3c4), U(ins_store32), T_PF, PF_U | PF_W | PF_P};
    int ok = matches(&e, why, sizeof why);
    if (ok && r3_load32(ro + 0x3c4) != 0x77777777u) {
      snprintf(why, sizeof why, "the read-only page was written");
      ok = 0;
    }
    if (ok) pass("segv_accerr_write");
    else fail("segv_accerr_write", "%s", why);
  }

  /* a write that starts on a writable page and ends on a read-only one */
  char *rw_ro = map(2, PROT_READ | PROT_WRITE);
  memset(rw_ro, 0x33, 2 * page);
  mprotect(rw_ro + page, page, PROT_READ);
  arm(U(ins_store32_end));
  r3_store32(rw_ro + page - 1, 0xa1b2c3d4);
  {
    char why[400];
    struct expect e = {SIGSEGV, SEGV_ACCERR, U(rw_ro + page), U(ins_store32), T_PF, PF_U | PF_W | PF_P};
    int ok = matches(&e, why, sizeof why);
    if (ok && rw_ro[page - 1] != 0x33) {
      snprintf(why, sizeof why, "the writable byte before the fault was written: %02x", rw_ro[page - 1] & 0xff);
      ok = 0;
    }
    if (ok) pass("segv_accerr_split_store");
    else fail("segv_accerr_split_store", "%s", why);
  }

  /* a PUSH below the stack: the fault leaves ESP as it was (the handler runs on the
     alternate stack) */
  {
    char *s = map(2, PROT_READ | PROT_WRITE);
    munmap(s, page);
    char *sp = s + page;
    arm(U(ins_push_end));
    r3_push_at(sp);
    char why[400];
    struct expect e = {SIGSEGV, SEGV_MAPERR, U(sp - sizeof(void *)), U(ins_push), T_PF, PF_U | PF_W};
    int ok = matches(&e, why, sizeof why);
    if (ok && rec.sp != U(sp)) {
      snprintf(why, sizeof why, "esp at the fault %#lx, want %#lx", (unsigned long)rec.sp, (unsigned long)U(sp));
      ok = 0;
    }
    if (ok) pass("segv_push_keeps_esp");
    else fail("segv_push_keeps_esp", "%s", why);
    munmap(sp, page);
  }

  munmap(p, page);
  munmap(ro, page);
  munmap(rw_ro, 2 * page);
}

static void check_fpe(void) {
  arm(U(ins_idiv_end));
  r3_idiv(1000, 0);
  expect_signal("fpe_intdiv_zero",
                &(struct expect){SIGFPE, FPE_INTDIV, U(ins_idiv), U(ins_idiv), T_DE, 0});

  arm(U(ins_idiv_end));
  r3_idiv(INT_MIN, -1);
  expect_signal("fpe_intdiv_overflow",
                &(struct expect){SIGFPE, FPE_INTDIV, U(ins_idiv), U(ins_idiv), T_DE, 0});

  arm(U(ins_idiv_end));
  int q = r3_idiv(-7, 2);
  if (rec.count == 0 && q == -3) pass("idiv_ok");
  else fail("idiv_ok", "signals=%d -7/2=%d", rec.count, q);

  arm(U(ins_zdiv_end));
  r3_x87_zdiv();
  expect_signal("fpe_x87_zerodivide",
                &(struct expect){SIGFPE, FPE_FLTDIV, U(ins_zdiv_wait), U(ins_zdiv_wait), T_MF, 0});

  arm(U(ins_inval_end));
  r3_x87_inval();
  expect_signal("fpe_x87_invalid",
                &(struct expect){SIGFPE, FPE_FLTINV, U(ins_inval_next), U(ins_inval_next), T_MF, 0});
}

static void check_ill_and_resume(void) {
  arm(U(ins_ud2_end));
  set_ax = 0x600d;
  int r = r3_ud2();
  {
    char why[400];
    struct expect e = {SIGILL, ILL_ILLOPN, U(ins_ud2), U(ins_ud2), T_UD, 0};
    if (matches(&e, why, sizeof why)) pass("sigill_ud2");
    else fail("sigill_ud2", "%s", why);
  }
  if (r == 0x600d) pass("resume_sets_register");
  else fail("resume_sets_register", "eax after resume %#x, the handler set 0x600d", r);

  arm(U(ins_resume_to));
  unsigned bad = r3_resume_regs();
  if (rec.count == 1 && rec.ip == U(ins_resume) && bad == 0) pass("resume_past_fault");
  else fail("resume_past_fault", "signals=%d ip=%#lx want %#lx changed-registers-mask=%#x", rec.count,
            (unsigned long)rec.ip, (unsigned long)U(ins_resume), bad);
}

static void check_trap(void) {
  arm(U(ins_int3_end));
  r3_int3();
  expect_signal("sigtrap_int3", &(struct expect){SIGTRAP, SI_KERNEL, 0, U(ins_int3_end), T_BP, 0});

  arm(U(ins_int3l_end));
  r3_int3_long();
  expect_signal("sigtrap_int_3", &(struct expect){SIGTRAP, SI_KERNEL, 0, U(ins_int3l_end), T_BP, 0});

  /* a software interrupt through a gate the user may not use is a #GP that names the gate */
  arm(U(ins_int20_end));
  r3_int20();
  expect_signal("segv_int_dpl0_gate", &(struct expect){SIGSEGV, SI_KERNEL, 0, U(ins_int20), T_GP, 0x20 * 8 + 2});

  arm(U(ins_icebp_end));
  r3_icebp();
  expect_signal("sigtrap_icebp",
                &(struct expect){SIGTRAP, TRAP_BRKPT, U(ins_icebp_end), U(ins_icebp_end), T_DB, 0});

  arm(U(ins_tf_after));
  r3_tf_step();
  {
    char why[400];
    struct expect e = {SIGTRAP, TRAP_TRACE, U(ins_tf_after), U(ins_tf_after), T_DB, 0};
    int ok = matches(&e, why, sizeof why);
    if (ok && !(rec.flags & EFL_TF)) {
      snprintf(why, sizeof why, "saved EFLAGS %#lx without TF", (unsigned long)rec.flags);
      ok = 0;
    }
    if (ok) pass("sigtrap_single_step");
    else fail("sigtrap_single_step", "%s", why);
  }

  /* every instruction traps once, each REP iteration too, and so does the POPF clearing TF */
  char src[4] = "abc", dst[4] = {0};
  arm(0);
  trace_max = 16;
  r3_tf_trace(dst, src);
  int got = trace_n;
  trace_max = 0;
  const uintptr_t want_ip[] = {U(tr1), U(tr2), U(tr2), U(tr2), U(tr3), U(tr4), U(tr5), U(tr6)};
  const long want_cx[] = {-1, 3, 2, 1, 0, -1, -1, -1};
  const int nwant = sizeof want_ip / sizeof want_ip[0];
  char why[480];
  size_t len = 0;
  why[0] = 0;
  if (got != nwant) len += snprintf(why + len, sizeof why - len, "%d traps, want %d; ", got, nwant);
  for (int i = 0; i < got && i < nwant && i < 16 && len < sizeof why - 60; i++) {
    if (trace_ip[i] != want_ip[i])
      len += snprintf(why + len, sizeof why - len, "#%d ip=+%ld want +%ld; ", i, (long)(trace_ip[i] - U(tr0)),
                      (long)(want_ip[i] - U(tr0)));
    else if (want_cx[i] >= 0 && (uint32_t)trace_cx[i] != (uint32_t)want_cx[i])
      len += snprintf(why + len, sizeof why - len, "#%d ecx=%lu want %ld; ", i, (unsigned long)trace_cx[i],
                      want_cx[i]);
  }
  if (!why[0] && memcmp(dst, "abc", 4) != 0) snprintf(why, sizeof why, "rep movsb copied '%.3s'", dst);
  if (!why[0]) pass("sigtrap_step_sequence");
  else fail("sigtrap_step_sequence", "%s", why);
}

static void check_segments(void) {
  /* a selector past the end of the GDT: #GP with the selector as error code */
  arm(U(ins_movfs_end));
  r3_load_fs(0x7f8);
  expect_signal("segv_bad_selector", &(struct expect){SIGSEGV, SI_KERNEL, 0, U(ins_movfs), T_GP, 0x7f8});

  /* a null SS at CPL 3 */
  arm(U(ins_movss_end));
  r3_load_ss(0);
  expect_signal("segv_null_ss", &(struct expect){SIGSEGV, SI_KERNEL, 0, U(ins_movss), T_GP, 0});

#ifndef __x86_64__
  /* i386 only, so checked against the SDM (BOUND faults, INTO traps) and traps.c, not natively */
  arm(U(ins_bound_end));
  r3_bound();
  expect_signal("segv_bound", &(struct expect){SIGSEGV, SI_KERNEL, 0, U(ins_bound), T_BR, 0});

  arm(U(ins_into_end));
  r3_into();
  expect_signal("segv_into", &(struct expect){SIGSEGV, SI_KERNEL, 0, U(ins_into_end), T_OF, 0});
#endif
}

static void check_ac(void) {
  static uint32_t words[4] __attribute__((aligned(16))) = {0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c};
  const char *b = (const char *)words;

  arm(U(ins_ac32_end));
  uint32_t v = r3_ac_load32(b + 4);
  if (rec.count == 0 && v == 0x07060504) pass("ac_aligned_ok");
  else fail("ac_aligned_ok", "signals=%d value=%#x", rec.count, v);

  arm(U(ins_ac32_end));
  r3_ac_load32(b + 5);
  expect_signal("sigbus_adraln_dword", &(struct expect){SIGBUS, BUS_ADRALN, 0, U(ins_ac32), T_AC, 0});

  arm(U(ins_ac32_end));
  r3_ac_load32(b + 6);
  expect_signal("sigbus_adraln_dword2", &(struct expect){SIGBUS, BUS_ADRALN, 0, U(ins_ac32), T_AC, 0});

  arm(U(ins_ac16_end));
  r3_ac_load16(b + 3);
  expect_signal("sigbus_adraln_word", &(struct expect){SIGBUS, BUS_ADRALN, 0, U(ins_ac16), T_AC, 0});

  arm(U(ins_ac16_end));
  v = r3_ac_load16(b + 2);
  if (rec.count == 0 && v == 0x0302) pass("ac_word_aligned_ok");
  else fail("ac_word_aligned_ok", "signals=%d value=%#x", rec.count, v);

  /* without AC the same misaligned load is fine */
  arm(U(ins_load32_end));
  v = r3_load32(b + 5);
  if (rec.count == 0 && v == 0x08070605) pass("misaligned_without_ac_ok");
  else fail("misaligned_without_ac_ok", "signals=%d value=%#x", rec.count, v);
}

static void check_sigqueue(void) {
  arm(0);
  union sigval sv = {.sival_int = 0x1234abcd};
  if (sigqueue(getpid(), SIGUSR1, sv) != 0) {
    fail("sigqueue_self", "sigqueue: %s", strerror(errno));
  } else if (rec.count == 1 && rec.signo == SIGUSR1 && rec.code == SI_QUEUE && rec.value == 0x1234abcd &&
             rec.pid == getpid() && rec.uid == getuid()) {
    pass("sigqueue_self");
  } else {
    fail("sigqueue_self", "signals=%d signo=%d code=%d value=%#x pid=%d (want %d) uid=%d", rec.count, rec.signo,
         rec.code, rec.value, (int)rec.pid, (int)getpid(), (int)rec.uid);
  }

  /* from another process: real-time signals queue in order with their values and the sender */
  int sig = SIGRTMIN + 1;
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_BLOCK, &set, &old);
  pid_t parent = getpid();
  pid_t child = fork();
  if (child == 0) {
    for (int i = 0; i < 3; i++) sigqueue(parent, sig, (union sigval){.sival_int = 100 + i});
    _exit(0);
  }
  char why[400] = "";
  size_t len = 0;
  if (child < 0) {
    snprintf(why, sizeof why, "fork: %s", strerror(errno));
  } else {
    int st;
    waitpid(child, &st, 0);
    for (int i = 0; i < 3; i++) {
      siginfo_t si;
      struct timespec ts = {5, 0};
      int s = sigtimedwait(&set, &si, &ts);
      if (s != sig) {
        len += snprintf(why + len, sizeof why - len, "#%d: sigtimedwait %d (%s); ", i, s, strerror(errno));
        break;
      }
      if (si.si_code != SI_QUEUE || si.si_value.sival_int != 100 + i || si.si_pid != child)
        len += snprintf(why + len, sizeof why - len, "#%d: code=%d value=%d pid=%d want %d; ", i, si.si_code,
                        si.si_value.sival_int, (int)si.si_pid, (int)child);
    }
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
  if (!why[0]) pass("sigqueue_from_child");
  else fail("sigqueue_from_child", "%s", why);
}

int main(void) {
  start("sigcheck", 60);
  static char altstack[1 << 16] __attribute__((aligned(16)));
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) out_line("CHECK setup FAIL sigaltstack: %s", strerror(errno));
  page = sysconf(_SC_PAGESIZE);
  catch_signal(SIGSEGV);
  catch_signal(SIGBUS);
  catch_signal(SIGFPE);
  catch_signal(SIGILL);
  catch_signal(SIGTRAP);
  catch_signal(SIGUSR1);
  check_segv();
  check_fpe();
  check_ill_and_resume();
  check_trap();
  check_segments();
  check_ac();
  check_sigqueue();
  return summary();
}
