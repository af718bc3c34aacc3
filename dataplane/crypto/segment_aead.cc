#include "dataplane/crypto/segment_aead.h"

#include <openssl/crypto.h>

#include <cstring>

namespace ferry::crypto {
namespace {

// The library's table of the functions for this CPU. Made once, on the
// first SetKey (the control path); after that it is only read, and the
// direct GCM functions it points to keep no state in it, so every engine
// thread shares it.
IMB_MGR* Library() {
  static IMB_MGR* const manager = [] {
    IMB_MGR* m = alloc_mb_mgr(0);
    if (m != nullptr) init_mb_mgr_auto(m, nullptr);
    return m;
  }();
  return manager;
}

}  // namespace

const char* AeadCipherName(AeadCipher cipher) {
  return cipher == AeadCipher::kAes128Gcm ? "aes-128-gcm" : "aes-256-gcm";
}

size_t AeadKeySize(AeadCipher cipher) {
  return cipher == AeadCipher::kAes128Gcm ? 16 : 32;
}

SegmentAead::~SegmentAead() { Wipe(); }

void SegmentAead::Wipe() {
  // OPENSSL_cleanse is a store the compiler may not drop as dead.
  OPENSSL_cleanse(&key_, sizeof(key_));
  OPENSSL_cleanse(&context_, sizeof(context_));
  salt_ = 0;
  has_key_ = false;
}

absl::Status SegmentAead::SetKey(AeadCipher cipher,
                                 absl::Span<const uint8_t> key, uint32_t salt,
                                 bool seal) {
  Wipe();
  if (key.size() != AeadKeySize(cipher)) {
    return absl::InvalidArgumentError("AEAD key of the wrong size");
  }
  IMB_MGR* library = Library();
  if (library == nullptr) {
    return absl::ResourceExhaustedError("intel-ipsec-mb: no manager");
  }
  library_ = library;
  if (cipher == AeadCipher::kAes128Gcm) {
    IMB_AES128_GCM_PRE(library, key.data(), &key_);
  } else {
    IMB_AES256_GCM_PRE(library, key.data(), &key_);
  }
  salt_ = salt;
  seal_ = seal;
  cipher_ = cipher;
  has_key_ = true;
  return absl::OkStatus();
}

void SegmentAead::Nonce(uint64_t packet_number, uint8_t nonce[12]) const {
  for (int i = 0; i < 4; ++i) {
    nonce[i] = static_cast<uint8_t>(salt_ >> (24 - 8 * i));
  }
  for (int i = 0; i < 8; ++i) {
    nonce[4 + i] = static_cast<uint8_t>(packet_number >> (56 - 8 * i));
  }
}

void SegmentAead::Start(uint64_t packet_number, absl::Span<const uint8_t> aad) {
  uint8_t nonce[12];
  Nonce(packet_number, nonce);
  IMB_MGR* library = library_;
  if (cipher_ == AeadCipher::kAes128Gcm) {
    IMB_AES128_GCM_INIT(library, &key_, &context_, nonce, aad.data(),
                        aad.size());
  } else {
    IMB_AES256_GCM_INIT(library, &key_, &context_, nonce, aad.data(),
                        aad.size());
  }
}

bool SegmentAead::Begin(uint64_t packet_number, absl::Span<const uint8_t> aad) {
  if (!has_key_ || !seal_) return false;
  Start(packet_number, aad);
  return true;
}

bool SegmentAead::Encrypt(const uint8_t* in, uint8_t* out, size_t length) {
  if (length == 0) return true;
  // GCM is a stream mode: every byte in gives a byte out at once, and the
  // context carries a partial block over to the next piece.
  IMB_MGR* library = library_;
  if (cipher_ == AeadCipher::kAes128Gcm) {
    IMB_AES128_GCM_ENC_UPDATE(library, &key_, &context_, out, in, length);
  } else {
    IMB_AES256_GCM_ENC_UPDATE(library, &key_, &context_, out, in, length);
  }
  return true;
}

bool SegmentAead::Finish(uint8_t tag[kTagSize]) {
  IMB_MGR* library = library_;
  if (cipher_ == AeadCipher::kAes128Gcm) {
    IMB_AES128_GCM_ENC_FINALIZE(library, &key_, &context_, tag, kTagSize);
  } else {
    IMB_AES256_GCM_ENC_FINALIZE(library, &key_, &context_, tag, kTagSize);
  }
  return true;
}

bool SegmentAead::Seal(uint64_t packet_number, absl::Span<const uint8_t> aad,
                       const uint8_t* in, uint8_t* out, size_t length,
                       uint8_t tag[kTagSize]) {
  return Begin(packet_number, aad) && Encrypt(in, out, length) && Finish(tag);
}

bool SegmentAead::Open(uint64_t packet_number, absl::Span<const uint8_t> aad,
                       const uint8_t* in, uint8_t* out, size_t length,
                       const uint8_t tag[kTagSize]) {
  if (!has_key_ || seal_) return false;
  Start(packet_number, aad);
  IMB_MGR* library = library_;
  uint8_t expected[kTagSize];
  if (cipher_ == AeadCipher::kAes128Gcm) {
    if (length > 0) {
      IMB_AES128_GCM_DEC_UPDATE(library, &key_, &context_, out, in, length);
    }
    IMB_AES128_GCM_DEC_FINALIZE(library, &key_, &context_, expected, kTagSize);
  } else {
    if (length > 0) {
      IMB_AES256_GCM_DEC_UPDATE(library, &key_, &context_, out, in, length);
    }
    IMB_AES256_GCM_DEC_FINALIZE(library, &key_, &context_, expected, kTagSize);
  }
  // In constant time, so that a forger learns nothing from how long a
  // wrong tag took to refuse.
  return CRYPTO_memcmp(expected, tag, kTagSize) == 0;
}

}  // namespace ferry::crypto
