#include "dataplane/crypto/noise_handshake.h"

#include <string>
#include <vector>

#include "dataplane/crypto/hex_for_test.h"
#include "gtest/gtest.h"

namespace ferry::crypto {
namespace {

KeyPair Key(const std::string& hex) {
  absl::StatusOr<KeyPair> key = KeyPair::FromPrivate(Hex(hex));
  EXPECT_TRUE(key.ok()) << key.status();
  return *key;
}

// The published test vector for Noise_NN_25519_AESGCM_SHA256 (cacophony,
// as shipped with the snow library): the whole handshake and four
// transport messages, byte for byte. It checks what IX shares with NN:
// X25519, MixHash (the second message is sealed with h as associated
// data), MixKey's HKDF, EncryptAndHash, the AESGCM nonce and Split. (The
// file's "handshake_hash" field holds h after the first message, not the
// last, so it is not compared.)
TEST(NoiseHandshakeTest, MatchesThePublishedNNVector) {
  const std::vector<uint8_t> prologue = Hex("4a6f686e2047616c74");
  NoiseHandshake init(NoiseHandshake::Pattern::kNN, true, prologue,
                      std::nullopt);
  NoiseHandshake resp(NoiseHandshake::Pattern::kNN, false, prologue,
                      std::nullopt);
  init.SetEphemeralForTest(
      Key("893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a"));
  resp.SetEphemeralForTest(
      Key("bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b"));
  struct Message {
    const char* payload;
    const char* ciphertext;
  };
  const Message messages[] = {
      {"4c756477696720766f6e204d69736573",
       "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944"
       "4c756477696720766f6e204d69736573"},
      {"4d757272617920526f746862617264",
       "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843"
       "934ff73eebb9d930ebf62b8e4db8133ca936872b5551efd7c9989c646d8cf0"},
      {"462e20412e20486179656b",
       "8d372b94914e80018211a344b8b1c5a2869492a0db46990c0362f3"},
      {"4361726c204d656e676572",
       "e183b0abd55550f9955fb05476d988c6f27628d7bbde111c39ccbc"},
      {"4a65616e2d426170746973746520536179",
       "167293a79ad6a647114c4f4eb55bdf713a0d44ae48765c07fc4e57743100825021"},
      {"457567656e2042f6686d20766f6e2042617765726b",
       "2b67a18ae246069c51687bee89141041d9d35a821f852975d169a4f80f75c735807a"
       "1fd157"},
  };
  uint8_t wire[256];
  uint8_t got[256];
  for (int i = 0; i < 2; ++i) {
    NoiseHandshake& writer = i == 0 ? init : resp;
    NoiseHandshake& reader = i == 0 ? resp : init;
    const std::vector<uint8_t> payload = Hex(messages[i].payload);
    absl::StatusOr<size_t> n = writer.WriteMessage(payload, wire);
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(std::vector<uint8_t>(wire, wire + *n),
              Hex(messages[i].ciphertext))
        << "message " << i;
    absl::StatusOr<size_t> read =
        reader.ReadMessage(absl::MakeConstSpan(wire, *n), got);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(std::vector<uint8_t>(got, got + *read), payload);
  }
  ASSERT_TRUE(init.done());
  ASSERT_TRUE(resp.done());
  EXPECT_EQ(resp.handshake_hash(), init.handshake_hash());
  // Transport messages alternate, each side counting its own nonces.
  absl::StatusOr<NoiseHandshake::SessionKeys> a = init.Split();
  absl::StatusOr<NoiseHandshake::SessionKeys> b = resp.Split();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->send, b->receive);
  EXPECT_EQ(a->receive, b->send);
  for (int i = 2; i < 6; ++i) {
    const bool from_initiator = i % 2 == 0;
    const auto& key = from_initiator ? a->send : b->send;
    const uint64_t nonce = static_cast<uint64_t>((i - 2) / 2);
    const std::vector<uint8_t> payload = Hex(messages[i].payload);
    absl::StatusOr<size_t> n = NoiseEncrypt(key, nonce, {}, payload, wire);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(std::vector<uint8_t>(wire, wire + *n),
              Hex(messages[i].ciphertext))
        << "message " << i;
    absl::StatusOr<size_t> back =
        NoiseDecrypt(from_initiator ? b->receive : a->receive, nonce, {},
                     absl::MakeConstSpan(wire, *n), got);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(std::vector<uint8_t>(got, got + *back), payload);
  }
}

struct IxPair {
  KeyPair initiator_key = *KeyPair::Generate();
  KeyPair responder_key = *KeyPair::Generate();
  NoiseHandshake init{NoiseHandshake::Pattern::kIX, true, Prologue(),
                      initiator_key};
  NoiseHandshake resp{NoiseHandshake::Pattern::kIX, false, Prologue(),
                      responder_key};
  static std::vector<uint8_t> Prologue() { return {'f', 'e', 'r', 'r', 'y'}; }
};

// IX: each side learns the other's identity, and both derive the same
// pair of keys (each one's send key the other's receive key).
TEST(NoiseHandshakeTest, IxAuthenticatesBothSidesInTwoMessages) {
  IxPair p;
  uint8_t syn[NoiseHandshake::kMaxOverhead + 8];
  uint8_t syn_ack[NoiseHandshake::kMaxOverhead + 8];
  uint8_t payload[64];
  absl::StatusOr<size_t> n1 = p.init.WriteMessage({}, syn);
  ASSERT_TRUE(n1.ok()) << n1.status();
  // e and s in clear: 64 bytes.
  EXPECT_EQ(*n1, 64u);
  ASSERT_TRUE(p.resp.ReadMessage(absl::MakeConstSpan(syn, *n1), payload).ok());
  ASSERT_TRUE(p.resp.remote_static().has_value());
  EXPECT_EQ(*p.resp.remote_static(), p.initiator_key.public_key());
  absl::StatusOr<size_t> n2 = p.resp.WriteMessage({}, syn_ack);
  ASSERT_TRUE(n2.ok()) << n2.status();
  // e, s encrypted (32 + 16), an empty payload's tag: 96 bytes.
  EXPECT_EQ(*n2, NoiseHandshake::kMaxOverhead);
  ASSERT_TRUE(
      p.init.ReadMessage(absl::MakeConstSpan(syn_ack, *n2), payload).ok());
  EXPECT_EQ(*p.init.remote_static(), p.responder_key.public_key());
  ASSERT_TRUE(p.init.done() && p.resp.done());
  EXPECT_EQ(p.init.handshake_hash(), p.resp.handshake_hash());
  auto a = p.init.Split();
  auto b = p.resp.Split();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->send, b->receive);
  EXPECT_EQ(a->receive, b->send);
  EXPECT_NE(a->send, a->receive);
}

// Any bit changed in either message fails the handshake: in the first,
// the keys then disagree and the second message's tags fail; in the
// second, its own tags fail.
TEST(NoiseHandshakeTest, IxFailsOnAnyChangedBit) {
  for (int message = 0; message < 2; ++message) {
    for (size_t byte : {0u, 31u, 32u, 63u, 70u, 95u}) {
      IxPair p;
      uint8_t syn[128];
      uint8_t syn_ack[128];
      uint8_t payload[64];
      size_t n1 = *p.init.WriteMessage({}, syn);
      if (message == 0) {
        if (byte >= n1) continue;
        syn[byte] ^= 4;
      }
      bool ok = p.resp.ReadMessage(absl::MakeConstSpan(syn, n1), payload).ok();
      if (!ok) continue;  // (a key of small order is refused at once)
      size_t n2 = *p.resp.WriteMessage({}, syn_ack);
      if (message == 1) syn_ack[byte] ^= 4;
      EXPECT_FALSE(
          p.init.ReadMessage(absl::MakeConstSpan(syn_ack, n2), payload).ok())
          << "message " << message << " byte " << byte;
      EXPECT_TRUE(p.init.failed());
      EXPECT_FALSE(p.init.Split().ok());
    }
  }
}

// Out of turn, cut short, or with an all-zero key: refused, and the
// handshake is over.
TEST(NoiseHandshakeTest, IxRefusesWhatIsOutOfPlace) {
  IxPair p;
  uint8_t buffer[128] = {};
  uint8_t payload[64];
  EXPECT_FALSE(p.resp.WriteMessage({}, buffer).ok());
  EXPECT_TRUE(p.resp.failed());

  IxPair q;
  size_t n1 = *q.init.WriteMessage({}, buffer);
  EXPECT_FALSE(
      q.resp.ReadMessage(absl::MakeConstSpan(buffer, n1 - 1), payload).ok());

  IxPair r;
  uint8_t zeros[64] = {};
  ASSERT_TRUE(r.resp.ReadMessage(zeros, payload).ok());  // no DH in msg 1
  EXPECT_FALSE(r.resp.WriteMessage({}, buffer).ok());    // ee with zeros
  EXPECT_TRUE(r.resp.failed());
}

}  // namespace
}  // namespace ferry::crypto
