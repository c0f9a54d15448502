/* netperf: TCP throughput between guests (or a guest and the host) with a checked byte stream,
 * for bench/nic_bench.ts. busybox nc moves 1 KiB per read()/write() pair, so an emulated guest
 * spends its time in nc's system calls rather than on the network; this moves 128 KiB per call.
 *
 *   netperf recv PORT [nocheck]   accept one connection, read to EOF, check every byte (or not)
 *   netperf send HOST PORT MIB    connect to HOST (dotted IPv4) and send MIB MiB
 *
 * The stream: byte i is pattern[i % PERIOD], PERIOD = 65521 (a prime, so no segment or buffer
 * size lines up with it) and pattern[] the low bytes of a xorshift32 sequence from seed 1
 * (bench/nic_bench.ts generates the same on the host). A lost, repeated or reordered piece of the
 * stream is found unless its length is a multiple of PERIOD; the byte count is checked too.
 * Each side prints one line:
 *   NETPERF recv <bytes> ok <usec>          (or "bad <offset>" at the first wrong byte)
 *   NETPERF send <bytes> <usec>
 * usec: the guest's monotonic clock from connect/accept to EOF. Exit status 0 when all is well.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PERIOD 65521
#define CHUNK (128 * 1024)

static unsigned char ref[PERIOD + CHUNK];
static unsigned char buf[CHUNK];

static void fill(void) {
  unsigned x = 1;
  for (int i = 0; i < PERIOD; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    ref[i] = (unsigned char)x;
  }
  for (int i = PERIOD; i < PERIOD + CHUNK; i++) ref[i] = ref[i - PERIOD];
}

static long long usec(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int recv_side(int port, int check) {
  int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 1) < 0) {
    perror("netperf: listen");
    return 2;
  }
  int s = accept(ls, 0, 0);
  if (s < 0) {
    perror("netperf: accept");
    return 2;
  }
  long long t0 = usec(), pos = 0, bad = -1;
  for (;;) {
    ssize_t n = read(s, buf, sizeof buf);
    if (n < 0) {
      perror("netperf: read");
      return 2;
    }
    if (n == 0) break;
    if (check && bad < 0 && memcmp(buf, ref + pos % PERIOD, (size_t)n) != 0) {
      for (ssize_t i = 0; i < n; i++)
        if (buf[i] != ref[(pos + i) % PERIOD]) {
          bad = pos + i;
          break;
        }
    }
    pos += n;
  }
  long long t = usec() - t0;
  if (bad >= 0) printf("NETPERF recv %lld bad %lld %lld\n", pos, bad, t);
  else printf("NETPERF recv %lld %s %lld\n", pos, check ? "ok" : "unchecked", t);
  return bad >= 0;
}

static int send_side(const char *host, int port, long long mib) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
    fprintf(stderr, "netperf: %s is not an IPv4 address\n", host);
    return 2;
  }
  if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("netperf: connect");
    return 2;
  }
  long long t0 = usec(), total = mib << 20, pos = 0;
  while (pos < total) {
    size_t want = total - pos < CHUNK ? (size_t)(total - pos) : CHUNK;
    ssize_t n = write(s, ref + pos % PERIOD, want);
    if (n <= 0) {
      perror("netperf: write");
      return 2;
    }
    pos += n;
  }
  shutdown(s, SHUT_WR);
  /* wait for the receiver to close: the data has arrived */
  while (read(s, buf, sizeof buf) > 0) {
  }
  printf("NETPERF send %lld %lld\n", pos, usec() - t0);
  return 0;
}

int main(int argc, char **argv) {
  fill();
  if ((argc == 3 || (argc == 4 && strcmp(argv[3], "nocheck") == 0)) && strcmp(argv[1], "recv") == 0)
    return recv_side(atoi(argv[2]), argc == 3);
  if (argc == 5 && strcmp(argv[1], "send") == 0) return send_side(argv[2], atoi(argv[3]), atoll(argv[4]));
  fprintf(stderr, "usage: netperf recv PORT [nocheck] | netperf send HOST PORT MIB\n");
  return 2;
}
