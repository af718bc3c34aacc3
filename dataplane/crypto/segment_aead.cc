#include "dataplane/crypto/segment_aead.h"

#include <openssl/evp.h>

#include <climits>

namespace ferry::crypto {

const char* AeadCipherName(AeadCipher cipher) {
  return cipher == AeadCipher::kAes128Gcm ? "aes-128-gcm" : "aes-256-gcm";
}

size_t AeadKeySize(AeadCipher cipher) {
  return cipher == AeadCipher::kAes128Gcm ? 16 : 32;
}

SegmentAead::~SegmentAead() { Wipe(); }

void SegmentAead::Wipe() {
  // EVP_CIPHER_CTX_free cleanses the expanded key schedule it holds.
  if (ctx_ != nullptr) EVP_CIPHER_CTX_free(ctx_);
  ctx_ = nullptr;
  salt_ = 0;
}

absl::Status SegmentAead::SetKey(AeadCipher cipher,
                                 absl::Span<const uint8_t> key, uint32_t salt,
                                 bool seal) {
  if (key.size() != AeadKeySize(cipher)) {
    Wipe();
    return absl::InvalidArgumentError("AEAD key of the wrong size");
  }
  if (ctx_ != nullptr && cipher == cipher_ && seal == seal_) {
    // A new key for the same use (a key epoch): the context stays, so the
    // engine allocates nothing; the old key schedule is overwritten.
    const int ok =
        seal ? EVP_EncryptInit_ex(ctx_, nullptr, nullptr, key.data(), nullptr)
             : EVP_DecryptInit_ex(ctx_, nullptr, nullptr, key.data(), nullptr);
    if (ok != 1) {
      Wipe();
      return absl::InternalError("AES-GCM key set-up failed");
    }
    salt_ = salt;
    return absl::OkStatus();
  }
  Wipe();
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) return absl::ResourceExhaustedError("EVP_CIPHER_CTX_new");
  const EVP_CIPHER* evp =
      cipher == AeadCipher::kAes128Gcm ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
  // The key now, once; each segment then only sets its nonce.
  const int ok =
      seal ? EVP_EncryptInit_ex(ctx, evp, nullptr, key.data(), nullptr)
           : EVP_DecryptInit_ex(ctx, evp, nullptr, key.data(), nullptr);
  if (ok != 1) {
    EVP_CIPHER_CTX_free(ctx);
    return absl::InternalError("AES-GCM key set-up failed");
  }
  ctx_ = ctx;
  salt_ = salt;
  seal_ = seal;
  cipher_ = cipher;
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

bool SegmentAead::Begin(uint64_t packet_number, absl::Span<const uint8_t> aad) {
  if (ctx_ == nullptr || !seal_ || aad.size() > INT_MAX) return false;
  uint8_t nonce[12];
  Nonce(packet_number, nonce);
  int n = 0;
  return EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) == 1 &&
         (aad.empty() || EVP_EncryptUpdate(ctx_, nullptr, &n, aad.data(),
                                           static_cast<int>(aad.size())) == 1);
}

bool SegmentAead::Encrypt(const uint8_t* in, uint8_t* out, size_t length) {
  if (length == 0) return true;
  if (length > INT_MAX) return false;
  int n = 0;
  // GCM is a stream mode: every byte in gives a byte out at once.
  return EVP_EncryptUpdate(ctx_, out, &n, in, static_cast<int>(length)) == 1 &&
         static_cast<size_t>(n) == length;
}

bool SegmentAead::Finish(uint8_t tag[kTagSize]) {
  int n = 0;
  uint8_t none[16];
  return EVP_EncryptFinal_ex(ctx_, none, &n) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, kTagSize, tag) == 1;
}

bool SegmentAead::Seal(uint64_t packet_number, absl::Span<const uint8_t> aad,
                       const uint8_t* in, uint8_t* out, size_t length,
                       uint8_t tag[kTagSize]) {
  return Begin(packet_number, aad) && Encrypt(in, out, length) && Finish(tag);
}

bool SegmentAead::Open(uint64_t packet_number, absl::Span<const uint8_t> aad,
                       const uint8_t* in, uint8_t* out, size_t length,
                       const uint8_t tag[kTagSize]) {
  if (ctx_ == nullptr || seal_ || aad.size() > INT_MAX || length > INT_MAX) {
    return false;
  }
  uint8_t nonce[12];
  Nonce(packet_number, nonce);
  int n = 0;
  if (EVP_DecryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) != 1) {
    return false;
  }
  if (!aad.empty() && EVP_DecryptUpdate(ctx_, nullptr, &n, aad.data(),
                                        static_cast<int>(aad.size())) != 1) {
    return false;
  }
  if (length > 0 &&
      EVP_DecryptUpdate(ctx_, out, &n, in, static_cast<int>(length)) != 1) {
    return false;
  }
  // The library reads the expected tag; it does not keep the pointer.
  if (EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_TAG, kTagSize,
                          const_cast<uint8_t*>(tag)) != 1) {
    return false;
  }
  uint8_t none[16];
  return EVP_DecryptFinal_ex(ctx_, none, &n) == 1;
}

}  // namespace ferry::crypto
