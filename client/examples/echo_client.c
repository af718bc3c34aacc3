/*
 * The smallest Ferry client: a channel in a session of its own, one flow
 * to an echo server, a few messages and their echoes, an orderly close.
 *
 *   echo_client FERRYD_SOCKET REMOTE_IP PORT [COUNT]
 *
 * FERRYD_SOCKET is ferryd's API socket ("-": the default,
 * /run/ferry/ferryd.sock). The server is echo_server.c, on another host.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/ferry.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: echo_client FERRYD_SOCKET REMOTE_IP PORT [N]\n");
    return 2;
  }
  const char* socket_path = strcmp(argv[1], "-") == 0 ? NULL : argv[1];
  struct in_addr remote;
  if (inet_pton(AF_INET, argv[2], &remote) != 1) {
    fprintf(stderr, "not an IPv4 address: %s\n", argv[2]);
    return 2;
  }
  const uint16_t port = (uint16_t)atoi(argv[3]);
  const int count = argc > 4 ? atoi(argv[4]) : 3;

  ferry_channel* channel;
  int rc = ferry_attach(socket_path, NULL, &channel);
  if (rc != 0) {
    fprintf(stderr, "attach: %s\n", strerror(-rc));
    return 1;
  }
  uint64_t flow;
  rc = ferry_connect(channel, ntohl(remote.s_addr), port, 0, 5000, &flow);
  if (rc != 0) {
    fprintf(stderr, "connect: %s\n", strerror(-rc));
    ferry_detach(channel);
    return 1;
  }
  printf("connected: flow %llu\n", (unsigned long long)flow);
  for (int i = 0; i < count && rc == 0; ++i) {
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
    } else if (info.flags & FERRY_RECV_EVENT_MASK) {
      fprintf(stderr, "flow event instead of a reply: %s\n",
              ferry_status_name(info.status));
      rc = -EIO;
    } else {
      reply[n] = '\0';
      printf("reply: %s\n", reply);
    }
  }
  ferry_close(channel, flow, 1000);
  ferry_detach(channel);
  return rc == 0 ? 0 : 1;
}
