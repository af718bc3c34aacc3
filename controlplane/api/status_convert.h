// absl::Status inside, grpc::Status at the service boundary: the one place
// where codes are mapped.
#ifndef FERRY_CONTROLPLANE_API_STATUS_CONVERT_H_
#define FERRY_CONTROLPLANE_API_STATUS_CONVERT_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"

namespace ferry::controlplane {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl's and gRPC's canonical codes share their numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_API_STATUS_CONVERT_H_
