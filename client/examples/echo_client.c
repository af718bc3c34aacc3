/*
 * The smallest Ferry application: attach a channel, send a few messages on
 * one flow, and print what comes back.
 *
 *   echo_client [SOCKET] [COUNT]
 *
 * Against ferryd the messages go to the flow's peer; against the test echo
 * server (dataplane/channel/testing) they come straight back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/ferry.h"

int main(int argc, char** argv) {
  const char* socket_path = argc > 1 ? argv[1] : NULL; /* NULL: default */
  const int count = argc > 2 ? atoi(argv[2]) : 3;
  const uint64_t flow = 1; /* from ferryd's listen/connect in a real app */

  ferry_channel* channel;
  int rc = ferry_attach(socket_path, NULL, &channel);
  if (rc != 0) {
    fprintf(stderr, "attach: %s\n", strerror(-rc));
    return 1;
  }
  printf("attached channel %llu\n",
         (unsigned long long)ferry_channel_id(channel));

  for (int i = 0; i < count; ++i) {
    char message[64];
    const int length = snprintf(message, sizeof(message), "hello %d", i);
    rc = ferry_send(channel, flow, message, (size_t)length);
    if (rc != 0) {
      fprintf(stderr, "send: %s\n", strerror(-rc));
      break;
    }
    char reply[64];
    ferry_recv_info info;
    const ssize_t n =
        ferry_recv_wait(channel, reply, sizeof(reply) - 1, &info, 5000);
    if (n < 0) {
      fprintf(stderr, "receive: %s\n", strerror((int)-n));
      rc = (int)n;
      break;
    }
    if (info.flags & FERRY_RECV_SEND_ERROR) {
      fprintf(stderr, "send %llu failed: status %u\n",
              (unsigned long long)info.cookie, info.status);
      rc = -EIO;
      break;
    }
    reply[n] = '\0';
    printf("flow %llu: %s\n", (unsigned long long)info.flow, reply);
  }
  ferry_detach(channel);
  return rc == 0 ? 0 : 1;
}
