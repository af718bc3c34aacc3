// The Noise protocol framework's handshake (https://noiseprotocol.org/
// noise.html, revision 34) with X25519, AES-256-GCM and SHA-256, for the
// patterns Ferry needs:
//
//   IX:  -> e, s
//        <- e, ee, se, s, es
//   NN:  -> e
//        <- e, ee            (no identities; kept for the test vectors)
//
// Ferry's flows use Noise_IX_25519_AESGCM_SHA256: two messages, which ride
// in the SYN and the SYN-ACK, and neither side needs the other's key in
// advance (each sends its own and checks it against its trust list). The
// initiator's identity travels in clear in the SYN; the responder's is
// encrypted. Slack's Nebula uses the same pattern for the same reason.
//
// Messages are built into and read from caller buffers: no allocation.
#ifndef FERRY_DATAPLANE_CRYPTO_NOISE_HANDSHAKE_H_
#define FERRY_DATAPLANE_CRYPTO_NOISE_HANDSHAKE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ferry::crypto {

inline constexpr size_t kKeySize = 32;
using PublicKey = std::array<uint8_t, kKeySize>;

// An X25519 key pair: a node's identity, or an ephemeral one.
class KeyPair {
 public:
  static absl::StatusOr<KeyPair> Generate();
  static absl::StatusOr<KeyPair> FromPrivate(absl::Span<const uint8_t> key);
  KeyPair(const KeyPair& other) = default;
  KeyPair& operator=(const KeyPair& other) = default;
  ~KeyPair();

  const PublicKey& public_key() const { return public_; }
  absl::Span<const uint8_t> private_key() const { return private_; }
  // X25519 with `peer` into `out`; an error for a peer key of small order
  // (whose result would be all zeros).
  absl::Status Agree(const PublicKey& peer, uint8_t out[kKeySize]) const;

 private:
  KeyPair() = default;
  std::array<uint8_t, kKeySize> private_{};
  PublicKey public_{};
};

class NoiseHandshake {
 public:
  enum class Pattern : uint8_t { kNN, kIX };
  static constexpr size_t kTagSize = 16;
  // The largest handshake message without payload: IX's second.
  static constexpr size_t kMaxOverhead = kKeySize + kKeySize + 2 * kTagSize;

  // `local_static` is needed by IX (and ignored by NN).
  NoiseHandshake(Pattern pattern, bool initiator,
                 absl::Span<const uint8_t> prologue,
                 std::optional<KeyPair> local_static);
  ~NoiseHandshake();
  NoiseHandshake(const NoiseHandshake&) = delete;
  NoiseHandshake& operator=(const NoiseHandshake&) = delete;

  // Tests only: the ephemeral key the next WriteMessage sends.
  void SetEphemeralForTest(const KeyPair& ephemeral) { ephemeral_ = ephemeral; }

  // Our next message, with `payload`, into `out`; returns its length.
  absl::StatusOr<size_t> WriteMessage(absl::Span<const uint8_t> payload,
                                      absl::Span<uint8_t> out);
  // The peer's next message; its payload goes to `payload`, whose length
  // is returned. Any failure (short, forged, a bad key) ends the handshake.
  absl::StatusOr<size_t> ReadMessage(absl::Span<const uint8_t> message,
                                     absl::Span<uint8_t> payload);

  bool done() const { return step_ == 2; }
  bool failed() const { return failed_; }
  // The peer's identity, once its `s` was read.
  const std::optional<PublicKey>& remote_static() const {
    return remote_static_;
  }
  // Binds everything the handshake said (Noise's h), once done.
  const std::array<uint8_t, 32>& handshake_hash() const { return h_; }

  // Once done: the two keys of the session, ours to send with first.
  struct SessionKeys {
    std::array<uint8_t, kKeySize> send{};
    std::array<uint8_t, kKeySize> receive{};
  };
  absl::StatusOr<SessionKeys> Split() const;

 private:
  void MixHash(absl::Span<const uint8_t> data);
  absl::Status MixKey(absl::Span<const uint8_t> input);
  absl::Status MixDh(const KeyPair& local, const PublicKey& remote);
  // ee, es or se (a Token of the .cc), from this side's point of view.
  absl::Status MixDhToken(uint8_t token);
  // Noise's EncryptAndHash / DecryptAndHash; plaintext until a key exists.
  absl::StatusOr<size_t> EncryptAndHash(absl::Span<const uint8_t> plaintext,
                                        absl::Span<uint8_t> out);
  absl::StatusOr<size_t> DecryptAndHash(absl::Span<const uint8_t> ciphertext,
                                        absl::Span<uint8_t> out);
  absl::Status Fail(absl::Status status);

  Pattern pattern_;
  bool initiator_;
  int step_ = 0;  // messages exchanged
  bool failed_ = false;
  std::optional<KeyPair> static_;
  std::optional<KeyPair> ephemeral_;
  std::optional<PublicKey> remote_static_;
  std::optional<PublicKey> remote_ephemeral_;
  std::array<uint8_t, 32> h_{};
  std::array<uint8_t, 32> ck_{};
  std::array<uint8_t, kKeySize> k_{};
  bool has_key_ = false;
  uint64_t n_ = 0;
};

// Noise's transport CipherState for AESGCM (tests compare with the
// published vectors): Encrypt/Decrypt `in` with nonce `n` and no
// associated data; the output is the ciphertext followed by the tag.
absl::StatusOr<size_t> NoiseEncrypt(absl::Span<const uint8_t> key, uint64_t n,
                                    absl::Span<const uint8_t> ad,
                                    absl::Span<const uint8_t> in,
                                    absl::Span<uint8_t> out);
absl::StatusOr<size_t> NoiseDecrypt(absl::Span<const uint8_t> key, uint64_t n,
                                    absl::Span<const uint8_t> ad,
                                    absl::Span<const uint8_t> in,
                                    absl::Span<uint8_t> out);

}  // namespace ferry::crypto

#endif  // FERRY_DATAPLANE_CRYPTO_NOISE_HANDSHAKE_H_
