/* msg_gen's request/response loop, re-written against machnet.h: keeps
 * WINDOW requests of SIZE bytes in flight on one flow for SECONDS and
 * prints the rate, so that the compat layer can be compared with the
 * native API (msg_gen) against the same server in the same run.
 *
 *   machnet_rpc LOCAL_IP REMOTE_IP PORT SIZE WINDOW SECONDS
 * Output: "machnet_rpc: N round trips in S s: R RPC/s".
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/compat/machnet.h"

static double Now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: %s LOCAL_IP REMOTE_IP PORT SIZE WINDOW SECONDS\n",
            argv[0]);
    return 2;
  }
  const size_t size = (size_t)atol(argv[4]);
  const int window = atoi(argv[5]);
  const double seconds = atof(argv[6]);
  if (size < 8 || size > MACHNET_MSG_MAX_LEN || window < 1) {
    fprintf(stderr, "SIZE is 8 .. 8 MiB and WINDOW at least 1\n");
    return 2;
  }
  if (machnet_init() != 0) return 1;
  void* channel = machnet_attach();
  MachnetFlow_t flow;
  if (channel == NULL || machnet_connect(channel, argv[1], argv[2],
                                         (uint16_t)atoi(argv[3]), &flow) != 0) {
    fprintf(stderr, "machnet_rpc: attach or connect failed\n");
    return 1;
  }
  char* request = calloc(1, size);
  char* response = malloc(size);
  unsigned long long seq = 0, done = 0;
  int in_flight = 0;
  const double start = Now();
  const double end = start + seconds;
  while (Now() < end) {
    while (in_flight < window) {
      memcpy(request, &seq, sizeof(seq));
      if (machnet_send(channel, flow, request, size) != 0) break;
      ++seq;
      ++in_flight;
    }
    MachnetFlow_t from;
    const ssize_t n = machnet_recv(channel, response, size, &from);
    if (n < 0) {
      fprintf(stderr, "machnet_rpc: machnet_recv failed\n");
      free(request);
      free(response);
      return 1;
    }
    if (n > 0) {
      --in_flight;
      ++done;
    } else {
      sched_yield(); /* a shared machine: let the engines run */
    }
  }
  const double elapsed = Now() - start;
  printf("machnet_rpc: %llu round trips in %.2f s: %.0f RPC/s\n", done, elapsed,
         done / elapsed);
  free(request);
  free(response);
  return 0;
}
