// Request and response payloads: the first eight bytes carry the request's
// sequence number (when the message is that long), the rest a pattern
// derived from it, so that either side can check a message byte for byte
// without keeping a copy.
#ifndef FERRY_BENCH_MSG_GEN_PAYLOAD_H_
#define FERRY_BENCH_MSG_GEN_PAYLOAD_H_

#include <cstdint>
#include <cstring>

namespace ferry::bench {

inline uint8_t PatternByte(uint64_t seq, bool response, size_t i) {
  return static_cast<uint8_t>((seq * 131 + i * 7 + (response ? 0x5a : 0)) &
                              0xff);
}

inline void FillPayload(uint8_t* p, size_t n, uint64_t seq, bool response) {
  size_t i = 0;
  if (n >= sizeof(seq)) {
    std::memcpy(p, &seq, sizeof(seq));
    i = sizeof(seq);
  }
  for (; i < n; ++i) p[i] = PatternByte(seq, response, i);
}

// The sequence number a message carries (0 when shorter than 8 bytes).
inline uint64_t PayloadSeq(const uint8_t* p, size_t n) {
  uint64_t seq = 0;
  if (n >= sizeof(seq)) std::memcpy(&seq, p, sizeof(seq));
  return seq;
}

inline bool CheckPayload(const uint8_t* p, size_t n, uint64_t seq,
                         bool response) {
  size_t i = 0;
  if (n >= sizeof(seq)) {
    if (PayloadSeq(p, n) != seq) return false;
    i = sizeof(seq);
  }
  for (; i < n; ++i) {
    if (p[i] != PatternByte(seq, response, i)) return false;
  }
  return true;
}

}  // namespace ferry::bench

#endif  // FERRY_BENCH_MSG_GEN_PAYLOAD_H_
