// One flow's encryption: the Noise IX handshake that rides in its SYN and
// SYN-ACK, then an AEAD key for its segments out and one (with a replay
// window) for its segments in, and the rotation of both by epoch.
//
// A secured segment carries 8 more header bytes after the Ferry header:
// the key epoch (1 byte) and the packet number (56 bits), big-endian. The
// Ferry header and those 8 bytes are the associated data; the payload is
// encrypted and followed by the 16-byte tag. Packet numbers count every
// segment sent, retransmissions included, so a nonce never repeats.
//
// Keys: each direction's secret starts as that direction's key from
// Noise's Split; an epoch's AES-GCM key and nonce salt are HMAC-SHA256 of
// the secret with fixed labels, and the next epoch's secret is HMAC of
// this one with a third label (a one-way ratchet: a key leaked later does
// not open earlier epochs). The sender moves to the next epoch when told
// (Rotate); the receiver follows when a segment of the next epoch opens
// with the next key, and keeps the previous key for segments still in
// flight from before.
//
// Threading: the engine thread that owns the flow.
#ifndef FERRY_DATAPLANE_CRYPTO_FLOW_CRYPTO_H_
#define FERRY_DATAPLANE_CRYPTO_FLOW_CRYPTO_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "dataplane/crypto/noise_handshake.h"
#include "dataplane/crypto/replay_window.h"
#include "dataplane/crypto/segment_aead.h"
#include "dataplane/crypto/trust_list.h"

namespace ferry::crypto {

// What every flow of an engine shares: this node's key, whom it trusts,
// and the cipher for data. The key and cipher are read-only once flows
// use them; the trust list may be replaced while they run (trust_list.h).
struct TrustConfig {
  std::optional<KeyPair> node_key;
  TrustList trusted;
  AeadCipher cipher = AeadCipher::kAes128Gcm;
};

// The 8 bytes after the Ferry header of a secured segment.
struct SecureHeader {
  uint8_t epoch = 0;
  uint64_t packet_number = 0;  // 56 bits
};
inline constexpr size_t kSecureHeaderSize = 8;
void WriteSecureHeader(const SecureHeader& header, uint8_t out[8]);
SecureHeader ReadSecureHeader(const uint8_t in[8]);

class FlowCrypto {
 public:
  static constexpr size_t kSynPayloadSize = 2 * kKeySize;
  static constexpr size_t kSynAckPayloadSize = NoiseHandshake::kMaxOverhead;
  static constexpr size_t kTagSize = SegmentAead::kTagSize;

  enum class Verdict : uint8_t {
    kOk,
    kUntrusted,   // a valid handshake from a key not in the trust list
    kBadMessage,  // cut short, forged, out of turn
  };

  // `config` must outlive the flow.
  explicit FlowCrypto(const TrustConfig& config) : config_(config) {}
  ~FlowCrypto() = default;
  FlowCrypto(const FlowCrypto&) = delete;
  FlowCrypto& operator=(const FlowCrypto&) = delete;

  // Initiator: the SYN's payload, made on the first call; a retransmitted
  // SYN sends the same bytes. Empty on a failure (no node key).
  absl::Span<const uint8_t> SynPayload();
  // Responder: reads a SYN's payload; on kOk the keys are set and
  // SynAckPayload is what the SYN-ACK (and any resent one) carries.
  Verdict AcceptSyn(absl::Span<const uint8_t> payload);
  absl::Span<const uint8_t> SynAckPayload() const {
    return absl::MakeConstSpan(synack_.data(), synack_length_);
  }
  // Initiator: reads the SYN-ACK's payload; on kOk the keys are set.
  Verdict CompleteSynAck(absl::Span<const uint8_t> payload);

  bool ready() const { return ready_; }
  AeadCipher cipher() const { return config_.cipher; }
  // The peer's node key, once its handshake message was read.
  const std::optional<PublicKey>& peer() const { return peer_; }

  // Sealing a segment: `header` is the Ferry header followed by room for
  // the secure header, which BeginSeal writes (the next packet number);
  // all of it is the associated data. Then Encrypt for each payload piece
  // in order (`out` may equal `in`), and FinishSeal for the tag. False:
  // not ready, or the library failed (the segment must not go out).
  bool BeginSeal(absl::Span<uint8_t> header);
  bool Encrypt(const uint8_t* in, uint8_t* out, size_t length) {
    return tx_.Encrypt(in, out, length);
  }
  bool FinishSeal(uint8_t tag[kTagSize]) { return tx_.Finish(tag); }

  // Opening a received segment in place: `aad` is the Ferry header and
  // the secure header. False for a replay, an unknown epoch, or a failed
  // tag: the caller drops it before it reaches the flow.
  enum class OpenResult : uint8_t { kOk, kReplayed, kBadEpoch, kForged };
  OpenResult Open(absl::Span<const uint8_t> aad, uint8_t* payload,
                  size_t length, const uint8_t tag[kTagSize]);

  // Moves our sending side to the next key epoch.
  absl::Status Rotate();
  // Rotates when `interval_ns` has passed since the last rotation (or, on
  // the first call, since now); true when it rotated.
  bool MaybeRotate(uint64_t now_ns, uint64_t interval_ns);
  uint8_t tx_epoch() const { return tx_epoch_; }

  // Hints ahead of a burst (with thousands of flows every flow's keys are
  // cold): PrefetchSeal asks for what sealing reads; PrefetchHead for the
  // fields every segment reads, and once those have arrived,
  // PrefetchOpenKey for the key that opens the current epoch.
  void PrefetchSeal() const {
    PrefetchHead();
    tx_.Prefetch();
  }
  void PrefetchHead() const { __builtin_prefetch(this); }
  void PrefetchOpenKey() const { rx_slots_[rx_current_].Prefetch(); }
  uint8_t rx_epoch() const { return rx_epoch_; }
  uint64_t packets_sealed() const { return next_pn_; }

 private:
  struct Secret {
    std::array<uint8_t, kKeySize> bytes{};
    ~Secret();
  };
  absl::Status SetKeys(const NoiseHandshake::SessionKeys& keys);
  // An epoch's AEAD from its secret.
  absl::Status Install(const Secret& secret, bool seal,
                       SegmentAead* aead) const;
  static Secret Next(const Secret& secret);
  Verdict Trust(const NoiseHandshake& handshake);

  // Read for every segment, together at the start of the object: a
  // segment of one of thousands of flows then misses once for all of
  // them (and Prefetch* can ask for them a burst ahead).
  bool ready_ = false;
  uint8_t tx_epoch_ = 0;
  uint8_t rx_epoch_ = 0;
  bool has_previous_ = false;
  int rx_current_ = 0;
  uint64_t next_pn_ = 0;
  uint64_t next_rotation_ns_ = 0;
  ReplayWindow replay_;

  SegmentAead tx_;
  // Opening keys in three slots: the current epoch's, the previous one's,
  // and a spare that takes the next epoch's on trial, then becomes the
  // current one (no allocation after the first epochs).
  SegmentAead rx_slots_[3];

  // Only the handshake and a rotation read these.
  const TrustConfig& config_;
  std::unique_ptr<NoiseHandshake> handshake_;
  std::array<uint8_t, kSynPayloadSize> syn_{};
  size_t syn_length_ = 0;
  std::array<uint8_t, kSynAckPayloadSize> synack_{};
  size_t synack_length_ = 0;
  std::optional<PublicKey> peer_;
  Secret tx_secret_;
  Secret rx_secret_;
};

}  // namespace ferry::crypto

#endif  // FERRY_DATAPLANE_CRYPTO_FLOW_CRYPTO_H_
