#include "controlplane/api/status_convert.h"

#include <optional>
#include <string>

#include "client/abi/ferry_channel_abi.h"
#include "controlplane/flow_status.h"
#include "dataplane/base/printable.h"
#include "proto/ferry/v1/ferry.pb.h"
#include "proto/google/rpc/status.pb.h"

namespace ferry::controlplane {

// The API's FerryStatus and the channel ABI's list agree value for value:
// a status added to one and not the other fails the build.
#define FERRY_STATUS_IN_PROTO(name, value, error, text)                 \
  static_assert(v1::FERRY_STATUS_##name == value,                       \
                "proto/ferry/v1/ferry.proto's FerryStatus must follow " \
                "FERRY_STATUS_LIST");
FERRY_STATUS_LIST(FERRY_STATUS_IN_PROTO)
#undef FERRY_STATUS_IN_PROTO

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl's and gRPC's canonical codes share their numbering.
  const auto code = static_cast<grpc::StatusCode>(status.code());
  const std::string message =
      Printable(status.message(), kMaxStatusMessageBytes, true);
  const std::optional<ferry_status> reason = FerryStatusOf(status);
  if (!reason.has_value() || !v1::FerryStatus_IsValid(*reason)) {
    return grpc::Status(code, message);
  }
  v1::FlowError error;
  error.set_status(static_cast<v1::FerryStatus>(*reason));
  google::rpc::Status details;
  details.set_code(static_cast<int>(code));
  details.set_message(message);
  details.add_details()->PackFrom(error);
  return grpc::Status(code, message, details.SerializeAsString());
}

}  // namespace ferry::controlplane
