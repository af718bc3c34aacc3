// absl::Status inside, grpc::Status at the service boundary: the one place
// where codes are mapped, and where a flow operation's ferry_status (see
// controlplane/flow_status.h) becomes a typed FlowError in the call's
// status details.
#ifndef FERRY_CONTROLPLANE_API_STATUS_CONVERT_H_
#define FERRY_CONTROLPLANE_API_STATUS_CONVERT_H_

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"

namespace ferry::controlplane {

// Messages may quote what a caller sent: they go out bounded (a 1 MB name
// must not become a 1 MB grpc-message, which clients refuse as oversized
// metadata) and printable (no control characters in clients' terminals).
inline constexpr size_t kMaxStatusMessageBytes = 512;

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_API_STATUS_CONVERT_H_
