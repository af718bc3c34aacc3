// absl::Status inside, grpc::Status at the service boundary: the one place
// where codes are mapped.
#ifndef FERRY_CONTROLPLANE_API_STATUS_CONVERT_H_
#define FERRY_CONTROLPLANE_API_STATUS_CONVERT_H_

#include <string>

#include "absl/status/status.h"
#include "dataplane/base/printable.h"
#include "grpcpp/grpcpp.h"

namespace ferry::controlplane {

// Messages may quote what a caller sent: they go out bounded (a 1 MB name
// must not become a 1 MB grpc-message, which clients refuse as oversized
// metadata) and printable (no control characters in clients' terminals).
inline constexpr size_t kMaxStatusMessageBytes = 512;

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl's and gRPC's canonical codes share their numbering.
  return grpc::Status(
      static_cast<grpc::StatusCode>(status.code()),
      Printable(status.message(), kMaxStatusMessageBytes, true));
}

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_API_STATUS_CONVERT_H_
