// absl::Status inside, grpc::Status at the service boundary: the one place
// where codes are mapped.
#ifndef FERRY_CONTROLPLANE_API_STATUS_CONVERT_H_
#define FERRY_CONTROLPLANE_API_STATUS_CONVERT_H_

#include <algorithm>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"

namespace ferry::controlplane {

// Messages may quote what a caller sent: they go out bounded (a 1 MB name
// must not become a 1 MB grpc-message, which clients refuse as oversized
// metadata) and printable (no control characters in clients' terminals).
inline constexpr size_t kMaxStatusMessageBytes = 512;

inline std::string SanitizedMessage(absl::string_view message) {
  std::string out;
  out.reserve(std::min(message.size(), kMaxStatusMessageBytes));
  for (char c : message) {
    if (out.size() == kMaxStatusMessageBytes - 3) {
      out += "...";
      break;
    }
    const auto byte = static_cast<unsigned char>(c);
    out += byte >= 0x20 && byte < 0x7f ? c : '?';
  }
  return out;
}

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl's and gRPC's canonical codes share their numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      SanitizedMessage(status.message()));
}

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_API_STATUS_CONVERT_H_
