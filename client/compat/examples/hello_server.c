/* A Machnet-style server written only against machnet.h: listen, then
 * answer every message by swapping the flow's ends. Builds unchanged
 * against Machnet or Ferry's compat library.
 *
 *   hello_server LOCAL_IP PORT [MESSAGES]   (exits after MESSAGES, 0: never)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/compat/machnet.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s LOCAL_IP PORT [MESSAGES]\n", argv[0]);
    return 2;
  }
  const long limit = argc > 3 ? atol(argv[3]) : 0;
  if (machnet_init() != 0) {
    fprintf(stderr, "machnet_init failed\n");
    return 1;
  }
  void* channel = machnet_attach();
  if (channel == NULL) {
    fprintf(stderr, "machnet_attach failed\n");
    return 1;
  }
  if (machnet_listen(channel, argv[1], (uint16_t)atoi(argv[2])) != 0) {
    fprintf(stderr, "machnet_listen failed\n");
    return 1;
  }
  printf("listening on %s:%s\n", argv[1], argv[2]);
  fflush(stdout);
  char buf[1024];
  long answered = 0;
  while (limit == 0 || answered < limit) {
    MachnetFlow_t flow;
    const ssize_t n = machnet_recv(channel, buf, sizeof(buf) - 1, &flow);
    if (n < 0) {
      fprintf(stderr, "machnet_recv failed\n");
      return 1;
    }
    if (n == 0) {
      usleep(10);
      continue;
    }
    buf[n] = '\0';
    printf("received \"%s\" from %u.%u.%u.%u:%u\n", buf, flow.src_ip >> 24,
           (flow.src_ip >> 16) & 0xff, (flow.src_ip >> 8) & 0xff,
           flow.src_ip & 0xff, flow.src_port);
    fflush(stdout);
    /* Reply: the received flow's ends swapped. */
    MachnetFlow_t reply = flow;
    reply.src_ip = flow.dst_ip;
    reply.dst_ip = flow.src_ip;
    reply.src_port = flow.dst_port;
    reply.dst_port = flow.src_port;
    char answer[1100];
    snprintf(answer, sizeof(answer), "hello back: %s", buf);
    while (machnet_send(channel, reply, answer, strlen(answer)) != 0) {
      usleep(10);
    }
    ++answered;
  }
  return 0;
}
