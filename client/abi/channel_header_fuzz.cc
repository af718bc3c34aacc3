// Fuzz target for the client's check of a channel segment's header (the
// header lives in memory ferryd shares, so a client must not trust it): an
// arbitrary header and mapped size must be refused or give a layout whose
// every ring and buffer lies inside the mapping. libFuzzer entry point;
// channel_header_fuzz_seeds.cc gives fuzz_driver seeds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "client/abi/channel_layout.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ferry::shm;
  ferry_channel_header header;
  if (size < sizeof(header) + 8) return 0;
  std::memcpy(&header, data, sizeof(header));
  uint64_t mapped = 0;
  std::memcpy(&mapped, data + sizeof(header), sizeof(mapped));
  ChannelLayout layout;
  std::string error;
  if (!ValidateChannelHeader(header, mapped, &layout, &error)) {
    Check(!error.empty());
    return 0;
  }
  Check(layout.segment_size <= mapped);
  for (const ferry_ring_layout& ring : layout.rings) {
    Check(RingEntriesOffset(ring) <= layout.segment_size);
    Check(uint64_t{ring.capacity} * ring.entry_size <=
          layout.segment_size - RingEntriesOffset(ring));
  }
  Check(layout.data_offset <= layout.segment_size);
  Check(uint64_t{layout.sizes.buffer_count} * layout.sizes.buffer_size <=
        layout.segment_size - layout.data_offset);
  return 0;
}
