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

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
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

// This ferryd's key and trust list, read when first needed (a NIC whose
// flows are encrypted, or the admin API). The engines of such NICs keep a
// pointer to the TrustConfig: it lives as long as this object; its key
// never changes, and its trust list is replaced (never edited in place)
// when the operator trusts or distrusts a peer through the API. Such a
// change holds until ferryd stops: the file is ferryd's configuration and
// ferryd does not rewrite it. Thread-safe.
class NodeTrust {
 public:
  // `trusted_peers_file` empty: nobody is trusted until the API says.
  NodeTrust(std::string key_file, std::string trusted_peers_file)
      : key_file_(std::move(key_file)),
        trusted_peers_file_(std::move(trusted_peers_file)) {}
  absl::StatusOr<const crypto::TrustConfig*> Get();

  struct Description {
    crypto::PublicKey public_key{};
    std::string key_file;
    std::string trusted_peers_file;
    std::vector<TrustedPeer> peers;  // in the order they were added
  };
  absl::StatusOr<Description> Describe();

  // New handshakes with `key` succeed (flows already refused stay so).
  // ALREADY_EXISTS when it is trusted already.
  absl::Status Trust(const crypto::PublicKey& key, std::string name);
  // New handshakes with `key` are refused; its flows already up go on
  // (close them with the flow API). NOT_FOUND when it is not trusted.
  absl::Status Distrust(const crypto::PublicKey& key);

 private:
  absl::Status LoadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string key_file_;
  const std::string trusted_peers_file_;
  absl::Mutex mu_;
  bool loaded_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<TrustedPeer> peers_ ABSL_GUARDED_BY(mu_);
  // Its address is handed out; the key is set once, under mu_.
  crypto::TrustConfig config_;
};

}  // namespace ferry::controlplane

#endif  // FERRY_CONTROLPLANE_NODE_IDENTITY_H_
