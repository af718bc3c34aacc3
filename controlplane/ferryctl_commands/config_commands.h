// ferryctl config check FILE: checks a ferryd configuration file without
// starting anything, by running `ferryd --flagfile=FILE --check_config`, so
// that one parser (ferryd's own flags) decides what is valid.
#ifndef FERRY_CONTROLPLANE_FERRYCTL_COMMANDS_CONFIG_COMMANDS_H_
#define FERRY_CONTROLPLANE_FERRYCTL_COMMANDS_CONFIG_COMMANDS_H_

#include <string>

#include "controlplane/ferryctl_commands/ferryctl_call.h"

namespace ferry::ferryctl {

// The ferryd to run: $FERRYD if set, else the ferryd next to this ferryctl
// (both are installed in one directory), else "ferryd" from $PATH.
std::string FerrydForConfigCheck();

int ConfigCheck(const Ctl& ctl, const Args& args);  // FILE

}  // namespace ferry::ferryctl

#endif  // FERRY_CONTROLPLANE_FERRYCTL_COMMANDS_CONFIG_COMMANDS_H_
