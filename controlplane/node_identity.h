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
#include "dataplane/crypto/flow_crypto.h"
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

// This ferryd's key and trust list, read when a NIC first needs them (a
// NIC whose flows are encrypted). The engines of such NICs keep a pointer
// to the TrustConfig: it lives as long as this object and is not changed
// once handed out. Not thread-safe (the NIC registry's lock covers it).
class NodeTrust {
 public:
  // `trusted_peers_file` empty: nobody is trusted.
  NodeTrust(std::string key_file, std::string trusted_peers_file)
      : key_file_(std::move(key_file)),
        trusted_peers_file_(std::move(trusted_peers_file)) {}
  absl::StatusOr<const crypto::TrustConfig*> Get();

 private:
  std::string key_file_;
  std::string trusted_peers_file_;
  bool loaded_ = false;
  crypto::TrustConfig config_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_NODE_IDENTITY_H_
