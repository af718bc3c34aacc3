#include "dataplane/engine/idle_policy.h"

namespace ferry::engine {

bool ParsePollingMode(absl::string_view text, PollingMode* mode) {
  if (text == "busy") {
    *mode = PollingMode::kBusy;
    return true;
  }
  if (text == "adaptive") {
    *mode = PollingMode::kAdaptive;
    return true;
  }
  return false;
}

const char* PollingModeName(PollingMode mode) {
  return mode == PollingMode::kBusy ? "busy" : "adaptive";
}

}  // namespace ferry::engine
