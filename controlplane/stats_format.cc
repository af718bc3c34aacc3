#include "controlplane/stats_format.h"

#include "absl/strings/str_cat.h"

namespace ferry::controlplane {

std::string FormatEngineStats(const engine::EngineStats& stats) {
  std::string out;
#define FERRY_FORMAT_FIELD(name, help) \
  absl::StrAppend(&out, out.empty() ? "" : " ", #name "=", stats.name);
  FERRY_ENGINE_COUNTERS(FERRY_FORMAT_FIELD)
#undef FERRY_FORMAT_FIELD
  for (size_t i = 1; i < stats.rx_drop_malformed.size(); ++i) {
    if (stats.rx_drop_malformed[i] == 0) continue;
    absl::StrAppend(&out, " rx_drop_",
                    net::DropReasonName(static_cast<net::DropReason>(i)), "=",
                    stats.rx_drop_malformed[i]);
  }
  return out;
}

std::string FormatChannelTotals(const ChannelTotals& t) {
  std::string out =
      absl::StrCat("attached=", t.attached, " refused=", t.refused,
                   " reclaimed=", t.reclaimed, " live=", t.live);
#define FERRY_FORMAT_CHANNEL_FIELD(name, help) \
  absl::StrAppend(&out, " " #name "=", t.name);
  FERRY_CHANNEL_COUNTERS(FERRY_FORMAT_CHANNEL_FIELD)
#undef FERRY_FORMAT_CHANNEL_FIELD
  return out;
}

}  // namespace ferry::controlplane
