#include "dataplane/net/ferry_segment_builder.h"

#include <cstring>


namespace ferry::net {

size_t BuildFerrySegment(absl::Span<uint8_t> out,
                         const FerrySegmentAddress& address,
                         const FerryHeader& header,
                         absl::Span<const uint8_t> payload) {
  const uint32_t length = static_cast<uint32_t>(payload.size());
  const size_t at = StartFerrySegment(out, address, header, length);
  if (at == 0) return 0;
  if (length > 0) std::memcpy(out.data() + at, payload.data(), length);
  return FinishFerrySegment(out, address, length);
}

}  // namespace ferry::net
