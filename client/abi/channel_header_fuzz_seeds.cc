// Seeds for channel_header_fuzz.cc: valid headers of a few channel sizes,
// each followed by its segment size.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "client/abi/channel_layout.h"

std::vector<std::vector<uint8_t>> FerryFuzzSeeds() {
  using namespace ferry::shm;
  std::vector<std::vector<uint8_t>> seeds;
  for (const ChannelSizes& sizes :
       {ChannelSizes{}, ChannelSizes{4096, 4096, 256, 16},
        ChannelSizes{64, 1 << 20, 2, 2}}) {
    ChannelLayout layout;
    std::string error;
    if (!ComputeChannelLayout(sizes, 4096, &layout, &error)) continue;
    ferry_channel_header header;
    std::memset(&header, 0, sizeof(header));
    WriteChannelHeader(layout, 7, &header);
    std::vector<uint8_t> seed(sizeof(header) + sizeof(uint64_t));
    std::memcpy(seed.data(), &header, sizeof(header));
    std::memcpy(seed.data() + sizeof(header), &layout.segment_size,
                sizeof(uint64_t));
    seeds.push_back(std::move(seed));
  }
  return seeds;
}
