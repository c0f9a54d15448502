/* iocheck: privileged instructions and user-mode port I/O.
 *
 * At CPL 3 with IOPL 0, HLT, CLI/STI, control/debug register moves, MSR access and the like
 * raise #GP(0), which Linux turns into SIGSEGV (si_code SI_KERNEL) at the faulting instruction.
 * IN/OUT/INS/OUTS consult the TSS I/O permission bitmap that ioperm() fills: every port an access
 * touches must be granted. iopl(3) (since Linux 5.5 an all-ones bitmap; EFLAGS.IOPL stays 0)
 * opens every port, and the kernel skips CLI/STI after their #GP as if they were NOPs.
 *
 * Usage: iocheck [--no-grant]
 *   --no-grant  only the checks that need no ioperm()/iopl(): nothing touches a port for real
 *               (for running natively on a host whose devices must not be poked).
 * The COM1 checks write two markers straight to port 0x3f8 for the host to find on the console:
 * "<<r3 com1 outb>>" (polled OUTB) and "<<r3 com1 rep outsb>>".
 */
#include "check.h"

#include <sys/io.h>
#include <termios.h>
#include <time.h>

/* Each privileged stub: optional setup, the instruction (as bytes: the same in 32- and 64-bit
   code), a label after it. DX = 0x80 (POST port) in case an OUT wrongly goes through. */
#define PRIV(n, setup, bytes) \
  ASM_FUNC(priv_##n) "movl $0x80, %edx\n\t" setup ASM_LABEL(pi_##n) bytes "\n\t" ASM_LABEL(pe_##n) "ret\n\t"

__asm__(
    PRIV(hlt, "", ".byte 0xf4")
    PRIV(cli, "", ".byte 0xfa")
    PRIV(sti, "", ".byte 0xfb")
    PRIV(in_dx, "", ".byte 0xec")        /* in al, dx */
    PRIV(in_imm, "", ".byte 0xe4, 0x71") /* in al, 0x71 */
    PRIV(out_dx, "", ".byte 0xee")       /* out dx, al */
    PRIV(out_imm, "", ".byte 0xe6, 0x80") /* out 0x80, al */
    /* outsb from [esp]: the source is readable, so only the port can fault */
    ASM_FUNC(priv_outsb) "movl $0x80, %edx\n\tpush " SI "\n\tmov " SP ", " SI "\n\t" ASM_LABEL(pi_outsb)
    ".byte 0x6e\n\t" ASM_LABEL(pe_outsb) "pop " SI "\n\tret\n\t"
    PRIV(mov_from_cr0, "", ".byte 0x0f, 0x20, 0xc0")
    PRIV(mov_to_cr0, "", ".byte 0x0f, 0x22, 0xc0")
    PRIV(mov_from_dr7, "", ".byte 0x0f, 0x21, 0xf8")
    PRIV(clts, "", ".byte 0x0f, 0x06")
    PRIV(invd, "", ".byte 0x0f, 0x08")
    PRIV(wbinvd, "", ".byte 0x0f, 0x09")
    PRIV(rdmsr, "movl $0x10, %ecx\n\t", ".byte 0x0f, 0x32")
    PRIV(wrmsr, "movl $0x10, %ecx\n\txorl %eax, %eax\n\t", ".byte 0x0f, 0x30")
    PRIV(lmsw, "movl $1, %eax\n\t", ".byte 0x0f, 0x01, 0xf0")
    PRIV(lgdt, "mov " SP ", " AX "\n\t", ".byte 0x0f, 0x01, 0x10")   /* lgdt [eax] */
    PRIV(invlpg, "mov " SP ", " AX "\n\t", ".byte 0x0f, 0x01, 0x38") /* invlpg [eax] */
    PRIV(lldt, "xorl %eax, %eax\n\t", ".byte 0x0f, 0x00, 0xd0")
    PRIV(ltr, "xorl %eax, %eax\n\t", ".byte 0x0f, 0x00, 0xd8")

    /* unsigned r3_inb/inw/inl(unsigned port); void r3_outb(unsigned port, unsigned value) */
    ASM_FUNC(r3_inb) ARG1 "movl %eax, %edx\n\txorl %eax, %eax\n\t" ASM_LABEL(ins_inb) "inb %dx, %al\n\t"
    ASM_LABEL(ins_inb_end) "ret\n\t"
    ASM_FUNC(r3_inw) ARG1 "movl %eax, %edx\n\txorl %eax, %eax\n\t" ASM_LABEL(ins_inw) "inw %dx, %ax\n\t"
    ASM_LABEL(ins_inw_end) "ret\n\t"
    ASM_FUNC(r3_inl) ARG1 "movl %eax, %edx\n\txorl %eax, %eax\n\t" ASM_LABEL(ins_inl) "inl %dx, %eax\n\t"
    ASM_LABEL(ins_inl_end) "ret\n\t"
    ASM_FUNC(r3_outb) ARGS2 "movl %eax, %edx\n\tmovl %ecx, %eax\n\t" ASM_LABEL(ins_outb) "outb %al, %dx\n\t"
    ASM_LABEL(ins_outb_end) "ret\n\t"
    /* uint64_t-ish r3_rdtsc_lo(void): low 32 bits are enough to see it move */
    ASM_FUNC(r3_rdtsc) "rdtsc\n\tret\n\t"
    ".text\n");

/* String port I/O: void *r3_rep_outsb(port, buf, n) etc. return the final ESI (outs) or EDI
   (ins). Port in DX, buffer in ESI/EDI, count in ECX. */
#ifdef __x86_64__
#define STR_ENTRY "push %rsi\n\tpush %rdi\n\tmovq %rdx, %rcx\n\tmovl %edi, %edx\n\tmovq %rsi, %rdi\n\tcld\n\t"
#else
#define STR_ENTRY \
  "push %esi\n\tpush %edi\n\tmovl 12(%esp), %edx\n\tmovl 16(%esp), %esi\n\tmovl 20(%esp), %ecx\n\t" \
  "movl %esi, %edi\n\tcld\n\t"
#endif
#define STR_FUNC(n, insn, result) \
  ASM_FUNC(r3_##n) STR_ENTRY ASM_LABEL(ins_##n) insn "\n\t" ASM_LABEL(ins_##n##_end) \
  "mov " result ", " AX "\n\tpop " DI "\n\tpop " SI "\n\tret\n\t"
__asm__(STR_FUNC(rep_outsb, "rep outsb", SI) STR_FUNC(rep_outsw, "rep outsw", SI)
            STR_FUNC(rep_insb, "rep insb", DI) ".text\n");

unsigned r3_inb(unsigned), r3_inw(unsigned), r3_inl(unsigned);
void r3_outb(unsigned port, unsigned value);
uint32_t r3_rdtsc(void);
char *r3_rep_outsb(unsigned port, const void *buf, size_t n);
char *r3_rep_outsw(unsigned port, const void *buf, size_t n);
char *r3_rep_insb(unsigned port, void *buf, size_t n);
CODE_LABEL(ins_inb);
CODE_LABEL(ins_inb_end);
CODE_LABEL(ins_inw);
CODE_LABEL(ins_inw_end);
CODE_LABEL(ins_inl);
CODE_LABEL(ins_inl_end);
CODE_LABEL(ins_outb);
CODE_LABEL(ins_outb_end);
CODE_LABEL(ins_rep_outsb);
CODE_LABEL(ins_rep_outsb_end);
CODE_LABEL(ins_rep_outsw);
CODE_LABEL(ins_rep_outsw_end);
CODE_LABEL(ins_rep_insb);
CODE_LABEL(ins_rep_insb_end);

#define DECL(n) \
  void priv_##n(void); \
  extern char pi_##n[], pe_##n[];
DECL(hlt) DECL(cli) DECL(sti) DECL(in_dx) DECL(in_imm) DECL(out_dx) DECL(out_imm) DECL(outsb) DECL(mov_from_cr0)
DECL(mov_to_cr0) DECL(mov_from_dr7) DECL(clts) DECL(invd) DECL(wbinvd) DECL(rdmsr) DECL(wrmsr) DECL(lmsw) DECL(lgdt)
DECL(invlpg) DECL(lldt) DECL(ltr)

struct priv {
  const char *name;
  void (*fn)(void);
  char *insn, *end;
};
#define P(n) {#n, priv_##n, pi_##n, pe_##n}
static const struct priv privs[] = {
    P(hlt), P(cli), P(sti), P(in_dx), P(in_imm), P(out_dx), P(out_imm), P(outsb), P(mov_from_cr0), P(mov_to_cr0),
    P(mov_from_dr7), P(clts), P(invd), P(wbinvd), P(rdmsr), P(wrmsr), P(lmsw), P(lgdt), P(invlpg), P(lldt), P(ltr),
};
#define NPRIV (int)(sizeof privs / sizeof privs[0])

#define U(x) ((uintptr_t)(x))

/* Run one privileged stub; 1 if it raised SIGSEGV/#GP(0) at its instruction, else why is set. */
static int gp_at(const struct priv *p, char *why, size_t n) {
  arm(U(p->end));
  p->fn();
  struct expect e = {SIGSEGV, SI_KERNEL, 0, U(p->insn), T_GP, 0};
  return matches(&e, why, n);
}

static void check_priv_one(const char *check, const char *which) {
  char why[400];
  for (int i = 0; i < NPRIV; i++) {
    if (strcmp(privs[i].name, which) != 0) continue;
    if (gp_at(&privs[i], why, sizeof why)) pass(check);
    else fail(check, "%s: %s", which, why);
    return;
  }
  fail(check, "no stub %s", which);
}

/* every stub but the given ones (NULL-terminated) must #GP */
static void check_priv_rest(const char *check) {
  char why[480] = "", one[400];
  size_t len = 0;
  for (int i = 0; i < NPRIV; i++) {
    if (!gp_at(&privs[i], one, sizeof one) && len < sizeof why - 1)
      len += snprintf(why + len, sizeof why - len, "%s: %s; ", privs[i].name, one);
  }
  if (!why[0]) pass(check);
  else fail(check, "%s", why);
}

/* 1 if the access faulted with #GP(0) at the instruction */
static int port_faults(int width, unsigned port) {
  char why[400];
  if (width == 1) {
    arm(U(ins_inb_end));
    r3_inb(port);
    return matches(&(struct expect){SIGSEGV, SI_KERNEL, 0, U(ins_inb), T_GP, 0}, why, sizeof why);
  }
  if (width == 2) {
    arm(U(ins_inw_end));
    r3_inw(port);
    return matches(&(struct expect){SIGSEGV, SI_KERNEL, 0, U(ins_inw), T_GP, 0}, why, sizeof why);
  }
  arm(U(ins_inl_end));
  r3_inl(port);
  return matches(&(struct expect){SIGSEGV, SI_KERNEL, 0, U(ins_inl), T_GP, 0}, why, sizeof why);
}

/* 1 if the access went through without any signal */
static int port_ok(int width, unsigned port, unsigned *value) {
  arm(width == 1 ? U(ins_inb_end) : width == 2 ? U(ins_inw_end) : U(ins_inl_end));
  unsigned v = width == 1 ? r3_inb(port) : width == 2 ? r3_inw(port) : r3_inl(port);
  if (value) *value = v;
  return rec.count == 0;
}

static int out_ok(unsigned port, unsigned value) {
  arm(U(ins_outb_end));
  r3_outb(port, value);
  return rec.count == 0;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* A list of (width, port) pairs and whether each must go through; returns 1 if all behaved. */
struct access {
  int width;
  unsigned port;
  int allowed;
};
static int check_accesses(const char *check, const struct access *a, int n) {
  char why[480] = "";
  size_t len = 0;
  for (int i = 0; i < n; i++) {
    int good = a[i].allowed ? port_ok(a[i].width, a[i].port, NULL) : port_faults(a[i].width, a[i].port);
    if (!good && len < sizeof why - 1)
      len += snprintf(why + len, sizeof why - len, "in%c %#x %s (signals=%d signo=%d); ",
                      a[i].width == 1 ? 'b' : a[i].width == 2 ? 'w' : 'l', a[i].port,
                      a[i].allowed ? "faulted" : "did not fault", rec.count, rec.signo);
  }
  if (!why[0]) pass(check);
  else fail(check, "%s", why);
  return !why[0];
}

static unsigned cmos(unsigned reg) {
  r3_outb(0x70, reg);
  return r3_inb(0x71);
}

static int bcd_ok(unsigned v) { return (v & 0x0f) <= 9 && (v >> 4) <= 5; }

static void check_cmos_clock(void) {
  const char *name = "cmos_clock_ticks";
  unsigned regb = cmos(0x0b);
  int binary = (regb & 4) != 0;
  unsigned first = 0x100, now = 0;
  for (int i = 0; i < 60; i++) { /* up to 3 s for the seconds register to change */
    if (cmos(0x0a) & 0x80) {     /* update in progress: the time registers are in flux */
      sleep_ms(5);
      continue;
    }
    now = cmos(0x00);
    if ((binary ? now > 59 : !bcd_ok(now))) {
      fail(name, "seconds register %#x is not a %s value (status B %#x)", now, binary ? "binary" : "BCD", regb);
      return;
    }
    if (first == 0x100) first = now;
    else if (now != first) {
      pass(name);
      return;
    }
    sleep_ms(50);
  }
  fail(name, "seconds register stayed %#x for 3 s", first);
}

/* The PIT counts when read from user mode. Counter 2 (the speaker channel) is programmed here;
 * counter 0 is left as Linux left it (check_pit0). Speaker data stays off; port 0x61 is restored. */
static void check_pit(void) {
  unsigned seen[64];
  int distinct = 0, bad = -1;
  unsigned p61 = r3_inb(0x61);
  r3_outb(0x61, (p61 & ~3u) | 1); /* gate 2 on, speaker data off */
  r3_outb(0x43, 0xb4);            /* counter 2, LSB then MSB, mode 2, binary */
  r3_outb(0x42, 0x00);
  r3_outb(0x42, 0x10); /* 0x1000 ticks, 3.4 ms per period */
  for (int i = 0; i < 64; i++) {
    r3_outb(0x43, 0x80); /* counter 2, latch */
    unsigned lo = r3_inb(0x42);
    unsigned hi = r3_inb(0x42);
    unsigned v = lo | hi << 8;
    if (v == 0 || v > 0x1000) bad = (int)v;
    int dup = 0;
    for (int j = 0; j < distinct; j++) dup |= seen[j] == v;
    if (!dup) seen[distinct++] = v;
    for (volatile int k = 0; k < 2000; k++) {
    }
  }
  r3_outb(0x61, p61);
  if (bad >= 0) fail("pit_counter_moves", "counter 2 latched %#x, outside 1..0x1000", (unsigned)bad);
  else if (distinct >= 3) pass("pit_counter_moves");
  else fail("pit_counter_moves", "%d distinct latched values of counter 2 (first %#x)", distinct, seen[0]);
}

/* Counter 0 after Linux switched to the LAPIC timer: clockevent_i8253_disable() ends with a bare
 * mode-0 control word, which stops IRQ0 but not the counting element; latched twice 5 ms apart
 * (about 5966 ticks) the count has moved, as on a PC. Nothing is written to counter 0. */
static void check_pit0(void) {
  r3_outb(0x43, 0x00);
  unsigned a = r3_inb(0x40);
  a |= r3_inb(0x40) << 8;
  struct timespec ts = {0, 5000000};
  nanosleep(&ts, NULL);
  r3_outb(0x43, 0x00);
  unsigned b = r3_inb(0x40);
  b |= r3_inb(0x40) << 8;
  if (a != b) pass("pit_counter0_runs_on");
  else fail("pit_counter0_runs_on", "counter 0 latched %#x twice, 5 ms apart", a);
}

static void drain_console(void) {
  fflush(stdout);
  tcdrain(1);
}

static int wait_thre(void) {
  for (int i = 0; i < 100000; i++)
    if (r3_inb(0x3fd) & 0x20) return 1;
  return 0;
}

static void check_com1(void) {
  drain_console();
  /* polled: one byte per empty transmit register */
  static const char polled[] = "\r\n<<r3 com1 outb>>\r\n";
  int ok = 1;
  for (const char *c = polled; *c && ok; c++) ok = wait_thre() && out_ok(0x3f8, (unsigned char)*c);
  if (ok) pass("com1_outb");
  else fail("com1_outb", "transmitter never empty or the write faulted (signals=%d)", rec.count);

  /* REP OUTSB all at once (short enough for a 16550's FIFO) */
  static const char burst[] = "<<r3 com1 rep outsb>>\r\n";
  size_t n = sizeof burst - 1;
  while (!(r3_inb(0x3fd) & 0x40)) { /* transmitter completely empty */
  }
  arm(U(ins_rep_outsb_end));
  const char *end = r3_rep_outsb(0x3f8, burst, n);
  if (rec.count == 0 && end == burst + n) pass("rep_outsb_com1");
  else fail("rep_outsb_com1", "signals=%d esi advanced by %ld of %ld", rec.count, (long)(end - burst), (long)n);
  sleep_ms(20);
}

/* A REP OUTSW whose word would reach an ungranted port faults before the first element moves. */
static void check_rep_straddle(void) {
  static const uint16_t words[3] = {0x4141, 0x4242, 0x4343};
  arm(U(ins_rep_outsw_end));
  r3_rep_outsw(0x3ff, words, 3);
  char why[400];
  int ok = matches(&(struct expect){SIGSEGV, SI_KERNEL, 0, U(ins_rep_outsw), T_GP, 0}, why, sizeof why);
  if (ok && (rec.cx != 3 || rec.si != U(words))) {
    snprintf(why, sizeof why, "ecx=%lu esi=+%ld at the fault, want 3 and +0", (unsigned long)rec.cx,
             (long)(rec.si - U(words)));
    ok = 0;
  }
  if (ok) pass("rep_outsw_straddle_faults");
  else fail("rep_outsw_straddle_faults", "%s", why);

  /* REP INSB from the UART's scratch register reads back what was written there */
  unsigned char buf[8];
  memset(buf, 0, sizeof buf);
  out_ok(0x3ff, 0xa5);
  arm(U(ins_rep_insb_end));
  unsigned char *e = (unsigned char *)r3_rep_insb(0x3ff, buf, 5);
  if (rec.count == 0 && e == buf + 5 && buf[0] == 0xa5 && buf[4] == 0xa5 && buf[5] == 0)
    pass("rep_insb_scratch");
  else
    fail("rep_insb_scratch", "signals=%d edi advanced by %ld, bytes %02x %02x %02x %02x %02x %02x", rec.count,
         (long)(e - buf), buf[0], buf[1], buf[2], buf[3], buf[4], buf[5]);
}

static void check_rdtsc(void) {
  uint32_t a = r3_rdtsc();
  for (volatile int k = 0; k < 10000; k++) {
  }
  uint32_t b = r3_rdtsc();
  if (b != a) pass("rdtsc_user");
  else fail("rdtsc_user", "the TSC did not move (%#x)", a);
}

static void check_cli_sti_iopl3(void) {
  int bad = 0;
  char why[400] = "";
  for (int i = 0; i < NPRIV; i++) {
    if (strcmp(privs[i].name, "cli") && strcmp(privs[i].name, "sti")) continue;
    arm(U(privs[i].end));
    privs[i].fn();
    if (rec.count) {
      bad = 1;
      snprintf(why, sizeof why, "%s raised signal %d at %#lx", privs[i].name, rec.signo, (unsigned long)rec.ip);
    }
  }
  if (!bad) pass("iopl3_cli_sti");
  else fail("iopl3_cli_sti", "%s", why);
}

int main(int argc, char **argv) {
  int grant = !(argc > 1 && strcmp(argv[1], "--no-grant") == 0);
  start("iocheck", 60);
  catch_signal(SIGSEGV);
  catch_signal(SIGBUS);
  catch_signal(SIGILL);

  /* no permissions at all */
  check_priv_one("gp_hlt", "hlt");
  check_priv_one("gp_cli", "cli");
  check_priv_one("gp_sti", "sti");
  check_priv_one("gp_in", "in_dx");
  check_priv_one("gp_in_imm", "in_imm");
  check_priv_one("gp_out", "out_dx");
  check_priv_rest("gp_privileged_all");
  check_rdtsc();

  static const char *granted[] = {
      "ioperm_exact",      "ioperm_read_cmos", "cmos_clock_ticks", "ioperm_revoked",   "com1_outb",
      "rep_outsb_com1",    "rep_outsw_straddle_faults", "rep_insb_scratch", "iopl3_cli_sti",
      "iopl3_all_ports",   "pit_counter_moves", "pit_counter0_runs_on", "iopl3_hlt_still_faults", "iopl0_revokes_ports",
      "iopl0_revokes",
  };
  /* with --no-grant, say whether ioperm() exists here at all (revoking grants nothing) */
  char probe[120] = "";
  if (!grant)
    snprintf(probe, sizeof probe, "--no-grant given; ioperm here: %s",
             ioperm(0x80, 1, 0) == 0 ? "available" : strerror(errno));
  const char *no_grant = !grant ? probe : NULL;
  if (grant && ioperm(0x70, 2, 1) != 0) no_grant = strerror(errno);
  if (no_grant) {
    for (size_t i = 0; i < sizeof granted / sizeof granted[0]; i++) skip(granted[i], "ioperm: %s", no_grant);
    return summary();
  }

  /* ioperm(0x70, 2): exactly 0x70 and 0x71, for every access width */
  static const struct access cmos_ports[] = {
      {1, 0x70, 1}, {1, 0x71, 1}, {2, 0x70, 1}, {1, 0x6f, 0}, {1, 0x72, 0},
      {2, 0x6f, 0}, {2, 0x71, 0}, {4, 0x70, 0}, {4, 0x6e, 0}, {1, 0x80, 0},
  };
  check_accesses("ioperm_exact", cmos_ports, sizeof cmos_ports / sizeof cmos_ports[0]);
  {
    arm(U(ins_outb_end));
    unsigned reg_d = cmos(0x0d); /* status D: bit 7 = valid RAM and time */
    if (rec.count == 0 && (reg_d & 0x80)) pass("ioperm_read_cmos");
    else fail("ioperm_read_cmos", "signals=%d status D %#x", rec.count, reg_d);
  }
  check_cmos_clock();
  ioperm(0x70, 2, 0);
  static const struct access revoked[] = {{1, 0x70, 0}, {1, 0x71, 0}};
  check_accesses("ioperm_revoked", revoked, 2);

  /* COM1 through ioperm(0x3f8, 8) */
  if (ioperm(0x3f8, 8, 1) != 0) {
    fail("com1_outb", "ioperm(0x3f8, 8): %s", strerror(errno));
  } else {
    check_com1();
    check_rep_straddle();
    ioperm(0x3f8, 8, 0);
  }

  /* iopl(3): every port, CLI/STI skipped by the kernel, HLT still privileged */
  if (iopl(3) != 0) {
    fail("iopl3_all_ports", "iopl(3): %s", strerror(errno));
  } else {
    check_cli_sti_iopl3();
    static const struct access all[] = {
        {1, 0x61, 1}, {1, 0x80, 1}, {1, 0x3fd, 1}, {1, 0x71, 1}, {2, 0x400, 1},
        {4, 0xcfc, 1}, {1, 0x1234, 1}, {2, 0xfffe, 1}, {1, 0xffff, 1},
    };
    check_accesses("iopl3_all_ports", all, sizeof all / sizeof all[0]);
    check_pit();
    check_pit0();
    check_priv_one("iopl3_hlt_still_faults", "hlt");
    iopl(0);
    static const struct access none[] = {{1, 0x61, 0}, {1, 0x40, 0}, {2, 0x3f8, 0}};
    check_accesses("iopl0_revokes_ports", none, 3);
    check_priv_one("iopl0_revokes", "cli");
  }
  return summary();
}
