// AES-GCM for one direction of one flow's segments: the header goes in as
// associated data, the payload is encrypted on its way into the frame
// (possibly from several pieces), and a 16-byte tag follows it.
//
// The 96-bit nonce is a 4-byte salt from the key schedule followed by the
// segment's 64-bit packet number, big-endian. A packet number is used once
// per key (a retransmission gets a new one), so a nonce never repeats
// under a key; the receiver's replay window (replay_window.h) rejects a
// number it has seen.
//
// The cipher is Intel's multi-buffer crypto library (intel-ipsec-mb),
// which picks its AES-NI/VAES and (VP)CLMUL code for this CPU once per
// process. OpenSSL 3's EVP layer cost about 350 ns per segment on top of
// the cipher itself (its provider dispatch and context checks), more than
// the whole budget for a 1 KiB segment; this library's direct GCM calls
// take the expanded key and a small context and nothing else.
//
// The key is expanded once, on the control path (SetKey); sealing and
// opening then only set the nonce, so they allocate nothing. The key
// schedule lives inside the object (no heap) and is wiped when it is
// replaced and when the object goes.
//
// Threading: one thread (the engine that owns the flow).
#ifndef FERRY_DATAPLANE_CRYPTO_SEGMENT_AEAD_H_
#define FERRY_DATAPLANE_CRYPTO_SEGMENT_AEAD_H_

#include <intel-ipsec-mb.h>

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace ferry::crypto {

enum class AeadCipher : uint8_t { kAes128Gcm, kAes256Gcm };

// "aes-128-gcm" / "aes-256-gcm", for flow details and metrics.
const char* AeadCipherName(AeadCipher cipher);
size_t AeadKeySize(AeadCipher cipher);

class SegmentAead {
 public:
  static constexpr size_t kTagSize = 16;
  static constexpr size_t kSaltSize = 4;

  SegmentAead() = default;
  ~SegmentAead();
  SegmentAead(const SegmentAead&) = delete;
  SegmentAead& operator=(const SegmentAead&) = delete;

  // `key` is AeadKeySize(cipher) bytes. For sealing (`seal`) or opening.
  // Nothing is allocated, except the library's function table once per
  // process.
  absl::Status SetKey(AeadCipher cipher, absl::Span<const uint8_t> key,
                      uint32_t salt, bool seal);
  bool has_key() const { return has_key_; }

  // Sealing, in steps so that a payload in pieces is encrypted straight
  // into the frame: Begin, then Encrypt for each piece in order (`out`
  // may equal `in`), then Finish writes the tag. False on a failure of the
  // library (the segment must not be sent).
  bool Begin(uint64_t packet_number, absl::Span<const uint8_t> aad);
  bool Encrypt(const uint8_t* in, uint8_t* out, size_t length);
  bool Finish(uint8_t tag[kTagSize]);

  // The whole of it for a payload in one piece.
  bool Seal(uint64_t packet_number, absl::Span<const uint8_t> aad,
            const uint8_t* in, uint8_t* out, size_t length,
            uint8_t tag[kTagSize]);

  // Decrypts `length` bytes from `in` to `out` (may be equal) and checks
  // the tag: false for a forged or corrupted segment, whose decrypted
  // bytes must then be thrown away.
  bool Open(uint64_t packet_number, absl::Span<const uint8_t> aad,
            const uint8_t* in, uint8_t* out, size_t length,
            const uint8_t tag[kTagSize]);

  // Asks for every line a seal or an open reads (the object is about 18
  // lines), so that a caller holding many flows' segments can overlap
  // their misses: with thousands of flows each key is cold.
  void Prefetch() const {
    const char* bytes = reinterpret_cast<const char*>(this);
    for (size_t line = 0; line < sizeof(SegmentAead); line += 64) {
      __builtin_prefetch(bytes + line);
    }
  }

 private:
  void Wipe();
  void Nonce(uint64_t packet_number, uint8_t nonce[12]) const;
  // Sets the nonce and takes in the associated data.
  void Start(uint64_t packet_number, absl::Span<const uint8_t> aad);

  // What every segment reads, on the object's first two lines: one
  // segment's running state between Begin and Finish, then the settings.
  struct gcm_context_data context_ {};
  // The library's function table (one per process), set with the key.
  IMB_MGR* library_ = nullptr;
  uint32_t salt_ = 0;
  bool has_key_ = false;
  bool seal_ = true;
  AeadCipher cipher_ = AeadCipher::kAes128Gcm;
  // The expanded AES key and GHASH key powers.
  alignas(64) struct gcm_key_data key_ {};
};

}  // namespace ferry::crypto

#endif  // FERRY_DATAPLANE_CRYPTO_SEGMENT_AEAD_H_
