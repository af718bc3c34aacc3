#include "dataplane/crypto/segment_aead.h"

#include <string>
#include <vector>

#include "dataplane/crypto/hex_for_test.h"
#include "gtest/gtest.h"

namespace ferry::crypto {
namespace {

// The GCM specification's first two test cases (AES-128, key and IV all
// zeros): an empty message, then one zero block. Salt 0 and packet number
// 0 make the all-zero IV.
TEST(SegmentAeadTest, KnownAnswers) {
  const std::vector<uint8_t> key(16, 0);
  SegmentAead seal;
  ASSERT_TRUE(seal.SetKey(AeadCipher::kAes128Gcm, key, 0, true).ok());
  uint8_t tag[16];
  ASSERT_TRUE(seal.Seal(0, {}, nullptr, nullptr, 0, tag));
  EXPECT_EQ(std::vector<uint8_t>(tag, tag + 16),
            Hex("58e2fccefa7e3061367f1d57a4e7455a"));
  const std::vector<uint8_t> zeros(16, 0);
  std::vector<uint8_t> out(16);
  ASSERT_TRUE(seal.Seal(0, {}, zeros.data(), out.data(), 16, tag));
  EXPECT_EQ(out, Hex("0388dace60b6a392f328c2b971b2fe78"));
  EXPECT_EQ(std::vector<uint8_t>(tag, tag + 16),
            Hex("ab6e47d42cec13bdf53a67b21257bddf"));
}

class SegmentAeadRoundTrip : public ::testing::TestWithParam<AeadCipher> {};

// A segment sealed in pieces opens whole, and any change to it, its
// header, its packet number or its key is caught.
TEST_P(SegmentAeadRoundTrip, SealsInPiecesOpensWholeCatchesEveryChange) {
  const AeadCipher cipher = GetParam();
  std::vector<uint8_t> key(AeadKeySize(cipher));
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 3);
  SegmentAead seal;
  SegmentAead open;
  ASSERT_TRUE(seal.SetKey(cipher, key, 0x01020304, true).ok());
  ASSERT_TRUE(open.SetKey(cipher, key, 0x01020304, false).ok());
  std::vector<uint8_t> header(48);
  for (size_t i = 0; i < header.size(); ++i)
    header[i] = static_cast<uint8_t>(i);
  std::vector<uint8_t> payload(1400);
  for (size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<uint8_t>(i * 7 + 1);
  }
  std::vector<uint8_t> wire(payload.size());
  uint8_t tag[16];
  ASSERT_TRUE(seal.Begin(42, header));
  // Pieces of 333, 1 and the rest, as a segment across channel buffers.
  ASSERT_TRUE(seal.Encrypt(payload.data(), wire.data(), 333));
  ASSERT_TRUE(seal.Encrypt(payload.data() + 333, wire.data() + 333, 1));
  ASSERT_TRUE(seal.Encrypt(payload.data() + 334, wire.data() + 334,
                           payload.size() - 334));
  ASSERT_TRUE(seal.Finish(tag));
  EXPECT_NE(wire, payload);

  std::vector<uint8_t> back(payload.size());
  ASSERT_TRUE(
      open.Open(42, header, wire.data(), back.data(), wire.size(), tag));
  EXPECT_EQ(back, payload);
  // In place, as the engine opens a received segment.
  std::vector<uint8_t> in_place = wire;
  ASSERT_TRUE(open.Open(42, header, in_place.data(), in_place.data(),
                        in_place.size(), tag));
  EXPECT_EQ(in_place, payload);

  EXPECT_FALSE(
      open.Open(43, header, wire.data(), back.data(), wire.size(), tag));
  std::vector<uint8_t> bad_header = header;
  bad_header[5] ^= 1;
  EXPECT_FALSE(
      open.Open(42, bad_header, wire.data(), back.data(), wire.size(), tag));
  std::vector<uint8_t> bad_wire = wire;
  bad_wire[700] ^= 0x80;
  EXPECT_FALSE(
      open.Open(42, header, bad_wire.data(), back.data(), wire.size(), tag));
  uint8_t bad_tag[16];
  std::copy(tag, tag + 16, bad_tag);
  bad_tag[15] ^= 1;
  EXPECT_FALSE(
      open.Open(42, header, wire.data(), back.data(), wire.size(), bad_tag));
  // Another salt (another flow's key schedule) does not open it either.
  SegmentAead other;
  ASSERT_TRUE(other.SetKey(cipher, key, 0x01020305, false).ok());
  EXPECT_FALSE(
      other.Open(42, header, wire.data(), back.data(), wire.size(), tag));
  // The direction is fixed: a sealer does not open.
  EXPECT_FALSE(
      seal.Open(42, header, wire.data(), back.data(), wire.size(), tag));
}

INSTANTIATE_TEST_SUITE_P(Ciphers, SegmentAeadRoundTrip,
                         ::testing::Values(AeadCipher::kAes128Gcm,
                                           AeadCipher::kAes256Gcm));

// A new key for the same use replaces the old one in place.
TEST(SegmentAeadTest, ANewKeyReplacesTheOld) {
  const std::vector<uint8_t> one(16, 1);
  const std::vector<uint8_t> two(16, 2);
  SegmentAead seal;
  SegmentAead open;
  ASSERT_TRUE(seal.SetKey(AeadCipher::kAes128Gcm, one, 9, true).ok());
  ASSERT_TRUE(open.SetKey(AeadCipher::kAes128Gcm, one, 9, false).ok());
  const std::vector<uint8_t> message(100, 0x61);
  std::vector<uint8_t> wire(100);
  uint8_t tag[16];
  ASSERT_TRUE(seal.Seal(1, {}, message.data(), wire.data(), 100, tag));
  ASSERT_TRUE(open.Open(1, {}, wire.data(), wire.data(), 100, tag));
  ASSERT_TRUE(seal.SetKey(AeadCipher::kAes128Gcm, two, 9, true).ok());
  ASSERT_TRUE(seal.Seal(2, {}, message.data(), wire.data(), 100, tag));
  std::vector<uint8_t> copy = wire;
  EXPECT_FALSE(open.Open(2, {}, copy.data(), copy.data(), 100, tag));
  ASSERT_TRUE(open.SetKey(AeadCipher::kAes128Gcm, two, 9, false).ok());
  ASSERT_TRUE(open.Open(2, {}, wire.data(), wire.data(), 100, tag));
  EXPECT_EQ(wire, message);
  // Another cipher or direction: a context of its own.
  ASSERT_TRUE(
      seal.SetKey(AeadCipher::kAes256Gcm, std::vector<uint8_t>(32, 3), 9, true)
          .ok());
  EXPECT_TRUE(seal.Seal(3, {}, message.data(), wire.data(), 100, tag));
}

TEST(SegmentAeadTest, RefusesAKeyOfTheWrongSizeAndWorksWithoutNone) {
  SegmentAead aead;
  const std::vector<uint8_t> key(20, 1);
  EXPECT_FALSE(aead.SetKey(AeadCipher::kAes128Gcm, key, 0, true).ok());
  EXPECT_FALSE(aead.has_key());
  uint8_t tag[16];
  EXPECT_FALSE(aead.Seal(0, {}, nullptr, nullptr, 0, tag));
  EXPECT_FALSE(aead.Open(0, {}, nullptr, nullptr, 0, tag));
}

}  // namespace
}  // namespace ferry::crypto
