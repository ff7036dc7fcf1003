// Load generator for bench/tcp_bench.ts: one thread, epoll, non-blocking
// sockets, so that one core drives far more traffic than a JavaScript echo
// server on the other core can answer.
//
//   tcp_load <port> pingpong <conns> <size> <warmup_s> <measure_s> [server_pid]
//   tcp_load <port> bulk     <conns> <size> <warmup_s> <measure_s> [server_pid]
//
// pingpong: every connection sends <size> bytes, waits for all of them to come
//   back, then sends the next message. Counts round trips and their latency.
// bulk: every connection streams <size>-byte writes and reads the echo back,
//   with at most 4 writes in flight per connection. Counts bytes echoed.
//
// With server_pid, the server's CPU time (utime + stime from /proc) is read at
// the start and the end of the measured window; the generator's own CPU time
// over the window is reported too, to show it is not what limits the result.
// Prints one JSON line.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024
#define HIST_US 100000 // latency histogram: 1 µs buckets up to 100 ms

struct conn {
  int fd;
  uint64_t sent;     // bytes written
  uint64_t received; // bytes read back
  uint64_t sent_at;  // pingpong: when the current message was sent (ns)
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double cpu_ms(int pid) {
  if (pid <= 0) return 0;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char buf[2048];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  // Fields after the command name, which ends at the last ')'.
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  p += 2;
  unsigned long utime = 0, stime = 0;
  // state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  if (sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
             &stime) != 2)
    return -1;
  return (double)(utime + stime) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_ms(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000.0 +
         (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000.0;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void send_some(struct conn *c, const char *data, size_t size, int bulk) {
  for (;;) {
    size_t offset = c->sent % size;
    size_t want = size - offset;
    if (bulk) {
      if (c->sent - c->received >= 4 * (uint64_t)size) return;
    } else if (c->sent > c->received && offset == 0) {
      return; // the message in flight is complete: wait for its echo
    }
    ssize_t n = write(c->fd, data + offset, want);
    if (n < 0) {
      if (errno == EAGAIN) return;
      die("write");
    }
    c->sent += (uint64_t)n;
    if ((size_t)n < want) return;
    if (!bulk) return;
  }
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr,
            "usage: %s port pingpong|bulk conns size warmup_s measure_s "
            "[server_pid]\n",
            argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  int bulk = strcmp(argv[2], "bulk") == 0;
  int nconns = atoi(argv[3]);
  size_t size = (size_t)atol(argv[4]);
  double warmup = atof(argv[5]);
  double measure = atof(argv[6]);
  int server_pid = argc > 7 ? atoi(argv[7]) : 0;
  if (nconns < 1 || nconns > MAX_CONNS || size < 1) {
    fprintf(stderr, "bad arguments\n");
    return 2;
  }

  char *data = malloc(size);
  char *sink = malloc(size < 65536 ? 65536 : size);
  for (size_t i = 0; i < size; i++) data[i] = (char)('a' + i % 26);
  static uint32_t hist[HIST_US + 1];
  static struct conn conns[MAX_CONNS];

  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  for (int i = 0; i < nconns; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) die("fcntl");
    conns[i].fd = fd;
    // Ping-pong messages fit in the socket buffer, so writes never wait:
    // watch reads only, level-triggered. Bulk also waits for room to write.
    struct epoll_event ev = {
        .events = bulk ? EPOLLIN | EPOLLOUT | EPOLLET : EPOLLIN,
        .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
  }

  uint64_t start = now_ns();
  uint64_t warm_end = start + (uint64_t)(warmup * 1e9);
  uint64_t end = warm_end + (uint64_t)(measure * 1e9);
  int measuring = warmup <= 0;
  double cpu_start = measuring ? cpu_ms(server_pid) : 0;
  double self_start = measuring ? self_cpu_ms() : 0;
  uint64_t messages = 0, bytes = 0, base_bytes = 0;
  if (measuring) warm_end = start;

  for (int i = 0; i < nconns; i++) {
    conns[i].sent_at = now_ns();
    send_some(&conns[i], data, size, bulk);
  }

  struct epoll_event events[MAX_CONNS];
  uint64_t t = start;
  while (t < end) {
    int n = epoll_wait(ep, events, MAX_CONNS, 100);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    t = now_ns();
    if (!measuring && t >= warm_end) {
      measuring = 1;
      cpu_start = cpu_ms(server_pid);
      self_start = self_cpu_ms();
      memset(hist, 0, sizeof hist);
      messages = 0;
      base_bytes = 0;
      for (int i = 0; i < nconns; i++) base_bytes += conns[i].received;
    }
    for (int e = 0; e < n; e++) {
      struct conn *c = &conns[events[e].data.u32];
      if (events[e].events & (EPOLLERR | EPOLLHUP)) {
        fprintf(stderr, "connection closed by the server\n");
        return 1;
      }
      size_t room = size < 65536 ? 65536 : size;
      for (;;) {
        ssize_t r = read(c->fd, sink, room);
        if (r < 0) {
          if (errno == EAGAIN) break;
          die("read");
        }
        if (r == 0) {
          fprintf(stderr, "unexpected EOF from the server\n");
          return 1;
        }
        c->received += (uint64_t)r;
        if (!bulk && c->received == c->sent && c->sent % size == 0) {
          uint64_t rtt = (t - c->sent_at) / 1000;
          hist[rtt < HIST_US ? rtt : HIST_US]++;
          messages++;
          c->sent_at = t;
        }
        // A short read drained the socket: skip the read that would only
        // say EAGAIN (level-triggered reports the rest, edge-triggered the
        // next arrival).
        if ((size_t)r < room) break;
      }
      send_some(c, data, size, bulk);
    }
  }

  double cpu_end = cpu_ms(server_pid);
  double self_end = self_cpu_ms();
  double seconds = (double)(t - warm_end) / 1e9;
  for (int i = 0; i < nconns; i++) bytes += conns[i].received;
  bytes -= base_bytes;
  if (bulk) messages = bytes / size;

  uint64_t p50 = 0, p99 = 0, seen = 0, total = 0;
  int found50 = 0;
  for (int i = 0; i <= HIST_US; i++) total += hist[i];
  for (int i = 0; i <= HIST_US && total; i++) {
    seen += hist[i];
    if (!found50 && seen * 100 >= total * 50) {
      p50 = (uint64_t)i;
      found50 = 1;
    }
    if (seen * 100 >= total * 99) {
      p99 = (uint64_t)i;
      break;
    }
  }
  printf("{\"messages\":%llu,\"bytes\":%llu,\"seconds\":%.4f,"
         "\"serverCpuMs\":%.1f,\"loadCpuMs\":%.1f,\"p50us\":%llu,"
         "\"p99us\":%llu}\n",
         (unsigned long long)messages, (unsigned long long)bytes, seconds,
         server_pid > 0 ? cpu_end - cpu_start : -1.0, self_end - self_start,
         (unsigned long long)p50,
         (unsigned long long)p99);
  for (int i = 0; i < nconns; i++) close(conns[i].fd);
  return 0;
}
