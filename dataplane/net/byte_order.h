// Unaligned big-endian loads and stores on packet bytes.
//
// Frames arrive at any alignment, so wire fields are never read through
// casted struct pointers; memcpy of a fixed size compiles to a single move.
#ifndef FERRY_DATAPLANE_NET_BYTE_ORDER_H_
#define FERRY_DATAPLANE_NET_BYTE_ORDER_H_

#include <cstdint>
#include <cstring>

namespace ferry::net {

inline uint16_t LoadBe16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof(v));
  return __builtin_bswap16(v);
}

inline uint32_t LoadBe32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return __builtin_bswap32(v);
}

inline void StoreBe16(uint8_t* p, uint16_t v) {
  v = __builtin_bswap16(v);
  std::memcpy(p, &v, sizeof(v));
}

inline void StoreBe32(uint8_t* p, uint32_t v) {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, sizeof(v));
}

inline uint64_t LoadBe64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return __builtin_bswap64(v);
}

inline void StoreBe64(uint8_t* p, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, sizeof(v));
}

}  // namespace ferry::net

#endif  // FERRY_DATAPLANE_NET_BYTE_ORDER_H_
