#include "controlplane/ferryctl_commands/ferryctl_call.h"

#include <cstdio>

#include "absl/flags/flag.h"
#include "controlplane/ferryctl_commands/ferryctl_flags.h"
#include "google/protobuf/util/json_util.h"

namespace ferry::ferryctl {
namespace {

const char* CodeName(grpc::StatusCode code) {
  static const char* kNames[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < 17 ? kNames[i] : "UNKNOWN";
}

}  // namespace

std::unique_ptr<grpc::ClientContext> Ctl::Context() const {
  return Context(std::chrono::milliseconds(absl::GetFlag(FLAGS_timeout_ms)));
}

std::unique_ptr<grpc::ClientContext> Ctl::Context(
    std::chrono::milliseconds timeout) const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  return context;
}

int Failed(const grpc::Status& status) {
  std::fprintf(stderr, "ferryctl: error: %s: %s\n",
               CodeName(status.error_code()), status.error_message().c_str());
  return kExitFailed;
}

int Usage(const std::string& message) {
  std::fprintf(stderr, "ferryctl: %s (see ferryctl --help)\n", message.c_str());
  return kExitUsage;
}

std::string Json(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

}  // namespace ferry::ferryctl
