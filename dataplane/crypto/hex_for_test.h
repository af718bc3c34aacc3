// Test vectors are written in hex.
#ifndef FERRY_DATAPLANE_CRYPTO_HEX_FOR_TEST_H_
#define FERRY_DATAPLANE_CRYPTO_HEX_FOR_TEST_H_

#include <cstdint>
#include <string>
#include <vector>

namespace ferry::crypto {

inline std::vector<uint8_t> Hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(
        static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

}  // namespace ferry::crypto

#endif  // FERRY_DATAPLANE_CRYPTO_HEX_FOR_TEST_H_
