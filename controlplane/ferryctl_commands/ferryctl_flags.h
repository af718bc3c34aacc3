// ferryctl's flags, defined in ferryctl_main.cc and read by the command
// files (see ferryctl_main.cc for each flag's meaning).
#ifndef FERRY_CONTROLPLANE_FERRYCTL_COMMANDS_FLAGS_H_
#define FERRY_CONTROLPLANE_FERRYCTL_COMMANDS_FLAGS_H_

#include <string>

#include "absl/flags/declare.h"

ABSL_DECLARE_FLAG(std::string, socket);
ABSL_DECLARE_FLAG(int, watch_ms);
ABSL_DECLARE_FLAG(int, count);
ABSL_DECLARE_FLAG(int, timeout_ms);
ABSL_DECLARE_FLAG(std::string, device);
ABSL_DECLARE_FLAG(std::string, ip);
ABSL_DECLARE_FLAG(std::string, gateway);
ABSL_DECLARE_FLAG(std::string, mac);
ABSL_DECLARE_FLAG(int, mtu);
ABSL_DECLARE_FLAG(int, engines);
ABSL_DECLARE_FLAG(std::string, cores);
ABSL_DECLARE_FLAG(std::string, polling);
ABSL_DECLARE_FLAG(std::string, encryption);
ABSL_DECLARE_FLAG(int, key_rotation_ms);
ABSL_DECLARE_FLAG(std::string, name);
ABSL_DECLARE_FLAG(double, drop);
ABSL_DECLARE_FLAG(double, duplicate);
ABSL_DECLARE_FLAG(double, delay);
ABSL_DECLARE_FLAG(int, delay_us);
ABSL_DECLARE_FLAG(double, corrupt);
ABSL_DECLARE_FLAG(double, reorder);
ABSL_DECLARE_FLAG(std::string, nic);
ABSL_DECLARE_FLAG(std::string, state);
ABSL_DECLARE_FLAG(std::string, remote_ip);
ABSL_DECLARE_FLAG(int, page_size);
ABSL_DECLARE_FLAG(bool, reset);
ABSL_DECLARE_FLAG(std::string, message);
ABSL_DECLARE_FLAG(int, duration_ms);

#endif  // FERRY_CONTROLPLANE_FERRYCTL_COMMANDS_FLAGS_H_
