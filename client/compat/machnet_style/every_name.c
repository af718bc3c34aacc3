/* Every public name of Machnet's machnet.h, used from C the way Machnet's
 * header allows: types by tag and by typedef, every function, the
 * constants, and the standard-library functions that machnet.h makes
 * visible without another #include. Built with Machnet's compile line:
 *
 *   cc -I<include dir> every_name.c -L<lib dir> -lmachnet_shim
 *
 * Then run through two ferryd:
 *   every_name LOCAL_IP PORT              a server: answers one exchange
 *   every_name LOCAL_IP PORT REMOTE_IP    a client: prints "every_name: ok"
 */
#include "machnet.h"

static void Check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "every_name: %s\n", what);
    exit(1); /* stdlib.h, through machnet.h */
  }
}

static int Serve(void *channel, const char *ip, uint16_t port) {
  Check(machnet_listen(channel, ip, port) == 0, "machnet_listen");
  printf("every_name: listening\n");
  fflush(stdout);
  /* Two messages: one into two iovecs, one with machnet_recv. */
  char head[4], tail[64];
  struct MachnetIovec iov[2] = {{head, sizeof(head)}, {tail, sizeof(tail)}};
  struct MachnetMsgHdr in;
  memset(&in, 0, sizeof(in)); /* string.h */
  in.msg_iov = iov;
  in.msg_iovlen = 2;
  int got;
  while ((got = machnet_recvmsg(channel, &in)) == 0) {
  }
  Check(got == 1 && in.msg_size == 10, "machnet_recvmsg");
  char second[64];
  MachnetFlow_t from;
  ssize_t n;
  while ((n = machnet_recv(channel, second, sizeof(second), &from)) == 0) {
  }
  Check(n == 5 && memcmp(second, "world", 5) == 0, "machnet_recv");
  /* Answer both with one machnet_sendmmsg, to the sender's tuple. */
  struct MachnetFlow back = in.flow_info;
  back.src_ip = in.flow_info.dst_ip;
  back.dst_ip = in.flow_info.src_ip;
  back.src_port = in.flow_info.dst_port;
  back.dst_port = in.flow_info.src_port;
  MachnetIovec_t a = {head, 4}, b = {tail, 6};
  MachnetMsgHdr_t out[2];
  memset(out, 0, sizeof(out));
  out[0].msg_size = 4;
  out[0].flow_info = back;
  out[0].msg_iov = &a;
  out[0].msg_iovlen = 1;
  out[1] = out[0];
  out[1].msg_size = 6;
  out[1].msg_iov = &b;
  out[1].flags = MACHNET_MSGBUF_NOTIFY_DELIVERY;
  Check(machnet_sendmmsg(channel, out, 2) == 2, "machnet_sendmmsg");
  printf("every_name: answered\n");
  fflush(stdout);
  usleep(200 * 1000); /* unistd.h */
  return 0;
}

static int Ask(void *channel, const char *ip, uint16_t port,
               const char *remote) {
  MachnetFlow_t flow;
  Check(machnet_connect(channel, ip, remote, port, &flow) == 0,
        "machnet_connect");
  /* "helloworld!" split over two iovecs, then "world" in one call. */
  char first[] = "hello", second[] = "world";
  MachnetIovec_t iov[2] = {{first, 5}, {second, 5}};
  MachnetMsgHdr_t msg = {10, flow, iov, 2, 0};
  Check(machnet_sendmsg(channel, &msg) == 0, "machnet_sendmsg");
  Check(machnet_send(channel, flow, "world", 5) == 0, "machnet_send");
  char buf[16];
  struct MachnetFlow from;
  ssize_t n;
  while ((n = machnet_recv(channel, buf, sizeof(buf), &from)) == 0) {
  }
  Check(n == 4 && memcmp(buf, "hell", 4) == 0, "first answer");
  Check(from.src_ip == flow.dst_ip && from.src_port == flow.dst_port,
        "the answer's flow");
  char part1[3], part2[16];
  MachnetIovec_t parts[2] = {{part1, 3}, {part2, sizeof(part2)}};
  struct MachnetMsgHdr in = {0, from, parts, 2, 0};
  int got;
  while ((got = machnet_recvmsg(channel, &in)) == 0) {
  }
  Check(got == 1 && in.msg_size == 6 && memcmp(part1, "owo", 3) == 0 &&
            memcmp(part2, "rld", 3) == 0,
        "second answer");
  printf("every_name: ok\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: %s LOCAL_IP PORT [REMOTE_IP]\n", argv[0]);
    return 2;
  }
  /* Names that need no ferryd. */
  assert(MACHNET_MSG_MAX_LEN == 8 * 1024 * 1024); /* assert.h */
  Check(sizeof(MachnetFlow_t) == 12 && sizeof(struct MachnetFlow) == 12,
        "MachnetFlow is 12 bytes");
  Check(g_ctrl_socket == -1 || g_ctrl_socket >= 0, "g_ctrl_socket");
  size_t size = 1;
  const int fd = open("/dev/null", O_RDONLY); /* fcntl.h */
  MachnetChannelCtx_t *bound = machnet_bind(fd, &size);
  Check(bound == NULL && size == 0, "machnet_bind of a non-channel");
  struct stat st; /* sys/stat.h */
  Check(fstat(STDERR_FILENO, &st) == 0, "fstat");
  void *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  Check(page != MAP_FAILED && munmap(page, 4096) == 0, "mmap"); /* sys/mman.h */
  /* Declared by machnet.h, not provided: named, never called. */
  (void)sizeof(&machnet_recvmsg_buf);
  struct MachnetMsgBuf *no_buf = NULL;
  (void)no_buf;
  Check(getpid() > 0, "getpid");

  Check(machnet_init() == 0, "machnet_init");
  void *channel = machnet_attach();
  Check(channel != NULL, "machnet_attach");
  const uint16_t port = (uint16_t)atoi(argv[2]);
  return argc == 3 ? Serve(channel, argv[1], port)
                   : Ask(channel, argv[1], port, argv[3]);
}
