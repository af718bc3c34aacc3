// MAC and IPv4 addresses: value types with parsing and formatting for
// configuration and logs. Host byte order inside Ipv4Address; wire code
// converts at the edge (see byte_order.h).
#ifndef FERRY_DATAPLANE_NET_ADDRESSES_H_
#define FERRY_DATAPLANE_NET_ADDRESSES_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ferry::net {

struct MacAddress {
  std::array<uint8_t, 6> bytes{};

  static MacAddress Broadcast() {
    return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
  }
  // "aa:bb:cc:dd:ee:ff" (also accepts '-' as separator).
  static absl::StatusOr<MacAddress> Parse(absl::string_view text);

  bool IsBroadcast() const { return *this == Broadcast(); }
  bool IsMulticast() const { return (bytes[0] & 0x01) != 0; }
  bool IsZero() const { return *this == MacAddress{}; }
  std::string ToString() const;

  friend bool operator==(const MacAddress& a, const MacAddress& b) {
    return a.bytes == b.bytes;
  }
  friend bool operator!=(const MacAddress& a, const MacAddress& b) {
    return !(a == b);
  }
};

struct Ipv4Address {
  uint32_t value = 0;  // host byte order

  // Dotted quad, exactly four decimal parts of 0..255.
  static absl::StatusOr<Ipv4Address> Parse(absl::string_view text);
  std::string ToString() const;

  friend bool operator==(Ipv4Address a, Ipv4Address b) {
    return a.value == b.value;
  }
  friend bool operator!=(Ipv4Address a, Ipv4Address b) { return !(a == b); }
};

struct Ipv4Prefix {
  Ipv4Address address;
  int length = 32;

  // "10.0.0.1/24". The host part is kept: it is the interface's address.
  static absl::StatusOr<Ipv4Prefix> Parse(absl::string_view text);
  uint32_t Mask() const {
    return length == 0 ? 0 : ~uint32_t{0} << (32 - length);
  }
  bool Contains(Ipv4Address ip) const {
    return (ip.value & Mask()) == (address.value & Mask());
  }
  std::string ToString() const;
};

}  // namespace ferry::net

#endif  // FERRY_DATAPLANE_NET_ADDRESSES_H_
