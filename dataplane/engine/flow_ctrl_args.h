// The arguments of a flow control request (ferry_ctrl_flow_args), copied
// out of and into a ferry_ctrl's bytes.
#ifndef FERRY_DATAPLANE_ENGINE_FLOW_CTRL_ARGS_H_
#define FERRY_DATAPLANE_ENGINE_FLOW_CTRL_ARGS_H_

#include <cstring>

#include "client/abi/ferry_channel_abi.h"

namespace ferry::engine {

inline ferry_ctrl_flow_args ReadArgs(const ferry_ctrl& request) {
  ferry_ctrl_flow_args args;
  static_assert(sizeof(args) == sizeof(request.args));
  std::memcpy(&args, request.args, sizeof(args));
  return args;
}

inline void WriteArgs(const ferry_ctrl_flow_args& args, ferry_ctrl* reply) {
  std::memcpy(reply->args, &args, sizeof(args));
}

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_FLOW_CTRL_ARGS_H_
