// A ferryd's long-term identity and whom it trusts (encrypted flows,
// docs/SECURITY.md):
//
// - the node key: an X25519 private key, stored as one line of base64 in a
//   file only root may read (made on first start, as ssh-keygen and wg do:
//   the file 0600, a directory it creates 0700); a key file that anyone
//   but its owner could read, or that root does not own, is refused;
// - public keys as text: 44 characters of base64, as WireGuard writes them;
// - the trust list: one public key per line, optionally followed by a name
//   for logs and flow details; '#' starts a comment.
#ifndef FERRY_CONTROLPLANE_NODE_IDENTITY_H_
#define FERRY_CONTROLPLANE_NODE_IDENTITY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "dataplane/crypto/noise_handshake.h"

namespace ferry::controlplane {

// Reads the key at `path`, or makes one there when no file exists.
absl::StatusOr<crypto::KeyPair> LoadOrCreateNodeKey(const std::string& path);

std::string PublicKeyToText(const crypto::PublicKey& key);
absl::StatusOr<crypto::PublicKey> PublicKeyFromText(absl::string_view text);

struct TrustedPeer {
  crypto::PublicKey key;
  std::string name;  // may be empty
};

// The trust list's text; an error names the line. A key listed twice is
// an error (two names for one node would be ambiguous in logs).
absl::StatusOr<std::vector<TrustedPeer>> ParseTrustedPeers(
    absl::string_view text);

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_NODE_IDENTITY_H_
