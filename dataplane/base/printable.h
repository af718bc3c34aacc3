// Text that came from outside (names, quoted inputs) as it may be logged or
// sent back: at most `max_bytes`, every byte outside printable ASCII
// replaced by '?', so that it can neither forge a log line nor carry
// terminal escapes. `ellipsis` marks a cut with "..." (within max_bytes).
#ifndef FERRY_DATAPLANE_BASE_PRINTABLE_H_
#define FERRY_DATAPLANE_BASE_PRINTABLE_H_

#include <algorithm>
#include <string>

#include "absl/strings/string_view.h"

namespace ferry {

inline std::string Printable(absl::string_view text, size_t max_bytes,
                             bool ellipsis = false) {
  const bool cut = text.size() > max_bytes;
  size_t keep = std::min(text.size(), max_bytes);
  if (cut && ellipsis) keep = max_bytes > 3 ? max_bytes - 3 : 0;
  std::string out;
  out.reserve(keep + 3);
  for (size_t i = 0; i < keep; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    out += byte >= 0x20 && byte < 0x7f ? text[i] : '?';
  }
  if (cut && ellipsis) out += "...";
  return out;
}

}  // namespace ferry

#endif  // FERRY_DATAPLANE_BASE_PRINTABLE_H_
