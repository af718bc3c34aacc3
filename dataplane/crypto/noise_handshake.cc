#include "dataplane/crypto/noise_handshake.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>
#include <memory>

#include "dataplane/crypto/segment_aead.h"

namespace ferry::crypto {
namespace {

using Digest = std::array<uint8_t, 32>;

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;

// HMAC-SHA256 over a || b (b at most 64 bytes here: HKDF's inputs are a
// DH result or a digest and a counter byte).
Digest Hmac(absl::Span<const uint8_t> key, absl::Span<const uint8_t> a,
            absl::Span<const uint8_t> b = {}) {
  uint8_t joined[96];
  Digest out{};
  if (a.size() + b.size() > sizeof(joined)) return out;
  if (!a.empty()) std::memcpy(joined, a.data(), a.size());
  if (!b.empty()) std::memcpy(joined + a.size(), b.data(), b.size());
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), joined,
       a.size() + b.size(), out.data(), &n);
  OPENSSL_cleanse(joined, sizeof(joined));
  return out;
}

// Noise's HKDF(chaining_key, input, 2).
void Hkdf2(const Digest& ck, absl::Span<const uint8_t> input, Digest* out1,
           Digest* out2) {
  Digest temp = Hmac(ck, input);
  const uint8_t one = 1;
  *out1 = Hmac(temp, absl::MakeConstSpan(&one, 1));
  const uint8_t two = 2;
  *out2 = Hmac(temp, *out1, absl::MakeConstSpan(&two, 1));
  OPENSSL_cleanse(temp.data(), temp.size());
}

// The tokens of each message, in order.
enum class Token : uint8_t { kE, kS, kEE, kES, kSE };
struct MessagePattern {
  Token tokens[5];
  int count;
};
const MessagePattern kNN[2] = {{{Token::kE}, 1}, {{Token::kE, Token::kEE}, 2}};
const MessagePattern kIX[2] = {
    {{Token::kE, Token::kS}, 2},
    {{Token::kE, Token::kEE, Token::kSE, Token::kS, Token::kES}, 5}};

const char* ProtocolName(NoiseHandshake::Pattern pattern) {
  return pattern == NoiseHandshake::Pattern::kIX
             ? "Noise_IX_25519_AESGCM_SHA256"
             : "Noise_NN_25519_AESGCM_SHA256";
}

}  // namespace

absl::StatusOr<KeyPair> KeyPair::Generate() {
  std::array<uint8_t, kKeySize> key;
  if (RAND_priv_bytes(key.data(), key.size()) != 1) {
    return absl::InternalError("no randomness for a key");
  }
  absl::StatusOr<KeyPair> pair = FromPrivate(key);
  OPENSSL_cleanse(key.data(), key.size());
  return pair;
}

absl::StatusOr<KeyPair> KeyPair::FromPrivate(absl::Span<const uint8_t> key) {
  if (key.size() != kKeySize) {
    return absl::InvalidArgumentError("an X25519 private key has 32 bytes");
  }
  Pkey pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, key.data(),
                                         key.size()));
  KeyPair pair;
  size_t n = pair.public_.size();
  if (pkey == nullptr ||
      EVP_PKEY_get_raw_public_key(pkey.get(), pair.public_.data(), &n) != 1 ||
      n != kKeySize) {
    return absl::InternalError("X25519 key set-up failed");
  }
  std::memcpy(pair.private_.data(), key.data(), kKeySize);
  return pair;
}

KeyPair::~KeyPair() { OPENSSL_cleanse(private_.data(), private_.size()); }

absl::Status KeyPair::Agree(const PublicKey& peer,
                            uint8_t out[kKeySize]) const {
  Pkey local(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr,
                                          private_.data(), private_.size()));
  Pkey remote(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer.data(),
                                          peer.size()));
  if (local == nullptr || remote == nullptr) {
    return absl::InternalError("X25519 key set-up failed");
  }
  PkeyCtx ctx(EVP_PKEY_CTX_new(local.get(), nullptr));
  size_t n = kKeySize;
  // OpenSSL refuses a result of all zeros (a peer key of small order).
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), remote.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), out, &n) != 1 || n != kKeySize) {
    return absl::InvalidArgumentError("X25519 with the peer's key failed");
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> NoiseEncrypt(absl::Span<const uint8_t> key, uint64_t n,
                                    absl::Span<const uint8_t> ad,
                                    absl::Span<const uint8_t> in,
                                    absl::Span<uint8_t> out) {
  if (out.size() < in.size() + SegmentAead::kTagSize) {
    return absl::InvalidArgumentError("no room for the ciphertext");
  }
  // Noise's AESGCM nonce is 32 zero bits and n big-endian: SegmentAead's
  // with a salt of 0.
  SegmentAead aead;
  if (absl::Status s = aead.SetKey(AeadCipher::kAes256Gcm, key, 0, true);
      !s.ok()) {
    return s;
  }
  if (!aead.Seal(n, ad, in.data(), out.data(), in.size(),
                 out.data() + in.size())) {
    return absl::InternalError("AES-GCM failed");
  }
  return in.size() + SegmentAead::kTagSize;
}

absl::StatusOr<size_t> NoiseDecrypt(absl::Span<const uint8_t> key, uint64_t n,
                                    absl::Span<const uint8_t> ad,
                                    absl::Span<const uint8_t> in,
                                    absl::Span<uint8_t> out) {
  if (in.size() < SegmentAead::kTagSize ||
      out.size() < in.size() - SegmentAead::kTagSize) {
    return absl::InvalidArgumentError("ciphertext too short");
  }
  const size_t length = in.size() - SegmentAead::kTagSize;
  SegmentAead aead;
  if (absl::Status s = aead.SetKey(AeadCipher::kAes256Gcm, key, 0, false);
      !s.ok()) {
    return s;
  }
  if (!aead.Open(n, ad, in.data(), out.data(), length, in.data() + length)) {
    return absl::UnauthenticatedError("a handshake message failed its tag");
  }
  return length;
}

NoiseHandshake::NoiseHandshake(Pattern pattern, bool initiator,
                               absl::Span<const uint8_t> prologue,
                               std::optional<KeyPair> local_static)
    : pattern_(pattern), initiator_(initiator), static_(local_static) {
  // InitializeSymmetric: the name fits in the hash, zero-padded.
  const char* name = ProtocolName(pattern);
  std::memcpy(h_.data(), name, std::strlen(name));
  ck_ = h_;
  MixHash(prologue);
}

NoiseHandshake::~NoiseHandshake() {
  OPENSSL_cleanse(k_.data(), k_.size());
  OPENSSL_cleanse(ck_.data(), ck_.size());
}

void NoiseHandshake::MixHash(absl::Span<const uint8_t> data) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  unsigned int n = 0;
  Digest out{};
  if (md != nullptr && EVP_DigestInit_ex(md, EVP_sha256(), nullptr) == 1 &&
      EVP_DigestUpdate(md, h_.data(), h_.size()) == 1 &&
      EVP_DigestUpdate(md, data.data(), data.size()) == 1 &&
      EVP_DigestFinal_ex(md, out.data(), &n) == 1) {
    h_ = out;
  } else {
    failed_ = true;
  }
  EVP_MD_CTX_free(md);
}

absl::Status NoiseHandshake::MixKey(absl::Span<const uint8_t> input) {
  Digest ck;
  Digest k;
  Hkdf2(ck_, input, &ck, &k);
  ck_ = ck;
  k_ = k;
  OPENSSL_cleanse(k.data(), k.size());
  has_key_ = true;
  n_ = 0;
  return absl::OkStatus();
}

absl::Status NoiseHandshake::MixDh(const KeyPair& local,
                                   const PublicKey& remote) {
  uint8_t shared[kKeySize];
  absl::Status s = local.Agree(remote, shared);
  if (s.ok()) s = MixKey(absl::MakeConstSpan(shared, kKeySize));
  OPENSSL_cleanse(shared, sizeof(shared));
  return s;
}

absl::StatusOr<size_t> NoiseHandshake::EncryptAndHash(
    absl::Span<const uint8_t> plaintext, absl::Span<uint8_t> out) {
  size_t n = plaintext.size();
  if (has_key_) {
    absl::StatusOr<size_t> sealed = NoiseEncrypt(k_, n_, h_, plaintext, out);
    if (!sealed.ok()) return sealed.status();
    n = *sealed;
    ++n_;
  } else {
    if (out.size() < n) return absl::InvalidArgumentError("no room");
    if (n > 0) std::memmove(out.data(), plaintext.data(), n);
  }
  MixHash(out.first(n));
  return n;
}

absl::StatusOr<size_t> NoiseHandshake::DecryptAndHash(
    absl::Span<const uint8_t> ciphertext, absl::Span<uint8_t> out) {
  size_t n = ciphertext.size();
  if (has_key_) {
    absl::StatusOr<size_t> opened = NoiseDecrypt(k_, n_, h_, ciphertext, out);
    if (!opened.ok()) return opened.status();
    n = *opened;
    ++n_;
  } else {
    if (out.size() < n) return absl::InvalidArgumentError("no room");
    if (n > 0) std::memmove(out.data(), ciphertext.data(), n);
  }
  MixHash(ciphertext);
  return n;
}

absl::Status NoiseHandshake::MixDhToken(uint8_t token) {
  switch (static_cast<Token>(token)) {
    case Token::kEE:
      return MixDh(*ephemeral_, *remote_ephemeral_);
    case Token::kES:
      // The initiator's ephemeral with the responder's static.
      return initiator_ ? MixDh(*ephemeral_, *remote_static_)
                        : MixDh(*static_, *remote_ephemeral_);
    case Token::kSE:
      // The initiator's static with the responder's ephemeral.
      return initiator_ ? MixDh(*static_, *remote_ephemeral_)
                        : MixDh(*ephemeral_, *remote_static_);
    default:
      return absl::InternalError("not a DH token");
  }
}

absl::Status NoiseHandshake::Fail(absl::Status status) {
  failed_ = true;
  return status;
}

absl::StatusOr<size_t> NoiseHandshake::WriteMessage(
    absl::Span<const uint8_t> payload, absl::Span<uint8_t> out) {
  if (failed_ || done() || (step_ % 2 == 0) != initiator_) {
    return Fail(absl::FailedPreconditionError("not our turn to write"));
  }
  const MessagePattern& message = (pattern_ == Pattern::kIX ? kIX : kNN)[step_];
  size_t at = 0;
  for (int i = 0; i < message.count; ++i) {
    absl::Status s;
    switch (message.tokens[i]) {
      case Token::kE: {
        if (!ephemeral_.has_value()) {
          absl::StatusOr<KeyPair> e = KeyPair::Generate();
          if (!e.ok()) return Fail(e.status());
          ephemeral_ = *e;
        }
        if (out.size() - at < kKeySize) {
          return Fail(absl::InvalidArgumentError("no room for the message"));
        }
        std::memcpy(out.data() + at, ephemeral_->public_key().data(), kKeySize);
        MixHash(out.subspan(at, kKeySize));
        at += kKeySize;
        break;
      }
      case Token::kS: {
        if (!static_.has_value()) {
          return Fail(absl::FailedPreconditionError("no static key"));
        }
        absl::StatusOr<size_t> n =
            EncryptAndHash(static_->public_key(), out.subspan(at));
        if (!n.ok()) return Fail(n.status());
        at += *n;
        break;
      }
      default:
        s = MixDhToken(static_cast<uint8_t>(message.tokens[i]));
        break;
    }
    if (!s.ok()) return Fail(s);
  }
  absl::StatusOr<size_t> n = EncryptAndHash(payload, out.subspan(at));
  if (!n.ok()) return Fail(n.status());
  ++step_;
  return at + *n;
}

absl::StatusOr<size_t> NoiseHandshake::ReadMessage(
    absl::Span<const uint8_t> message, absl::Span<uint8_t> payload) {
  if (failed_ || done() || (step_ % 2 == 0) == initiator_) {
    return Fail(absl::FailedPreconditionError("not our turn to read"));
  }
  const MessagePattern& tokens = (pattern_ == Pattern::kIX ? kIX : kNN)[step_];
  size_t at = 0;
  for (int i = 0; i < tokens.count; ++i) {
    absl::Status s;
    switch (tokens.tokens[i]) {
      case Token::kE: {
        if (message.size() - at < kKeySize) {
          return Fail(absl::InvalidArgumentError("handshake message cut"));
        }
        PublicKey re;
        std::memcpy(re.data(), message.data() + at, kKeySize);
        remote_ephemeral_ = re;
        MixHash(message.subspan(at, kKeySize));
        at += kKeySize;
        break;
      }
      case Token::kS: {
        const size_t length = kKeySize + (has_key_ ? kTagSize : 0);
        if (message.size() - at < length) {
          return Fail(absl::InvalidArgumentError("handshake message cut"));
        }
        PublicKey rs;
        absl::StatusOr<size_t> n =
            DecryptAndHash(message.subspan(at, length), absl::MakeSpan(rs));
        if (!n.ok()) return Fail(n.status());
        remote_static_ = rs;
        at += length;
        break;
      }
      default:
        s = MixDhToken(static_cast<uint8_t>(tokens.tokens[i]));
        break;
    }
    if (!s.ok()) return Fail(s);
  }
  absl::StatusOr<size_t> n = DecryptAndHash(message.subspan(at), payload);
  if (!n.ok()) return Fail(n.status());
  ++step_;
  return *n;
}

absl::StatusOr<NoiseHandshake::SessionKeys> NoiseHandshake::Split() const {
  if (!done() || failed_) {
    return absl::FailedPreconditionError("the handshake is not done");
  }
  Digest first;
  Digest second;
  Hkdf2(ck_, {}, &first, &second);
  SessionKeys keys;
  // The initiator sends with the first key, the responder with the second.
  keys.send = initiator_ ? first : second;
  keys.receive = initiator_ ? second : first;
  OPENSSL_cleanse(first.data(), first.size());
  OPENSSL_cleanse(second.data(), second.size());
  return keys;
}

}  // namespace ferry::crypto
