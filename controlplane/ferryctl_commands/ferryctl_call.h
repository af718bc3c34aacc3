// What every ferryctl command shares: where it talks (the channel to the
// right socket), how it prints (a table or JSON), and one helper that makes
// a call and prints its answer, so that each command is its request and its
// table.
#ifndef FERRY_CONTROLPLANE_FERRYCTL_COMMANDS_CALL_H_
#define FERRY_CONTROLPLANE_FERRYCTL_COMMANDS_CALL_H_

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"

namespace ferry::ferryctl {

inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// A command's surroundings, set up by main from the flags.
struct Ctl {
  std::shared_ptr<grpc::Channel> channel;  // to the command's socket
  bool json = false;
  std::string app_socket;  // where application commands open sessions
  // A context whose deadline is --timeout_ms from now (or `timeout`).
  std::unique_ptr<grpc::ClientContext> Context() const;
  std::unique_ptr<grpc::ClientContext> Context(
      std::chrono::milliseconds timeout) const;
};

// The words after the command's own ("nic get NAME": {"NAME"}).
using Args = std::vector<std::string>;

// Prints "ferryctl: error: CODE: message" and returns kExitFailed.
int Failed(const grpc::Status& status);
// Prints the usage problem and returns kExitUsage.
int Usage(const std::string& message);
std::string Json(const google::protobuf::Message& message);

// Makes a unary call through `call(context, &response)` and prints the
// response: as JSON, or with `print(response)` for a table. Returns the
// exit status.
template <typename Response, typename Call, typename Print>
int CallAndPrint(const Ctl& ctl, std::unique_ptr<grpc::ClientContext> context,
                 Call&& call, Print&& print) {
  Response response;
  const grpc::Status status = call(context.get(), &response);
  if (!status.ok()) return Failed(status);
  if (ctl.json) {
    std::cout << Json(response);
  } else {
    print(response);
  }
  return 0;
}

template <typename Response, typename Call, typename Print>
int CallAndPrint(const Ctl& ctl, Call&& call, Print&& print) {
  return CallAndPrint<Response>(ctl, ctl.Context(), std::forward<Call>(call),
                                std::forward<Print>(print));
}

}  // namespace ferry::ferryctl

#endif  // FERRY_CONTROLPLANE_FERRYCTL_COMMANDS_CALL_H_
