// Reads a fuzz target's input as a stream of small integers, for targets
// whose input is a sequence of steps. Past the end every read is 0, so a
// truncated input is still a valid (shorter) program.
#ifndef FERRY_DATAPLANE_BASE_FUZZ_INPUT_H_
#define FERRY_DATAPLANE_BASE_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

// Aborts (a crash libFuzzer reports) when an invariant of the target fails.
#define FERRY_FUZZ_CHECK(condition)                                  \
  do {                                                               \
    if (!(condition)) {                                              \
      std::fprintf(stderr, "%s:%d: %s failed\n", __FILE__, __LINE__, \
                   #condition);                                      \
      std::abort();                                                  \
    }                                                                \
  } while (0)

namespace ferry::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  size_t remaining() const { return empty() ? 0 : size_ - pos_; }
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(Byte() << 8 | Byte()); }
  uint32_t U32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | Byte();
    return v;
  }
  uint64_t U64() { return uint64_t{U32()} << 32 | U32(); }
  // Copies up to `n` bytes (zeros past the end).
  void Bytes(void* out, size_t n) {
    auto* p = static_cast<uint8_t*>(out);
    for (size_t i = 0; i < n; ++i) p[i] = Byte();
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace ferry::fuzz

#endif  // FERRY_DATAPLANE_BASE_FUZZ_INPUT_H_
