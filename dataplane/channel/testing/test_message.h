// Self-checking message contents for channel tests: a 16-byte header (magic
// and the FNV-1a hash of the rest) followed by pseudo-random bytes, so any
// process can verify a message it did not create. Messages under 16 bytes
// carry no header and are checked by comparison only.
#ifndef FERRY_DATAPLANE_CHANNEL_TESTING_TEST_MESSAGE_H_
#define FERRY_DATAPLANE_CHANNEL_TESTING_TEST_MESSAGE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace ferry::channel::testing {

inline constexpr uint64_t kTestMessageMagic = 0x4753'4d54'5952'5246ull;
inline constexpr size_t kTestHeaderSize = 16;

class Fnv1a {
 public:
  void Add(const uint8_t* data, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      hash_ ^= data[i];
      hash_ *= 0x100000001b3ull;
    }
  }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ull;
};

inline std::vector<uint8_t> MakeTestMessage(size_t size, uint64_t seed) {
  std::vector<uint8_t> data(size);
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    data[i] = static_cast<uint8_t>(x);
  }
  if (size >= kTestHeaderSize) {
    Fnv1a hash;
    hash.Add(data.data() + kTestHeaderSize, size - kTestHeaderSize);
    const uint64_t magic = kTestMessageMagic;
    const uint64_t value = hash.value();
    std::memcpy(data.data(), &magic, 8);
    std::memcpy(data.data() + 8, &value, 8);
  }
  return data;
}

// Verifies a message given as pieces (pointer, length); false when the
// header is missing or the hash disagrees.
template <typename Pieces>
bool VerifyTestMessage(const Pieces& pieces) {
  uint8_t header[kTestHeaderSize];
  size_t header_have = 0;
  Fnv1a hash;
  for (const auto& piece : pieces) {
    const uint8_t* p = piece.data;
    size_t n = piece.length;
    const size_t take = std::min(n, kTestHeaderSize - header_have);
    std::memcpy(header + header_have, p, take);
    header_have += take;
    hash.Add(p + take, n - take);
  }
  if (header_have < kTestHeaderSize) return false;
  uint64_t magic, value;
  std::memcpy(&magic, header, 8);
  std::memcpy(&value, header + 8, 8);
  return magic == kTestMessageMagic && value == hash.value();
}

}  // namespace ferry::channel::testing

#endif  // FERRY_DATAPLANE_CHANNEL_TESTING_TEST_MESSAGE_H_
