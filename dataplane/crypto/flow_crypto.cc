#include "dataplane/crypto/flow_crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

namespace ferry::crypto {
namespace {

// Binds the handshake to Ferry and this version of its use of Noise.
constexpr uint8_t kPrologue[] = {'f', 'e', 'r', 'r', 'y', '/', '1'};

constexpr char kKeyLabel[] = "ferry aead key";
constexpr char kSaltLabel[] = "ferry aead salt";
constexpr char kNextLabel[] = "ferry next epoch";

std::array<uint8_t, 32> Label(const std::array<uint8_t, kKeySize>& secret,
                              const char* label) {
  std::array<uint8_t, 32> out{};
  unsigned int n = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const uint8_t*>(label), std::strlen(label), out.data(),
       &n);
  return out;
}

constexpr uint64_t kPacketNumberMask = (uint64_t{1} << 56) - 1;

}  // namespace

void WriteSecureHeader(const SecureHeader& header, uint8_t out[8]) {
  const uint64_t word = (uint64_t{header.epoch} << 56) |
                        (header.packet_number & kPacketNumberMask);
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<uint8_t>(word >> (56 - 8 * i));
}

SecureHeader ReadSecureHeader(const uint8_t in[8]) {
  uint64_t word = 0;
  for (int i = 0; i < 8; ++i) word = (word << 8) | in[i];
  return SecureHeader{static_cast<uint8_t>(word >> 56),
                      word & kPacketNumberMask};
}

FlowCrypto::Secret::~Secret() { OPENSSL_cleanse(bytes.data(), bytes.size()); }

FlowCrypto::Secret FlowCrypto::Next(const Secret& secret) {
  Secret next;
  next.bytes = Label(secret.bytes, kNextLabel);
  return next;
}

absl::Status FlowCrypto::Install(const Secret& secret, bool seal,
                                 SegmentAead* aead) const {
  std::array<uint8_t, 32> key = Label(secret.bytes, kKeyLabel);
  const std::array<uint8_t, 32> salt = Label(secret.bytes, kSaltLabel);
  const uint32_t salt32 = (uint32_t{salt[0]} << 24) |
                          (uint32_t{salt[1]} << 16) | (uint32_t{salt[2]} << 8) |
                          salt[3];
  absl::Status s =
      aead->SetKey(config_.cipher,
                   absl::MakeConstSpan(key.data(), AeadKeySize(config_.cipher)),
                   salt32, seal);
  OPENSSL_cleanse(key.data(), key.size());
  return s;
}

absl::Status FlowCrypto::SetKeys(const NoiseHandshake::SessionKeys& keys) {
  tx_secret_.bytes = keys.send;
  rx_secret_.bytes = keys.receive;
  if (absl::Status s = Install(tx_secret_, true, &tx_); !s.ok()) return s;
  if (absl::Status s = Install(rx_secret_, false, &rx_slots_[rx_current_]);
      !s.ok()) {
    return s;
  }
  ready_ = true;
  // The handshake's secrets are no longer needed.
  handshake_.reset();
  return absl::OkStatus();
}

FlowCrypto::Verdict FlowCrypto::Trust(const NoiseHandshake& handshake) {
  if (!handshake.remote_static().has_value()) return Verdict::kBadMessage;
  peer_ = *handshake.remote_static();
  return config_.trusted.Contains(*peer_) ? Verdict::kOk : Verdict::kUntrusted;
}

absl::Span<const uint8_t> FlowCrypto::SynPayload() {
  if (syn_length_ == 0 && handshake_ == nullptr && !ready_ &&
      config_.node_key.has_value()) {
    handshake_ = std::make_unique<NoiseHandshake>(
        NoiseHandshake::Pattern::kIX, true, kPrologue, config_.node_key);
    absl::StatusOr<size_t> n =
        handshake_->WriteMessage({}, absl::MakeSpan(syn_));
    if (n.ok()) syn_length_ = *n;
  }
  return absl::MakeConstSpan(syn_.data(), syn_length_);
}

FlowCrypto::Verdict FlowCrypto::AcceptSyn(absl::Span<const uint8_t> payload) {
  if (handshake_ != nullptr || ready_ || !config_.node_key.has_value() ||
      payload.size() != kSynPayloadSize) {
    return Verdict::kBadMessage;
  }
  auto handshake = std::make_unique<NoiseHandshake>(
      NoiseHandshake::Pattern::kIX, false, kPrologue, config_.node_key);
  uint8_t none[1];
  if (!handshake->ReadMessage(payload, absl::MakeSpan(none, 0)).ok()) {
    return Verdict::kBadMessage;
  }
  // The initiator's key is in clear in its SYN: refuse before any work.
  if (const Verdict v = Trust(*handshake); v != Verdict::kOk) return v;
  absl::StatusOr<size_t> n =
      handshake->WriteMessage({}, absl::MakeSpan(synack_));
  if (!n.ok()) return Verdict::kBadMessage;
  synack_length_ = *n;
  absl::StatusOr<NoiseHandshake::SessionKeys> keys = handshake->Split();
  if (!keys.ok() || !SetKeys(*keys).ok()) return Verdict::kBadMessage;
  return Verdict::kOk;
}

FlowCrypto::Verdict FlowCrypto::CompleteSynAck(
    absl::Span<const uint8_t> payload) {
  if (handshake_ == nullptr || ready_) return Verdict::kBadMessage;
  uint8_t none[1];
  if (!handshake_->ReadMessage(payload, absl::MakeSpan(none, 0)).ok()) {
    handshake_.reset();
    return Verdict::kBadMessage;
  }
  if (const Verdict v = Trust(*handshake_); v != Verdict::kOk) {
    handshake_.reset();
    return v;
  }
  absl::StatusOr<NoiseHandshake::SessionKeys> keys = handshake_->Split();
  if (!keys.ok() || !SetKeys(*keys).ok()) return Verdict::kBadMessage;
  return Verdict::kOk;
}

bool FlowCrypto::BeginSeal(absl::Span<uint8_t> header) {
  if (!ready_ || header.size() < kSecureHeaderSize ||
      next_pn_ > kPacketNumberMask) {
    return false;
  }
  const uint64_t pn = next_pn_++;
  WriteSecureHeader(SecureHeader{tx_epoch_, pn},
                    header.data() + header.size() - kSecureHeaderSize);
  return tx_.Begin(pn, header);
}

FlowCrypto::OpenResult FlowCrypto::Open(absl::Span<const uint8_t> aad,
                                        uint8_t* payload, size_t length,
                                        const uint8_t tag[kTagSize]) {
  if (!ready_ || aad.size() < kSecureHeaderSize) return OpenResult::kForged;
  const SecureHeader secure =
      ReadSecureHeader(aad.data() + aad.size() - kSecureHeaderSize);
  const uint64_t pn = secure.packet_number;
  if (!replay_.Check(pn)) return OpenResult::kReplayed;
  const int previous = (rx_current_ + 2) % 3;
  const int spare = (rx_current_ + 1) % 3;
  if (secure.epoch == rx_epoch_) {
    if (!rx_slots_[rx_current_].Open(pn, aad, payload, payload, length, tag)) {
      return OpenResult::kForged;
    }
  } else if (secure.epoch == static_cast<uint8_t>(rx_epoch_ - 1) &&
             has_previous_) {
    // Sent before the peer moved on, arriving after the first of the new.
    if (!rx_slots_[previous].Open(pn, aad, payload, payload, length, tag)) {
      return OpenResult::kForged;
    }
  } else if (secure.epoch == static_cast<uint8_t>(rx_epoch_ + 1)) {
    // The peer rotated: the next key, in the spare slot, must open it
    // before we follow; the current key then becomes the previous one.
    Secret next = Next(rx_secret_);
    if (!Install(next, false, &rx_slots_[spare]).ok() ||
        !rx_slots_[spare].Open(pn, aad, payload, payload, length, tag)) {
      return OpenResult::kForged;
    }
    rx_current_ = spare;
    has_previous_ = true;
    rx_secret_.bytes = next.bytes;
    rx_epoch_ = secure.epoch;
  } else {
    return OpenResult::kBadEpoch;
  }
  replay_.Accept(pn);
  return OpenResult::kOk;
}

bool FlowCrypto::MaybeRotate(uint64_t now_ns, uint64_t interval_ns) {
  if (!ready_ || interval_ns == 0) return false;
  if (next_rotation_ns_ == 0) {
    next_rotation_ns_ = now_ns + interval_ns;
    return false;
  }
  if (now_ns < next_rotation_ns_) return false;
  next_rotation_ns_ = now_ns + interval_ns;
  return Rotate().ok();
}

absl::Status FlowCrypto::Rotate() {
  if (!ready_) return absl::FailedPreconditionError("no keys yet");
  Secret next = Next(tx_secret_);
  if (absl::Status s = Install(next, true, &tx_); !s.ok()) return s;
  tx_secret_.bytes = next.bytes;
  ++tx_epoch_;
  return absl::OkStatus();
}

}  // namespace ferry::crypto
