/*
 * The smallest Ferry server: listens on a UDP port and sends every message
 * back on the flow it came from, until COUNT messages were echoed and the
 * client closed its flow (leaving sooner would reset the flow, and with it
 * an echo still on its way).
 *
 *   echo_server FERRYD_SOCKET PORT [COUNT]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/ferry.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: echo_server FERRYD_SOCKET PORT [COUNT]\n");
    return 2;
  }
  const char* socket_path = strcmp(argv[1], "-") == 0 ? NULL : argv[1];
  const uint16_t port = (uint16_t)atoi(argv[2]);
  const int count = argc > 3 ? atoi(argv[3]) : 3;

  ferry_channel* channel;
  int rc = ferry_attach(socket_path, NULL, &channel);
  if (rc != 0) {
    fprintf(stderr, "attach: %s\n", strerror(-rc));
    return 1;
  }
  rc = ferry_listen(channel, port, 1000);
  if (rc != 0) {
    fprintf(stderr, "listen: %s\n", strerror(-rc));
    ferry_detach(channel);
    return 1;
  }
  printf("listening on port %u\n", port);
  fflush(stdout);
  int echoed = 0;
  int closed = 0;
  char message[4096];
  while (echoed < count || closed == 0) {
    ferry_recv_info info;
    const ssize_t n =
        ferry_recv_wait(channel, message, sizeof(message), &info, 30000);
    if (n < 0) {
      fprintf(stderr, "receive: %s\n", strerror((int)-n));
      rc = (int)n;
      break;
    }
    if (info.flags & FERRY_RECV_FLOW_ACCEPTED) {
      printf("accepted flow %llu from port %u\n", (unsigned long long)info.flow,
             FERRY_COOKIE_REMOTE_PORT(info.cookie));
    } else if (info.flags & FERRY_RECV_FLOW_CLOSED) {
      printf("flow %llu ended: %s\n", (unsigned long long)info.flow,
             ferry_status_name(info.status));
      ++closed;
    } else if ((info.flags & FERRY_RECV_EVENT_MASK) == 0) {
      rc = ferry_send(channel, info.flow, message, (size_t)n);
      if (rc != 0) {
        fprintf(stderr, "send: %s\n", strerror(-rc));
        break;
      }
      ++echoed;
    }
    fflush(stdout);
  }
  printf("echoed %d messages\n", echoed);
  ferry_detach(channel);
  return rc == 0 ? 0 : 1;
}
