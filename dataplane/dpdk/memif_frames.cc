#include "dataplane/dpdk/memif_frames.h"

#include <algorithm>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ferry::dpdk {
namespace {

// The value of devarg `key` in a vdev spec, if it has one.
bool FindDevarg(absl::string_view device, absl::string_view key,
                absl::string_view* value) {
  const std::vector<absl::string_view> parts = absl::StrSplit(device, ',');
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    if (eq != absl::string_view::npos && parts[i].substr(0, eq) == key) {
      *value = parts[i].substr(eq + 1);
      return true;
    }
  }
  return false;
}

}  // namespace

bool IsMemifSpec(absl::string_view device) {
  return absl::StartsWith(device, "net_memif");
}

uint32_t MemifBufferSize(absl::string_view device) {
  absl::string_view text;
  uint32_t size = 0;
  if (!IsMemifSpec(device) || !FindDevarg(device, "bsize", &text) ||
      !absl::SimpleAtoi(text, &size) || size == 0 ||
      size > kMemifMaxBufferSize) {
    return kMemifDefaultBufferSize;
  }
  return size;
}

std::string MemifSpecForFrames(absl::string_view device, uint32_t frame_bytes) {
  absl::string_view named;
  if (!IsMemifSpec(device) || FindDevarg(device, "bsize", &named) ||
      frame_bytes <= kMemifDefaultBufferSize) {
    return std::string(device);
  }
  const uint32_t size =
      std::min(kMemifMaxBufferSize, (frame_bytes + 1023) / 1024 * 1024);
  return absl::StrCat(device, ",bsize=", size);
}

}  // namespace ferry::dpdk
