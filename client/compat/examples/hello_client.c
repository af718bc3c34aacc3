/* A Machnet-style client written only against machnet.h: connect, send a
 * greeting, wait for the answer.
 *
 *   hello_client LOCAL_IP REMOTE_IP PORT [COUNT]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/compat/machnet.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s LOCAL_IP REMOTE_IP PORT [COUNT]\n", argv[0]);
    return 2;
  }
  const int count = argc > 4 ? atoi(argv[4]) : 1;
  if (machnet_init() != 0) {
    fprintf(stderr, "machnet_init failed\n");
    return 1;
  }
  void* channel = machnet_attach();
  if (channel == NULL) {
    fprintf(stderr, "machnet_attach failed\n");
    return 1;
  }
  MachnetFlow_t flow;
  if (machnet_connect(channel, argv[1], argv[2], (uint16_t)atoi(argv[3]),
                      &flow) != 0) {
    fprintf(stderr, "machnet_connect failed\n");
    return 1;
  }
  printf("connected from port %u to port %u\n", flow.src_port, flow.dst_port);
  for (int i = 0; i < count; ++i) {
    char msg[64];
    snprintf(msg, sizeof(msg), "Hello World! #%d", i);
    if (machnet_send(channel, flow, msg, strlen(msg)) != 0) {
      fprintf(stderr, "machnet_send failed\n");
      return 1;
    }
    char buf[1024];
    MachnetFlow_t from;
    ssize_t n = 0;
    const time_t deadline = time(NULL) + 10;
    while ((n = machnet_recv(channel, buf, sizeof(buf) - 1, &from)) == 0 &&
           time(NULL) < deadline) {
      usleep(10);
    }
    if (n <= 0) {
      fprintf(stderr, "no answer to message %d\n", i);
      return 1;
    }
    buf[n] = '\0';
    char expected[128];
    snprintf(expected, sizeof(expected), "hello back: %s", msg);
    if (strcmp(buf, expected) != 0 || from.src_port != flow.dst_port ||
        from.dst_port != flow.src_port || from.src_ip != flow.dst_ip) {
      fprintf(stderr, "unexpected answer \"%s\"\n", buf);
      return 1;
    }
    printf("answer: \"%s\"\n", buf);
  }
  return 0;
}
