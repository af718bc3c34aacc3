#include "bench/msg_gen/size_distribution.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace ferry::bench {

SizeDistribution SizeDistribution::Fixed(uint32_t size) {
  SizeDistribution d;
  d.sizes_ = {size};
  d.cumulative_ = {1};
  d.total_weight_ = 1;
  return d;
}

absl::StatusOr<SizeDistribution> SizeDistribution::Parse(absl::string_view spec,
                                                         uint32_t max_size) {
  std::vector<std::pair<uint32_t, uint64_t>> entries;
  for (absl::string_view item : absl::StrSplit(spec, ',')) {
    const std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(item, absl::MaxSplits(':', 1));
    uint32_t size = 0;
    uint64_t weight = 0;
    if (!absl::SimpleAtoi(parts.first, &size) ||
        !absl::SimpleAtoi(parts.second, &weight)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("size distribution: '%s' is not SIZE:WEIGHT", item));
    }
    if (size < kMinSize || size > max_size) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "size distribution: %d B is not %d..%d", size, kMinSize, max_size));
    }
    if (weight == 0 || weight > (1u << 20)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "size distribution: weight %d of %d B is not 1..1048576", weight,
          size));
    }
    entries.emplace_back(size, weight);
  }
  if (entries.size() > kMaxClasses) {
    return absl::InvalidArgumentError(
        absl::StrFormat("size distribution: %d sizes, at most %d",
                        entries.size(), kMaxClasses));
  }
  std::sort(entries.begin(), entries.end());
  SizeDistribution d;
  uint64_t sum = 0;
  for (const auto& [size, weight] : entries) {
    if (!d.sizes_.empty() && d.sizes_.back() == size) {
      return absl::InvalidArgumentError(
          absl::StrFormat("size distribution: %d B given twice", size));
    }
    sum += weight;
    d.sizes_.push_back(size);
    d.cumulative_.push_back(sum);
  }
  d.total_weight_ = sum;
  return d;
}

uint32_t SizeDistribution::max_size() const { return sizes_.back(); }

}  // namespace ferry::bench
