/* A hackbench-like pipe and fork workload for SMP scaling curves (bench/smp_bench.ts runs it as
 * `hackbench G F L R`): R rounds; each round forks G groups of F receivers and F senders (2*G*F
 * processes), each receiver owns a pipe, and each sender writes L messages of 100 bytes into the
 * pipe of every receiver of its group; receivers read until they have all their bytes, and the
 * parent waits for every child. Work is kernel-heavy: fork, exit, wait, pipe reads and writes,
 * sleeping and waking on pipes across CPUs. Prints
 *   "HACKBENCH groups G fds F loops L rounds R procs P msgs M sec S ok|FAIL"
 * with the guest's CLOCK_MONOTONIC seconds (the host times it from the console too). Exit status
 * 0 only if every child read or wrote exactly what it should. Written for ring3 (no code from
 * the original hackbench). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MSG 100
#define MAXF 64

static int writeall(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static void receiver(int fd, long want) {
  char buf[4096];
  long got = 0;
  while (got < want) {
    ssize_t k = read(fd, buf, sizeof buf);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    got += k;
  }
  _exit(got == want ? 0 : 1);
}

static void sender(const int *wfd, int f, int loops) {
  char msg[MSG];
  memset(msg, 'h', sizeof msg);
  for (int i = 0; i < loops; i++)
    for (int r = 0; r < f; r++)
      if (writeall(wfd[r], msg, MSG)) _exit(1);
  _exit(0);
}

/* one round: fork every group's receivers and senders, then reap them; returns failed children */
static int round_(int groups, int f, int loops) {
  int failed = 0, procs = 0;
  for (int g = 0; g < groups; g++) {
    int rfd[MAXF], wfd[MAXF];
    for (int r = 0; r < f; r++) {
      int p[2];
      if (pipe(p)) { perror("pipe"); exit(2); }
      rfd[r] = p[0];
      wfd[r] = p[1];
    }
    for (int r = 0; r < f; r++) {
      pid_t pid = fork();
      if (pid < 0) { perror("fork"); exit(2); }
      if (pid == 0) {
        for (int k = 0; k < f; k++) {
          close(wfd[k]);
          if (k != r) close(rfd[k]);
        }
        receiver(rfd[r], (long)f * loops * MSG);
      }
      procs++;
    }
    for (int s = 0; s < f; s++) {
      pid_t pid = fork();
      if (pid < 0) { perror("fork"); exit(2); }
      if (pid == 0) {
        for (int k = 0; k < f; k++) close(rfd[k]);
        sender(wfd, f, loops);
      }
      procs++;
    }
    for (int r = 0; r < f; r++) {
      close(rfd[r]);
      close(wfd[r]);
    }
  }
  for (int i = 0; i < procs; i++) {
    int st;
    if (wait(&st) < 0) { perror("wait"); exit(2); }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) failed++;
  }
  return failed;
}

int main(int argc, char **argv) {
  int groups = argc > 1 ? atoi(argv[1]) : 8;
  int f = argc > 2 ? atoi(argv[2]) : 5;
  int loops = argc > 3 ? atoi(argv[3]) : 50;
  int rounds = argc > 4 ? atoi(argv[4]) : 1;
  if (groups < 1 || f < 1 || f > MAXF || loops < 1 || rounds < 1) {
    fprintf(stderr, "usage: hackbench [groups [fds<=%d [loops [rounds]]]]\n", MAXF);
    return 2;
  }
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  int failed = 0;
  for (int i = 0; i < rounds; i++) failed += round_(groups, f, loops);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double sec = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  printf("HACKBENCH groups %d fds %d loops %d rounds %d procs %d msgs %ld sec %.3f %s\n", groups, f, loops,
         rounds, rounds * groups * 2 * f, (long)rounds * groups * f * f * loops, sec, failed ? "FAIL" : "ok");
  return failed ? 1 : 0;
}
