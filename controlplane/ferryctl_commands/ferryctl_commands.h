// ferryctl's commands, one file per group; ferryctl_main.cc's table maps
// words to them. Each returns the exit status (0, kExitFailed, kExitUsage).
#ifndef FERRY_CONTROLPLANE_FERRYCTL_COMMANDS_COMMANDS_H_
#define FERRY_CONTROLPLANE_FERRYCTL_COMMANDS_COMMANDS_H_

#include <vector>

#include "controlplane/ferryctl_commands/ferryctl_call.h"
#include "proto/ferry/v1/ferry.pb.h"

namespace ferry::ferryctl {

// nic_commands.cc (administrators)
int NicList(const Ctl& ctl, const Args& args);
int NicGet(const Ctl& ctl, const Args& args);  // NAME
int NicAttach(const Ctl& ctl, const Args& args);
int NicDetach(const Ctl& ctl, const Args& args);  // NAME
int NicFaults(const Ctl& ctl, const Args& args);  // NAME
int RouteList(const Ctl& ctl, const Args& args);
int RouteGet(const Ctl& ctl, const Args& args);  // DESTINATION
// The NIC table, for stats too.
void PrintNicTable(const std::vector<const v1::Nic*>& nics);

// flow_commands.cc (administrators)
int FlowList(const Ctl& ctl, const Args& args);
int FlowGet(const Ctl& ctl, const Args& args);    // ID
int FlowClose(const Ctl& ctl, const Args& args);  // ID

// node_commands.cc (administrators): the node key and trust list
int NodeGet(const Ctl& ctl, const Args& args);
int NodeTrust(const Ctl& ctl, const Args& args);     // PUBLIC_KEY
int NodeDistrust(const Ctl& ctl, const Args& args);  // PUBLIC_KEY

// status_commands.cc: stats and session list (administrators), health
int Stats(const Ctl& ctl, const Args& args);
int SessionList(const Ctl& ctl, const Args& args);
int Health(const Ctl& ctl, const Args& args);

// app_commands.cc: as an application, over the application socket
int Connect(const Ctl& ctl, const Args& args);  // IP:PORT
int Listen(const Ctl& ctl, const Args& args);   // PORT

}  // namespace ferry::ferryctl

#endif  // FERRY_CONTROLPLANE_FERRYCTL_COMMANDS_COMMANDS_H_
