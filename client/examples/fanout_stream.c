/*
 * One-way streams from one channel to many flows, verified at the
 * receivers: a source that sends round robin over its flows, skipping a
 * flow whose send says -EAGAIN (blocked: its receiver is slow) and going
 * on with the others, and a sink that accepts flows and checks that each
 * flow's messages arrive whole, once and in order. SIGUSR1 makes a sink
 * slow (2 ms per message) or fast again.
 *
 *   fanout_stream source FERRYD_SOCKET REMOTE_IP SIZE SECONDS PORT:FLOWS...
 *   fanout_stream sink FERRYD_SOCKET PORT
 *
 * SECONDS 0 streams until SIGTERM or SIGINT: a test that checks the flows
 * while they stream stops the source when it is done, instead of racing a
 * fixed duration on a machine whose speed drifts.
 *
 * A sink prints "received=N errors=E" every 100 ms and at SIGTERM; the
 * source prints "sent=N" per second and at the end, then closes its flows
 * in order (so everything sent is delivered first).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/ferry.h"

#define MAX_FLOWS 256
#define HEADER 16 /* flow index (uint32), unused (uint32), sequence (uint64) \
                   */

static volatile sig_atomic_t stop_requested = 0;
static volatile sig_atomic_t slow = 0;

static void on_term(int sig) {
  (void)sig;
  stop_requested = 1;
}
static void on_usr1(int sig) {
  (void)sig;
  slow = !slow;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint8_t pattern(uint32_t index, uint64_t seq, size_t i) {
  return (uint8_t)(seq * 31 + index * 7 + i);
}

static void fill(uint8_t* m, size_t size, uint32_t index, uint64_t seq) {
  memcpy(m, &index, 4);
  memset(m + 4, 0, 4);
  memcpy(m + 8, &seq, 8);
  for (size_t i = HEADER; i < size; ++i) m[i] = pattern(index, seq, i);
}

static ferry_channel* attach(const char* socket_path) {
  ferry_channel* channel;
  const int rc = ferry_attach(
      strcmp(socket_path, "-") == 0 ? NULL : socket_path, NULL, &channel);
  if (rc != 0) {
    fprintf(stderr, "attach: %s\n", strerror(-rc));
    exit(1);
  }
  return channel;
}

static int run_source(int argc, char** argv) {
  if (argc < 7) return 2;
  ferry_channel* channel = attach(argv[2]);
  struct in_addr remote;
  if (inet_pton(AF_INET, argv[3], &remote) != 1) return 2;
  const size_t size = (size_t)atoi(argv[4]);
  const int seconds = atoi(argv[5]);
  if (size < HEADER || size > 65536 || seconds < 0) return 2;
  static uint64_t flows[MAX_FLOWS];
  static uint64_t seq[MAX_FLOWS];
  int count = 0;
  for (int a = 6; a < argc; ++a) {
    unsigned port = 0, n = 0;
    if (sscanf(argv[a], "%u:%u", &port, &n) != 2 || count + (int)n > MAX_FLOWS)
      return 2;
    for (unsigned k = 0; k < n; ++k) {
      const int rc = ferry_connect(channel, ntohl(remote.s_addr),
                                   (uint16_t)port, 0, 5000, &flows[count]);
      if (rc != 0) {
        fprintf(stderr, "connect to port %u: %s\n", port, strerror(-rc));
        return 1;
      }
      ++count;
    }
  }
  printf("connected %d flows\n", count);
  fflush(stdout);
  static uint8_t message[65536];
  uint64_t sent = 0;
  const uint64_t end =
      seconds == 0 ? UINT64_MAX : now_ms() + (uint64_t)seconds * 1000;
  uint64_t next_print = now_ms() + 1000;
  int rc = 0;
  while (rc == 0 && !stop_requested) {
    const uint64_t t = now_ms();
    if (t >= end) break;
    if (t >= next_print) {
      printf("sent=%llu\n", (unsigned long long)sent);
      fflush(stdout);
      next_print += 1000;
    }
    int progressed = 0;
    for (int i = 0; i < count; ++i) {
      fill(message, size, (uint32_t)i, seq[i]);
      const int s = ferry_send(channel, flows[i], message, size);
      if (s == -EAGAIN) continue; /* this flow (or the channel) is full */
      if (s != 0) {
        fprintf(stderr, "send on flow %d: %s\n", i, strerror(-s));
        rc = s;
        break;
      }
      ++seq[i];
      ++sent;
      progressed = 1;
    }
    if (!progressed) {
      const struct timespec pause = {0, 20000};
      nanosleep(&pause, NULL);
    }
  }
  printf("sent=%llu per flow:", (unsigned long long)sent);
  for (int i = 0; i < count; ++i) printf(" %llu", (unsigned long long)seq[i]);
  printf("\n");
  fflush(stdout);
  for (int i = 0; i < count && rc == 0; ++i) {
    const int c = ferry_close(channel, flows[i], 60000);
    if (c != 0) fprintf(stderr, "close flow %d: %s\n", i, strerror(-c));
  }
  printf("closed\n");
  fflush(stdout);
  ferry_detach(channel);
  return rc == 0 ? 0 : 1;
}

static int run_sink(int argc, char** argv) {
  if (argc < 4) return 2;
  ferry_channel* channel = attach(argv[2]);
  const uint16_t port = (uint16_t)atoi(argv[3]);
  int rc = ferry_listen(channel, port, 5000);
  if (rc != 0) {
    fprintf(stderr, "listen: %s\n", strerror(-rc));
    return 1;
  }
  printf("listening on port %u\n", port);
  fflush(stdout);
  static uint64_t expected[MAX_FLOWS];
  static uint8_t message[65536];
  uint64_t received = 0, errors = 0;
  uint64_t next_print = now_ms();
  while (!stop_requested) {
    ferry_recv_info info;
    const ssize_t n =
        ferry_recv_wait(channel, message, sizeof(message), &info, 100);
    if (n >= HEADER && (info.flags & FERRY_RECV_EVENT_MASK) == 0) {
      uint32_t index;
      uint64_t seq;
      memcpy(&index, message, 4);
      memcpy(&seq, message + 8, 8);
      int ok = index < MAX_FLOWS && seq == expected[index];
      for (ssize_t i = HEADER; ok && i < n; ++i) {
        ok = message[i] == pattern(index, seq, (size_t)i);
      }
      if (ok) {
        ++expected[index];
        ++received;
      } else {
        if (errors < 5) {
          fprintf(stderr, "bad message: flow %u seq %llu length %zd\n", index,
                  (unsigned long long)seq, n);
        }
        ++errors;
      }
      if (slow) {
        const struct timespec pause = {0, 2000000};
        nanosleep(&pause, NULL);
      }
    } else if (n > 0 && n < HEADER) {
      ++errors;
    } else if (n < 0 && n != -ETIMEDOUT && n != -EAGAIN && n != -EINTR) {
      fprintf(stderr, "receive: %s\n", strerror((int)-n));
      rc = 1;
      break;
    }
    if (now_ms() >= next_print) {
      printf("received=%llu errors=%llu\n", (unsigned long long)received,
             (unsigned long long)errors);
      fflush(stdout);
      next_print += 100;
    }
  }
  printf("final received=%llu errors=%llu\n", (unsigned long long)received,
         (unsigned long long)errors);
  fflush(stdout);
  ferry_detach(channel);
  return rc == 0 && errors == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  signal(SIGUSR1, on_usr1);
  int rc = 2;
  if (argc > 1 && strcmp(argv[1], "source") == 0) rc = run_source(argc, argv);
  if (argc > 1 && strcmp(argv[1], "sink") == 0) rc = run_sink(argc, argv);
  if (rc == 2) {
    fprintf(stderr,
            "usage: fanout_stream source FERRYD_SOCKET REMOTE_IP SIZE SECONDS "
            "PORT:FLOWS...\n"
            "       fanout_stream sink FERRYD_SOCKET PORT\n");
  }
  return rc;
}
