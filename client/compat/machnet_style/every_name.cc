// The same exchange from C++, as Machnet's C++ applications write it: tags
// used as type names (`MachnetFlow flow;`), usleep and printf with no
// #include beyond machnet.h and the C++ library. Built with Machnet's
// compile line:
//
//   g++ -I<include dir> every_name.cc -L<lib dir> -lmachnet_shim
//
//   every_name_cc LOCAL_IP PORT REMOTE_IP   (against every_name's server)
#include <string>
#include <vector>

#include "machnet.h"

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s LOCAL_IP PORT REMOTE_IP\n", argv[0]);
    return 2;
  }
  if (machnet_init() != 0) return 1;
  void *channel = machnet_attach();
  if (channel == nullptr) return 1;
  MachnetFlow flow;
  if (machnet_connect(channel, argv[1], argv[3], uint16_t(atoi(argv[2])),
                      &flow) != 0) {
    fprintf(stderr, "machnet_connect failed\n");
    return 1;
  }
  std::string first = "hello", second = "world";
  MachnetIovec iov[2] = {{&first[0], first.size()}, {&second[0], 5}};
  MachnetMsgHdr msg = {10, flow, iov, 2, 0};
  if (machnet_sendmsg(channel, &msg) != 0 ||
      machnet_send(channel, flow, second.data(), second.size()) != 0) {
    fprintf(stderr, "send failed\n");
    return 1;
  }
  std::vector<char> buf(MACHNET_MSG_MAX_LEN);
  int answers = 0;
  while (answers < 2) {
    MachnetFlow from;
    const ssize_t n = machnet_recv(channel, buf.data(), buf.size(), &from);
    if (n < 0) return 1;
    if (n == 0) {
      usleep(1);  // some applications do sleep between polls
      continue;
    }
    ++answers;
  }
  printf("every_name_cc: ok\n");
  return 0;
}
