// ferryctl's commands that act as an application: they open a session with
// ferryd (through the client library, so the channel is real shared
// memory), then connect or listen.
//
//   connect IP:PORT [--message=TEXT --count=N]  a flow, N round trips
//   listen PORT [--count=N --duration_ms=T]     echoes what arrives
//
// Both need ferryd's Unix socket: a channel is memory on ferryd's host.
#ifndef FERRY_CONTROLPLANE_FERRYCTL_COMMANDS_APP_COMMANDS_H_
#define FERRY_CONTROLPLANE_FERRYCTL_COMMANDS_APP_COMMANDS_H_

#include <cstdint>
#include <string>

namespace ferry::ferryctl {

struct AppCommandOptions {
  std::string socket;  // ferryd's API socket
  bool json = false;
  int timeout_ms = 5000;
  std::string message = "hello from ferryctl";
  int count = 1;        // connect: round trips; listen: messages (0: any)
  int duration_ms = 0;  // listen: give up after this long (0: never)
};

// Exit status as ferryctl's: 0, 1 (the call failed), 2 (usage).
int ConnectCommand(const std::string& address, const AppCommandOptions& o);
int ListenCommand(const std::string& port, const AppCommandOptions& o);

}  // namespace ferry::ferryctl

#endif  // FERRY_CONTROLPLANE_FERRYCTL_COMMANDS_APP_COMMANDS_H_
