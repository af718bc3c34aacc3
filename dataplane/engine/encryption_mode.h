// Whether a NIC's flows are encrypted (docs/SECURITY.md): never; when the
// peer encrypts too; always (a peer that does not is refused).
#ifndef FERRY_DATAPLANE_ENGINE_ENCRYPTION_MODE_H_
#define FERRY_DATAPLANE_ENGINE_ENCRYPTION_MODE_H_

#include <cstdint>

namespace ferry::engine {

enum class Encryption : uint8_t { kOff, kPreferred, kRequired };

inline const char* EncryptionName(Encryption mode) {
  switch (mode) {
    case Encryption::kOff:
      return "off";
    case Encryption::kPreferred:
      return "preferred";
    case Encryption::kRequired:
      return "required";
  }
  return "unknown";
}

}  // namespace ferry::engine

#endif  // FERRY_DATAPLANE_ENGINE_ENCRYPTION_MODE_H_
