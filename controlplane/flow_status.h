// A flow operation's outcome as one absl::Status: the canonical code and
// message, and, when an engine answered, the channel ABI's ferry_status as
// the status's payload. The gRPC boundary (api/status_convert.h) sends that
// payload on as a typed field, and the client library maps it to the same
// errno as the channel's own control ring would.
#ifndef FERRY_CONTROLPLANE_FLOW_STATUS_H_
#define FERRY_CONTROLPLANE_FLOW_STATUS_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/types/optional.h"
#include "client/abi/ferry_channel_abi.h"

namespace ferry::controlplane {

inline constexpr char kFerryStatusPayload[] = "ferry.v1.FlowError";

inline absl::Status WithFerryStatus(absl::Status status, ferry_status reason) {
  if (!status.ok() && reason != FERRY_STATUS_OK) {
    status.SetPayload(kFerryStatusPayload,
                      absl::Cord(std::to_string(static_cast<int>(reason))));
  }
  return status;
}

inline std::optional<ferry_status> FerryStatusOf(const absl::Status& status) {
  const absl::optional<absl::Cord> payload =
      status.GetPayload(kFerryStatusPayload);
  if (!payload.has_value()) return std::nullopt;
  int value = 0;
  for (char c : std::string(*payload)) {
    if (c < '0' || c > '9' || value > 0xffff) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return static_cast<ferry_status>(value);
}

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_FLOW_STATUS_H_
