#include "dataplane/net/addresses.h"

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace ferry::net {
namespace {

bool ParseHexByte(absl::string_view s, uint8_t* out) {
  if (s.size() != 2) return false;
  int v = 0;
  for (char c : s) {
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v |= c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v |= c - 'A' + 10;
    } else {
      return false;
    }
  }
  *out = static_cast<uint8_t>(v);
  return true;
}

bool ParseDecimalOctet(absl::string_view s, uint32_t* out) {
  if (s.empty() || s.size() > 3) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  uint32_t v = 0;
  if (!absl::SimpleAtoi(s, &v) || v > 255) return false;
  *out = v;
  return true;
}

}  // namespace

absl::StatusOr<MacAddress> MacAddress::Parse(absl::string_view text) {
  const char sep = text.find('-') != absl::string_view::npos ? '-' : ':';
  std::vector<absl::string_view> parts = absl::StrSplit(text, sep);
  MacAddress mac;
  if (parts.size() != 6) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "'%s' is not a MAC address (want aa:bb:cc:dd:ee:ff)", text));
  }
  for (int i = 0; i < 6; ++i) {
    if (!ParseHexByte(parts[i], &mac.bytes[i])) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "'%s' is not a MAC address (want aa:bb:cc:dd:ee:ff)", text));
    }
  }
  return mac;
}

std::string MacAddress::ToString() const {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1],
                         bytes[2], bytes[3], bytes[4], bytes[5]);
}

absl::StatusOr<Ipv4Address> Ipv4Address::Parse(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  uint32_t value = 0;
  if (parts.size() != 4) {
    return absl::InvalidArgumentError(
        absl::StrFormat("'%s' is not an IPv4 address", text));
  }
  for (absl::string_view part : parts) {
    uint32_t octet;
    if (!ParseDecimalOctet(part, &octet)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("'%s' is not an IPv4 address", text));
    }
    value = (value << 8) | octet;
  }
  return Ipv4Address{value};
}

std::string Ipv4Address::ToString() const {
  return absl::StrFormat("%d.%d.%d.%d", value >> 24, (value >> 16) & 0xff,
                         (value >> 8) & 0xff, value & 0xff);
}

absl::StatusOr<Ipv4Prefix> Ipv4Prefix::Parse(absl::string_view text) {
  const size_t slash = text.find('/');
  if (slash == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "'%s' is not an IPv4 address with prefix (want a.b.c.d/len)", text));
  }
  absl::StatusOr<Ipv4Address> address =
      Ipv4Address::Parse(text.substr(0, slash));
  if (!address.ok()) return address.status();
  absl::string_view len_text = text.substr(slash + 1);
  int length = -1;
  bool digits =
      !len_text.empty() && len_text.size() <= 2 &&
      len_text.find_first_not_of("0123456789") == absl::string_view::npos;
  if (!digits || !absl::SimpleAtoi(len_text, &length) || length < 1 ||
      length > 32) {
    return absl::InvalidArgumentError(
        absl::StrFormat("'%s': prefix length must be 1..32", text));
  }
  return Ipv4Prefix{*address, length};
}

std::string Ipv4Prefix::ToString() const {
  return absl::StrFormat("%s/%d", address.ToString(), length);
}

}  // namespace ferry::net
