#include "dataplane/engine/fault_injector.h"

#include "absl/strings/str_format.h"

namespace ferry::engine {

absl::Status FaultConfig::Validate() const {
  for (double p : {drop, duplicate, delay, corrupt, reorder}) {
    if (!(p >= 0 && p <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("fault probability %g is not in [0, 1]", p));
    }
  }
  if (drop + duplicate + delay + corrupt + reorder > 1) {
    return absl::InvalidArgumentError(
        "fault probabilities add up to more than 1");
  }
  if (delay > 0 && (delay_ns == 0 || delay_ns > 1'000'000'000)) {
    return absl::InvalidArgumentError("fault delay must be 1 ns .. 1 s");
  }
  return absl::OkStatus();
}

}  // namespace ferry::engine
