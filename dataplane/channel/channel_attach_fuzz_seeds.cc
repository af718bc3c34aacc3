// Seeds for channel_attach_fuzz.cc: a flags byte and a reservation byte
// (see the target), then the bytes on the connection: well-formed requests
// for each reservation, with sizes left 0 or repeated, and a few that
// ferryd refuses (other sizes, an old ABI version, a descriptor riding
// along, a refused ticket, a short request).
#include <cstdint>
#include <cstring>
#include <vector>

#include "client/abi/ferry_attach_abi.h"

namespace {

std::vector<uint8_t> Seed(uint8_t flags, uint8_t reservation,
                          const ferry_attach_request& request,
                          size_t length = sizeof(ferry_attach_request)) {
  std::vector<uint8_t> seed = {flags, reservation};
  const auto* bytes = reinterpret_cast<const uint8_t*>(&request);
  seed.insert(seed.end(), bytes, bytes + length);
  return seed;
}

}  // namespace

std::vector<std::vector<uint8_t>> FerryFuzzSeeds() {
  ferry_attach_request request = {};
  request.magic = FERRY_ATTACH_MAGIC;
  request.version = FERRY_CHANNEL_ABI_VERSION;
  std::memset(request.ticket, 0x5a, sizeof(request.ticket));
  std::vector<std::vector<uint8_t>> seeds;
  seeds.push_back(Seed(0, 0, request));
  seeds.push_back(Seed(2, 1, request));
  ferry_attach_request sized = request;
  sized.buffer_count = 16;
  sized.buffer_size = 1u << 20;
  sized.ring_capacity = 4;
  seeds.push_back(Seed(0, 0, sized));
  seeds.push_back(Seed(0, 1, sized));        // other sizes than reserved
  seeds.push_back(Seed(1, 0, request));      // with a descriptor
  seeds.push_back(Seed(4, 0, request));      // ticket refused
  seeds.push_back(Seed(0, 0, request, 20));  // short
  ferry_attach_request old = request;
  old.version = FERRY_CHANNEL_ABI_VERSION - 1;
  seeds.push_back(Seed(0, 0, old));
  return seeds;
}
